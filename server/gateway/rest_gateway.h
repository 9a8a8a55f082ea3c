// File: rest_gateway.h
//
// The HTTP/JSON face of the public API: every RPC with a `google.api.http`
// annotation is served on the HTTP port, transcoded to the very gRPC call a
// gRPC client would make, over the server's in-process channel — so REST
// requests pass the same interceptors, authentication, validation, limits
// and domain calls as gRPC ones (one code path). Server-streaming RPCs
// (WatchMessages) are served as Server-Sent Events.
#ifndef SMSGW_SERVER_GATEWAY_REST_GATEWAY_H_
#define SMSGW_SERVER_GATEWAY_REST_GATEWAY_H_

#include <grpcpp/generic/generic_stub.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/gateway/http_route.h"
#include "server/rpc/gateway_metadata.h"

namespace google::protobuf {
class ServiceDescriptor;
}  // namespace google::protobuf

namespace grpc {
class Channel;
}  // namespace grpc

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace smsgw::metrics {
class CounterFamily;
}  // namespace smsgw::metrics

namespace smsgw::gateway {

class RestGateway {
 public:
  struct Options {
    // Browser origins allowed by CORS, exact ("https://app.example.com") or
    // "*" for any. Empty: CORS off (no Access-Control-* headers).
    std::vector<std::string> cors_origins;
    // Deadline of each unary call made for a REST request.
    absl::Duration call_timeout = absl::Seconds(60);
    // Server-Sent Events streams open at once; each holds an HTTP worker
    // thread, so this stays well below the HTTP port's thread count. More
    // are answered 503.
    int max_event_streams = 8;
    // Idle event streams get a comment line this often, so proxies keep
    // them open and a vanished client is noticed.
    absl::Duration event_keepalive = absl::Seconds(15);
    // For server-streaming routes: the response field whose value is each
    // event's SSE `id:` ("event.cursor"), and the request field that a
    // reconnecting client's `Last-Event-ID` header fills ("after_cursor").
    std::string event_id_field = "event.cursor";
    std::string resume_field = "after_cursor";
    // Served verbatim at GET /v1/openapi.json when not empty.
    std::string openapi_json;
    // Counts requests by route template and HTTP status; may be null.
    metrics::CounterFamily* requests = nullptr;
  };

  // The gateway for the annotated methods of `services`. InvalidArgument
  // when an annotation is malformed (see RoutesOf()).
  static absl::StatusOr<std::unique_ptr<RestGateway>> Create(
      const std::vector<const google::protobuf::ServiceDescriptor*>& services,
      Options options);
  ~RestGateway();

  // Registers the /v1/ routes (and their CORS preflights) on `server`;
  // before the server starts. Requests answer 503 until Attach().
  void Register(httplib::Server& server);
  // Connects the gateway to the gRPC server it transcodes for (its
  // in-process channel). Thread-safe; once.
  void Attach(std::shared_ptr<grpc::Channel> channel);

 private:
  RestGateway(std::vector<HttpRoute> routes, Options options);
  void Handle(const httplib::Request& req, httplib::Response& res);
  // Returns the route template label for metrics.
  std::string Serve(const httplib::Request& req, httplib::Response& res);
  void ServeUnary(::grpc::GenericStub& stub, const HttpRoute& route,
                  const httplib::Request& req,
                  const std::string& request_bytes, httplib::Response& res);
  void ServeEvents(::grpc::GenericStub& stub, const HttpRoute& route,
                   const httplib::Request& req,
                   const std::string& request_bytes, httplib::Response& res);
  // Whether CORS lets `origin` in; sets the response's CORS headers if so.
  bool ApplyCors(const httplib::Request& req, httplib::Response& res) const;
  std::shared_ptr<grpc::GenericStub> stub() const;

  const std::vector<HttpRoute> routes_;
  const Options options_;
  mutable absl::Mutex mu_;
  std::shared_ptr<grpc::GenericStub> stub_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<std::atomic<int>> open_streams_;
};

}  // namespace smsgw::gateway

#endif  // SMSGW_SERVER_GATEWAY_REST_GATEWAY_H_
