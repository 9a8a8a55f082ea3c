// File: json_transcoding.h
//
// HTTP/JSON <-> protobuf for the REST routes: builds an RPC's request message
// from the path bindings, query parameters and JSON body of an HTTP request
// (proto3 JSON, google/api/http.proto's rules), renders answers as proto3
// JSON, and maps a gRPC status to its HTTP status and google.rpc.Status body.
#ifndef SMSGW_SERVER_GATEWAY_JSON_TRANSCODING_H_
#define SMSGW_SERVER_GATEWAY_JSON_TRANSCODING_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/gateway/http_route.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace smsgw::gateway {

// Query string parameters in order, a name once per value ("statuses=A&
// statuses=B" for a repeated field).
using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Fills `request` (an empty message of route.method's input type) from one
// HTTP request. Query parameter names are field paths ("page_size" or
// "pageSize", "a.b" for nested fields); a repeated field takes a parameter
// per value; bool takes true/false; Timestamp and Duration their JSON
// strings. The body (when the route takes one) is a JSON object in proto3
// JSON, either field-name spelling. Path bindings win over the body.
// InvalidArgument, with `request` unspecified, for: malformed JSON, a body
// that is not an object, a body on a route that takes none, an unknown
// field (body or query), a query parameter on a route whose body is "*", a
// query parameter naming a message field, a value of the wrong type.
absl::Status BuildRequest(const HttpRoute& route, const PathBindings& bindings,
                          const QueryParams& query, absl::string_view body,
                          google::protobuf::Message* request);

// `message` as proto3 JSON: lowerCamelCase names, enums by name, fields at
// their default value included (so `"count": 0` is there to read). Internal
// only if the message cannot be printed (it always can for our types).
absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message);

// The google.rpc.Status JSON body for an error: {"code": <gRPC code>,
// "message": "...", "details": [...]}. Details are those the server attached
// (grpc-status-details-bin) when their types are known, else [].
std::string ErrorBody(int grpc_code, absl::string_view message,
                      absl::string_view serialized_details = "");

}  // namespace smsgw::gateway

#endif  // SMSGW_SERVER_GATEWAY_JSON_TRANSCODING_H_
