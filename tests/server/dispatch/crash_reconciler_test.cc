// Reconciliation of sends whose outcome is unknown, against the real SQLite
// store, a provider whose list the test scripts, and a FakeClock.
#include "server/dispatch/crash_reconciler.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/outbound_store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw::dispatch {
namespace {

using ::smsgw::testing::FakeClock;
using Kind = CrashReconciler::Outcome::Kind;
using Provider = CrashReconciler::Outcome::Provider;

// Answers List() with what the test put there, or with `error`; records the
// filters. Creates and fetches are no part of reconciliation.
class ListingProvider final : public twilio::SmsProvider {
 public:
  void SendAsync(twilio::OutboundSms, SendCallback done) override {
    ADD_FAILURE() << "reconciliation must not send";
    done(twilio::SendResult{});
  }
  absl::StatusOr<twilio::ProviderMessage> Fetch(absl::string_view) override {
    return absl::UnimplementedError("not used");
  }
  absl::StatusOr<std::vector<twilio::ProviderMessage>> List(
      const twilio::ListFilter& filter, int) override {
    absl::MutexLock lock(&mu_);
    filters_.push_back(filter);
    if (!error_.ok()) return error_;
    return listed_;
  }

  void Set(std::vector<twilio::ProviderMessage> listed) {
    absl::MutexLock lock(&mu_);
    listed_ = std::move(listed);
    error_ = absl::OkStatus();
  }
  void Fail(absl::Status error) {
    absl::MutexLock lock(&mu_);
    error_ = std::move(error);
  }
  std::vector<twilio::ListFilter> filters() {
    absl::MutexLock lock(&mu_);
    return filters_;
  }

 private:
  absl::Mutex mu_;
  std::vector<twilio::ProviderMessage> listed_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  std::vector<twilio::ListFilter> filters_ ABSL_GUARDED_BY(mu_);
};

class CrashReconcilerTest : public ::testing::Test {
 protected:
  CrashReconciler::Options Options() {
    CrashReconciler::Options options;
    options.give_up_after = absl::Minutes(10);
    options.clock_skew = absl::Minutes(5);
    return options;
  }

  // A stored PENDING message whose create call started now (marker set).
  storage::Message InFlight(const std::string& body) {
    storage::Message m = outbound_.Create(outbound_.NewMessage(body));
    EXPECT_THAT(store_->MarkDispatchStarted(m.id, clock_.Now()), IsOk());
    absl::StatusOr<storage::Message> marked = store_->Get(m.id);
    EXPECT_THAT(marked, IsOk());
    return marked.ok() ? *marked : m;
  }

  // The provider's record of `body`, created `age` before now.
  twilio::ProviderMessage AtProvider(const std::string& body,
                                     absl::Duration age,
                                     const std::string& sid) {
    twilio::ProviderMessage pm;
    pm.sid = sid;
    pm.status = "delivered";
    pm.body = body;
    pm.date_created = clock_.Now() - age;
    return pm;
  }

  smsgw::testing::TempDir dir_;
  FakeClock clock_;
  smsgw::testing::OutboundStore outbound_{dir_.File("smsgw.db"), &clock_};
  storage::sqlite::SqliteMessageStore* store_ = outbound_.store();
  ListingProvider provider_;
  std::vector<std::string> list_outcomes_;
  CrashReconciler reconciler_{store_, &provider_, &clock_, Options(),
                              [this](const char* outcome, absl::Duration) {
                                list_outcomes_.push_back(outcome);
                              }};
};

TEST_F(CrashReconcilerTest, FoundAtTheProviderIsStoredAndNotResent) {
  const storage::Message m = InFlight("hello");
  provider_.Set({AtProvider("other body", absl::ZeroDuration(), "SMother"),
                 AtProvider("hello", absl::Minutes(1), "SMfound")});
  const CrashReconciler::Outcome outcome = reconciler_.Reconcile(m.id);
  EXPECT_EQ(outcome.kind, Kind::kFound);
  EXPECT_EQ(outcome.provider, Provider::kAnswered);
  absl::StatusOr<storage::Message> stored = store_->Get(m.id);
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->provider_sid, "SMfound");
  EXPECT_EQ(stored->status, storage::MessageStatus::kDelivered);
  EXPECT_EQ(reconciler_.found(), 1);
  EXPECT_EQ(reconciler_.possible_duplicates(), 0);
  EXPECT_EQ(list_outcomes_, std::vector<std::string>{"ok"});
  // Searched by both numbers: no Messaging Service.
  ASSERT_EQ(provider_.filters().size(), 1u);
  EXPECT_EQ(provider_.filters()[0].to, m.to);
  EXPECT_EQ(provider_.filters()[0].from, m.from);
}

TEST_F(CrashReconcilerTest, NotAtTheProviderIsSent) {
  const storage::Message m = InFlight("hello");
  // Created before our attempt (past the allowed clock skew): not ours.
  provider_.Set({AtProvider("hello", absl::Minutes(6), "SMold")});
  const CrashReconciler::Outcome outcome = reconciler_.Reconcile(m.id);
  EXPECT_EQ(outcome.kind, Kind::kSend);
  EXPECT_EQ(outcome.provider, Provider::kAnswered);
  EXPECT_EQ(outcome.message.id, m.id);
  EXPECT_EQ(reconciler_.found(), 0);
  EXPECT_EQ(outcome.message.status, storage::MessageStatus::kPending);
}

TEST_F(CrashReconcilerTest,
       FailedListIsAskedAgainThenResentAsPossibleDuplicate) {
  const storage::Message m = InFlight("hello");
  provider_.Fail(absl::UnavailableError("provider down"));
  CrashReconciler::Outcome outcome = reconciler_.Reconcile(m.id);
  EXPECT_EQ(outcome.kind, Kind::kAskAgain);
  EXPECT_EQ(outcome.provider, Provider::kFailed);
  EXPECT_EQ(outcome.failures, 1);
  EXPECT_EQ(outcome.now, clock_.Now());
  clock_.Advance(absl::Minutes(9));
  outcome = reconciler_.Reconcile(m.id);
  EXPECT_EQ(outcome.kind, Kind::kAskAgain);
  EXPECT_EQ(outcome.failures, 2);    // the backoff grows
  clock_.Advance(absl::Minutes(1));  // give_up_after since the attempt
  outcome = reconciler_.Reconcile(m.id);
  EXPECT_EQ(outcome.kind, Kind::kSend);
  EXPECT_EQ(outcome.provider, Provider::kFailed);
  EXPECT_EQ(reconciler_.possible_duplicates(), 1);
  EXPECT_EQ(list_outcomes_,
            (std::vector<std::string>{"error", "error", "error"}));
  // The count starts again for the next unknown outcome.
  outcome = reconciler_.Reconcile(m.id);
  EXPECT_EQ(outcome.failures, 0);
  EXPECT_EQ(reconciler_.possible_duplicates(), 2);
}

TEST_F(CrashReconcilerTest, AnsweredOrUnmarkedMessagesAreNotLookedUp) {
  // Answered meanwhile: nothing to reconcile.
  const storage::Message answered = InFlight("answered");
  twilio::ProviderMessage pm =
      AtProvider("answered", absl::ZeroDuration(), "SM1");
  ASSERT_THAT(
      store_->ApplyStatus(answered.id, AcceptedUpdate(pm, clock_.Now(), 201)),
      IsOk());
  EXPECT_EQ(reconciler_.Reconcile(answered.id).kind, Kind::kGone);
  EXPECT_EQ(reconciler_.Reconcile("no-such-id").kind, Kind::kGone);
  // No marker (its answer cleared it): sent without asking.
  const storage::Message fresh = outbound_.Create(outbound_.NewMessage("new"));
  const CrashReconciler::Outcome outcome = reconciler_.Reconcile(fresh.id);
  EXPECT_EQ(outcome.kind, Kind::kSend);
  EXPECT_EQ(outcome.provider, Provider::kNotAsked);
  EXPECT_TRUE(provider_.filters().empty());
}

TEST(AcceptedUpdateTest, UnknownProviderWordCountsAsQueued) {
  twilio::ProviderMessage pm;
  pm.sid = "SM1";
  pm.status = "some-new-word";
  EXPECT_EQ(AcceptedUpdate(pm, absl::Now(), 201).status,
            storage::MessageStatus::kQueued);
  pm.status = "sent";
  EXPECT_EQ(AcceptedUpdate(pm, absl::Now(), 201).status,
            storage::MessageStatus::kSent);
}

}  // namespace
}  // namespace smsgw::dispatch
