// HTTP/JSON -> request messages (path, query, body), answers as proto3
// JSON, and gRPC codes as HTTP statuses, on the real smsgw routes.
#include "server/gateway/json_transcoding.h"

#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "google/rpc/status.pb.h"
#include "nlohmann/json.hpp"
#include "tests/server/gateway/smsgw_routes.h"

namespace smsgw::gateway {
namespace {

using ::testing::HasSubstr;

class JsonTranscodingTest : public SmsgwRoutesTest {
 protected:
  const HttpRoute& Route(const std::string& method, const std::string& path,
                         PathBindings* bound) {
    std::string allowed;
    auto route = FindRoute(routes_, method, path, bound, &allowed);
    EXPECT_TRUE(route.ok()) << route.status();
    return **route;
  }
  absl::Status Build(const std::string& method, const std::string& path,
                     const QueryParams& query, const std::string& body,
                     google::protobuf::Message* out) {
    PathBindings bound;
    const HttpRoute& route = Route(method, path, &bound);
    return BuildRequest(route, bound, query, body, out);
  }
};

TEST_F(JsonTranscodingTest, QueryParametersFillTypedAndRepeatedFields) {
  v1::ListMessagesRequest list;
  ASSERT_TRUE(Build("GET", "/v1/messages",
                    {{"pageSize", "5"},
                     {"statuses", "MESSAGE_STATUS_SENT"},
                     {"statuses", "MESSAGE_STATUS_DELIVERED"},
                     {"start_time", "2026-01-02T03:04:05Z"},
                     {"unrouted", "true"},
                     {"query", "hello world"}},
                    "", &list)
                  .ok());
  EXPECT_EQ(list.page_size(), 5);
  ASSERT_EQ(list.statuses_size(), 2);
  EXPECT_EQ(list.statuses(1), v1::MESSAGE_STATUS_DELIVERED);
  EXPECT_EQ(google::protobuf::util::TimeUtil::ToString(list.start_time()),
            "2026-01-02T03:04:05Z");
  EXPECT_TRUE(list.unrouted());
  EXPECT_EQ(list.query(), "hello world");
}

TEST_F(JsonTranscodingTest, PathBindingsFillFieldsAndWinOverTheBody) {
  v1::CancelMessageRequest cancel;
  ASSERT_TRUE(Build("POST", "/v1/messages/abc:cancel", {},
                    R"({"id": "other"})", &cancel)
                  .ok());
  EXPECT_EQ(cancel.id(), "abc");
  v1::SendGroupMessageRequest group;
  ASSERT_TRUE(Build("POST", "/v1/groups/club/messages", {},
                    R"({"body": "hi", "idempotency_key": "k1"})", &group)
                  .ok());
  EXPECT_EQ(group.name(), "club");
  EXPECT_EQ(group.body(), "hi");
  EXPECT_EQ(group.idempotency_key(), "k1");
}

TEST_F(JsonTranscodingTest, BodyTakesBothFieldSpellingsAndWellKnownTypes) {
  v1::SendMessageRequest send;
  ASSERT_TRUE(Build("POST", "/v1/messages", {},
                    R"({"to": "+14155550100", "mediaUrls": ["https://x/a.png"],
                        "validate_only": true, "validityPeriod": "600s",
                        "sendAt": "2030-01-01T00:00:00Z",
                        "respectQuietHours": false})",
                    &send)
                  .ok());
  EXPECT_EQ(send.to(), "+14155550100");
  EXPECT_EQ(send.media_urls_size(), 1);
  EXPECT_TRUE(send.validate_only());
  EXPECT_EQ(send.validity_period().seconds(), 600);
  EXPECT_TRUE(send.has_respect_quiet_hours());
  EXPECT_FALSE(send.respect_quiet_hours());
  v1::SendMessageRequest empty;
  EXPECT_TRUE(Build("POST", "/v1/messages", {}, "  ", &empty).ok());
}

TEST_F(JsonTranscodingTest, MalformedInputIsInvalidArgument) {
  struct Case {
    std::string method, path;
    QueryParams query;
    std::string body, why;
  };
  const std::vector<Case> cases = {
      {"POST", "/v1/messages", {}, R"({"to": )", "not valid JSON"},
      {"POST", "/v1/messages", {}, "[1, 2]", "must be a JSON object"},
      {"POST", "/v1/messages", {}, "\"text\"", "must be a JSON object"},
      {"POST", "/v1/messages", {}, R"({"bogus": 1})", "bogus"},
      {"POST", "/v1/messages", {}, R"({"to": 5})", "invalid request"},
      {"POST", "/v1/messages", {}, R"({"sendAt": "yesterday"})", "invalid"},
      {"POST", "/v1/messages", {{"to", "+1"}}, "{}", "query parameter"},
      {"GET", "/v1/messages", {}, "{}", "takes no body"},
      {"GET", "/v1/messages", {{"nope", "1"}}, "", "unknown field"},
      {"GET", "/v1/messages", {{"pageSize", "ten"}}, "", "invalid"},
      {"GET", "/v1/messages", {{"pageSize", "1"}, {"pageSize", "2"}}, "",
       "twice"},
      {"GET", "/v1/messages", {{"unrouted", "maybe"}}, "", "true or false"},
      {"GET", "/v1/messages", {{"query.x", "1"}}, "", "has no fields"},
      {"GET", "/v1/messages", {{"statuses", "NOT_A_STATUS"}}, "", "invalid"},
      {"GET", "/v1/messages", {{"query", "\xff\xfe"}}, "", "UTF-8"},
      {"GET", "/v1/messages/abc", {{"id", "other"}}, "", "set by the path"},
  };
  for (const Case& c : cases) {
    v1::SendMessageRequest send;
    v1::ListMessagesRequest list;
    v1::GetMessageRequest get;
    google::protobuf::Message* out = &send;
    if (c.method == "GET") out = c.path == "/v1/messages" ? static_cast<google::protobuf::Message*>(&list) : &get;
    absl::Status status = Build(c.method, c.path, c.query, c.body, out);
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << c.why << ": " << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.why));
  }
}

TEST_F(JsonTranscodingTest, AnswersPrintDefaultsInCamelCase) {
  v1::GetMessageStatsResponse stats;
  stats.set_outbound_count(3);
  auto json = ToJson(stats);
  ASSERT_TRUE(json.ok());
  auto parsed = nlohmann::json::parse(*json);
  EXPECT_EQ(parsed["outboundCount"], "3");  // int64 as a string
  EXPECT_EQ(parsed["inboundCount"], "0");   // printed although default
  EXPECT_TRUE(parsed["days"].is_array());
}

TEST(ErrorBodyTest, IsAGoogleRpcStatus) {
  auto body = nlohmann::json::parse(ErrorBody(5, "message not found"));
  EXPECT_EQ(body["code"], 5);
  EXPECT_EQ(body["message"], "message not found");
  EXPECT_TRUE(body["details"].is_array());
  EXPECT_TRUE(body["details"].empty());
  // A message quoting bytes that are not UTF-8 still makes valid JSON.
  auto odd = nlohmann::json::parse(ErrorBody(3, "bad \xff input"));
  EXPECT_EQ(odd["code"], 3);
  // Details the server attached come through when their type is known.
  google::rpc::Status status;
  status.set_code(3);
  google::rpc::Status inner;
  inner.set_message("nested");
  status.add_details()->PackFrom(inner);
  auto with = nlohmann::json::parse(
      ErrorBody(3, "with details", status.SerializeAsString()));
  ASSERT_EQ(with["details"].size(), 1u);
  EXPECT_EQ(with["details"][0]["@type"],
            "type.googleapis.com/google.rpc.Status");
  // Garbage in the details is ignored, not fatal.
  auto garbage = nlohmann::json::parse(ErrorBody(3, "x", "\xff\xff\xff"));
  EXPECT_TRUE(garbage["details"].empty());
}

}  // namespace
}  // namespace smsgw::gateway
