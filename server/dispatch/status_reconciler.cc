#include "server/dispatch/status_reconciler.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "common/logging.h"
#include "server/domain/message_status.h"

namespace smsgw::dispatch {
namespace {

constexpr absl::Duration kMaxStoreBackoff = absl::Minutes(5);

}  // namespace

StatusReconciler::StatusReconciler(storage::StatusStore* messages,
                                   twilio::SmsProvider* provider, Clock* clock,
                                   Options options)
    : messages_(messages),
      provider_(provider),
      clock_(clock),
      options_(std::move(options)) {
  if (options_.metrics != nullptr) {
    outcomes_ = options_.metrics->AddCounter(
        "smsgw_status_reconcile_total",
        "Status fetches of messages whose final status callback did not "
        "arrive, by outcome (updated, unchanged, error, not_found).",
        {"outcome"});
    given_up_ = options_.metrics->AddCounter(
        "smsgw_status_reconcile_given_up_total",
        "Messages no longer asked about: still without a final status when "
        "the status checks ran out (some carriers never report past sent).",
        {});
  }
}

StatusReconciler::~StatusReconciler() { Shutdown(); }

absl::Status StatusReconciler::Start() {
  const Options& o = options_;
  if (o.first_check_after <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("first_check_after must be positive");
  }
  if (o.max_interval < o.first_check_after) {
    return absl::InvalidArgumentError(
        "max_interval must be at least first_check_after");
  }
  if (o.give_up_after <= o.first_check_after) {
    return absl::InvalidArgumentError(
        "give_up_after must be longer than first_check_after");
  }
  if (o.max_in_flight < 1 || o.batch < 1) {
    return absl::InvalidArgumentError(
        "max_in_flight and batch must be at least 1");
  }
  if (o.poll <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("poll must be positive");
  }
  absl::MutexLock lock(&mu_);
  if (started_ || stopping_) {
    return absl::FailedPreconditionError(
        "the status reconciler was already started");
  }
  started_ = true;
  // The queue holds one batch at most: the timer waits for it to drain.
  fetchers_ = std::make_unique<Executor>("status-fetch", o.max_in_flight,
                                         static_cast<size_t>(o.batch));
  // Real time: `poll` is real time between two looks, whatever the clock.
  timer_ = std::make_unique<Timer>("status-reconcile", Clock::Real());
  timer_->RunRepeatedly(absl::Now(), [this] { return Poll(); });
  return absl::OkStatus();
}

void StatusReconciler::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  // Waits for a pass under way; queued checks see stopping_ and return.
  Timer* timer = nullptr;
  {
    absl::MutexLock lock(&mu_);
    timer = timer_.get();
  }
  if (timer != nullptr) timer->Shutdown();
  // Queued checks see stopping_ and return at once; those on the wire end
  // within the provider's timeout.
  if (fetchers_ != nullptr) fetchers_->Shutdown();
}

std::optional<absl::Time> StatusReconciler::NextCheck(absl::Time accepted,
                                                      int checks,
                                                      absl::Time now) const {
  const absl::Time last = accepted + options_.give_up_after;
  if (now >= last) return std::nullopt;
  absl::Duration interval = options_.first_check_after;
  for (int i = 0; i < checks && interval < options_.max_interval; ++i) {
    interval *= 2;
  }
  return std::min(now + std::min(interval, options_.max_interval), last);
}

int64_t StatusReconciler::passes() const {
  absl::MutexLock lock(&mu_);
  return passes_;
}

void StatusReconciler::Count(const char* outcome) {
  if (outcomes_ != nullptr) outcomes_->Increment({outcome});
}

absl::Time StatusReconciler::Poll() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::InfiniteFuture();
  }
  absl::Duration wait;
  bool full_batch = false;
  if (RunPass(&full_batch)) {
    store_failures_ = 0;
    // A full batch suggests more are due: take the next one at once.
    wait = full_batch ? absl::ZeroDuration() : options_.poll;
  } else {
    ++store_failures_;
    wait = options_.poll;
    for (int i = 0; i < store_failures_ && wait < kMaxStoreBackoff; ++i) {
      wait *= 2;
    }
    wait = std::min(wait, kMaxStoreBackoff);
  }
  return absl::Now() + wait;
}

bool StatusReconciler::RunPass(bool* full_batch) {
  absl::StatusOr<std::vector<storage::StatusCheck>> due =
      messages_->ListDueStatusChecks(clock_->Now(), options_.first_check_after,
                                     options_.batch);
  if (!due.ok()) {
    SMSGW_LOG(kError) << "cannot list messages due for a status check: "
                      << due.status();
    return false;
  }
  *full_batch = static_cast<int>(due->size()) >= options_.batch;
  absl::MutexLock lock(&mu_);
  pass_store_error_ = false;
  for (const storage::StatusCheck& check : *due) {
    if (stopping_) break;
    ++outstanding_;
    const bool queued = fetchers_->TrySchedule([this, check] {
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) {
          --outstanding_;
          return;  // still due in the store: the next start checks it
        }
      }
      const bool stored = Check(check);
      absl::MutexLock lock(&mu_);
      if (!stored) pass_store_error_ = true;
      --outstanding_;
    });
    if (!queued) --outstanding_;
  }
  auto drained = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return outstanding_ == 0;
  };
  mu_.Await(absl::Condition(&drained));
  if (stopping_) return true;
  ++passes_;
  return !pass_store_error_;
}

bool StatusReconciler::Check(const storage::StatusCheck& due) {
  const std::string& id = due.message_id;
  absl::StatusOr<twilio::ProviderMessage> fetched =
      provider_->Fetch(due.provider_sid);
  const absl::Time now = clock_->Now();
  storage::MessageStatus current = due.status;
  bool store_ok = true;
  if (fetched.ok()) {
    storage::StatusUpdate update =
        domain::ProviderStatusUpdate(*fetched, now, /*http_status=*/200);
    if (update.status == storage::MessageStatus::kUnspecified) {
      SMSGW_LOG(kWarning) << "status check: provider reports an unknown status"
                          << " id=" << id << " sid=" << due.provider_sid
                          << " status=\"" << fetched->status.substr(0, 32)
                          << "\"";
      Count("unchanged");
    } else {
      absl::StatusOr<storage::Message> after =
          messages_->ApplyStatus(id, update);
      if (absl::IsNotFound(after.status())) return true;  // deleted meanwhile
      if (!after.ok()) {
        SMSGW_LOG(kError) << "status check: cannot store the provider's answer"
                          << " id=" << id << ": " << after.status();
        Count("error");
        store_ok = false;
      } else {
        const bool moved =
            storage::StatusRank(after->status) > storage::StatusRank(current);
        current = after->status;
        if (moved) {
          SMSGW_LOG(kInfo) << "status check: provider reports a newer status"
                           << " id=" << id << " sid=" << due.provider_sid
                           << " status=" << domain::StatusName(current);
        }
        Count(moved ? "updated" : "unchanged");
        // A final message leaves the store's list of due checks by itself
        // (a callback may also have made it final since it was listed).
        if (storage::IsTerminal(current)) return true;
      }
    }
  } else if (absl::IsNotFound(fetched.status())) {
    SMSGW_LOG(kWarning) << "status check: provider does not know the message;"
                        << " no further checks id=" << id
                        << " sid=" << due.provider_sid << ": "
                        << fetched.status();
    Count("not_found");
    absl::Status stopped = messages_->RecordStatusCheck(id, std::nullopt);
    if (!stopped.ok() && !absl::IsNotFound(stopped)) {
      SMSGW_LOG(kError) << "status check: cannot record id=" << id << ": "
                        << stopped;
      return false;
    }
    return true;
  } else {
    SMSGW_LOG(kWarning) << "status check: fetch failed, will ask again id="
                        << id << " sid=" << due.provider_sid << ": "
                        << fetched.status();
    Count("error");
  }

  const std::optional<absl::Time> next =
      NextCheck(due.accepted_time, due.checks + 1, now);
  if (!next.has_value()) {
    SMSGW_LOG(kWarning) << "status check: no final status "
                        << absl::FormatDuration(options_.give_up_after)
                        << " after acceptance; no further checks id=" << id
                        << " sid=" << due.provider_sid
                        << " status=" << domain::StatusName(current);
    if (given_up_ != nullptr) given_up_->Increment({});
  }
  absl::Status recorded = messages_->RecordStatusCheck(id, next);
  if (!recorded.ok() && !absl::IsNotFound(recorded)) {
    SMSGW_LOG(kError) << "status check: cannot record id=" << id << ": "
                      << recorded;
    return false;
  }
  return store_ok;
}

}  // namespace smsgw::dispatch
