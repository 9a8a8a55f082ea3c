// StatusReconciler (issue 17, lost status callbacks) against the real SQLite
// store on a temp file, the fake provider and a FakeClock. The timer runs
// for real; tests wait for its passes (passes()) rather than for time.
#include "server/dispatch/status_reconciler.h"

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "common/metrics.h"
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
using storage::Message;
using storage::MessageStatus;
using ::testing::HasSubstr;

class StatusReconcilerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (reconciler_ != nullptr) reconciler_->Shutdown();
  }

  static StatusReconciler::Options DefaultOptions() {
    StatusReconciler::Options options;
    options.first_check_after = absl::Minutes(10);
    options.max_interval = absl::Hours(4);
    options.give_up_after = absl::Hours(72);
    options.max_in_flight = 4;
    options.poll = absl::Milliseconds(5);
    return options;
  }

  void StartReconciler(StatusReconciler::Options options = DefaultOptions()) {
    options.metrics = &metrics_;
    reconciler_ = std::make_unique<StatusReconciler>(
        outbound_.store(), &provider_, &clock_, options);
    ASSERT_THAT(reconciler_->Start(), IsOk());
  }

  // Waits (real time, generously bounded) until the timer completed `n`
  // more passes; with n >= 2 at least one of them began after the caller's
  // last change of the clock.
  void RunPasses(int n = 2) {
    const int64_t target = reconciler_->passes() + n;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (reconciler_->passes() < target && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    ASSERT_GE(reconciler_->passes(), target) << "the timer stopped passing";
  }

  // A stored outbound message in `status`, by way of PENDING, as the
  // dispatcher leaves it: QUEUED with a provider SID (from the create
  // answer) at the current time, moved on when `status` is later.
  Message Store(MessageStatus status = MessageStatus::kQueued,
                bool with_sid = true) {
    const Message created = outbound_.Create(
        outbound_.NewMessage(absl::StrCat("message ", ++count_)));
    if (status == MessageStatus::kPending) return created;
    storage::StatusUpdate accepted;
    accepted.status =
        with_sid ? MessageStatus::kQueued : MessageStatus::kFailed;
    accepted.provider_status = with_sid ? "queued" : "";
    if (with_sid) accepted.provider_sid = absl::StrFormat("SM%032d", count_);
    accepted.source = storage::ReportSource::kProviderResponse;
    accepted.http_status = with_sid ? 201 : 400;
    accepted.event_time = clock_.Now();
    absl::StatusOr<Message> stored = store()->ApplyStatus(created.id, accepted);
    EXPECT_THAT(stored, IsOk());
    if (status != accepted.status) {
      accepted.status = status;
      accepted.source = storage::ReportSource::kStatusCallback;
      stored = store()->ApplyStatus(created.id, accepted);
      EXPECT_THAT(stored, IsOk());
    }
    return *stored;
  }

  storage::MessageStore* store() { return outbound_.store(); }

  size_t Fetches() { return provider_.fetches().size(); }

  // Moves the clock to just before `at`, where no fetch may come, then to
  // `at`, where exactly one must.
  void ExpectOneFetchAt(absl::Time at) {
    const size_t before = Fetches();
    clock_.Set(at - absl::Seconds(1));
    RunPasses();
    ASSERT_EQ(Fetches(), before) << "fetched before " << at;
    clock_.Set(at);
    RunPasses();
    ASSERT_EQ(Fetches(), before + 1) << "no fetch at " << at;
    EXPECT_EQ(provider_.fetches().back().second, at);
  }

  // The exposition line of smsgw_status_reconcile_total{outcome} = `n`.
  static std::string OutcomeLine(const std::string& outcome, size_t n) {
    return absl::StrCat("smsgw_status_reconcile_total{outcome=\"", outcome,
                        "\"} ", n, "\n");
  }

  smsgw::testing::TempDir dir_;
  FakeClock clock_;
  metrics::Registry metrics_;
  OutboundStore outbound_{dir_.File("smsgw.db"), &clock_};
  FakeSmsProvider provider_{&clock_};
  std::unique_ptr<StatusReconciler> reconciler_;
  int count_ = 0;
};

TEST_F(StatusReconcilerTest,
       QueuedMessageWithoutCallbackIsFetchedAfterTenMinutes) {
  StartReconciler();
  const absl::Time accepted = clock_.Now();
  const Message m = Store();
  provider_.SetStatus(m.provider_sid, "delivered");

  ExpectOneFetchAt(accepted + absl::Minutes(10));
  EXPECT_EQ(provider_.fetches()[0].first, m.provider_sid);
  EXPECT_EQ(outbound_.StatusOf(m.id), MessageStatus::kDelivered);
  // Applied as the provider's answer, and kept in the history.
  absl::StatusOr<std::vector<storage::DeliveryReport>> reports =
      store()->ListReports(m.id);
  ASSERT_THAT(reports, IsOk());
  ASSERT_FALSE(reports->empty());
  EXPECT_EQ(reports->back().source, storage::ReportSource::kProviderResponse);
  EXPECT_EQ(reports->back().provider_status, "delivered");
  EXPECT_EQ(reports->back().http_status, 200);
  EXPECT_TRUE(reports->back().applied);

  // Final: never asked again.
  clock_.Advance(absl::Hours(100));
  RunPasses();
  EXPECT_EQ(Fetches(), 1u);
  EXPECT_THAT(metrics_.Render(), HasSubstr(OutcomeLine("updated", 1)));
}

TEST_F(StatusReconcilerTest,
       SentForeverIsAskedAtDoublingIntervalsUntil72Hours) {
  StartReconciler();
  const absl::Time accepted = clock_.Now();
  const Message m = Store();
  provider_.SetStatus(m.provider_sid, "sent");

  // 10 min, then waits of 20, 40, 80, 160 min, then 4 h each, the last
  // check at 72 h exactly.
  std::vector<absl::Duration> expected = {absl::Minutes(10), absl::Minutes(30),
                                          absl::Minutes(70), absl::Minutes(150),
                                          absl::Minutes(310)};
  while (expected.back() + absl::Hours(4) < absl::Hours(72)) {
    expected.push_back(expected.back() + absl::Hours(4));
  }
  expected.push_back(absl::Hours(72));

  for (absl::Duration after : expected) {
    ASSERT_NO_FATAL_FAILURE(ExpectOneFetchAt(accepted + after));
  }
  EXPECT_EQ(outbound_.StatusOf(m.id), MessageStatus::kSent);

  // Given up: it stays SENT and is not asked again.
  clock_.Advance(absl::Hours(24 * 30));
  RunPasses();
  EXPECT_EQ(Fetches(), expected.size());
  EXPECT_EQ(outbound_.StatusOf(m.id), MessageStatus::kSent);
  const std::string rendered = metrics_.Render();
  EXPECT_THAT(rendered, HasSubstr("smsgw_status_reconcile_given_up_total 1\n"));
  EXPECT_THAT(rendered, HasSubstr(OutcomeLine("updated", 1)));
  EXPECT_THAT(rendered,
              HasSubstr(OutcomeLine("unchanged", expected.size() - 1)));
}

TEST_F(StatusReconcilerTest, FinalAndUnacceptedMessagesAreNeverFetched) {
  StartReconciler();
  const Message delivered = Store(MessageStatus::kDelivered);
  const Message undelivered = Store(MessageStatus::kUndelivered);
  const Message refused = Store(MessageStatus::kFailed, /*with_sid=*/false);
  const Message pending = Store(MessageStatus::kPending);
  storage::Message inbound;
  inbound.id = "00000000-0000-4000-8000-900000000001";
  inbound.direction = storage::Direction::kInbound;
  inbound.from = inbound.peer_number = OutboundStore::kPeer;
  inbound.to = inbound.our_number = OutboundStore::kOurNumber;
  inbound.body = "hi";
  inbound.status = MessageStatus::kReceived;
  inbound.provider_sid = "SM900000000000000000000000000000001";
  inbound.create_time = inbound.update_time = clock_.Now();
  ASSERT_THAT(store()->InsertInbound(inbound), IsOk());

  clock_.Advance(absl::Hours(1));
  RunPasses();
  clock_.Advance(absl::Hours(71));
  RunPasses();
  EXPECT_EQ(Fetches(), 0u);
  EXPECT_EQ(outbound_.StatusOf(delivered.id), MessageStatus::kDelivered);
  EXPECT_EQ(outbound_.StatusOf(undelivered.id), MessageStatus::kUndelivered);
  EXPECT_EQ(outbound_.StatusOf(refused.id), MessageStatus::kFailed);
  EXPECT_EQ(outbound_.StatusOf(pending.id), MessageStatus::kPending);
}

TEST_F(StatusReconcilerTest, FailedFetchIsAskedAgainWithBackoff) {
  StartReconciler();
  const absl::Time accepted = clock_.Now();
  const Message m = Store();
  provider_.SetStatus(m.provider_sid, "delivered");
  provider_.FailNextFetches(2, absl::UnavailableError("HTTP 503"));

  ExpectOneFetchAt(accepted + absl::Minutes(10));
  EXPECT_EQ(outbound_.StatusOf(m.id), MessageStatus::kQueued);
  ExpectOneFetchAt(accepted + absl::Minutes(30));
  EXPECT_EQ(outbound_.StatusOf(m.id), MessageStatus::kQueued);
  ExpectOneFetchAt(accepted + absl::Minutes(70));
  EXPECT_EQ(outbound_.StatusOf(m.id), MessageStatus::kDelivered);
  const std::string rendered = metrics_.Render();
  EXPECT_THAT(rendered, HasSubstr(OutcomeLine("error", 2)));
  EXPECT_THAT(rendered, HasSubstr(OutcomeLine("updated", 1)));
}

TEST_F(StatusReconcilerTest, MessageTheProviderDoesNotKnowIsNotAskedAgain) {
  StartReconciler();
  const absl::Time accepted = clock_.Now();
  const Message m = Store();  // no status set: the fake answers 20404

  ExpectOneFetchAt(accepted + absl::Minutes(10));
  clock_.Set(accepted + absl::Hours(71));
  RunPasses();
  EXPECT_EQ(Fetches(), 1u);
  EXPECT_EQ(outbound_.StatusOf(m.id), MessageStatus::kQueued);
  EXPECT_THAT(metrics_.Render(), HasSubstr(OutcomeLine("not_found", 1)));
}

TEST_F(StatusReconcilerTest, ScheduleSurvivesARestart) {
  StartReconciler();
  const absl::Time accepted = clock_.Now();
  const Message m = Store();
  provider_.SetStatus(m.provider_sid, "sent");
  ExpectOneFetchAt(accepted + absl::Minutes(10));
  EXPECT_EQ(outbound_.StatusOf(m.id), MessageStatus::kSent);

  reconciler_->Shutdown();
  reconciler_.reset();
  outbound_.Reopen();
  StartReconciler();
  // A reconciler that forgot the first check would ask at once.
  ExpectOneFetchAt(accepted + absl::Minutes(30));
}

TEST_F(StatusReconcilerTest, FetchesInFlightStayWithinTheBound) {
  StatusReconciler::Options options = DefaultOptions();
  options.max_in_flight = 4;
  options.batch = 8;
  StartReconciler(options);
  constexpr int kMessages = 20;
  std::vector<Message> messages;
  for (int i = 0; i < kMessages; ++i) {
    messages.push_back(Store());
    provider_.SetStatus(messages.back().provider_sid, "delivered");
  }
  provider_.HoldFetches(true);
  clock_.Advance(absl::Minutes(10));
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (provider_.fetches_in_flight() < 4 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_EQ(provider_.fetches_in_flight(), 4);
  // Room for a fifth to start if the bound were broken; it cannot make the
  // test fail spuriously, only miss a bug.
  absl::SleepFor(absl::Milliseconds(200));
  provider_.HoldFetches(false);

  RunPasses(4);
  for (const Message& m : messages) {
    EXPECT_EQ(outbound_.StatusOf(m.id), MessageStatus::kDelivered) << m.id;
  }
  EXPECT_EQ(provider_.max_fetches_in_flight(), 4);
  // Each message once: a message waiting in a batch is not listed again.
  std::set<std::string> sids;
  for (const auto& [sid, time] : provider_.fetches()) sids.insert(sid);
  EXPECT_EQ(sids.size(), static_cast<size_t>(kMessages));
  EXPECT_EQ(Fetches(), static_cast<size_t>(kMessages));
}

TEST_F(StatusReconcilerTest, NextCheckDoublesUpToTheCapAndStopsAt72Hours) {
  StatusReconciler reconciler(store(), &provider_, &clock_, DefaultOptions());
  const absl::Time t0 = clock_.Now();
  struct Case {
    int checks;
    absl::Duration now;
    std::optional<absl::Duration> next;
  };
  const std::vector<Case> cases = {
      {1, absl::Minutes(10), absl::Minutes(30)},
      {2, absl::Minutes(30), absl::Minutes(70)},
      {5, absl::Minutes(310), absl::Minutes(310) + absl::Hours(4)},
      {40, absl::Hours(10), absl::Hours(14)},  // no overflow
      {20, absl::Hours(70), absl::Hours(72)},  // clamped to the horizon
      {21, absl::Hours(72), std::nullopt},
      {1, absl::Hours(100), std::nullopt},  // first look after an outage
  };
  for (const Case& c : cases) {
    std::optional<absl::Time> got =
        reconciler.NextCheck(t0, c.checks, t0 + c.now);
    if (!c.next.has_value()) {
      EXPECT_FALSE(got.has_value()) << c.checks;
    } else {
      ASSERT_TRUE(got.has_value()) << c.checks;
      EXPECT_EQ(*got, t0 + *c.next) << c.checks;
    }
  }
}

TEST_F(StatusReconcilerTest, StartRefusesBadOptionsAndASecondStart) {
  struct BadOption {
    const char* name;
    std::function<void(StatusReconciler::Options&)> apply;
  };
  const std::vector<BadOption> cases = {
      {"first_check_after",
       [](auto& o) { o.first_check_after = absl::ZeroDuration(); }},
      {"max_interval", [](auto& o) { o.max_interval = absl::Minutes(5); }},
      {"give_up_after", [](auto& o) { o.give_up_after = absl::Minutes(10); }},
      {"max_in_flight", [](auto& o) { o.max_in_flight = 0; }},
      {"batch", [](auto& o) { o.batch = 0; }},
      {"poll", [](auto& o) { o.poll = absl::ZeroDuration(); }},
  };
  for (const BadOption& bad : cases) {
    StatusReconciler::Options options = DefaultOptions();
    bad.apply(options);
    StatusReconciler reconciler(store(), &provider_, &clock_, options);
    EXPECT_THAT(reconciler.Start(), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr(bad.name)));
    EXPECT_EQ(reconciler.passes(), 0);
  }
  StartReconciler();
  EXPECT_THAT(reconciler_->Start(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace smsgw::dispatch
