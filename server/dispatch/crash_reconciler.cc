#include "server/dispatch/crash_reconciler.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "common/logging.h"
#include "server/domain/message_status.h"

namespace smsgw::dispatch {

using storage::MessageStatus;

storage::StatusUpdate AcceptedUpdate(const twilio::ProviderMessage& pm,
                                     absl::Time now, int http_status) {
  storage::StatusUpdate update =
      domain::ProviderStatusUpdate(pm, now, http_status);
  // The provider has it, whatever word it used.
  if (update.status == MessageStatus::kUnspecified) {
    update.status = MessageStatus::kQueued;
  }
  return update;
}

CrashReconciler::CrashReconciler(storage::MessageStore* messages,
                                 twilio::SmsProvider* provider, Clock* clock,
                                 Options options, ListRecorder record_list)
    : messages_(messages),
      provider_(provider),
      clock_(clock),
      options_(options),
      record_list_(std::move(record_list)) {}

int64_t CrashReconciler::possible_duplicates() const {
  absl::MutexLock lock(&mu_);
  return possible_duplicates_;
}

int64_t CrashReconciler::found() const {
  absl::MutexLock lock(&mu_);
  return found_;
}

namespace {

// The deepest list one reconciliation reads (Twilio pages of 1000).
constexpr int kMaxListDepth = 20000;

}  // namespace

CrashReconciler::Outcome CrashReconciler::Reconcile(const std::string& id) {
  Outcome outcome;
  absl::StatusOr<storage::Message> message = messages_->Get(id);
  if (!message.ok() || message->status != MessageStatus::kPending) {
    return outcome;  // kGone: deleted, or answered meanwhile
  }
  if (!message->dispatch_started_time.has_value()) {
    outcome.kind = Outcome::Kind::kSend;
    outcome.message = *std::move(message);
    return outcome;
  }
  const absl::Time started = *message->dispatch_started_time;
  twilio::ListFilter filter;
  filter.to = message->to;
  // With a Messaging Service the provider picks the sender: match on To only.
  if (message->messaging_service_sid.empty()) filter.from = message->from;
  // No DateSent filter on purpose: date_sent stays null until the carrier
  // takes the message, and Twilio's DateSent filter is day-granular; the
  // date_created check below is the time window.
  filter.page_size = std::clamp(options_.list_limit, 1, 1000);
  // The provider lists newest first. A full list whose oldest message is
  // still inside the window may not reach ours (a busy recipient, or a
  // takeover's wait): list ten times deeper, and if even the deepest list
  // does not reach the window's start, the provider has not told us yet.
  const absl::Time window_start = started - options_.clock_skew;
  int limit = std::max(options_.list_limit, 1);
  absl::StatusOr<std::vector<twilio::ProviderMessage>> listed;
  while (true) {
    const absl::Time list_start = absl::Now();
    listed = provider_->List(filter, limit);
    if (record_list_) {
      record_list_(listed.ok() ? "ok" : "error", absl::Now() - list_start);
    }
    if (!listed.ok() || static_cast<int>(listed->size()) < limit ||
        listed->back().date_created < window_start) {
      break;
    }
    if (limit >= kMaxListDepth) {
      listed = absl::UnavailableError(absl::StrCat(
          "the newest ", limit, " messages to ", message->to,
          " are all newer than the attempt; cannot tell yet"));
      break;
    }
    limit = std::min(limit * 10, kMaxListDepth);
  }
  const absl::Time now = clock_->Now();
  outcome.now = now;
  if (!listed.ok()) {
    outcome.provider = Outcome::Provider::kFailed;
    int failures = 0;
    {
      absl::MutexLock lock(&mu_);
      failures = ++failures_[id];
    }
    if (now - started < options_.give_up_after) {
      SMSGW_LOG(kWarning) << "cannot reconcile unanswered send, will ask again"
                          << " id=" << id << " failures=" << failures << ": "
                          << listed.status();
      outcome.kind = Outcome::Kind::kAskAgain;
      outcome.failures = failures;
      return outcome;
    }
    SMSGW_LOG(kWarning) << "possible duplicate: provider could not tell for "
                        << absl::FormatDuration(now - started)
                        << " whether it has the message; sending again id="
                        << id << " last_error=\"" << listed.status().message()
                        << "\"";
    {
      absl::MutexLock lock(&mu_);
      ++possible_duplicates_;
      failures_.erase(id);
    }
    outcome.kind = Outcome::Kind::kSend;
    outcome.message = *std::move(message);
    return outcome;
  }
  outcome.provider = Outcome::Provider::kAnswered;
  {
    absl::MutexLock lock(&mu_);
    failures_.erase(id);
  }
  for (const twilio::ProviderMessage& pm : *listed) {
    if (pm.body != message->body || pm.sid.empty()) continue;
    if (pm.date_created < started - options_.clock_skew) continue;
    absl::StatusOr<storage::Message> stored =
        messages_->ApplyStatus(id, AcceptedUpdate(pm, now, 200));
    // AlreadyExists: that SID is another message's (same body, same
    // numbers); keep looking.
    if (absl::IsAlreadyExists(stored.status())) continue;
    if (!stored.ok()) {
      SMSGW_LOG(kError) << "cannot store reconciled answer id=" << id << ": "
                        << stored.status();
      outcome.kind = Outcome::Kind::kStoreFailed;
      return outcome;
    }
    SMSGW_LOG(kInfo) << "reconciled: provider has the message, not resending"
                     << " id=" << id << " sid=" << pm.sid
                     << " status=" << pm.status;
    {
      absl::MutexLock lock(&mu_);
      ++found_;
    }
    outcome.kind = Outcome::Kind::kFound;
    return outcome;
  }
  SMSGW_LOG(kInfo) << "reconciled: provider does not have the message,"
                   << " sending id=" << id;
  outcome.kind = Outcome::Kind::kSend;
  outcome.message = *std::move(message);
  return outcome;
}

}  // namespace smsgw::dispatch
