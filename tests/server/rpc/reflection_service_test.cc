// Server reflection (reflection_service.h) in process: ReflectionIndex on the
// embedded descriptor set (every kind of symbol, unknown names, comments
// kept) and on hand-made sets (extensions, broken sets), Answer() for each
// request kind, and the two gRPC services over Server::InProcessChannel(),
// malformed request bytes included.
#include "server/rpc/reflection_service.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <google/protobuf/text_format.h>
#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/client_callback.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/rpc/descriptor_set.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::rpc {
namespace {

namespace pb = ::google::protobuf;
namespace v1alpha = ::grpc::reflection::v1alpha;
namespace reflection_v1 = ::grpc::reflection::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::vector<std::string> kServices = {
    "smsgw.v1.AuthService", "smsgw.v1.MessagingService",
    "smsgw.v1.GroupService", "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection"};

std::unique_ptr<ReflectionIndex> EmbeddedIndex() {
  absl::StatusOr<std::unique_ptr<ReflectionIndex>> index =
      ReflectionIndex::Create(EmbeddedDescriptorSet(), kServices);
  EXPECT_THAT(index, IsOk());
  return index.ok() ? std::move(index).value() : nullptr;
}

std::vector<pb::FileDescriptorProto> Parse(
    const std::vector<absl::string_view>& serialized) {
  std::vector<pb::FileDescriptorProto> files;
  for (absl::string_view bytes : serialized) {
    files.emplace_back();
    EXPECT_TRUE(files.back().ParseFromArray(bytes.data(),
                                            static_cast<int>(bytes.size())));
  }
  return files;
}

std::vector<std::string> Names(const std::vector<absl::string_view>& serialized) {
  std::vector<std::string> names;
  for (const pb::FileDescriptorProto& file : Parse(serialized)) {
    names.push_back(file.name());
  }
  return names;
}

// The leading comment of the method `method` (fully qualified) as a client
// sees it: built from nothing but the answer's files, so the answer must
// hold every file the method's file needs.
std::string LeadingComment(const std::vector<absl::string_view>& serialized,
                           const std::string& method) {
  pb::SimpleDescriptorDatabase database;
  for (const pb::FileDescriptorProto& file : Parse(serialized)) {
    EXPECT_TRUE(database.Add(file));
  }
  pb::DescriptorPool pool(&database);
  const pb::MethodDescriptor* found = pool.FindMethodByName(method);
  if (found == nullptr) {
    ADD_FAILURE() << method << " does not build from the answer";
    return "";
  }
  pb::SourceLocation location;
  if (!found->GetSourceLocation(&location)) return "";
  return location.leading_comments;
}

pb::FileDescriptorProto TextFile(const std::string& text) {
  pb::FileDescriptorProto file;
  EXPECT_TRUE(pb::TextFormat::ParseFromString(text, &file)) << text;
  return file;
}

// test.Base with extensions 150 and 120 declared in another file.
std::string ExtensionSet() {
  pb::FileDescriptorSet set;
  *set.add_file() = TextFile(R"pb(
    name: "test/base.proto"
    package: "test"
    message_type {
      name: "Base"
      extension_range { start: 100 end: 200 }
    }
    message_type { name: "Plain" }
  )pb");
  *set.add_file() = TextFile(R"pb(
    name: "test/ext.proto"
    package: "test"
    dependency: "test/base.proto"
    extension { name: "high" number: 150 label: LABEL_OPTIONAL type: TYPE_INT32 extendee: ".test.Base" }
    extension { name: "low" number: 120 label: LABEL_OPTIONAL type: TYPE_STRING extendee: ".test.Base" }
  )pb");
  return set.SerializeAsString();
}

TEST(ReflectionIndexTest, EmbeddedSetBuildsWithEveryServedService) {
  std::unique_ptr<ReflectionIndex> index = EmbeddedIndex();
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->services(), kServices);
}

TEST(ReflectionIndexTest, FileContainingSymbolFindsEveryKindOfSymbol) {
  std::unique_ptr<ReflectionIndex> index = EmbeddedIndex();
  ASSERT_NE(index, nullptr);
  struct Case {
    const char* symbol;
    const char* file;
  };
  const Case cases[] = {
      {"smsgw.v1.MessagingService", "smsgw/v1/messaging.proto"},
      {"smsgw.v1.MessagingService.SendMessage", "smsgw/v1/messaging.proto"},
      {"smsgw.v1.SendMessageRequest", "smsgw/v1/messaging.proto"},
      {"smsgw.v1.SendMessageRequest.to", "smsgw/v1/messaging.proto"},
      {"smsgw.v1.MessageStatus", "smsgw/v1/common.proto"},
      {"smsgw.v1.MESSAGE_STATUS_PENDING", "smsgw/v1/common.proto"},
      {".smsgw.v1.AuthService", "smsgw/v1/auth.proto"},
      {"smsgw.v1.GroupService.JoinGroup", "smsgw/v1/groups.proto"},
      {"grpc.health.v1.Health", "grpc/health/v1/health.proto"},
      {"grpc.health.v1.HealthCheckResponse.ServingStatus",
       "grpc/health/v1/health.proto"},
      {"grpc.health.v1.HealthCheckResponse.SERVING",
       "grpc/health/v1/health.proto"},
      {"grpc.reflection.v1.ServerReflectionRequest.message_request",
       "grpc/reflection/v1/reflection.proto"},
      {"grpc.reflection.v1alpha.ServerReflection",
       "grpc/reflection/v1alpha/reflection.proto"},
      {"google.protobuf.Timestamp", "google/protobuf/timestamp.proto"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::vector<absl::string_view>> files =
        index->FileContainingSymbol(c.symbol);
    ASSERT_THAT(files, IsOk()) << c.symbol;
    ASSERT_FALSE(files->empty()) << c.symbol;
    EXPECT_EQ(Names(*files).front(), c.file) << c.symbol;
  }
}

TEST(ReflectionIndexTest, AnswersTheFileThenEachImportOnce) {
  std::unique_ptr<ReflectionIndex> index = EmbeddedIndex();
  ASSERT_NE(index, nullptr);
  absl::StatusOr<std::vector<absl::string_view>> files =
      index->FileByFilename("smsgw/v1/messaging.proto");
  ASSERT_THAT(files, IsOk());
  // messaging imports google/api/annotations (which imports http and
  // descriptor), duration, timestamp and common; common imports timestamp
  // again.
  EXPECT_THAT(Names(*files),
              ElementsAre("smsgw/v1/messaging.proto",
                          "google/api/annotations.proto",
                          "google/api/http.proto",
                          "google/protobuf/descriptor.proto",
                          "google/protobuf/duration.proto",
                          "google/protobuf/timestamp.proto",
                          "smsgw/v1/common.proto"));
}

TEST(ReflectionIndexTest, FilesKeepTheirProtoComments) {
  std::unique_ptr<ReflectionIndex> index = EmbeddedIndex();
  ASSERT_NE(index, nullptr);
  absl::StatusOr<std::vector<absl::string_view>> files =
      index->FileContainingSymbol("smsgw.v1.MessagingService.SendMessage");
  ASSERT_THAT(files, IsOk());
  EXPECT_TRUE(Parse(*files).front().has_source_code_info());
  // From the comment on the rpc in protos/smsgw/v1/messaging.proto.
  EXPECT_THAT(LeadingComment(*files, "smsgw.v1.MessagingService.SendMessage"),
              HasSubstr("Sends one SMS (or MMS with media_urls)"));
}

TEST(ReflectionIndexTest, UnknownNamesAreNotFound) {
  std::unique_ptr<ReflectionIndex> index = EmbeddedIndex();
  ASSERT_NE(index, nullptr);
  EXPECT_THAT(index->FileContainingSymbol("smsgw.v1.NoSuchThing"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("symbol not found: \"smsgw.v1.NoSuchThing\"")));
  EXPECT_THAT(index->FileContainingSymbol(""),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(index->FileByFilename("smsgw/v1/nope.proto"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("file not found: \"smsgw/v1/nope.proto\"")));
  // Names are as imported, not paths on the build machine.
  EXPECT_THAT(index->FileByFilename("protos/smsgw/v1/messaging.proto"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(index->ExtensionNumbersOfType("smsgw.v1.Nope"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("message type not found")));
}

TEST(ReflectionIndexTest, ExtensionsAreFoundByTypeAndNumber) {
  absl::StatusOr<std::unique_ptr<ReflectionIndex>> index =
      ReflectionIndex::Create(ExtensionSet(), {});
  ASSERT_THAT(index, IsOk());
  absl::StatusOr<std::vector<absl::string_view>> files =
      (*index)->FileContainingExtension("test.Base", 150);
  ASSERT_THAT(files, IsOk());
  EXPECT_THAT(Names(*files), ElementsAre("test/ext.proto", "test/base.proto"));
  EXPECT_THAT((*index)->FileContainingSymbol("test.low"), IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(std::vector<int> numbers,
                             (*index)->ExtensionNumbersOfType("test.Base"));
  EXPECT_THAT(numbers, ElementsAre(120, 150));
  SMSGW_ASSERT_OK_AND_ASSIGN(numbers,
                             (*index)->ExtensionNumbersOfType(".test.Plain"));
  EXPECT_THAT(numbers, IsEmpty());
  EXPECT_THAT((*index)->FileContainingExtension("test.Base", 151),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("extension not found: 151 of test.Base")));
  EXPECT_THAT((*index)->FileContainingExtension("test.Missing", 150),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(ReflectionIndexTest, CreateRefusesBrokenSets) {
  EXPECT_THAT(ReflectionIndex::Create("\xff\xff\xff", {}),
              StatusIs(absl::StatusCode::kInvalidArgument));

  pb::FileDescriptorSet missing_import;
  *missing_import.add_file() = TextFile(R"pb(
    name: "a.proto" dependency: "b.proto"
  )pb");
  EXPECT_THAT(ReflectionIndex::Create(missing_import.SerializeAsString(), {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("a.proto imports b.proto")));

  pb::FileDescriptorSet twice;
  *twice.add_file() = TextFile(R"pb(name: "a.proto")pb");
  *twice.add_file() = TextFile(R"pb(name: "a.proto")pb");
  EXPECT_THAT(ReflectionIndex::Create(twice.SerializeAsString(), {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("a.proto is in it twice")));

  pb::FileDescriptorSet bad_type;
  *bad_type.add_file() = TextFile(R"pb(
    name: "a.proto"
    message_type {
      name: "A"
      field { name: "b" number: 1 label: LABEL_OPTIONAL type_name: ".Nowhere" }
    }
  )pb");
  EXPECT_THAT(ReflectionIndex::Create(bad_type.SerializeAsString(), {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("a.proto does not build")));

  EXPECT_THAT(ReflectionIndex::Create(EmbeddedDescriptorSet(),
                                      {"smsgw.v1.NoSuchService"}),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("smsgw.v1.NoSuchService")));
}

TEST(ReflectionIndexTest, AnswerListsTheServicesAndEchoesTheRequest) {
  std::unique_ptr<ReflectionIndex> index = EmbeddedIndex();
  ASSERT_NE(index, nullptr);
  v1alpha::ServerReflectionRequest request;
  request.set_host("localhost:50051");
  request.set_list_services("*");
  v1alpha::ServerReflectionResponse response;
  index->Answer(request, &response);
  EXPECT_EQ(response.valid_host(), "localhost:50051");
  EXPECT_EQ(response.original_request().list_services(), "*");
  ASSERT_TRUE(response.has_list_services_response());
  std::vector<std::string> names;
  for (const auto& service : response.list_services_response().service()) {
    names.push_back(service.name());
  }
  EXPECT_EQ(names, kServices);
}

TEST(ReflectionIndexTest, AnswerGivesFilesOrNotFound) {
  std::unique_ptr<ReflectionIndex> index = EmbeddedIndex();
  ASSERT_NE(index, nullptr);
  reflection_v1::ServerReflectionRequest request;
  request.set_file_containing_symbol("smsgw.v1.SendMessageRequest");
  reflection_v1::ServerReflectionResponse response;
  index->Answer(request, &response);
  ASSERT_TRUE(response.has_file_descriptor_response());
  EXPECT_EQ(response.file_descriptor_response().file_descriptor_proto_size(), 7);

  request.set_file_containing_symbol("smsgw.v1.Nope");
  index->Answer(request, &response);
  ASSERT_TRUE(response.has_error_response());
  EXPECT_EQ(response.error_response().error_code(),
            static_cast<int>(::grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(response.error_response().error_message(),
              HasSubstr("smsgw.v1.Nope"));
  EXPECT_FALSE(response.has_file_descriptor_response());
}

TEST(ReflectionIndexTest, AnswerRefusesEmptyAndUnknownRequestKinds) {
  std::unique_ptr<ReflectionIndex> index = EmbeddedIndex();
  ASSERT_NE(index, nullptr);
  v1alpha::ServerReflectionRequest empty;
  v1alpha::ServerReflectionResponse response;
  index->Answer(empty, &response);
  ASSERT_TRUE(response.has_error_response());
  EXPECT_EQ(response.error_response().error_code(),
            static_cast<int>(::grpc::StatusCode::INVALID_ARGUMENT));

  // A request kind from a later protocol: a field this schema lacks.
  v1alpha::ServerReflectionRequest future;
  future.GetReflection()->MutableUnknownFields(&future)->AddLengthDelimited(
      9, "something new");
  index->Answer(future, &response);
  ASSERT_TRUE(response.has_error_response());
  EXPECT_EQ(response.error_response().error_code(),
            static_cast<int>(::grpc::StatusCode::UNIMPLEMENTED));
  EXPECT_THAT(response.error_response().error_message(),
              HasSubstr("field number 9"));
}

TEST(ReflectionIndexTest, AnswerGivesExtensionNumbers) {
  absl::StatusOr<std::unique_ptr<ReflectionIndex>> index =
      ReflectionIndex::Create(ExtensionSet(), {});
  ASSERT_THAT(index, IsOk());
  v1alpha::ServerReflectionRequest request;
  request.set_all_extension_numbers_of_type("test.Base");
  v1alpha::ServerReflectionResponse response;
  (*index)->Answer(request, &response);
  ASSERT_TRUE(response.has_all_extension_numbers_response());
  EXPECT_EQ(response.all_extension_numbers_response().base_type_name(),
            "test.Base");
  EXPECT_THAT(response.all_extension_numbers_response().extension_number(),
              ElementsAre(120, 150));

  request.mutable_file_containing_extension()->set_containing_type("test.Base");
  request.mutable_file_containing_extension()->set_extension_number(120);
  (*index)->Answer(request, &response);
  ASSERT_TRUE(response.has_file_descriptor_response());
  EXPECT_EQ(response.file_descriptor_response().file_descriptor_proto_size(), 2);
}

// Both services on a real grpc::Server, reached in process.
class ReflectionGrpcServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    index_ = EmbeddedIndex();
    ASSERT_NE(index_, nullptr);
    v1alpha_ = std::make_unique<ReflectionGrpcService>(index_.get());
    v1_ = std::make_unique<ReflectionV1GrpcService>(index_.get());
    ::grpc::ServerBuilder builder;
    builder.RegisterService(v1alpha_.get());
    builder.RegisterService(v1_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = server_->InProcessChannel(::grpc::ChannelArguments());
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  std::unique_ptr<ReflectionIndex> index_;
  std::unique_ptr<ReflectionGrpcService> v1alpha_;
  std::unique_ptr<ReflectionV1GrpcService> v1_;
  std::unique_ptr<::grpc::Server> server_;
  std::shared_ptr<::grpc::Channel> channel_;
};

TEST_F(ReflectionGrpcServiceTest, AnswersEachRequestOfAStreamInOrder) {
  auto stub = v1alpha::ServerReflection::NewStub(channel_);
  ::grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  auto stream = stub->ServerReflectionInfo(&context);
  v1alpha::ServerReflectionRequest request;
  v1alpha::ServerReflectionResponse response;

  request.set_list_services("");
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.list_services_response().service_size(),
            static_cast<int>(kServices.size()));

  // A large answer (messaging.proto with its comments is over 8 KiB) after
  // a small one: the reactor reuses its write buffer.
  request.set_file_containing_symbol("smsgw.v1.MessagingService");
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_TRUE(response.has_file_descriptor_response());
  std::vector<absl::string_view> files(
      response.file_descriptor_response().file_descriptor_proto().begin(),
      response.file_descriptor_response().file_descriptor_proto().end());
  EXPECT_THAT(LeadingComment(files, "smsgw.v1.MessagingService.SendMessage"),
              HasSubstr("Sends one SMS"));

  request.set_file_containing_symbol("smsgw.v1.Nope");
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.error_response().error_code(),
            static_cast<int>(::grpc::StatusCode::NOT_FOUND));

  ASSERT_TRUE(stream->WritesDone());
  EXPECT_FALSE(stream->Read(&response));
  ::grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(ReflectionGrpcServiceTest, V1AnswersLikeV1alpha) {
  auto stub = reflection_v1::ServerReflection::NewStub(channel_);
  ::grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  auto stream = stub->ServerReflectionInfo(&context);
  reflection_v1::ServerReflectionRequest request;
  request.set_file_by_filename("smsgw/v1/auth.proto");
  ASSERT_TRUE(stream->Write(request));
  reflection_v1::ServerReflectionResponse response;
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_TRUE(response.has_file_descriptor_response());
  EXPECT_EQ(response.original_request().file_by_filename(),
            "smsgw/v1/auth.proto");
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_TRUE(stream->Finish().ok());
}

// Writes raw messages on one stream and collects the raw answers.
class RawReflectionCall final
    : public ::grpc::ClientBidiReactor<::grpc::ByteBuffer, ::grpc::ByteBuffer> {
 public:
  RawReflectionCall(::grpc::GenericStub* stub, std::vector<std::string> messages)
      : messages_(std::move(messages)) {
    context_.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    stub->PrepareBidiStreamingCall(
        &context_,
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ::grpc::StubOptions(), this);
    StartCall();
    WriteNext();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return;
    StartRead(&in_);
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    std::vector<::grpc::Slice> slices;
    (void)in_.Dump(&slices);
    std::string bytes;
    for (const ::grpc::Slice& slice : slices) {
      bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
    answers_.push_back(std::move(bytes));
    WriteNext();
  }
  void OnDone(const ::grpc::Status& status) override {
    status_ = status;
    done_.Notify();
  }

  // The answers (serialized) and the call's status, once it ended.
  const std::vector<std::string>& Await() {
    EXPECT_TRUE(done_.WaitForNotificationWithTimeout(absl::Seconds(20)));
    return answers_;
  }
  const ::grpc::Status& status() const { return status_; }

 private:
  void WriteNext() {
    if (next_ == messages_.size()) {
      StartWritesDone();
      return;
    }
    ::grpc::Slice slice(messages_[next_]);
    out_ = ::grpc::ByteBuffer(&slice, 1);
    ++next_;
    StartWrite(&out_);
  }

  ::grpc::ClientContext context_;
  std::vector<std::string> messages_;
  size_t next_ = 0;
  ::grpc::ByteBuffer out_;
  ::grpc::ByteBuffer in_;
  std::vector<std::string> answers_;
  ::grpc::Status status_;
  absl::Notification done_;
};

TEST_F(ReflectionGrpcServiceTest, BytesThatDoNotParseGetAnErrorAndTheStreamGoesOn) {
  ::grpc::GenericStub stub(channel_);
  v1alpha::ServerReflectionRequest valid;
  valid.set_file_containing_symbol("smsgw.v1.AuthService");
  RawReflectionCall call(&stub, {"\xff\xff\xff\xff", valid.SerializeAsString()});
  const std::vector<std::string>& answers = call.Await();
  EXPECT_TRUE(call.status().ok()) << call.status().error_message();
  ASSERT_EQ(answers.size(), 2u);
  v1alpha::ServerReflectionResponse first;
  ASSERT_TRUE(first.ParseFromString(answers[0]));
  EXPECT_EQ(first.error_response().error_code(),
            static_cast<int>(::grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(first.error_response().error_message(),
              HasSubstr("not a serialized ServerReflectionRequest"));
  v1alpha::ServerReflectionResponse second;
  ASSERT_TRUE(second.ParseFromString(answers[1]));
  EXPECT_TRUE(second.has_file_descriptor_response());
}

}  // namespace
}  // namespace smsgw::rpc
