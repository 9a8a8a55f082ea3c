// Server reflection on the real smsgw-server over loopback, as grpcurl and
// buf curl meet it: both package names list the services the server
// registers (and each one listed is really served), and the descriptors
// carry the .proto comments: the leading comment of
// MessagingService.SendMessage is the one in protos/smsgw/v1/messaging.proto.
#include <google/protobuf/descriptor.pb.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/byte_buffer.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/server_fixture.h"

namespace smsgw {
namespace {

namespace pb = ::google::protobuf;
namespace v1alpha = ::grpc::reflection::v1alpha;
using ::testing::UnorderedElementsAreArray;

// What the server registers: the API, gRPC's health service, reflection.
constexpr const char* kServedServices[] = {
    "smsgw.v1.AuthService",
    "smsgw.v1.MessagingService",
    "smsgw.v1.GroupService",
    "smsgw.v1.WebhookService",
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection"};

// The comment right above `rpc <method>(` in the .proto file at `path`, as
// protoc records a leading comment: each line's text after "//", with its
// newline.
std::string ProtoComment(const std::string& path, const std::string& method) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::vector<std::string> comment;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!absl::StrContains(lines[i], "rpc " + method + "(")) continue;
    for (size_t j = i; j > 0; --j) {
      absl::string_view above = absl::StripLeadingAsciiWhitespace(lines[j - 1]);
      if (!absl::ConsumePrefix(&above, "//")) break;
      comment.insert(comment.begin(), std::string(above) + "\n");
    }
    break;
  }
  std::string joined;
  for (const std::string& line : comment) joined += line;
  return joined;
}

class ReflectionIntegrationTest : public testing::ServerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartServer());
    channel_ = ::grpc::CreateChannel(server_->grpc_address(),
                                     ::grpc::InsecureChannelCredentials());
  }

  // Sends `request` on a new stream of `stub` (v1alpha or v1), as grpcurl
  // asks, and returns the single answer; a test failure when the stream
  // breaks.
  template <typename Request, typename Response, typename Stub>
  Response AskOn(Stub* stub, const Request& request) {
    ::grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    auto stream = stub->ServerReflectionInfo(&context);
    Response response;
    EXPECT_TRUE(stream->Write(request));
    EXPECT_TRUE(stream->Read(&response));
    EXPECT_TRUE(stream->WritesDone());
    const ::grpc::Status status = stream->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  std::shared_ptr<::grpc::Channel> channel_;
};

TEST_F(ReflectionIntegrationTest, BothVersionsListTheRegisteredServices) {
  auto v1alpha_stub = v1alpha::ServerReflection::NewStub(channel_);
  v1alpha::ServerReflectionRequest request;
  request.set_list_services("");
  auto answer =
      AskOn<v1alpha::ServerReflectionRequest, v1alpha::ServerReflectionResponse>(
          v1alpha_stub.get(), request);
  std::vector<std::string> names;
  for (const auto& service : answer.list_services_response().service()) {
    names.push_back(service.name());
  }
  EXPECT_THAT(names, UnorderedElementsAreArray(kServedServices));

  auto v1_stub = ::grpc::reflection::v1::ServerReflection::NewStub(channel_);
  ::grpc::reflection::v1::ServerReflectionRequest v1_request;
  v1_request.set_list_services("");
  auto v1_answer = AskOn<::grpc::reflection::v1::ServerReflectionRequest,
                         ::grpc::reflection::v1::ServerReflectionResponse>(
      v1_stub.get(), v1_request);
  EXPECT_EQ(v1_answer.list_services_response().service_size(),
            static_cast<int>(names.size()));
}

TEST_F(ReflectionIntegrationTest, EveryListedServiceIsServed) {
  // An empty message to the service's first method: refused for a bad
  // argument or a missing token, never UNIMPLEMENTED (not registered).
  auto stub = v1alpha::ServerReflection::NewStub(channel_);
  ::grpc::GenericStub generic(channel_);
  for (const char* service : kServedServices) {
    v1alpha::ServerReflectionRequest request;
    request.set_file_containing_symbol(service);
    auto answer =
        AskOn<v1alpha::ServerReflectionRequest, v1alpha::ServerReflectionResponse>(
            stub.get(), request);
    ASSERT_TRUE(answer.has_file_descriptor_response()) << service;
    pb::FileDescriptorProto file;
    ASSERT_TRUE(file.ParseFromString(
        answer.file_descriptor_response().file_descriptor_proto(0)));
    std::string method;
    for (const pb::ServiceDescriptorProto& s : file.service()) {
      if (file.package() + "." + s.name() == service) {
        method = s.method(0).name();
      }
    }
    ASSERT_FALSE(method.empty()) << service;

    ::grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    ::grpc::Slice nothing("");
    ::grpc::ByteBuffer empty(&nothing, 1);
    ::grpc::ByteBuffer response;
    ::grpc::Status status;
    absl::Notification done;
    generic.UnaryCall(&context, absl::StrCat("/", service, "/", method),
                      ::grpc::StubOptions(), &empty, &response,
                      [&](::grpc::Status s) {
                        status = std::move(s);
                        done.Notify();
                      });
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(15)));
    EXPECT_NE(status.error_code(), ::grpc::StatusCode::UNIMPLEMENTED)
        << service << "/" << method << ": " << status.error_message();
  }
}

TEST_F(ReflectionIntegrationTest, SendMessageCarriesItsProtoComment) {
  auto stub = v1alpha::ServerReflection::NewStub(channel_);
  v1alpha::ServerReflectionRequest request;
  request.set_file_containing_symbol("smsgw.v1.MessagingService.SendMessage");
  auto answer =
      AskOn<v1alpha::ServerReflectionRequest, v1alpha::ServerReflectionResponse>(
          stub.get(), request);
  ASSERT_TRUE(answer.has_file_descriptor_response())
      << answer.error_response().error_message();
  pb::FileDescriptorProto file;
  ASSERT_TRUE(file.ParseFromString(
      answer.file_descriptor_response().file_descriptor_proto(0)));
  ASSERT_EQ(file.name(), "smsgw/v1/messaging.proto");
  ASSERT_TRUE(file.has_source_code_info());

  // The location of service `s`, method `m`: path {6 (service), s, 2
  // (method), m} in FileDescriptorProto field numbers.
  std::vector<int> path;
  for (int s = 0; s < file.service_size(); ++s) {
    for (int m = 0; m < file.service(s).method_size(); ++m) {
      if (file.service(s).name() == "MessagingService" &&
          file.service(s).method(m).name() == "SendMessage") {
        path = {6, s, 2, m};
      }
    }
  }
  ASSERT_FALSE(path.empty());
  std::string served;
  for (const pb::SourceCodeInfo::Location& location :
       file.source_code_info().location()) {
    if (std::vector<int>(location.path().begin(), location.path().end()) ==
        path) {
      served = location.leading_comments();
    }
  }
  const std::string written = ProtoComment(
      std::string(SMSGW_SOURCE_DIR) + "/protos/smsgw/v1/messaging.proto",
      "SendMessage");
  ASSERT_THAT(written, ::testing::HasSubstr("Sends one SMS"));
  EXPECT_EQ(served, written);
}

}  // namespace
}  // namespace smsgw
