// Standard Webhooks signing, event types and the retry schedule
// (server/events/webhook_rules.h).
#include "server/events/webhook_rules.h"

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace smsgw::events {
namespace {

// The Standard Webhooks specification's published test vector
// (standard-webhooks/standard-webhooks, spec and reference libraries).
constexpr char kSpecSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr char kSpecId[] = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kSpecTimestamp = 1614265330;
constexpr char kSpecBody[] = R"({"test": 2432232314})";
constexpr char kSpecSignature[] =
    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

TEST(WebhookSignatureTest, MatchesTheStandardWebhooksTestVector) {
  absl::StatusOr<std::string> sig =
      Sign(kSpecSecret, kSpecId, kSpecTimestamp, kSpecBody);
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(*sig, kSpecSignature);
}

TEST(WebhookSignatureTest, AnyChangeToIdTimestampOrBodyChangesIt) {
  const std::string good = *Sign(kSpecSecret, kSpecId, kSpecTimestamp, kSpecBody);
  EXPECT_NE(*Sign(kSpecSecret, "msg_other", kSpecTimestamp, kSpecBody), good);
  EXPECT_NE(*Sign(kSpecSecret, kSpecId, kSpecTimestamp + 1, kSpecBody), good);
  EXPECT_NE(*Sign(kSpecSecret, kSpecId, kSpecTimestamp, R"({"test": 2432232315})"),
            good);
}

TEST(WebhookSignatureTest, MalformedSecretsAreRefused) {
  const char* cases[] = {
      "",                                       // empty
      "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",       // no prefix
      "whsec_",                                 // no key
      "whsec_not base64!",                      // malformed base64
      "whsec_c2hvcnQ=",                         // 5 bytes: too short
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw=",  // bad padding
  };
  for (const char* secret : cases) {
    EXPECT_EQ(DecodeSecret(secret).status().code(),
              absl::StatusCode::kInvalidArgument)
        << secret;
    EXPECT_FALSE(Sign(secret, kSpecId, kSpecTimestamp, kSpecBody).ok()) << secret;
  }
}

TEST(WebhookSecretTest, NewSecretsAreWhsecWith24RandomBytes) {
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    const std::string secret = NewSecret();
    EXPECT_THAT(secret, ::testing::MatchesRegex("whsec_[A-Za-z0-9+/]{32}"));
    absl::StatusOr<std::string> key = DecodeSecret(secret);
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(key->size(), 24u);
    seen.insert(secret);
  }
  EXPECT_EQ(seen.size(), 20u);
}

TEST(WebhookEventTypesTest, KnownTypesPassUnknownAndRepeatedFail) {
  EXPECT_TRUE(ValidateEventTypes({}).ok());
  EXPECT_TRUE(ValidateEventTypes(AllEventTypes()).ok());
  EXPECT_EQ(ValidateEventTypes({"message.sent"}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateEventTypes({"Message.Created"}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateEventTypes({"", "message.created"}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateEventTypes({"message.created", "message.created"}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(WebhookEventTypesTest, FeedRowsMapToTheirTypesAndKeywordsAddOptOut) {
  storage::FeedEvent row;
  row.type = storage::FeedEventType::kCreated;
  EXPECT_THAT(EventTypesOf(row), ::testing::ElementsAre("message.created"));
  row.type = storage::FeedEventType::kStatusChanged;
  EXPECT_THAT(EventTypesOf(row), ::testing::ElementsAre("message.status_changed"));
  row.type = storage::FeedEventType::kDeleted;
  EXPECT_THAT(EventTypesOf(row), ::testing::ElementsAre("message.deleted"));
  row.type = storage::FeedEventType::kInbound;
  row.message = storage::Message();
  row.message->body = "hello";
  EXPECT_THAT(EventTypesOf(row), ::testing::ElementsAre("message.received"));
  row.message->body = " stop ";
  EXPECT_THAT(EventTypesOf(row),
              ::testing::ElementsAre("message.received", "opt_out.changed"));
  row.message->body = "START";
  EXPECT_THAT(EventTypesOf(row),
              ::testing::ElementsAre("message.received", "opt_out.changed"));
  row.message->body = "HELP";  // not an opt-out change
  EXPECT_THAT(EventTypesOf(row), ::testing::ElementsAre("message.received"));
}

TEST(WebhookEventTypesTest, EmptySubscriptionMeansAll) {
  EXPECT_TRUE(Subscribed({}, "opt_out.changed"));
  EXPECT_TRUE(Subscribed({"message.created"}, "message.created"));
  EXPECT_FALSE(Subscribed({"message.created"}, "message.deleted"));
}

TEST(WebhookIdTest, IsDeterministicPerEndpointCursorAndType) {
  EXPECT_EQ(WebhookId(3, 42, "message.created"), "msg_3_42");
  EXPECT_EQ(WebhookId(3, 42, "message.created"), WebhookId(3, 42, "message.created"));
  EXPECT_EQ(WebhookId(3, 42, "opt_out.changed"), "msg_3_42_opt_out");
  EXPECT_NE(WebhookId(4, 42, "message.created"), WebhookId(3, 42, "message.created"));
}

TEST(WebhookBackoffTest, FullJitterUnderADoublingCapUpToOneHour) {
  const Backoff backoff;  // 5 s doubling, capped at 1 h
  struct Case {
    int attempt;
    absl::Duration cap;
  } cases[] = {
      {1, absl::Seconds(5)},   {2, absl::Seconds(10)}, {3, absl::Seconds(20)},
      {4, absl::Seconds(40)},  {10, absl::Seconds(2560)},
      {11, absl::Hours(1)},    {1000, absl::Hours(1)},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(RetryDelay(backoff, c.attempt, 0.999999), c.cap * 0.999999)
        << c.attempt;
    EXPECT_EQ(RetryDelay(backoff, c.attempt, 0.5), std::max(absl::Seconds(1), c.cap * 0.5))
        << c.attempt;
    // Never below 1 s, even at the bottom of the jitter.
    EXPECT_EQ(RetryDelay(backoff, c.attempt, 0.0), absl::Seconds(1)) << c.attempt;
  }
}

TEST(WebhookBodyTest, CarriesTypeTimestampMessageAndCursor) {
  storage::FeedEvent row;
  row.cursor = 17;
  row.type = storage::FeedEventType::kInbound;
  row.event_time = absl::FromUnixSeconds(1614265330);
  row.message = storage::Message();
  row.message->body = "STOP";
  row.message->from = "+14155550100";
  row.message->to = "+15005550006";
  absl::StatusOr<std::string> body =
      EventBody("opt_out.changed", row, R"({"id":"m1","body":"STOP"})");
  ASSERT_TRUE(body.ok()) << body.status();
  const nlohmann::json json = nlohmann::json::parse(*body);
  EXPECT_EQ(json["type"], "opt_out.changed");
  EXPECT_EQ(json["timestamp"], "2021-02-25T15:02:10.000000Z");
  EXPECT_EQ(json["data"]["cursor"], "17");
  EXPECT_EQ(json["data"]["message"]["id"], "m1");
  EXPECT_EQ(json["data"]["opt_out"]["opted_out"], true);
  EXPECT_EQ(json["data"]["opt_out"]["phone_number"], "+14155550100");
  EXPECT_FALSE(EventBody("message.created", row, "not json").ok());
  EXPECT_FALSE(EventBody("message.created", row, "[1]").ok());
}

}  // namespace
}  // namespace smsgw::events
