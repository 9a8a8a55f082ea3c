#include "server/gateway/rest_gateway.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/http_status.h"
#include "common/metrics.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "httplib.h"
#include "server/gateway/json_transcoding.h"

namespace smsgw::gateway {
namespace {

namespace pb = ::google::protobuf;

constexpr char kJson[] = "application/json";

void SendError(httplib::Response& res, int grpc_code, absl::string_view message,
               absl::string_view details = "") {
  // gRPC's codes are absl's, number for number.
  res.status =
      ToHttpStatus(absl::Status(static_cast<absl::StatusCode>(grpc_code), ""));
  res.set_content(ErrorBody(grpc_code, message, details), kJson);
}

std::unique_ptr<pb::Message> NewMessage(const pb::Descriptor* type) {
  return std::unique_ptr<pb::Message>(
      pb::MessageFactory::generated_factory()->GetPrototype(type)->New());
}

::grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  ::grpc::Slice slice(bytes);
  return ::grpc::ByteBuffer(&slice, 1);
}

bool FromBuffer(const ::grpc::ByteBuffer& buffer, pb::Message* message) {
  std::vector<::grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return false;
  std::string bytes;
  for (const ::grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return message->ParseFromString(bytes);
}

// gRPC metadata values must be printable ASCII.
bool IsMetadataValue(absl::string_view value) {
  return std::all_of(value.begin(), value.end(),
                     [](char c) { return c >= 0x20 && c <= 0x7e; });
}

// The string at `path` ("event.cursor") of `message`, or "".
std::string StringAt(const pb::Message& message, absl::string_view path) {
  const pb::Message* at = &message;
  const size_t dot = path.find('.');
  const std::string head(path.substr(0, dot));
  const pb::FieldDescriptor* field =
      at->GetDescriptor()->FindFieldByName(head);
  if (field == nullptr || field->is_repeated()) return "";
  if (dot == absl::string_view::npos) {
    return field->type() == pb::FieldDescriptor::TYPE_STRING
               ? at->GetReflection()->GetString(*at, field)
               : "";
  }
  if (field->message_type() == nullptr) return "";
  return StringAt(at->GetReflection()->GetMessage(*at, field),
                  path.substr(dot + 1));
}

// Sets top-level string field `name` of `message` to `value` when the field
// exists and is empty. False when it holds a different value.
bool FillString(pb::Message* message, absl::string_view name,
                const std::string& value) {
  const pb::FieldDescriptor* field =
      message->GetDescriptor()->FindFieldByName(std::string(name));
  if (field == nullptr || field->is_repeated() ||
      field->type() != pb::FieldDescriptor::TYPE_STRING) {
    return true;
  }
  const std::string current = message->GetReflection()->GetString(*message, field);
  if (current.empty()) {
    message->GetReflection()->SetString(message, field, value);
    return true;
  }
  return current == value;
}

// The HTTP client as a gRPC peer string, as gRPC itself would write it.
std::string PeerOf(const httplib::Request& req) {
  if (req.remote_addr.find(':') != std::string::npos) {
    return absl::StrCat("ipv6:[", req.remote_addr, "]:", req.remote_port);
  }
  return absl::StrCat("ipv4:", req.remote_addr, ":", req.remote_port);
}

// The query string as (name, value) pairs; httplib keeps a name's values in
// the order sent.
QueryParams QueryOf(const httplib::Request& req) {
  QueryParams params;
  for (const auto& [name, value] : req.params) params.emplace_back(name, value);
  return params;
}

// One Server-Sent Events stream: a server-streaming call on a completion
// queue of its own, advanced one operation at a time by the HTTP worker
// thread that serves the stream.
struct EventStream {
  explicit EventStream(std::shared_ptr<std::atomic<int>> open)
      : open_streams(std::move(open)) {}
  ~EventStream() {
    context.TryCancel();
    cq.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq.Next(&tag, &ok)) {
    }
    open_streams->fetch_sub(1);
  }

  // Waits for the one pending operation until `deadline`: its outcome, or
  // nullopt on timeout (the operation stays pending).
  std::optional<bool> Await(absl::Time deadline) {
    void* tag = nullptr;
    bool ok = false;
    switch (cq.AsyncNext(&tag, &ok, absl::ToChronoTime(deadline))) {
      case ::grpc::CompletionQueue::GOT_EVENT:
        return ok;
      case ::grpc::CompletionQueue::TIMEOUT:
        return std::nullopt;
      default:
        return false;
    }
  }
  // Finish()es the call and returns its status.
  ::grpc::Status End() {
    ::grpc::Status status;
    call->Finish(&status, this);
    if (Await(absl::Now() + absl::Seconds(10)) != true) {
      return ::grpc::Status(::grpc::StatusCode::DEADLINE_EXCEEDED,
                            "the stream did not end in time");
    }
    return status;
  }

  ::grpc::ClientContext context;
  ::grpc::CompletionQueue cq;
  std::unique_ptr<::grpc::GenericClientAsyncReaderWriter> call;
  ::grpc::ByteBuffer incoming;
  bool read_pending = false;
  bool ended = false;
  std::shared_ptr<std::atomic<int>> open_streams;
};

}  // namespace

absl::StatusOr<std::unique_ptr<RestGateway>> RestGateway::Create(
    const std::vector<const pb::ServiceDescriptor*>& services,
    Options options) {
  absl::StatusOr<std::vector<HttpRoute>> routes = RoutesOf(services);
  if (!routes.ok()) return routes.status();
  return std::unique_ptr<RestGateway>(
      new RestGateway(*std::move(routes), std::move(options)));
}

RestGateway::RestGateway(std::vector<HttpRoute> routes, Options options)
    : routes_(std::move(routes)),
      options_(std::move(options)),
      open_streams_(std::make_shared<std::atomic<int>>(0)) {}

RestGateway::~RestGateway() = default;

void RestGateway::Attach(std::shared_ptr<::grpc::Channel> channel) {
  absl::MutexLock lock(&mu_);
  stub_ = std::make_shared<::grpc::GenericStub>(std::move(channel));
}

std::shared_ptr<::grpc::GenericStub> RestGateway::stub() const {
  absl::MutexLock lock(&mu_);
  return stub_;
}

void RestGateway::Register(httplib::Server& server) {
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    Handle(req, res);
  };
  const std::string pattern = R"(/v1/.*)";
  server.Get(pattern, handler);
  server.Post(pattern, handler);
  server.Delete(pattern, handler);
  server.Patch(pattern, handler);
  server.Put(pattern, handler);
  server.Options(pattern, handler);
}

bool RestGateway::ApplyCors(const httplib::Request& req,
                            httplib::Response& res) const {
  const std::string origin = req.get_header_value("Origin");
  if (origin.empty() || options_.cors_origins.empty()) return false;
  const bool allowed =
      std::any_of(options_.cors_origins.begin(), options_.cors_origins.end(),
                  [&](const std::string& o) { return o == "*" || o == origin; });
  if (!allowed) return false;
  res.set_header("Access-Control-Allow-Origin", origin);
  res.set_header("Vary", "Origin");
  res.set_header("Access-Control-Expose-Headers", "Allow");
  return true;
}

void RestGateway::Handle(const httplib::Request& req, httplib::Response& res) {
  const std::string label = Serve(req, res);
  if (options_.requests != nullptr) {
    options_.requests->Increment({label, std::to_string(res.status)});
  }
}

std::string RestGateway::Serve(const httplib::Request& req,
                               httplib::Response& res) {
  const bool cors = ApplyCors(req, res);
  if (req.method == "OPTIONS") {
    if (!cors) {
      SendError(res, 7, "cross-origin requests from this origin are not "
                        "allowed (SMSGW_CORS_ORIGINS)");
      return "preflight";
    }
    res.status = 204;
    res.set_header("Access-Control-Allow-Methods",
                   "GET, POST, DELETE, PATCH, PUT, OPTIONS");
    res.set_header("Access-Control-Allow-Headers",
                   "Authorization, Content-Type, Idempotency-Key, "
                   "Last-Event-ID");
    res.set_header("Access-Control-Max-Age", "600");
    return "preflight";
  }
  if (req.path == "/v1/openapi.json" && !options_.openapi_json.empty()) {
    if (req.method != "GET") {
      res.set_header("Allow", "GET");
      SendError(res, 9, "use GET for /v1/openapi.json");
      res.status = 405;
    } else {
      res.set_content(options_.openapi_json, kJson);
    }
    return "/v1/openapi.json";
  }

  PathBindings bindings;
  std::string allowed;
  absl::StatusOr<const HttpRoute*> found =
      FindRoute(routes_, req.method, req.path, &bindings, &allowed);
  if (!found.ok()) {
    if (absl::IsFailedPrecondition(found.status())) {
      res.set_header("Allow", allowed);
      SendError(res, 9, found.status().message());
      res.status = 405;
    } else {
      SendError(res, 5, found.status().message());
    }
    return "unmatched";
  }
  const HttpRoute& route = **found;

  // httplib reads no body on GET: a route that takes none refuses one by
  // its headers, and the connection closes (the unread bytes would be taken
  // for the next request).
  if (route.body.empty() && (req.get_header_value<uint64_t>("Content-Length") > 0 ||
                             req.has_header("Transfer-Encoding"))) {
    res.set_header("Connection", "close");
    SendError(res, 3,
              absl::StrCat(req.method, " ", route.path.text(),
                           " takes no body: pass fields as query parameters"));
    return route.path.text();
  }
  if (!absl::StripAsciiWhitespace(req.body).empty()) {
    std::string type = req.get_header_value("Content-Type");
    type = std::string(absl::StripAsciiWhitespace(
        absl::string_view(type).substr(0, type.find(';'))));
    if (!absl::EqualsIgnoreCase(type, kJson)) {
      SendError(res, 3,
                absl::StrCat("the body must be application/json, got \"",
                             type, "\""));
      res.status = 415;
      return route.path.text();
    }
  }
  std::unique_ptr<pb::Message> request = NewMessage(route.method->input_type());
  if (absl::Status built =
          BuildRequest(route, bindings, QueryOf(req), req.body, request.get());
      !built.ok()) {
    SendError(res, 3, built.message());
    return route.path.text();
  }
  if (req.has_header("Idempotency-Key") &&
      !FillString(request.get(), "idempotency_key",
                  req.get_header_value("Idempotency-Key"))) {
    SendError(res, 3, "the Idempotency-Key header and the idempotency_key "
                      "field differ");
    return route.path.text();
  }
  if (route.method->server_streaming() && req.has_header("Last-Event-ID") &&
      !FillString(request.get(), options_.resume_field,
                  req.get_header_value("Last-Event-ID"))) {
    SendError(res, 3, absl::StrCat("the Last-Event-ID header and ",
                                   options_.resume_field, " differ"));
    return route.path.text();
  }
  for (const char* header : {"Authorization", "Idempotency-Key"}) {
    if (!IsMetadataValue(req.get_header_value(header))) {
      SendError(res, 3, absl::StrCat("the ", header,
                                     " header must be printable ASCII"));
      return route.path.text();
    }
  }
  std::shared_ptr<::grpc::GenericStub> generic = stub();
  if (generic == nullptr) {
    SendError(res, 14, "the server is starting; retry");
    return route.path.text();
  }
  const std::string bytes = request->SerializeAsString();
  if (route.method->server_streaming()) {
    ServeEvents(*generic, route, req, bytes, res);
  } else {
    ServeUnary(*generic, route, req, bytes, res);
  }
  return route.path.text();
}

namespace {

// The metadata every call made for `req` carries.
void AddMetadata(const httplib::Request& req, ::grpc::ClientContext* context) {
  if (req.has_header("Authorization")) {
    context->AddMetadata("authorization", req.get_header_value("Authorization"));
  }
  if (req.has_header("Idempotency-Key")) {
    context->AddMetadata("idempotency-key",
                         req.get_header_value("Idempotency-Key"));
  }
  context->AddMetadata(rpc::kRestPeerMetadata, PeerOf(req));
}

}  // namespace

void RestGateway::ServeUnary(::grpc::GenericStub& generic,
                             const HttpRoute& route, const httplib::Request& req,
                             const std::string& request_bytes,
                             httplib::Response& res) {
  ::grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
  AddMetadata(req, &context);
  ::grpc::ByteBuffer in = ToBuffer(request_bytes);
  ::grpc::ByteBuffer out;
  ::grpc::Status status;
  absl::Notification done;
  generic.UnaryCall(&context, route.grpc_path, ::grpc::StubOptions(), &in,
                     &out, [&](::grpc::Status s) {
                       status = std::move(s);
                       done.Notify();
                     });
  done.WaitForNotification();
  if (!status.ok()) {
    SendError(res, status.error_code(), status.error_message(),
              status.error_details());
    return;
  }
  std::unique_ptr<pb::Message> response =
      NewMessage(route.method->output_type());
  absl::StatusOr<std::string> json =
      FromBuffer(out, response.get())
          ? ToJson(*response)
          : absl::InternalError("the answer could not be parsed");
  if (!json.ok()) {
    SendError(res, 13, json.status().message());
    return;
  }
  res.set_content(*json, kJson);
}

void RestGateway::ServeEvents(::grpc::GenericStub& generic,
                              const HttpRoute& route,
                              const httplib::Request& req,
                              const std::string& request_bytes,
                              httplib::Response& res) {
  if (open_streams_->fetch_add(1) >= options_.max_event_streams) {
    open_streams_->fetch_sub(1);
    SendError(res, 14,
              absl::StrCat("too many event streams open (",
                           options_.max_event_streams,
                           "); retry later or use gRPC WatchMessages"));
    return;
  }
  auto stream = std::make_shared<EventStream>(open_streams_);
  AddMetadata(req, &stream->context);
  const absl::Time setup_deadline = absl::Now() + absl::Seconds(30);
  // Start, send the one request, half-close, then wait for the server to
  // say the stream is in place (or to refuse the call).
  stream->call =
      generic.PrepareCall(&stream->context, route.grpc_path, &stream->cq);
  ::grpc::ByteBuffer in = ToBuffer(request_bytes);
  std::optional<bool> outcome = true;
  auto step = [&](auto start) {
    if (outcome != true) return;
    start();
    outcome = stream->Await(setup_deadline);
  };
  step([&] { stream->call->StartCall(stream.get()); });
  step([&] { stream->call->Write(in, stream.get()); });
  step([&] { stream->call->WritesDone(stream.get()); });
  step([&] { stream->call->ReadInitialMetadata(stream.get()); });
  if (!outcome.has_value()) {
    // Timed out: cancel, and let the pending operation complete.
    stream->context.TryCancel();
    stream->Await(absl::InfiniteFuture());
  }
  const auto& initial = stream->context.GetServerInitialMetadata();
  if (outcome != true || initial.find(rpc::kStreamReadyMetadata) == initial.end()) {
    ::grpc::Status status = stream->End();
    if (status.ok()) {
      status = ::grpc::Status(::grpc::StatusCode::UNAVAILABLE,
                              "the stream ended before it started");
    }
    SendError(res, status.error_code(), status.error_message(),
              status.error_details());
    return;
  }

  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");  // nginx: do not buffer
  const pb::Descriptor* output = route.method->output_type();
  res.set_chunked_content_provider(
      "text/event-stream",
      [stream, output, id_field = options_.event_id_field,
       keepalive = options_.event_keepalive](size_t, httplib::DataSink& sink) {
        if (stream->ended) {
          sink.done();
          return true;
        }
        if (!stream->read_pending) {
          stream->call->Read(&stream->incoming, stream.get());
          stream->read_pending = true;
        }
        std::optional<bool> read = stream->Await(absl::Now() + keepalive);
        if (!read.has_value()) {
          // A comment line: keeps proxies from closing an idle stream, and
          // a failed write tells us the client is gone.
          static constexpr char kKeepAlive[] = ": keep-alive\n\n";
          return sink.write(kKeepAlive, sizeof(kKeepAlive) - 1);
        }
        stream->read_pending = false;
        std::string chunk;
        if (*read) {
          std::unique_ptr<pb::Message> event = NewMessage(output);
          absl::StatusOr<std::string> json =
              FromBuffer(stream->incoming, event.get())
                  ? ToJson(*event)
                  : absl::InternalError("an event could not be parsed");
          if (json.ok()) {
            const std::string id = StringAt(*event, id_field);
            if (!id.empty()) absl::StrAppend(&chunk, "id: ", id, "\n");
            absl::StrAppend(&chunk, "data: ", *json, "\n\n");
            return sink.write(chunk.data(), chunk.size());
          }
          stream->context.TryCancel();
          stream->End();
          chunk = absl::StrCat("event: error\ndata: ",
                               ErrorBody(13, json.status().message()), "\n\n");
        } else {
          // The stream ended: say why (with the status a gRPC client would
          // get), so that the client can resume from its last id.
          ::grpc::Status status = stream->End();
          chunk = absl::StrCat(
              "event: error\ndata: ",
              ErrorBody(status.error_code(), status.error_message(),
                        status.error_details()),
              "\n\n");
        }
        stream->ended = true;
        sink.write(chunk.data(), chunk.size());
        sink.done();
        return true;
      });
}

}  // namespace smsgw::gateway
