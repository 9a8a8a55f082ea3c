// GetMessageStats end to end: the real smsgw-server with the embedded Twilio
// simulator, messages sent through SendMessage (magic numbers fail them),
// then counted through the RPC.
//
// Status callbacks may move accepted messages on to SENT/DELIVERED while a
// test runs (once the webhook adapter handles them), so assertions on
// accepted messages hold for any of their statuses; FAILED is final.
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/smsgw_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/server_fixture.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_clients.h"

namespace smsgw {
namespace {

using ::testing::IsEmpty;

constexpr char kPeer[] = "+14155550100";

class MessageStatsIntegrationTest : public testing::ServerTest {
 protected:
  // Sends and returns the message's create_time day (UTC), "" on failure.
  std::string Send(const std::string& to, const std::string& body,
                   v1::MessageStatus* status = nullptr) {
    v1::SendMessageRequest request;
    request.set_to(to);
    request.set_body(body);
    auto sent = ann_->SendMessage(request);
    EXPECT_THAT(sent, IsOk());
    if (!sent.ok()) return "";
    if (status != nullptr) *status = sent->message().status();
    return absl::FormatTime(
        "%Y-%m-%d",
        absl::FromUnixSeconds(sent->message().create_time().seconds()),
        absl::UTCTimeZone());
  }

  static int64_t CountOf(
      const google::protobuf::RepeatedPtrField<v1::StatusCount>& counts,
      v1::MessageStatus status) {
    for (const v1::StatusCount& c : counts) {
      if (c.status() == status) return c.count();
    }
    return 0;
  }

  static int64_t Total(
      const google::protobuf::RepeatedPtrField<v1::StatusCount>& counts) {
    int64_t total = 0;
    for (const v1::StatusCount& c : counts) total += c.count();
    return total;
  }
};

TEST_F(MessageStatsIntegrationTest, CountsTheCallersMessagesByStatusAndDay) {
  StartWithAnn();
  std::set<std::string> days;
  const std::string two_segments(200, 'a');  // GSM-7: 153 + 47
  for (int i = 0; i < 3; ++i) {
    v1::MessageStatus status;
    days.insert(Send(kPeer, two_segments, &status));
    EXPECT_NE(status, v1::MESSAGE_STATUS_FAILED);
  }
  for (const char* magic : {"+15005550001", "+15005550002"}) {
    v1::MessageStatus status;
    days.insert(Send(magic, "doomed", &status));
    EXPECT_EQ(status, v1::MESSAGE_STATUS_FAILED);
  }

  auto stats = ann_->GetMessageStats(v1::GetMessageStatsRequest());
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->outbound_count(), 5);
  EXPECT_EQ(stats->inbound_count(), 0);
  EXPECT_EQ(stats->total_segments(), 3 * 2 + 2 * 1);
  EXPECT_EQ(Total(stats->status_counts()), 5);
  EXPECT_EQ(CountOf(stats->status_counts(), v1::MESSAGE_STATUS_FAILED), 2);
  // Listed in MessageStatus order, without zero counts.
  for (int i = 0; i < stats->status_counts_size(); ++i) {
    EXPECT_GT(stats->status_counts(i).count(), 0);
    if (i > 0) {
      EXPECT_LT(stats->status_counts(i - 1).status(),
                stats->status_counts(i).status());
    }
  }
  const int64_t delivered =
      CountOf(stats->status_counts(), v1::MESSAGE_STATUS_DELIVERED);
  const int64_t undelivered =
      CountOf(stats->status_counts(), v1::MESSAGE_STATUS_UNDELIVERED);
  EXPECT_DOUBLE_EQ(stats->delivery_rate(),
                   static_cast<double>(delivered) /
                       static_cast<double>(delivered + undelivered + 2));
  if (stats->price_unit().empty()) {
    EXPECT_EQ(stats->total_price(), "0");
  } else {
    EXPECT_TRUE(
        std::regex_match(stats->total_price(), std::regex(R"(-?\d+\.\d{5,6})")))
        << stats->total_price();
  }

  ASSERT_EQ(static_cast<size_t>(stats->days_size()), days.size());
  int64_t by_day = 0;
  int64_t segments_by_day = 0;
  for (const v1::DailyStats& day : stats->days()) {
    EXPECT_TRUE(days.count(day.date())) << day.date();
    by_day += day.outbound_count();
    segments_by_day += day.total_segments();
    EXPECT_EQ(Total(day.status_counts()), day.outbound_count());
  }
  EXPECT_EQ(by_day, 5);
  EXPECT_EQ(segments_by_day, 8);

  // Another user sees only their own (no) messages.
  auto bob = SignedIn("bob");
  auto bobs = bob->GetMessageStats(v1::GetMessageStatsRequest());
  ASSERT_THAT(bobs, IsOk());
  EXPECT_EQ(bobs->outbound_count(), 0);
  EXPECT_THAT(bobs->status_counts(), IsEmpty());
  EXPECT_THAT(bobs->days(), IsEmpty());
  EXPECT_EQ(bobs->delivery_rate(), 0.0);
  EXPECT_EQ(bobs->total_price(), "0");
  EXPECT_EQ(bobs->price_unit(), "");
}

TEST_F(MessageStatsIntegrationTest, WindowsFilterByCreateTime) {
  StartWithAnn();
  const absl::Time before = absl::Now() - absl::Seconds(1);
  Send(kPeer, "one");
  Send("+15005550001", "two");

  v1::GetMessageStatsRequest past;
  past.mutable_start_time()->set_seconds(absl::ToUnixSeconds(before) - 3600);
  past.mutable_end_time()->set_seconds(absl::ToUnixSeconds(before));
  auto none = ann_->GetMessageStats(past);
  ASSERT_THAT(none, IsOk());
  EXPECT_EQ(none->outbound_count(), 0);
  EXPECT_THAT(none->days(), IsEmpty());

  v1::GetMessageStatsRequest since;
  since.mutable_start_time()->set_seconds(absl::ToUnixSeconds(before));
  auto both = ann_->GetMessageStats(since);
  ASSERT_THAT(both, IsOk());
  EXPECT_EQ(both->outbound_count(), 2);
  EXPECT_EQ(CountOf(both->status_counts(), v1::MESSAGE_STATUS_FAILED), 1);
}

TEST_F(MessageStatsIntegrationTest, BadRangesAreInvalidArgument) {
  StartWithAnn();
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  v1::GetMessageStatsRequest reversed;
  reversed.mutable_start_time()->set_seconds(now - 60);
  reversed.mutable_end_time()->set_seconds(now - 120);
  EXPECT_THAT(
      ann_->GetMessageStats(reversed),
      StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("start_time")));
  v1::GetMessageStatsRequest future_start;
  future_start.mutable_start_time()->set_seconds(now + 3600);
  EXPECT_THAT(ann_->GetMessageStats(future_start),
              StatusIs(absl::StatusCode::kInvalidArgument));
  v1::GetMessageStatsRequest bad_nanos;
  bad_nanos.mutable_end_time()->set_nanos(-5);
  EXPECT_THAT(
      ann_->GetMessageStats(bad_nanos),
      StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("end_time")));

  SmsgwClient::Options options;
  options.target = server_->grpc_address();
  auto anonymous = *SmsgwClient::Create(options);
  EXPECT_THAT(anonymous->GetMessageStats(v1::GetMessageStatsRequest()),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(MessageStatsIntegrationTest, AdminsMayNameAUserOthersMayNot) {
  StartWithAnn({{"SMSGW_ADMIN_USERS", "root"}});
  Send("+15005550001", "doomed");
  Send(kPeer, "fine");
  auto bob = SignedIn("bob");
  v1::GetMessageStatsRequest as_ann;
  as_ann.set_username("ann");
  EXPECT_THAT(bob->GetMessageStats(as_ann),
              StatusIs(absl::StatusCode::kPermissionDenied));

  auto root = SignedIn("root");
  auto anns = root->GetMessageStats(as_ann);
  ASSERT_THAT(anns, IsOk());
  EXPECT_EQ(anns->outbound_count(), 2);
  EXPECT_EQ(CountOf(anns->status_counts(), v1::MESSAGE_STATUS_FAILED), 1);
  auto own = root->GetMessageStats(v1::GetMessageStatsRequest());
  ASSERT_THAT(own, IsOk());
  EXPECT_EQ(own->outbound_count(), 0);

  v1::GetMessageStatsRequest nobody;
  nobody.set_username("nobody");
  EXPECT_THAT(root->GetMessageStats(nobody),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace smsgw
