// The lifecycle decisions (storage/message_lifecycle.h) as pure functions:
// no database, just the stored message, the update and what comes out.
#include "storage/message_lifecycle.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::storage {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

Message Stored(MessageStatus status, const std::string& sid = "") {
  Message m;
  m.seq = 7;
  m.id = "m-1";
  m.status = status;
  m.provider_sid = sid;
  m.num_segments = 1;
  m.update_time = kT0;
  return m;
}

StatusUpdate Update(MessageStatus status, absl::Duration after,
                    const std::string& sid = "") {
  StatusUpdate u;
  u.status = status;
  u.provider_sid = sid;
  u.event_time = kT0 + after;
  u.source = ReportSource::kStatusCallback;
  return u;
}

TEST(DecideStatusUpdateTest, MovesOnlyForwardThroughTheRanks) {
  const MessageStatus order[] = {MessageStatus::kPending, MessageStatus::kQueued,
                                 MessageStatus::kSending, MessageStatus::kSent,
                                 MessageStatus::kDelivered};
  for (int from = 0; from < 5; ++from) {
    for (int to = 0; to < 5; ++to) {
      StatusDecision d = DecideStatusUpdate(
          Stored(order[from], "SM1"), Update(order[to], absl::Seconds(1)));
      EXPECT_EQ(d.applied, to > from) << from << " -> " << to;
      EXPECT_EQ(d.next.status, to > from ? order[to] : order[from]);
      EXPECT_EQ(d.row_changed, to > from);
    }
  }
}

TEST(DecideStatusUpdateTest, TheFirstTerminalStatusWins) {
  StatusDecision d = DecideStatusUpdate(Stored(MessageStatus::kDelivered, "SM1"),
                                        Update(MessageStatus::kUndelivered,
                                               absl::Seconds(5)));
  EXPECT_FALSE(d.applied);
  EXPECT_FALSE(d.row_changed);
  EXPECT_EQ(d.next.status, MessageStatus::kDelivered);
  EXPECT_EQ(d.report_sid, "SM1");  // the late callback is still reported
}

TEST(DecideStatusUpdateTest, ErrorsAreSetOnlyByFailureStatuses) {
  StatusUpdate failed = Update(MessageStatus::kUndelivered, absl::Seconds(2));
  failed.error_code = 30003;
  failed.error_message = "Unreachable destination handset";
  StatusDecision d = DecideStatusUpdate(Stored(MessageStatus::kSent, "SM1"), failed);
  EXPECT_EQ(d.next.error_code, 30003);
  EXPECT_EQ(d.next.error_message, "Unreachable destination handset");

  StatusUpdate sent = Update(MessageStatus::kSent, absl::Seconds(2));
  sent.error_code = 1;  // ignored: SENT carries no error
  d = DecideStatusUpdate(Stored(MessageStatus::kQueued, "SM1"), sent);
  EXPECT_EQ(d.next.error_code, std::nullopt);
}

TEST(DecideStatusUpdateTest, SendTimeOnceAndDeliverTimeOnDelivered) {
  StatusDecision queued = DecideStatusUpdate(
      Stored(MessageStatus::kPending), Update(MessageStatus::kQueued,
                                              absl::Seconds(1), "SM1"));
  EXPECT_EQ(queued.next.send_time, kT0 + absl::Seconds(1));
  StatusDecision delivered = DecideStatusUpdate(
      queued.next, Update(MessageStatus::kDelivered, absl::Seconds(3)));
  EXPECT_EQ(delivered.next.send_time, kT0 + absl::Seconds(1));
  EXPECT_EQ(delivered.next.deliver_time, kT0 + absl::Seconds(3));
  // A local failure (never accepted) sets no send_time.
  StatusDecision failed = DecideStatusUpdate(
      Stored(MessageStatus::kPending), Update(MessageStatus::kFailed,
                                              absl::Seconds(1)));
  EXPECT_EQ(failed.next.send_time, std::nullopt);
}

TEST(DecideStatusUpdateTest, AStoredSidIsNeverReplacedAndTheFirstOneUnparks) {
  StatusDecision first = DecideStatusUpdate(
      Stored(MessageStatus::kPending), Update(MessageStatus::kQueued,
                                              absl::Seconds(1), "SM1"));
  EXPECT_EQ(first.next.provider_sid, "SM1");
  EXPECT_TRUE(first.apply_parked_reports);
  StatusDecision other = DecideStatusUpdate(
      first.next, Update(MessageStatus::kSent, absl::Seconds(2), "SM2"));
  EXPECT_EQ(other.next.provider_sid, "SM1");
  EXPECT_EQ(other.report_sid, "SM2");  // reported under the SID it came with
  EXPECT_FALSE(other.apply_parked_reports);
}

TEST(DecideStatusUpdateTest, ProviderFiguresApplyWhateverTheRank) {
  StatusUpdate late = Update(MessageStatus::kSent, absl::Seconds(9));
  late.num_segments = 2;
  late.price = "-0.0079";
  late.price_unit = "USD";
  StatusDecision d = DecideStatusUpdate(Stored(MessageStatus::kDelivered, "SM1"), late);
  EXPECT_FALSE(d.applied);
  EXPECT_TRUE(d.row_changed);
  EXPECT_EQ(d.next.num_segments, 2);
  EXPECT_EQ(d.next.price, "-0.0079");
  EXPECT_EQ(d.next.price_unit, "USD");
  EXPECT_EQ(d.next.update_time, kT0 + absl::Seconds(9));
}

TEST(DecideStatusUpdateTest, UpdateTimeNeverGoesBackwards) {
  StatusDecision d = DecideStatusUpdate(
      Stored(MessageStatus::kQueued, "SM1"),
      Update(MessageStatus::kSent, -absl::Seconds(30)));  // clock skew
  EXPECT_TRUE(d.applied);
  EXPECT_EQ(d.next.update_time, kT0);
  // A repeated callback changes nothing, not even update_time.
  StatusDecision again = DecideStatusUpdate(
      d.next, Update(MessageStatus::kSent, absl::Seconds(60)));
  EXPECT_FALSE(again.row_changed);
  EXPECT_EQ(again.next.update_time, kT0);
}

TEST(LifecycleTest, DispatchMarkerParkingAndScheduledExits) {
  Message m = Stored(MessageStatus::kPending);
  EXPECT_FALSE(ClearsDispatchMarker(m));
  m.dispatch_started_time = kT0;
  EXPECT_FALSE(ClearsDispatchMarker(m));  // still waiting for the provider
  m.status = MessageStatus::kQueued;
  EXPECT_TRUE(ClearsDispatchMarker(m));

  EXPECT_EQ(DisposeCallback(false), CallbackDisposition::kPark);
  EXPECT_EQ(DisposeCallback(true), CallbackDisposition::kApply);

  SMSGW_ASSERT_OK_AND_ASSIGN(
      ScheduledExit release,
      DecideLeaveScheduled(MessageStatus::kPending, kT0, "released"));
  EXPECT_EQ(release.next_attempt_time, kT0);
  EXPECT_EQ(release.report.source, ReportSource::kLocal);
  EXPECT_EQ(release.report.error_message, "released");
  SMSGW_ASSERT_OK_AND_ASSIGN(
      ScheduledExit cancel,
      DecideLeaveScheduled(MessageStatus::kCanceled, kT0, "canceled by user"));
  EXPECT_EQ(cancel.next_attempt_time, std::nullopt);
  EXPECT_EQ(cancel.report.status, MessageStatus::kCanceled);
  EXPECT_THAT(DecideLeaveScheduled(MessageStatus::kDelivered, kT0, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace smsgw::storage
