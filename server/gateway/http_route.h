// File: http_route.h
//
// The REST routes of the public API, read from the `google.api.http`
// annotations of the protos (google/api/http.proto, AIP-127): path templates
// such as "/v1/messages/{id}:cancel", which RPC each route calls and where the
// request's fields come from (path, query string, JSON body).
#ifndef SMSGW_SERVER_GATEWAY_HTTP_ROUTE_H_
#define SMSGW_SERVER_GATEWAY_HTTP_ROUTE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace google::protobuf {
class MethodDescriptor;
class ServiceDescriptor;
}  // namespace google::protobuf

namespace smsgw::gateway {

// Values bound by a path template: (field path such as "id", decoded segment).
using PathBindings = std::vector<std::pair<std::string, std::string>>;

// A parsed path template of google/api/http.proto's grammar, restricted to
// what our routes use: literal segments, single-segment variables `{field}`
// (the `*` wildcard) and an optional trailing `:verb`.
class PathTemplate {
 public:
  // InvalidArgument for an empty template, one not starting with '/', an
  // empty segment, an unclosed '{', a multi-segment or `**` variable.
  static absl::StatusOr<PathTemplate> Parse(absl::string_view text);

  // Whether `path` (already percent-decoded, no query string) matches; on a
  // match appends the variables' values to `bindings`. A variable never
  // matches an empty segment.
  bool Match(absl::string_view path, PathBindings* bindings) const;

  // The template as written, e.g. "/v1/messages/{id}:cancel".
  const std::string& text() const { return text_; }
  // The field paths the template binds, e.g. {"id"}.
  std::vector<std::string> Variables() const;

 private:
  struct Segment {
    std::string literal;   // when !is_variable
    std::string variable;  // field path, when is_variable
    bool is_variable = false;
  };
  std::string text_;
  std::vector<Segment> segments_;
  std::string verb_;  // without ':'; empty = none
};

// One REST route: an HTTP method and path template bound to an RPC.
struct HttpRoute {
  std::string http_method;  // "GET", "POST", "DELETE", "PATCH" or "PUT"
  PathTemplate path;
  // google.api.HttpRule.body: "" (no body: fields from the query string),
  // "*" (the whole request from the JSON body) or one top-level field name.
  std::string body;
  const google::protobuf::MethodDescriptor* method = nullptr;
  // "/package.Service/Method", the gRPC method path.
  std::string grpc_path;
};

// The routes of `services`, in declaration order, one per annotated method
// (methods without `google.api.http` get none). InvalidArgument when an
// annotation has a template Parse() refuses, a body naming no field, or a
// path variable naming no string field of the request; and when two routes
// share a method and template.
absl::StatusOr<std::vector<HttpRoute>> RoutesOf(
    const std::vector<const google::protobuf::ServiceDescriptor*>& services);

// The services named `full_names` ("smsgw.v1.MessagingService") among the
// protos compiled into the binary. NotFound naming the first one missing
// (its generated code not linked in).
absl::StatusOr<std::vector<const google::protobuf::ServiceDescriptor*>>
GeneratedServices(const std::vector<std::string>& full_names);

// The route for `http_method` and `path`, with its path bindings, among
// `routes`. NotFound when no template matches the path; FailedPrecondition
// (answered 405) when templates match it only under other methods, with
// `allowed` set to those methods ("GET, POST").
absl::StatusOr<const HttpRoute*> FindRoute(
    const std::vector<HttpRoute>& routes, absl::string_view http_method,
    absl::string_view path, PathBindings* bindings, std::string* allowed);

}  // namespace smsgw::gateway

#endif  // SMSGW_SERVER_GATEWAY_HTTP_ROUTE_H_
