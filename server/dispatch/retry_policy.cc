#include "server/dispatch/retry_policy.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"

namespace smsgw::dispatch {

bool RetryPolicy::IsRetryable(const twilio::ProviderError& error) {
  return error.retryable ||
         (error.http_status >= 200 && error.http_status <= 299);
}

absl::Duration RetryPolicy::BackoffCeiling(int attempt) const {
  absl::Duration ceiling = options_.backoff_base;
  for (int i = 1; i < attempt && ceiling < options_.backoff_cap; ++i) {
    ceiling *= 2;
  }
  return std::min(ceiling, options_.backoff_cap);
}

absl::Duration RetryPolicy::Backoff(int attempt) {
  const absl::Duration ceiling = BackoffCeiling(attempt);
  absl::MutexLock lock(&rng_mu_);
  return absl::Microseconds(
      absl::Uniform<int64_t>(rng_, 0, absl::ToInt64Microseconds(ceiling) + 1));
}

std::optional<absl::Time> RetryPolicy::RetryDeadline(
    const storage::Message& message) const {
  const absl::Time horizon =
      message.scheduled_time.value_or(message.create_time) +
      options_.retry_horizon;
  return message.expire_time.has_value()
             ? std::min(*message.expire_time, horizon)
             : horizon;
}

bool RetryPolicy::GiveUpBeforeCall(const storage::Message& message,
                                   absl::Time now) const {
  return (message.expire_time.has_value() && now >= *message.expire_time) ||
         (message.attempts > 0 && now >= *RetryDeadline(message));
}

RetryPolicy::Decision RetryPolicy::AfterRetryableFailure(
    int attempts, bool refused, std::optional<absl::Time> retry_deadline,
    bool breaker_closed, absl::Time now) {
  if (refused && retry_deadline.has_value() && now >= *retry_deadline) {
    return Decision{/*expire=*/true, now};
  }
  absl::Time next = breaker_closed ? now + Backoff(attempts) : now;
  if (retry_deadline.has_value()) next = std::min(next, *retry_deadline);
  return Decision{/*expire=*/false, next};
}

std::string RetryPolicy::ExpiryReason(const storage::Message& message,
                                      absl::Time now, int attempts,
                                      const LastError& last) const {
  const bool validity_ended =
      message.expire_time.has_value() && now >= *message.expire_time;
  std::string why =
      validity_ended
          ? absl::StrCat(
                "not sent: its validity period ended at ",
                absl::FormatTime(absl::RFC3339_sec, *message.expire_time,
                                 absl::UTCTimeZone()))
          : absl::StrCat(
                "not sent: the provider still failed when the retry "
                "horizon (SMSGW_RETRY_HORIZON, ",
                absl::FormatDuration(options_.retry_horizon), ") ended");
  absl::StrAppend(&why, " after ", attempts, " attempt(s)");
  if (last.http_status != 0 || !last.message.empty()) {
    absl::StrAppend(&why, "; last provider error: HTTP ", last.http_status,
                    last.message.empty() ? "" : " ", last.message);
  }
  return why;
}

}  // namespace smsgw::dispatch
