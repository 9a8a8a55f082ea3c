// Daily segment quotas end to end (issue 18, item 4): the real server with
// SMSGW_DAILY_SEGMENTS_PER_USER, SendMessage and group sends refused past the
// quota with the reset time and nothing stored, idempotent retries not
// charged twice, admins setting a user's own quota, GetMessageStats showing
// the use, and a bad setting refused at start.
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/smsgw_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/twilio/twilio_rest_client.h"
#include "tests/testing/server_fixture.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_clients.h"
#include "tests/testing/twilio_side.h"

namespace smsgw {
namespace {

using ::testing::HasSubstr;

constexpr char kPeer[] = "+14155550100";

// The next 00:00 UTC, as the server prints it.
std::string NextUtcMidnight() {
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::Time next = absl::FromCivil(
      absl::ToCivilDay(absl::Now(), utc) + 1, utc);
  return absl::FormatTime(absl::RFC3339_sec, next, utc);
}

class QuotaIntegrationTest : public testing::ServerTest {
 protected:
  absl::StatusOr<v1::SendMessageResponse> Send(
      client::SmsgwClient& client, const std::string& body,
      const std::string& key = "") {
    v1::SendMessageRequest request;
    request.set_to(kPeer);
    request.set_body(body);
    request.set_idempotency_key(key);
    return client.SendMessage(request);
  }

  v1::GetMessageStatsResponse Stats(client::SmsgwClient& client) {
    auto stats = client.GetMessageStats(v1::GetMessageStatsRequest());
    EXPECT_THAT(stats, IsOk());
    return stats.ok() ? *stats : v1::GetMessageStatsResponse();
  }
};

TEST_F(QuotaIntegrationTest, SendsPastTheQuotaAreRefusedUntilMidnightUtc) {
  ASSERT_NO_FATAL_FAILURE(
      StartWithAnn({{"SMSGW_DAILY_SEGMENTS_PER_USER", "3"}}));
  ASSERT_THAT(Send(*ann_, "one"), IsOk());
  ASSERT_THAT(Send(*ann_, "two"), IsOk());
  // 161 GSM-7 characters: 2 segments, one more than is left.
  EXPECT_THAT(Send(*ann_, std::string(161, 'x')),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("daily quota of 3 segments reached: 2 used "
                                 "today, this send needs 2")));
  ASSERT_THAT(Send(*ann_, "three"), IsOk());
  const int64_t stored = Rows("messages");
  auto refused = Send(*ann_, "four", "key-four");
  EXPECT_THAT(refused,
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr(absl::StrCat("the quota resets at ",
                                              NextUtcMidnight()))));
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted,
                                HasSubstr("SMSGW_DAILY_SEGMENTS_PER_USER")));
  // Nothing stored, and the refused request's idempotency key is unused.
  EXPECT_EQ(Rows("messages"), stored);
  EXPECT_EQ(Rows("idempotency_keys"), 0);

  const v1::GetMessageStatsResponse stats = Stats(*ann_);
  EXPECT_EQ(stats.daily_segments_used(), 3);
  EXPECT_EQ(stats.daily_segments_quota(), 3);
  EXPECT_EQ(absl::FormatTime(absl::RFC3339_sec,
                             absl::FromUnixSeconds(
                                 stats.quota_reset_time().seconds()),
                             absl::UTCTimeZone()),
            NextUtcMidnight());

  // Deleting messages gives nothing back.
  v1::DeleteMessagesRequest all;
  ASSERT_THAT(ann_->DeleteMessages(all), IsOk());
  EXPECT_THAT(Send(*ann_, "after delete"),
              StatusIs(absl::StatusCode::kResourceExhausted));
  // Other users have their own count.
  auto bob = SignedIn("bob");
  EXPECT_THAT(Send(*bob, "bob's first"), IsOk());
}

TEST_F(QuotaIntegrationTest, AnIdempotentRetryIsNotChargedAgain) {
  ASSERT_NO_FATAL_FAILURE(
      StartWithAnn({{"SMSGW_DAILY_SEGMENTS_PER_USER", "2"}}));
  auto first = Send(*ann_, "hello", "retry-me");
  ASSERT_THAT(first, IsOk());
  for (int i = 0; i < 3; ++i) {
    auto again = Send(*ann_, "hello", "retry-me");
    ASSERT_THAT(again, IsOk());
    EXPECT_EQ(again->message().id(), first->message().id());
  }
  EXPECT_EQ(Stats(*ann_).daily_segments_used(), 1);
  EXPECT_THAT(Send(*ann_, "second"), IsOk());
  // At the quota, a retry of an accepted send still answers its message.
  auto replay = Send(*ann_, "hello", "retry-me");
  ASSERT_THAT(replay, IsOk());
  EXPECT_EQ(replay->message().id(), first->message().id());
  EXPECT_THAT(Send(*ann_, "third"),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST_F(QuotaIntegrationTest, AdminsSetAUsersOwnQuota) {
  ASSERT_NO_FATAL_FAILURE(
      StartWithAnn({{"SMSGW_ADMIN_USERS", "root"},
                    {"SMSGW_DAILY_SEGMENTS_PER_USER", "1"}}));
  auto root = SignedIn("root");
  auto bob = SignedIn("bob");
  ASSERT_THAT(Send(*ann_, "one"), IsOk());
  EXPECT_THAT(Send(*ann_, "two"),
              StatusIs(absl::StatusCode::kResourceExhausted));

  auto set = root->SetUserQuota("Ann", 3);
  ASSERT_THAT(set, IsOk());
  EXPECT_EQ(set->user().username(), "ann");
  EXPECT_EQ(set->user().daily_segment_quota(), 3);
  EXPECT_THAT(Send(*ann_, "two"), IsOk());
  EXPECT_THAT(Send(*ann_, "three"), IsOk());
  EXPECT_THAT(Send(*ann_, "four"),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("daily quota of 3 segments")));
  EXPECT_EQ(Stats(*ann_).daily_segments_quota(), 3);
  auto me = ann_->GetCurrentUser();
  ASSERT_THAT(me, IsOk());
  EXPECT_EQ(me->user().daily_segment_quota(), 3);

  // 0: back to the server's default (1, used up long ago).
  ASSERT_THAT(root->SetUserQuota("ann", 0), IsOk());
  EXPECT_EQ(Stats(*ann_).daily_segments_quota(), 1);

  // Only admins; bad input changes nothing.
  EXPECT_THAT(bob->SetUserQuota("bob", 1000),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(root->SetUserQuota("nobody", 5),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(root->SetUserQuota("ann", -1),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(root->SetUserQuota("", 5),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(Stats(*bob).daily_segments_quota(), 1);
}

TEST_F(QuotaIntegrationTest, GroupSendsAreChargedToTheSender) {
  const int sim_port = testing::FreePort();
  ASSERT_GT(sim_port, 0);
  ASSERT_NO_FATAL_FAILURE(
      StartServer({{"SMSGW_DAILY_SEGMENTS_PER_USER", "3"}},
                  {absl::StrCat("--simulator_port=", sim_port)}));
  auto twilio = testing::SimulatorRestClient(sim_port);
  ASSERT_THAT(twilio, IsOk());
  auto verified = [&](const std::string& name, const std::string& phone) {
    auto client = SignedIn(name, phone);
    EXPECT_THAT(client->StartPhoneVerification(""), IsOk());
    const std::string code =
        testing::ReadVerificationCode(**twilio, phone, "+15005550006");
    EXPECT_THAT(client->ConfirmPhoneVerification(code), IsOk());
    return client;
  };
  auto ann = verified("ann", "+14155550101");
  auto bob = verified("bob", "+14155550102");
  auto cat = verified("cat", "+14155550103");
  ASSERT_THAT(ann->CreateGroup("hikers", ""), IsOk());
  ASSERT_THAT(bob->JoinGroup("hikers"), IsOk());
  ASSERT_THAT(cat->JoinGroup("hikers"), IsOk());

  v1::SendGroupMessageRequest request;
  request.set_name("hikers");
  request.set_body("trail at 9");
  request.set_idempotency_key("trail");
  auto sent = ann->SendGroupMessage(request);
  ASSERT_THAT(sent, IsOk());
  EXPECT_EQ(sent->deliveries_size(), 2);
  // Two deliveries of one segment, charged to ann, not to bob and cat;
  // verification codes are charged to nobody.
  EXPECT_EQ(Stats(*ann).daily_segments_used(), 2);
  EXPECT_EQ(Stats(*bob).daily_segments_used(), 0);
  // The retry is the same send, not charged again.
  ASSERT_THAT(ann->SendGroupMessage(request), IsOk());
  EXPECT_EQ(Stats(*ann).daily_segments_used(), 2);

  // The next needs 2 with 1 left: refused, nothing stored.
  const int64_t stored = Rows("messages");
  request.set_body("bring water");
  request.set_idempotency_key("");
  EXPECT_THAT(ann->SendGroupMessage(request),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("2 used today, this send needs 2")));
  EXPECT_EQ(Rows("messages"), stored);
  // One segment still fits a plain send.
  v1::SendMessageRequest plain;
  plain.set_to(kPeer);
  plain.set_body("ok");
  EXPECT_THAT(ann->SendMessage(plain), IsOk());
}

TEST(QuotaConfigTest, BadQuotaStopsTheServerAtStart) {
  for (const char* bad : {"-1", "lots", "1.5"}) {
    EXPECT_THAT(
        testing::StartStatus({{"SMSGW_DAILY_SEGMENTS_PER_USER", bad}}),
        StatusIs(absl::StatusCode::kFailedPrecondition,
                 HasSubstr("SMSGW_DAILY_SEGMENTS_PER_USER")))
        << bad;
  }
}

}  // namespace
}  // namespace smsgw
