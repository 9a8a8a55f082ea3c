#include "tests/fuzz/rpc_harness.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/stubs/logging.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/byte_buffer.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/app/config.h"
#include "server/app/server_app.h"
#include "common/logging.h"
#include "smsgw/v1/auth.grpc.pb.h"
#include "tests/fuzz/fuzz_support.h"

namespace smsgw::fuzz {
namespace {

constexpr char kPassword[] = "fuzz-password-1";

struct Server {
  std::unique_ptr<app::ServerApp> app;
  std::shared_ptr<::grpc::Channel> channel;
  std::unique_ptr<::grpc::GenericStub> stub;
  std::string user_token;
  std::string admin_token;
};

Server* running_server = nullptr;

// libFuzzer ends with exit(), while the server's HTTP and gRPC threads keep
// serving (the simulator's delivery callbacks go on by themselves): ASan saw
// a cpp-httplib worker read the function-local static set of HTTP methods
// that the exiting main thread had just destroyed. exit() runs handlers in
// reverse order of registration, and such statics register on first use,
// after the server started; so this handler is registered again on the 1st,
// 2nd, 4th, 8th... input, and its last registration runs before the
// destructors of statics first used in the first half of the run. Only the
// first run does anything.
void StopServerAtExit() {
  static bool stopped = false;
  if (stopped || running_server == nullptr) return;
  stopped = true;
  running_server->app->Shutdown();
  running_server->app->Wait();
}

std::string SignUp(v1::AuthService::Stub& auth, const std::string& username) {
  ::grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::SignUpRequest request;
  request.set_username(username);
  request.set_password(kPassword);
  request.set_phone_number("+14155550123");
  v1::SignUpResponse response;
  ::grpc::Status status = auth.SignUp(&context, request, &response);
  SMSGW_FUZZ_CHECK(status.ok(), status.error_message().c_str());
  return response.access_token();
}

Server* StartServer() {
  logging::SetMinLevel(logging::Level::kError);
  // The server's parser logs every string field that is not UTF-8.
  google::protobuf::SetLogHandler(nullptr);
  auto* s = new Server();
  app::ServerConfig config;
  config.grpc_addr = "127.0.0.1:0";
  config.http_addr = "127.0.0.1:0";
  config.metrics_addr = "";
  config.simulator_port = 0;
  config.db_path = FuzzTempDir() + "/rpc/smsgw.db";
  config.jwt_secret_key = "fuzz-jwt-secret-0123456789abcdef0123456789";
  config.admin_users = {"fuzzadmin"};
  config.twilio_phone_numbers = {"+15005550006", "+15005550007"};
  config.log_level = logging::Level::kError;
  config.shutdown_grace = absl::Seconds(1);
  absl::StatusOr<std::unique_ptr<app::ServerApp>> app =
      app::ServerApp::Start(config);
  SMSGW_FUZZ_CHECK(app.ok(), app.status().ToString().c_str());
  s->app = *std::move(app);
  s->channel = ::grpc::CreateChannel(s->app->grpc_address(),
                                     ::grpc::InsecureChannelCredentials());
  s->stub = std::make_unique<::grpc::GenericStub>(s->channel);
  auto auth = v1::AuthService::NewStub(s->channel);
  s->user_token = SignUp(*auth, "fuzzuser");
  s->admin_token = SignUp(*auth, "fuzzadmin");
  running_server = s;
  return s;
}

// A message of the method's request type parsed from `bytes`, or false
// when protobuf refuses them (the server then answers INTERNAL itself).
bool RequestParses(absl::string_view method, absl::string_view bytes) {
  // "/smsgw.v1.AuthService/Login" -> "smsgw.v1.AuthService.Login".
  std::string full(method.substr(1));
  full[full.find('/')] = '.';
  const google::protobuf::MethodDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full);
  SMSGW_FUZZ_CHECK(descriptor != nullptr, full.c_str());
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(
          descriptor->input_type());
  std::unique_ptr<google::protobuf::Message> message(prototype->New());
  return message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

}  // namespace

void RunRpcInput(const std::vector<std::string>& methods, const uint8_t* data,
                 size_t size) {
  static Server* const server = StartServer();
  static uint64_t inputs = 0;
  ++inputs;
  if ((inputs & (inputs - 1)) == 0) std::atexit(StopServerAtExit);
  InputReader in(data, size);
  const std::string& method = methods[in.Byte() % methods.size()];
  const uint8_t caller = in.Byte();
  ::grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  if ((caller & 2) == 0) {
    context.AddMetadata(
        "authorization",
        absl::StrCat("Bearer ",
                     (caller & 1) ? server->admin_token : server->user_token));
  }
  if (caller & 4) {
    const absl::string_view key = in.Until('\n');
    // gRPC refuses (client side) metadata values with control characters.
    bool printable = true;
    for (char c : key) printable &= c >= 0x20 && c < 0x7f;
    if (printable) context.AddMetadata("idempotency-key", std::string(key));
  }
  const absl::string_view bytes = in.Rest();
  ::grpc::Slice slice(bytes.data(), bytes.size());
  ::grpc::ByteBuffer request(&slice, 1);
  ::grpc::ByteBuffer response;
  ::grpc::Status status;
  absl::Notification done;
  server->stub->UnaryCall(&context, method, ::grpc::StubOptions(), &request,
                          &response, [&](::grpc::Status s) {
                            status = std::move(s);
                            done.Notify();
                          });
  done.WaitForNotification();
  const std::string what =
      absl::StrCat(method, " -> ", status.error_code(), " ", status.error_message());
  SMSGW_FUZZ_CHECK(status.error_code() != ::grpc::StatusCode::UNKNOWN, what.c_str());
  SMSGW_FUZZ_CHECK(status.error_code() != ::grpc::StatusCode::DEADLINE_EXCEEDED,
                   what.c_str());
  SMSGW_FUZZ_CHECK(status.error_code() != ::grpc::StatusCode::INTERNAL ||
                       !RequestParses(method, bytes),
                   what.c_str());
}

}  // namespace smsgw::fuzz
