// The dispatcher's pacing, backlog bound and scheduled sends, against the
// real SQLite store, a fake provider and a FakeClock.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/dispatch/dispatcher.h"
#include "server/dispatch/rate_limiter.h"
#include "storage/sqlite/database.h"
#include "storage/sqlite/sqlite_message_store.h"
#include "storage/sqlite/sqlite_user_store.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_sms_provider.h"
#include "tests/testing/outbound_store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw::dispatch {
namespace {

using ::smsgw::testing::FakeClock;
using ::smsgw::testing::FakeSmsProvider;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using storage::Message;
using storage::MessageStatus;

constexpr char kOurNumber[] = "+15005550006";

class DispatcherPacingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    limiter_ = std::make_unique<RateLimiter>(&clock_, RateLimiter::Options{});
  }

  void TearDown() override {
    if (dispatcher_ != nullptr) dispatcher_->Shutdown(absl::Seconds(2));
  }

  void StartDispatcher(absl::Duration max_backlog = absl::Hours(10),
                       bool paced = true) {
    Dispatcher::Options options = options_;
    options.rate_limiter = paced ? limiter_.get() : nullptr;
    options.max_backlog = max_backlog;
    options.schedule_poll = absl::Seconds(1);
    dispatcher_ = std::make_unique<Dispatcher>(store_, &provider_,
                                               &clock_, options);
    ASSERT_THAT(dispatcher_->Start(), IsOk());
  }

  // Stores an outbound message; SCHEDULED at `send_at` when given.
  Message Store(const std::string& body,
                std::optional<absl::Time> send_at = std::nullopt,
                int segments = 1,
                storage::MessagePriority priority =
                    storage::MessagePriority::kNormal,
                std::optional<absl::Time> expire_time = std::nullopt) {
    Message m = outbound_.NewMessage(body);
    m.num_segments = segments;
    m.priority = priority;
    m.expire_time = expire_time;
    if (send_at.has_value()) {
      m.status = MessageStatus::kScheduled;
      m.scheduled_time = m.next_attempt_time = send_at;
    }
    return outbound_.Create(m);
  }

  MessageStatus StatusOf(const std::string& id) {
    return outbound_.StatusOf(id);
  }

  // Lets the timer run for a while of real time.
  static void Settle() { absl::SleepFor(absl::Milliseconds(600)); }

  // Moves fake time on by `total` in steps of `step`, letting the timer
  // (which looks at the clock at least every 200 ms) run after each.
  void AdvanceInSteps(absl::Duration total, absl::Duration step) {
    for (absl::Duration done; done < total; done += step) {
      clock_.Advance(step);
      absl::SleepFor(absl::Milliseconds(250));
    }
  }

  // Waits (real time, up to 10 s) until `id` reaches `status`.
  bool AwaitStatus(const std::string& id, MessageStatus status) {
    for (int i = 0; i < 200; ++i) {
      if (StatusOf(id) == status) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

  smsgw::testing::TempDir dir_;
  FakeClock clock_;
  smsgw::testing::OutboundStore outbound_{dir_.File("smsgw.db"), &clock_};
  storage::sqlite::SqliteMessageStore* store_ = outbound_.store();
  std::unique_ptr<RateLimiter> limiter_;
  FakeSmsProvider provider_{&clock_};
  std::unique_ptr<Dispatcher> dispatcher_;
  Dispatcher::Options options_;  // what StartDispatcher() starts from
};

TEST_F(DispatcherPacingTest, LongCodeMessagesGoOutOneASecondInOrder) {
  StartDispatcher();
  const absl::Time t0 = clock_.Now();
  for (const char* body : {"one", "two", "three"}) {
    dispatcher_->Enqueue(Store(body));
  }
  ASSERT_TRUE(provider_.AwaitCalls(1));
  Settle();
  EXPECT_THAT(provider_.bodies(), ElementsAre("one"));
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(provider_.AwaitCalls(2));
  Settle();
  EXPECT_THAT(provider_.bodies(), ElementsAre("one", "two"));
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(provider_.AwaitCalls(3));
  EXPECT_THAT(provider_.bodies(), ElementsAre("one", "two", "three"));
  EXPECT_THAT(provider_.times(),
              ElementsAre(t0, t0 + absl::Seconds(1), t0 + absl::Seconds(2)));
}

TEST_F(DispatcherPacingTest, ScheduledMessageIsSentOnlyWhenDue) {
  StartDispatcher();
  const Message m = Store("later", clock_.Now() + absl::Minutes(10));
  clock_.Advance(absl::Minutes(9));
  Settle();
  EXPECT_TRUE(provider_.bodies().empty());
  EXPECT_EQ(StatusOf(m.id), MessageStatus::kScheduled);
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(provider_.AwaitCalls(1));
  EXPECT_THAT(provider_.bodies(), ElementsAre("later"));
  Settle();
  EXPECT_EQ(StatusOf(m.id), MessageStatus::kQueued);
}

TEST_F(DispatcherPacingTest, ScheduledDueTimeDoesNotHoldBackOtherSends) {
  StartDispatcher();
  Store("later", clock_.Now() + absl::Minutes(10));
  dispatcher_->Enqueue(Store("now"));
  ASSERT_TRUE(provider_.AwaitCalls(1));
  EXPECT_THAT(provider_.bodies(), ElementsAre("now"));
}

TEST_F(DispatcherPacingTest, ScheduledMessageStoredBeforeStartIsSentAfterIt) {
  // As after a restart: the store, not memory, knows what is scheduled.
  const Message m = Store("persisted", clock_.Now() + absl::Minutes(5));
  clock_.Advance(absl::Minutes(6));
  StartDispatcher();
  // The timer sets its first poll from the fake clock whenever its thread
  // first runs, so move time on until that poll has happened (bounded).
  for (int i = 0; i < 50 && provider_.bodies().empty(); ++i) {
    clock_.Advance(absl::Seconds(1));
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(provider_.AwaitCalls(1));
  EXPECT_THAT(provider_.bodies(), ElementsAre("persisted"));
}

TEST_F(DispatcherPacingTest, CanceledScheduledMessageIsNeverSent) {
  StartDispatcher();
  const Message m = Store("canceled", clock_.Now() + absl::Minutes(10));
  absl::StatusOr<Message> canceled = store_->CancelScheduled(m.id, clock_.Now());
  ASSERT_THAT(canceled, IsOk());
  EXPECT_EQ(canceled->status, MessageStatus::kCanceled);
  clock_.Advance(absl::Minutes(11));
  Settle();
  clock_.Advance(absl::Seconds(2));
  Settle();
  EXPECT_TRUE(provider_.bodies().empty());
  EXPECT_EQ(StatusOf(m.id), MessageStatus::kCanceled);
  EXPECT_THAT(store_->CancelScheduled(m.id, clock_.Now()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("CANCELED")));
}

TEST_F(DispatcherPacingTest, CancelRecordsAReportAndRefusesReleasedMessages) {
  const Message m = Store("x", clock_.Now() + absl::Minutes(10));
  ASSERT_THAT(store_->CancelScheduled(m.id, clock_.Now()), IsOk());
  absl::StatusOr<std::vector<storage::DeliveryReport>> reports =
      store_->ListReports(m.id);
  ASSERT_THAT(reports, IsOk());
  ASSERT_FALSE(reports->empty());
  EXPECT_EQ(reports->back().status, MessageStatus::kCanceled);
  EXPECT_EQ(reports->back().source, storage::ReportSource::kLocal);

  const Message pending = Store("y");
  EXPECT_THAT(store_->CancelScheduled(pending.id, clock_.Now()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("PENDING")));
  EXPECT_THAT(store_->CancelScheduled("00000000-0000-4000-8000-000000000000",
                                      clock_.Now()),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(DispatcherPacingTest, ReleaseOnlyMovesScheduledMessages) {
  const Message m = Store("x", clock_.Now() + absl::Minutes(10));
  absl::StatusOr<std::vector<Message>> early =
      store_->ListDueScheduled(clock_.Now(), 10);
  ASSERT_THAT(early, IsOk());
  EXPECT_TRUE(early->empty());
  clock_.Advance(absl::Minutes(10));
  absl::StatusOr<std::vector<Message>> due =
      store_->ListDueScheduled(clock_.Now(), 10);
  ASSERT_THAT(due, IsOk());
  ASSERT_EQ(due->size(), 1u);
  absl::StatusOr<std::optional<Message>> released =
      store_->ReleaseScheduled(m.id, clock_.Now());
  ASSERT_THAT(released, IsOk());
  ASSERT_TRUE(released->has_value());
  EXPECT_EQ((*released)->status, MessageStatus::kPending);
  // Twice: nothing more happens.
  released = store_->ReleaseScheduled(m.id, clock_.Now());
  ASSERT_THAT(released, IsOk());
  EXPECT_FALSE(released->has_value());
}

TEST_F(DispatcherPacingTest, BacklogPastTheBoundIsResourceExhausted) {
  // Long code at 1 segment/s with a 4-second bound: 4 segments fit.
  StartDispatcher(/*max_backlog=*/absl::Seconds(4));
  Store("a", std::nullopt, 2);
  Store("b", std::nullopt, 1);
  Message next;
  next.our_number = kOurNumber;
  next.num_segments = 1;
  EXPECT_THAT(dispatcher_->CheckBacklog(next), IsOk());
  next.num_segments = 2;
  EXPECT_THAT(dispatcher_->CheckBacklog(next),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("sender +15005550006 has 3 segments queued")));
  // Another sender's backlog is its own.
  next.our_number = "+15005550007";
  EXPECT_THAT(dispatcher_->CheckBacklog(next), IsOk());
}

TEST_F(DispatcherPacingTest, BacklogIsTheQueuedSegmentsAtTheSendersRate) {
  // Long code at 1 segment/s: 3 queued segments take 3 s.
  StartDispatcher();
  Store("a", std::nullopt, 2);
  Store("b", std::nullopt, 1);
  absl::StatusOr<absl::Duration> backlog = dispatcher_->Backlog(kOurNumber);
  ASSERT_THAT(backlog, IsOk());
  EXPECT_EQ(*backlog, absl::Seconds(3));
  backlog = dispatcher_->Backlog("+15005550007");
  ASSERT_THAT(backlog, IsOk());
  EXPECT_EQ(*backlog, absl::ZeroDuration());
}

TEST_F(DispatcherPacingTest, NoBacklogBoundWhenZero) {
  StartDispatcher(/*max_backlog=*/absl::ZeroDuration());
  for (int i = 0; i < 5; ++i) Store("a");
  Message next;
  next.our_number = kOurNumber;
  next.num_segments = 1;
  EXPECT_THAT(dispatcher_->CheckBacklog(next), IsOk());
}


// --- Sending policy: priority lanes, retries to the horizon, the breaker,
// validity periods (issue "Sending policy", items 1, 2 and 5).

TEST_F(DispatcherPacingTest, HighPriorityMessageOvertakesAQueuedBulkCampaign) {
  StartDispatcher();
  for (int i = 0; i < 5; ++i) {
    dispatcher_->Enqueue(Store(absl::StrCat("bulk", i), std::nullopt, 1,
                               storage::MessagePriority::kBulk));
  }
  ASSERT_TRUE(provider_.AwaitCalls(1));  // bulk0 had the sender's token
  dispatcher_->Enqueue(Store("normal", std::nullopt, 1));
  dispatcher_->Enqueue(
      Store("code", std::nullopt, 1, storage::MessagePriority::kHigh));
  Settle();
  EXPECT_EQ(dispatcher_->QueuedAt(storage::MessagePriority::kBulk), 4);
  EXPECT_EQ(dispatcher_->QueuedAt(storage::MessagePriority::kHigh), 1);
  for (int n = 2; n <= 4; ++n) {
    clock_.Advance(absl::Seconds(1));
    ASSERT_TRUE(provider_.AwaitCalls(n));
  }
  EXPECT_THAT(provider_.bodies(),
              ElementsAre("bulk0", "code", "normal", "bulk1"));
}

TEST_F(DispatcherPacingTest, PriorityOrderSurvivesARestart) {
  // Stored PENDING before the dispatcher starts, as after a crash.
  Store("bulk-a", std::nullopt, 1, storage::MessagePriority::kBulk);
  Store("bulk-b", std::nullopt, 1, storage::MessagePriority::kBulk);
  Store("normal", std::nullopt, 1);
  Store("high", std::nullopt, 1, storage::MessagePriority::kHigh);
  StartDispatcher();
  ASSERT_TRUE(provider_.AwaitCalls(1));
  for (int n = 2; n <= 4; ++n) {
    clock_.Advance(absl::Seconds(1));
    ASSERT_TRUE(provider_.AwaitCalls(n));
  }
  // The first stored one had the bucket's token when the backlog was
  // queued; from then on the lanes decide.
  EXPECT_THAT(provider_.bodies(),
              ElementsAre("bulk-a", "high", "normal", "bulk-b"));
}

TEST_F(DispatcherPacingTest, RetriesOutlastHoursOfOutageWithOneProbeAtATime) {
  options_.breaker.max_open = absl::Minutes(10);
  options_.backoff_cap = absl::Minutes(10);
  // 429: the provider refused each create, so nothing needs reconciling and
  // the drain order is the queue order exactly.
  provider_.FailWith(429);
  StartDispatcher(absl::Hours(10), /*paced=*/false);
  std::vector<Message> sent;
  for (int i = 0; i < 20; ++i) {
    sent.push_back(Store(absl::StrCat("m", i)));
    dispatcher_->Enqueue(sent.back());
  }
  Settle();
  EXPECT_EQ(dispatcher_->breaker_state(), CircuitBreaker::State::kOpen);
  const int calls_at_open = provider_.calls();
  // Three hours of outage: the messages wait; the breaker probes once per
  // open interval (doubling to 10 minutes), not every message on its own.
  AdvanceInSteps(absl::Hours(3), absl::Minutes(10));
  const int outage_calls = provider_.calls() - calls_at_open;
  EXPECT_LE(outage_calls, 3 * 6 + 8);
  for (const Message& m : sent) EXPECT_EQ(StatusOf(m.id), MessageStatus::kPending);
  provider_.FailWith(0);
  AdvanceInSteps(absl::Minutes(20), absl::Minutes(10));
  for (const Message& m : sent) {
    EXPECT_TRUE(AwaitStatus(m.id, MessageStatus::kQueued)) << m.body;
  }
  EXPECT_EQ(dispatcher_->breaker_state(), CircuitBreaker::State::kClosed);
  // Each created exactly once, in the order they were accepted.
  std::vector<std::string> expected;
  for (const Message& m : sent) expected.push_back(m.body);
  EXPECT_EQ(provider_.bodies(), expected);
}

TEST_F(DispatcherPacingTest, RetryHorizonEndsAMessageExpiredWithTheLastError) {
  options_.retry_horizon = absl::Hours(1);
  options_.breaker.max_open = absl::Minutes(10);
  provider_.FailWith(429);
  StartDispatcher(absl::Hours(10), /*paced=*/false);
  const Message m = Store("too late");
  dispatcher_->Enqueue(m);
  AdvanceInSteps(absl::Minutes(70), absl::Minutes(10));
  ASSERT_TRUE(AwaitStatus(m.id, MessageStatus::kExpired));
  absl::StatusOr<Message> after = store_->Get(m.id);
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->error_code, 20429);
  EXPECT_THAT(after->error_message, HasSubstr("retry horizon"));
  EXPECT_THAT(after->error_message, HasSubstr("outage answer 429"));
  // Never sent later, even once the provider answers again.
  provider_.FailWith(0);
  AdvanceInSteps(absl::Minutes(20), absl::Minutes(10));
  EXPECT_TRUE(provider_.bodies().empty());
  EXPECT_EQ(StatusOf(m.id), MessageStatus::kExpired);
}

TEST_F(DispatcherPacingTest, MessageWhoseValidityEndsWhileQueuedIsNeverSent) {
  StartDispatcher();
  for (int i = 0; i < 3; ++i) dispatcher_->Enqueue(Store(absl::StrCat("a", i)));
  const Message brief = Store("brief", std::nullopt, 1,
                              storage::MessagePriority::kNormal,
                              clock_.Now() + absl::Seconds(2));
  dispatcher_->Enqueue(brief);
  ASSERT_TRUE(provider_.AwaitCalls(1));
  AdvanceInSteps(absl::Seconds(4), absl::Seconds(1));
  ASSERT_TRUE(AwaitStatus(brief.id, MessageStatus::kExpired));
  EXPECT_THAT(provider_.bodies(), ::testing::Not(::testing::Contains("brief")));
  absl::StatusOr<Message> after = store_->Get(brief.id);
  ASSERT_THAT(after, IsOk());
  EXPECT_THAT(after->error_message, HasSubstr("validity period ended"));
}

TEST_F(DispatcherPacingTest, TimeLeftOfTheValidityPeriodGoesToTwilio) {
  StartDispatcher(absl::Hours(10), /*paced=*/false);
  dispatcher_->Enqueue(Store("valid", std::nullopt, 1,
                             storage::MessagePriority::kNormal,
                             clock_.Now() + absl::Minutes(30)));
  dispatcher_->Enqueue(Store("no validity"));
  ASSERT_TRUE(provider_.AwaitCalls(2));
  EXPECT_THAT(provider_.validity(), ElementsAre(1800, 0));
}

TEST_F(DispatcherPacingTest, BreakerStaysClosedThroughIsolatedFailures) {
  options_.breaker.failure_threshold = 5;
  StartDispatcher(absl::Hours(10), /*paced=*/false);
  provider_.FailWith(500);
  const Message m = Store("flaky");
  dispatcher_->Enqueue(m);
  Settle();
  EXPECT_EQ(dispatcher_->breaker_state(), CircuitBreaker::State::kClosed);
  provider_.FailWith(0);
  AdvanceInSteps(absl::Seconds(4), absl::Seconds(1));
  // The 500 left the outcome unknown: reconciled (list answered, not
  // found), then sent once.
  ASSERT_TRUE(AwaitStatus(m.id, MessageStatus::kQueued));
  EXPECT_THAT(provider_.bodies(), ElementsAre("flaky"));
}

}  // namespace
}  // namespace smsgw::dispatch
