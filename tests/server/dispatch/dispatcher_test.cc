// The Dispatcher's retries, refusals, crash reconciliation, first-answer
// notifications and shutdown, through its public interface only, against
// the real SQLite store, a scripted FakeSmsProvider and a FakeClock.
// Pacing, the backlog bound, scheduled sends and the breaker's outage
// behaviour are dispatcher_pacing_test.cc's.
#include "server/dispatch/dispatcher.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_sms_provider.h"
#include "tests/testing/outbound_store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw::dispatch {
namespace {

using ::smsgw::testing::FakeClock;
using ::smsgw::testing::FakeSmsProvider;
using ::smsgw::testing::OutboundStore;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;
using storage::Message;
using storage::MessageStatus;

twilio::ProviderError Error(int http_status, int code, std::string message,
                            bool retryable) {
  twilio::ProviderError e;
  e.http_status = http_status;
  e.code = code;
  e.message = std::move(message);
  e.retryable = retryable;
  return e;
}

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() {
    options_.schedule_poll = absl::ZeroDuration();  // no scheduled sends here
  }

  void TearDown() override {
    provider_.HoldCreates(false);
    if (dispatcher_ != nullptr) dispatcher_->Shutdown(absl::Seconds(2));
  }

  void StartDispatcher() {
    dispatcher_ = std::make_unique<Dispatcher>(outbound_.store(), &provider_,
                                               &clock_, options_);
    ASSERT_THAT(dispatcher_->Start(), IsOk());
  }

  Message Store(const std::string& body) {
    return outbound_.Create(outbound_.NewMessage(body));
  }

  // `body` stored as a crash during its create call leaves it: PENDING with
  // the in-flight marker committed now.
  Message StoreInFlight(const std::string& body) {
    const Message m = Store(body);
    EXPECT_THAT(outbound_.store()->MarkDispatchStarted(m.id, clock_.Now()),
                IsOk());
    return Stored(m.id);
  }

  // `body` in flight after a crash, the next `failures` lookups failing,
  // and the dispatcher started (backoff 1 s doubling to `cap`); returns
  // once the first lookup was made.
  Message StartWithLookupsFailing(const std::string& body, int failures,
                                  absl::Duration cap) {
    options_.backoff_base = absl::Seconds(1);
    options_.backoff_cap = cap;
    provider_.FailNextLists(failures,
                            absl::UnavailableError("twilio unreachable"));
    const Message m = StoreInFlight(body);
    StartDispatcher();
    EXPECT_TRUE(provider_.AwaitLists(1));
    return m;
  }

  Message Stored(const std::string& id) {
    absl::StatusOr<Message> m = outbound_.store()->Get(id);
    EXPECT_THAT(m, IsOk());
    return m.ok() ? *m : Message();
  }

  // A message the provider has: `body` to kPeer from kOurNumber.
  twilio::ProviderMessage Listed(const std::string& sid, const std::string& body,
                                 absl::Time created,
                                 const std::string& status = "sent") {
    twilio::ProviderMessage pm;
    pm.sid = sid;
    pm.status = status;
    pm.direction = "outbound-api";
    pm.to = OutboundStore::kPeer;
    pm.from = OutboundStore::kOurNumber;
    pm.body = body;
    pm.num_segments = 1;
    pm.date_created = created;
    return pm;
  }

  // Waits (real time, up to 10 s) until `id` reaches `status`.
  bool AwaitStatus(const std::string& id, MessageStatus status) {
    for (int i = 0; i < 200; ++i) {
      if (outbound_.StatusOf(id) == status) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

  // Starts the dispatcher with the provider holding creates and hands it
  // `bodies`, stored; returns once all their creates are in flight.
  std::vector<Message> EnqueueHeld(const std::vector<std::string>& bodies) {
    provider_.HoldCreates(true);
    StartDispatcher();
    std::vector<Message> stored;
    for (const std::string& body : bodies) {
      stored.push_back(Store(body));
      dispatcher_->Enqueue(stored.back());
    }
    for (int i = 0; i < 100 && provider_.held_creates() < bodies.size(); ++i) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    EXPECT_EQ(provider_.held_creates(), bodies.size());
    return stored;
  }

  // Waits (real time, up to 5 s) until the dispatcher counts `n` messages
  // found at the provider: the count follows the stored answer.
  bool AwaitReconciledFound(int64_t n) {
    for (int i = 0; i < 100; ++i) {
      if (dispatcher_->reconciled_found() >= n) break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return dispatcher_->reconciled_found() == n;
  }

  // Lets the timer (which looks at the clock at least every 200 ms) run.
  static void Settle() { absl::SleepFor(absl::Milliseconds(600)); }

  // Moves fake time on in `step`s, letting the timer run after each, until
  // the provider accepted a create or `limit` has passed.
  void AdvanceUntilSent(absl::Duration step, absl::Duration limit) {
    for (absl::Duration done; done < limit && provider_.bodies().empty();
         done += step) {
      clock_.Advance(step);
      absl::SleepFor(absl::Milliseconds(250));
    }
  }

  smsgw::testing::TempDir dir_;
  FakeClock clock_;
  OutboundStore outbound_{dir_.File("smsgw.db"), &clock_};
  FakeSmsProvider provider_{&clock_};
  Dispatcher::Options options_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

// --- Retries ---

TEST_F(DispatcherTest, BackoffIsFullJitterUnderADoublingCeilingUpToTheCap) {
  options_.backoff_base = absl::Seconds(1);
  options_.backoff_cap = absl::Seconds(8);
  Dispatcher dispatcher(outbound_.store(), &provider_, &clock_, options_);
  const absl::Duration ceilings[] = {absl::Seconds(1), absl::Seconds(2),
                                     absl::Seconds(4), absl::Seconds(8),
                                     absl::Seconds(8), absl::Seconds(8)};
  for (int attempt = 1; attempt <= 6; ++attempt) {
    const absl::Duration ceiling = ceilings[attempt - 1];
    absl::Duration low = absl::InfiniteDuration();
    absl::Duration high = -absl::InfiniteDuration();
    for (int i = 0; i < 400; ++i) {
      const absl::Duration d = dispatcher.Backoff(attempt);
      ASSERT_GE(d, absl::ZeroDuration()) << attempt;
      ASSERT_LE(d, ceiling) << attempt;
      low = std::min(low, d);
      high = std::max(high, d);
    }
    // Uniform over the whole range (each bound fails with p < 1e-18).
    EXPECT_LT(low, ceiling / 10) << attempt;
    EXPECT_GT(high, ceiling * 9 / 10) << attempt;
  }
}

TEST_F(DispatcherTest, ARefusedCreateIsRetriedOnlyAfterItsBackoffWithoutReconciling) {
  options_.backoff_base = absl::Seconds(10);
  options_.backoff_cap = absl::Seconds(10);
  provider_.FailNextCreates({Error(429, 20429, "Too Many Requests", true),
                             Error(429, 20429, "Too Many Requests", true)});
  StartDispatcher();
  const Message m = Store("retry me");
  dispatcher_->Enqueue(m);
  ASSERT_TRUE(provider_.AwaitCreates(1));
  Settle();
  // The clock has not moved: the retry waits for its backoff.
  EXPECT_EQ(provider_.creates(), 1);
  const Message waiting = Stored(m.id);
  EXPECT_EQ(waiting.status, MessageStatus::kPending);
  EXPECT_EQ(waiting.attempts, 1);
  absl::StatusOr<std::vector<storage::DeliveryReport>> reports =
      outbound_.store()->ListReports(m.id);
  ASSERT_THAT(reports, IsOk());
  ASSERT_FALSE(reports->empty());
  EXPECT_EQ(reports->back().source, storage::ReportSource::kDispatchAttempt);
  EXPECT_EQ(reports->back().http_status, 429);
  EXPECT_EQ(reports->back().error_code, 20429);

  clock_.Advance(absl::Seconds(10));
  ASSERT_TRUE(provider_.AwaitCreates(2));
  Settle();  // the failure is stored, its retry timed from this instant
  EXPECT_EQ(provider_.creates(), 2);
  clock_.Advance(absl::Seconds(10));
  ASSERT_TRUE(provider_.AwaitCalls(1));
  ASSERT_TRUE(AwaitStatus(m.id, MessageStatus::kQueued));
  EXPECT_EQ(provider_.creates(), 3);
  EXPECT_THAT(provider_.bodies(), ElementsAre("retry me"));
  EXPECT_EQ(Stored(m.id).provider_sid, "SM1001");
  // A 429 proves the create was refused: nothing to ask the provider.
  EXPECT_EQ(provider_.lists(), 0);
  EXPECT_EQ(dispatcher_->possible_duplicates(), 0);
}

TEST_F(DispatcherTest, ANonRetryableRefusalEndsFailedWithTheProvidersError) {
  options_.backoff_base = absl::Seconds(1);
  provider_.FailNextCreates({Error(
      400, 21211, "The 'To' number +14155550100 is not a valid phone number.",
      false)});
  StartDispatcher();
  const Message m = Store("doomed");
  dispatcher_->Enqueue(m);
  ASSERT_TRUE(AwaitStatus(m.id, MessageStatus::kFailed));
  const Message failed = Stored(m.id);
  EXPECT_EQ(failed.error_code, 21211);
  EXPECT_EQ(failed.error_message,
            "The 'To' number +14155550100 is not a valid phone number.");
  // Never tried again, however long we wait.
  clock_.Advance(absl::Minutes(10));
  Settle();
  EXPECT_EQ(provider_.creates(), 1);
  EXPECT_EQ(outbound_.StatusOf(m.id), MessageStatus::kFailed);
}

TEST_F(DispatcherTest, Twilio21610FailsTheMessageAndRecordsTheOptOut) {
  provider_.FailNextCreates(
      {Error(400, 21610, "Attempt to send to unsubscribed recipient", false)});
  StartDispatcher();
  const Message m = Store("after STOP");
  dispatcher_->Enqueue(m);
  ASSERT_TRUE(AwaitStatus(m.id, MessageStatus::kFailed));
  EXPECT_EQ(Stored(m.id).error_code, 21610);
  // The opt-out is written right after the FAILED answer.
  absl::StatusOr<bool> opted = false;
  for (int i = 0; i < 100 && opted.ok() && !*opted; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    opted = outbound_.store()->IsOptedOut(OutboundStore::kPeer,
                                          OutboundStore::kOurNumber);
  }
  ASSERT_THAT(opted, IsOk());
  EXPECT_TRUE(*opted);
}

// --- Reconciliation of a create whose outcome is unknown ---

TEST_F(DispatcherTest, AMessageTheProviderListsIsAdoptedAndNotResent) {
  const Message m = StoreInFlight("adopt me");
  provider_.AddListed(Listed("SM77", "adopt me",
                             *m.dispatch_started_time + absl::Seconds(1)));
  StartDispatcher();  // dispatches what was left PENDING
  ASSERT_TRUE(AwaitStatus(m.id, MessageStatus::kSent));
  EXPECT_EQ(Stored(m.id).provider_sid, "SM77");
  EXPECT_EQ(provider_.lists(), 1);
  EXPECT_EQ(provider_.creates(), 0);
  EXPECT_TRUE(AwaitReconciledFound(1));
  EXPECT_EQ(dispatcher_->possible_duplicates(), 0);
}

TEST_F(DispatcherTest, AMessageTheProviderDoesNotListIsResentOnce) {
  const Message m = StoreInFlight("resend me");
  // Neither is ours: another body, and the same body from before the
  // attempt (older than the marker minus the clock skew allowance).
  provider_.AddListed(Listed("SM65", "another text", *m.dispatch_started_time));
  provider_.AddListed(Listed("SM66", "resend me",
                             *m.dispatch_started_time - absl::Minutes(6)));
  StartDispatcher();
  ASSERT_TRUE(provider_.AwaitCalls(1));
  ASSERT_TRUE(AwaitStatus(m.id, MessageStatus::kQueued));
  EXPECT_EQ(Stored(m.id).provider_sid, "SM1001");
  EXPECT_THAT(provider_.bodies(), ElementsAre("resend me"));
  EXPECT_EQ(provider_.lists(), 1);
  EXPECT_EQ(dispatcher_->reconciled_found(), 0);
  EXPECT_EQ(dispatcher_->possible_duplicates(), 0);
}

TEST_F(DispatcherTest, AFailedLookupIsAskedAgainLaterBeforeAnyResend) {
  const Message m = StartWithLookupsFailing("ask again", 1, absl::Seconds(1));
  Settle();
  EXPECT_EQ(provider_.creates(), 0);  // no proof either way: no resend yet
  EXPECT_EQ(outbound_.StatusOf(m.id), MessageStatus::kPending);
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(provider_.AwaitLists(2));
  ASSERT_TRUE(AwaitStatus(m.id, MessageStatus::kQueued));
  EXPECT_THAT(provider_.bodies(), ElementsAre("ask again"));
  EXPECT_EQ(dispatcher_->possible_duplicates(), 0);
}

TEST_F(DispatcherTest, AfterTheGiveUpTimeItIsResentAndCountedAPossibleDuplicate) {
  options_.reconcile_give_up_after = absl::Minutes(1);
  const Message m =
      StartWithLookupsFailing("maybe twice", 1000, absl::Seconds(5));
  AdvanceUntilSent(absl::Seconds(5), absl::Minutes(5));
  ASSERT_TRUE(AwaitStatus(m.id, MessageStatus::kQueued));
  EXPECT_THAT(provider_.bodies(), ElementsAre("maybe twice"));
  EXPECT_GE(provider_.lists(), 2);
  EXPECT_EQ(dispatcher_->possible_duplicates(), 1);
  EXPECT_EQ(dispatcher_->reconciled_found(), 0);
}

TEST_F(DispatcherTest, AnInFlightMessagePastItsValidityIsAskedAboutBeforeItExpires) {
  Message listed = outbound_.NewMessage("listed late");
  Message unlisted = outbound_.NewMessage("unlisted late");
  for (Message* m : {&listed, &unlisted}) {
    m->expire_time = clock_.Now() + absl::Minutes(1);
    *m = outbound_.Create(*m);
    ASSERT_THAT(outbound_.store()->MarkDispatchStarted(m->id, clock_.Now()),
                IsOk());
  }
  provider_.AddListed(Listed("SM88", "listed late", clock_.Now()));
  clock_.Advance(absl::Minutes(2));  // both validity periods are over
  StartDispatcher();
  // The provider has one: adopted, whatever its validity said.
  ASSERT_TRUE(AwaitStatus(listed.id, MessageStatus::kSent));
  EXPECT_EQ(Stored(listed.id).provider_sid, "SM88");
  // The other was never created: now it may expire, unsent.
  ASSERT_TRUE(AwaitStatus(unlisted.id, MessageStatus::kExpired));
  EXPECT_EQ(provider_.lists(), 2);
  EXPECT_EQ(provider_.creates(), 0);
}

// --- First answers ---

TEST_F(DispatcherTest, NotifyOnFirstAnswerGetsTheMessageAsTheAnswerLeftIt) {
  const Message m = EnqueueHeld({"watched"})[0];
  EXPECT_EQ(dispatcher_->in_flight(), 1);
  absl::Notification notified;
  absl::Mutex mu;
  std::optional<Message> answered;
  dispatcher_->NotifyOnFirstAnswer(
      m.id, absl::Now() + absl::Seconds(10), [&](const Message* message) {
        absl::MutexLock lock(&mu);
        if (message != nullptr) answered = *message;
        notified.Notify();
      });
  EXPECT_FALSE(notified.HasBeenNotified());
  provider_.HoldCreates(false);
  ASSERT_TRUE(notified.WaitForNotificationWithTimeout(absl::Seconds(5)));
  absl::MutexLock lock(&mu);
  ASSERT_TRUE(answered.has_value());
  EXPECT_EQ(answered->status, MessageStatus::kQueued);
  EXPECT_EQ(answered->provider_sid, "SM1001");
  // Once the answer is in, a new waiter is answered at once.
  absl::Notification late;
  dispatcher_->NotifyOnFirstAnswer(m.id, absl::Now() + absl::Seconds(10),
                                   [&](const Message*) { late.Notify(); });
  EXPECT_TRUE(late.HasBeenNotified());
  dispatcher_->AwaitFirstAnswer(m.id, absl::Now() + absl::Seconds(10));
}

TEST_F(DispatcherTest, AWaiterWhoseDeadlinePassesGetsNothing) {
  const Message m = EnqueueHeld({"slow provider"})[0];
  absl::Notification notified;
  bool got_message = true;
  dispatcher_->NotifyOnFirstAnswer(m.id, absl::Now() + absl::Milliseconds(300),
                                   [&](const Message* message) {
                                     got_message = message != nullptr;
                                     notified.Notify();
                                   });
  ASSERT_TRUE(notified.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_FALSE(got_message);
  EXPECT_EQ(outbound_.StatusOf(m.id), MessageStatus::kPending);
}

// --- Shutdown ---

TEST_F(DispatcherTest, ShutdownWaitsForAnswersThatArriveWithinTheGrace) {
  const Message m = EnqueueHeld({"answered late"})[0];
  std::thread answer([this] {
    absl::SleepFor(absl::Milliseconds(300));
    provider_.HoldCreates(false);
  });
  dispatcher_->Shutdown(absl::Seconds(10));
  answer.join();
  // The answer was stored before Shutdown() returned.
  EXPECT_EQ(outbound_.StatusOf(m.id), MessageStatus::kQueued);
  EXPECT_EQ(dispatcher_->in_flight(), 0);
}

TEST_F(DispatcherTest, NothingInFlightAtShutdownIsLostOrSentTwiceAfterARestart) {
  const std::vector<Message> held = EnqueueHeld({"first", "second"});
  const Message& first = held[0];
  const Message& second = held[1];
  EXPECT_EQ(dispatcher_->in_flight(), 2);
  dispatcher_->Shutdown(absl::Milliseconds(200));
  // Stopped: new work is not taken.
  const Message third = Store("third");
  dispatcher_->Enqueue(third);
  // The provider creates the two held messages, but their answers reach a
  // dispatcher that has stopped: the store still says PENDING, marked.
  provider_.HoldCreates(false);
  EXPECT_THAT(provider_.bodies(), ElementsAre("first", "second"));
  Settle();
  for (const Message& m : {first, second}) {
    const Message stored = Stored(m.id);
    EXPECT_EQ(stored.status, MessageStatus::kPending) << m.body;
    EXPECT_TRUE(stored.dispatch_started_time.has_value()) << m.body;
  }
  EXPECT_EQ(outbound_.StatusOf(third.id), MessageStatus::kPending);
  dispatcher_.reset();

  // The restart finds the two at the provider and sends only the third.
  provider_.ListAccepted(true);
  StartDispatcher();
  for (const Message& m : {first, second, third}) {
    EXPECT_TRUE(AwaitStatus(m.id, MessageStatus::kQueued)) << m.body;
  }
  EXPECT_THAT(provider_.bodies(), UnorderedElementsAre("first", "second", "third"));
  EXPECT_EQ(provider_.creates(), 3);
  EXPECT_TRUE(AwaitReconciledFound(2));
  EXPECT_EQ(Stored(first.id).provider_sid, "SM1001");
  EXPECT_EQ(Stored(second.id).provider_sid, "SM1002");
}

// --- Several replicas (issue 13 §3): claims ---

TEST_F(DispatcherTest, WithClaimsAStandbysMessagesWaitForTheDispatcherToClaimThem) {
  options_.replica_id = 5;
  options_.claim_sweep = absl::Milliseconds(50);
  dispatcher_ = std::make_unique<Dispatcher>(outbound_.store(), &provider_,
                                             &clock_, options_);
  // Not started: this replica does not hold the dispatch lease.
  const Message before = Store("accepted by a standby");
  EXPECT_EQ(before.claimed_by, 0);
  EXPECT_FALSE(dispatcher_->ReserveImmediate(before));
  dispatcher_->Enqueue(before);  // left in the store
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(provider_.creates(), 0);
  ASSERT_THAT(dispatcher_->Start(), IsOk());  // the lease is taken
  ASSERT_TRUE(AwaitStatus(before.id, MessageStatus::kQueued));
  EXPECT_EQ(Stored(before.id).claimed_by, 5);
  // Accepted on another replica after the start: the sweep claims it.
  outbound_.store()->SetClaimant(0);
  const Message elsewhere = Store("accepted on another replica");
  outbound_.store()->SetClaimant(5);
  dispatcher_->Enqueue(elsewhere);  // not ours: ignored
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(provider_.creates(), 1);
  clock_.Advance(absl::Milliseconds(60));  // the next sweep is due
  ASSERT_TRUE(AwaitStatus(elsewhere.id, MessageStatus::kQueued));
  // Its own: stamped at creation and taken at once, not claimed again.
  const Message own = Store("accepted here");
  EXPECT_EQ(own.claimed_by, 5);
  dispatcher_->Enqueue(own);
  ASSERT_TRUE(AwaitStatus(own.id, MessageStatus::kQueued));
  EXPECT_THAT(provider_.bodies(),
              UnorderedElementsAre("accepted by a standby",
                                   "accepted on another replica",
                                   "accepted here"));
}

TEST_F(DispatcherTest, ATakenOverMarkerIsReconciledOnlyAfterTheTakeoverWait) {
  options_.replica_id = 6;
  options_.claim_sweep = absl::Milliseconds(50);
  options_.takeover_wait = absl::Seconds(30);
  // A dead replica (3) had a create call out for it.
  outbound_.store()->SetClaimant(3);
  const Message m = StoreInFlight("in flight on a dead replica");
  provider_.AddListed(Listed("SM88", "in flight on a dead replica",
                             *m.dispatch_started_time + absl::Seconds(1)));
  StartDispatcher();
  EXPECT_EQ(Stored(m.id).claimed_by, 6);
  // Its call might still be under way: nothing asked, nothing sent.
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(provider_.lists(), 0);
  EXPECT_EQ(provider_.creates(), 0);
  clock_.Advance(absl::Seconds(31));
  ASSERT_TRUE(AwaitStatus(m.id, MessageStatus::kSent));
  EXPECT_EQ(Stored(m.id).provider_sid, "SM88");
  EXPECT_EQ(provider_.creates(), 0);
}

TEST_F(DispatcherTest, ShutdownIsIdempotent) {
  StartDispatcher();
  dispatcher_->Shutdown(absl::Seconds(1));
  dispatcher_->Shutdown(absl::Seconds(1));
  const Message m = Store("after stop");
  dispatcher_->Enqueue(m);
  Settle();
  EXPECT_EQ(provider_.creates(), 0);
  EXPECT_EQ(outbound_.StatusOf(m.id), MessageStatus::kPending);
}

}  // namespace
}  // namespace smsgw::dispatch
