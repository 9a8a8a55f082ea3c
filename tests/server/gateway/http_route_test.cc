// The REST routes read from the protos' google.api.http annotations: path
// template parsing and matching, and the route table of the real services.
#include "server/gateway/http_route.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/api/annotations.pb.h"
#include "google/protobuf/descriptor.pb.h"
#include "gtest/gtest.h"
#include "tests/server/gateway/smsgw_routes.h"

namespace smsgw::gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

TEST(PathTemplateTest, MatchesLiteralsVariablesAndVerbs) {
  auto cancel = PathTemplate::Parse("/v1/messages/{id}:cancel");
  ASSERT_TRUE(cancel.ok()) << cancel.status();
  PathBindings bound;
  EXPECT_TRUE(cancel->Match("/v1/messages/abc:cancel", &bound));
  EXPECT_THAT(bound, ElementsAre(Pair("id", "abc")));
  bound.clear();
  EXPECT_FALSE(cancel->Match("/v1/messages/abc", &bound));
  EXPECT_FALSE(cancel->Match("/v1/messages/:cancel", &bound));
  EXPECT_FALSE(cancel->Match("/v1/messages/a/b:cancel", &bound));
  EXPECT_FALSE(cancel->Match("/v1/messages/abc:cancelled", &bound));
  EXPECT_TRUE(bound.empty());

  auto watch = PathTemplate::Parse("/v1/messages:watch");
  ASSERT_TRUE(watch.ok());
  EXPECT_TRUE(watch->Match("/v1/messages:watch", &bound));
  EXPECT_FALSE(watch->Match("/v1/messages", &bound));

  auto explicit_star = PathTemplate::Parse("/v1/groups/{name=*}/messages");
  ASSERT_TRUE(explicit_star.ok());
  EXPECT_TRUE(explicit_star->Match("/v1/groups/club/messages", &bound));
  EXPECT_THAT(bound, ElementsAre(Pair("name", "club")));
  EXPECT_THAT(explicit_star->Variables(), ElementsAre("name"));
}

TEST(PathTemplateTest, RefusesMalformedTemplates) {
  for (const char* bad : {"", "v1/messages", "/v1//messages", "/v1/{id",
                          "/v1/{}", "/v1/{name=**}", "/v1/{a=b/*}", "/v1/x*",
                          "/v1/messages:"}) {
    EXPECT_FALSE(PathTemplate::Parse(bad).ok()) << bad;
  }
}

TEST(PathTemplateTest, NeverMatchesPathsNotStartingWithSlash) {
  auto t = PathTemplate::Parse("/v1/me");
  ASSERT_TRUE(t.ok());
  PathBindings bound;
  EXPECT_FALSE(t->Match("", &bound));
  EXPECT_FALSE(t->Match("v1/me", &bound));
  EXPECT_FALSE(t->Match("/v1/me/", &bound));
}

using RouteTableTest = SmsgwRoutesTest;

TEST_F(RouteTableTest, EveryRpcHasARoute) {
  int rpcs = 0;
  for (const auto* service : services_) rpcs += service->method_count();
  EXPECT_EQ(static_cast<int>(routes_.size()), rpcs);
}

TEST_F(RouteTableTest, FindsTheIssuesFixedRoutes) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"POST", "/v1/auth:signUp", "/smsgw.v1.AuthService/SignUp"},
      {"POST", "/v1/auth:login", "/smsgw.v1.AuthService/Login"},
      {"GET", "/v1/me", "/smsgw.v1.AuthService/GetCurrentUser"},
      {"POST", "/v1/messages", "/smsgw.v1.MessagingService/SendMessage"},
      {"GET", "/v1/messages", "/smsgw.v1.MessagingService/ListMessages"},
      {"GET", "/v1/messages/m1", "/smsgw.v1.MessagingService/GetMessage"},
      {"DELETE", "/v1/messages/m1", "/smsgw.v1.MessagingService/DeleteMessage"},
      {"POST", "/v1/messages/m1:cancel", "/smsgw.v1.MessagingService/CancelMessage"},
      {"GET", "/v1/conversations", "/smsgw.v1.MessagingService/ListConversations"},
      {"GET", "/v1/stats", "/smsgw.v1.MessagingService/GetMessageStats"},
      {"GET", "/v1/messages:watch", "/smsgw.v1.MessagingService/WatchMessages"},
      {"POST", "/v1/groups", "/smsgw.v1.GroupService/CreateGroup"},
      {"GET", "/v1/groups", "/smsgw.v1.GroupService/ListGroups"},
      {"GET", "/v1/groups/club", "/smsgw.v1.GroupService/GetGroup"},
      {"POST", "/v1/groups/club:join", "/smsgw.v1.GroupService/JoinGroup"},
      {"POST", "/v1/groups/club:leave", "/smsgw.v1.GroupService/LeaveGroup"},
      {"POST", "/v1/groups/club/messages", "/smsgw.v1.GroupService/SendGroupMessage"},
      {"GET", "/v1/groups/club/messages", "/smsgw.v1.GroupService/ListGroupMessages"},
  };
  for (const auto& [method, path, rpc] : cases) {
    PathBindings bound;
    std::string allowed;
    auto route = FindRoute(routes_, method, path, &bound, &allowed);
    ASSERT_TRUE(route.ok()) << method << " " << path << ": " << route.status();
    EXPECT_EQ((*route)->grpc_path, rpc) << method << " " << path;
  }
}

TEST_F(RouteTableTest, WrongMethodIsFailedPreconditionWithTheAllowedOnes) {
  PathBindings bound;
  std::string allowed;
  auto route = FindRoute(routes_, "PUT", "/v1/messages", &bound, &allowed);
  EXPECT_TRUE(absl::IsFailedPrecondition(route.status())) << route.status();
  EXPECT_EQ(allowed, "POST, GET");
  auto none = FindRoute(routes_, "GET", "/v1/nothing", &bound, &allowed);
  EXPECT_TRUE(absl::IsNotFound(none.status()));
}

// A service "t.S" with one method per rule, on request t.Req {string id;
// int32 n}, built in a pool of its own.
class BadAnnotationsTest : public ::testing::Test {
 protected:
  absl::Status RoutesWith(const std::vector<google::api::HttpRule>& rules) {
    google::protobuf::FileDescriptorProto file;
    file.set_name(absl::StrCat("t", ++files_, ".proto"));
    file.set_package(absl::StrCat("t", files_));
    file.set_syntax("proto3");
    auto* req = file.add_message_type();
    req->set_name("Req");
    auto* id = req->add_field();
    id->set_name("id"), id->set_number(1), id->set_json_name("id");
    id->set_type(google::protobuf::FieldDescriptorProto::TYPE_STRING);
    id->set_label(google::protobuf::FieldDescriptorProto::LABEL_OPTIONAL);
    auto* n = req->add_field();
    n->set_name("n"), n->set_number(2), n->set_json_name("n");
    n->set_type(google::protobuf::FieldDescriptorProto::TYPE_INT32);
    n->set_label(google::protobuf::FieldDescriptorProto::LABEL_OPTIONAL);
    auto* service = file.add_service();
    service->set_name("S");
    for (size_t i = 0; i < rules.size(); ++i) {
      auto* method = service->add_method();
      method->set_name(absl::StrCat("M", i));
      method->set_input_type(absl::StrCat(".", file.package(), ".Req"));
      method->set_output_type(absl::StrCat(".", file.package(), ".Req"));
      *method->mutable_options()->MutableExtension(google::api::http) = rules[i];
    }
    const google::protobuf::FileDescriptor* built = pool_.BuildFile(file);
    if (built == nullptr) return absl::InternalError("test file does not build");
    return RoutesOf({built->service(0)}).status();
  }
  static google::api::HttpRule Get(const std::string& path,
                                   const std::string& body = "") {
    google::api::HttpRule rule;
    rule.set_get(path);
    rule.set_body(body);
    return rule;
  }
  google::protobuf::DescriptorPool pool_;
  int files_ = 0;
};

TEST(GeneratedServicesTest, NamesTheMissingService) {
  auto missing = GeneratedServices({"smsgw.v1.NoSuchService"});
  EXPECT_TRUE(absl::IsNotFound(missing.status()));
  EXPECT_THAT(std::string(missing.status().message()),
              ::testing::HasSubstr("smsgw.v1.NoSuchService"));
}

TEST_F(BadAnnotationsTest, GoodOnesPass) {
  EXPECT_TRUE(RoutesWith({Get("/v1/things/{id}"), Get("/v1/things")}).ok());
}

TEST_F(BadAnnotationsTest, AreRefusedWithTheMethodNamed) {
  const std::vector<std::vector<google::api::HttpRule>> bad = {
      {Get("/v1/things/{nope}")},     // names no field
      {Get("/v1/things/{n}")},        // not a string
      {Get("/v1/things", "missing")},  // body names no field
      {Get("/v1/{id"),},              // malformed template
      {Get("/v1/things"), Get("/v1/things")},  // bound twice
      {google::api::HttpRule()},       // no verb
  };
  for (const auto& rules : bad) {
    absl::Status status = RoutesWith(rules);
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
    EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr(".S.M"));
  }
}

}  // namespace
}  // namespace smsgw::gateway
