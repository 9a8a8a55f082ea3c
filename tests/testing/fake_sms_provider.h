// File: fake_sms_provider.h
//
// An in-process SmsProvider for dispatcher and reconciler tests: it accepts
// every send at once (status "queued", SIDs SM1001, SM1002, …), or while
// FailWith() is in force answers every create with that HTTP status (a
// retryable failure) and every list with Unavailable; it answers Fetch()
// from a table of statuses the test sets, after any scripted errors, and
// List() with nothing of ours; it records what was asked and when (on the
// test's clock). For
// the HTTP side of Twilio use FakeTwilioServer instead. Thread-safe.
#ifndef SMSGW_TESTS_TESTING_FAKE_SMS_PROVIDER_H_
#define SMSGW_TESTS_TESTING_FAKE_SMS_PROVIDER_H_

#include <algorithm>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "server/twilio/sms_provider.h"

namespace smsgw::testing {

class FakeSmsProvider final : public twilio::SmsProvider {
 public:
  // `clock` stamps the recorded calls; not owned.
  explicit FakeSmsProvider(Clock* clock) : clock_(clock) {}
  ~FakeSmsProvider() override { HoldFetches(false); }

  void SendAsync(twilio::OutboundSms sms, SendCallback done) override {
    twilio::SendResult result;
    {
      absl::MutexLock lock(&mu_);
      ++calls_;
      validity_.push_back(sms.validity_period_s);
      if (fail_status_ != 0) {
        result.error.http_status = fail_status_;
        result.error.code = fail_status_ == 429 ? 20429 : 0;
        result.error.message = absl::StrCat("outage answer ", fail_status_);
        result.error.retryable = true;
      } else {
        result.accepted = true;
        bodies_.push_back(sms.body);
        times_.push_back(clock_->Now());
        result.message.sid = absl::StrCat("SM", 1000 + bodies_.size());
        result.message.status = "queued";
        result.message.num_segments = 1;
      }
    }
    done(std::move(result));
  }

  // The first scripted error if any (FailNextFetches), else a message with
  // the status set by SetStatus(), else NotFound as Twilio's 20404. Waits
  // while fetches are held.
  absl::StatusOr<twilio::ProviderMessage> Fetch(
      absl::string_view sid) override {
    absl::MutexLock lock(&mu_);
    fetches_.emplace_back(std::string(sid), clock_->Now());
    ++fetches_in_flight_;
    max_fetches_in_flight_ =
        std::max(max_fetches_in_flight_, fetches_in_flight_);
    auto released = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !hold_fetches_;
    };
    mu_.Await(absl::Condition(&released));
    --fetches_in_flight_;
    if (!fetch_errors_.empty()) {
      absl::Status error = fetch_errors_.front();
      fetch_errors_.pop_front();
      return error;
    }
    auto it = statuses_.find(std::string(sid));
    if (it == statuses_.end()) {
      return absl::NotFoundError(absl::StrCat(
          "fetch message ", sid, ": HTTP 404, Twilio 20404: not found"));
    }
    twilio::ProviderMessage message;
    message.sid = std::string(sid);
    message.status = it->second;
    message.direction = "outbound-api";
    message.num_segments = 1;
    return message;
  }

  absl::StatusOr<std::vector<twilio::ProviderMessage>> List(
      const twilio::ListFilter&, int) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    if (fail_status_ != 0) return absl::UnavailableError("outage");
    return std::vector<twilio::ProviderMessage>{};  // it has none of ours
  }

  // Creates answer `http_status` (429, 5xx: retryable) from now on; 0
  // accepts again.
  void FailWith(int http_status) {
    absl::MutexLock lock(&mu_);
    fail_status_ = http_status;
  }
  // Create and list calls so far, failed ones included.
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  // The ValidityPeriod (seconds, 0 = none) of every create, in order.
  std::vector<int> validity() {
    absl::MutexLock lock(&mu_);
    return validity_;
  }

  // What Fetch(`sid`) reports from now on (Twilio's word, e.g. "delivered").
  void SetStatus(const std::string& sid, const std::string& status) {
    absl::MutexLock lock(&mu_);
    statuses_[sid] = status;
  }
  // The next `n` fetches, of any SID, fail with `error`.
  void FailNextFetches(int n, absl::Status error) {
    absl::MutexLock lock(&mu_);
    for (int i = 0; i < n; ++i) fetch_errors_.push_back(error);
  }
  // While held, every Fetch() waits (counted as in flight) until released.
  void HoldFetches(bool hold) {
    absl::MutexLock lock(&mu_);
    hold_fetches_ = hold;
  }

  // Waits (real time, up to 5 s) until at least `n` sends were made.
  bool AwaitCalls(size_t n) { return AwaitCount(&bodies_, n); }
  // Waits (real time, up to 5 s) until at least `n` fetches started.
  bool AwaitFetches(size_t n) { return AwaitCount(&fetches_, n); }

  std::vector<std::string> bodies() {
    absl::MutexLock lock(&mu_);
    return bodies_;
  }
  std::vector<absl::Time> times() {
    absl::MutexLock lock(&mu_);
    return times_;
  }
  // Every Fetch() call: (SID, clock time), in order.
  std::vector<std::pair<std::string, absl::Time>> fetches() {
    absl::MutexLock lock(&mu_);
    return fetches_;
  }
  int fetches_in_flight() {
    absl::MutexLock lock(&mu_);
    return fetches_in_flight_;
  }
  // The most Fetch() calls ever under way at once.
  int max_fetches_in_flight() {
    absl::MutexLock lock(&mu_);
    return max_fetches_in_flight_;
  }

 private:
  template <typename T>
  bool AwaitCount(const std::vector<T>* calls, size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [calls, n]() { return calls->size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(5));
  }

  Clock* clock_;
  absl::Mutex mu_;
  std::vector<std::string> bodies_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Time> times_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, absl::Time>> fetches_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> statuses_ ABSL_GUARDED_BY(mu_);
  std::deque<absl::Status> fetch_errors_ ABSL_GUARDED_BY(mu_);
  bool hold_fetches_ ABSL_GUARDED_BY(mu_) = false;
  int fetches_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int max_fetches_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int> validity_ ABSL_GUARDED_BY(mu_);
  int fail_status_ ABSL_GUARDED_BY(mu_) = 0;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace smsgw::testing

#endif  // SMSGW_TESTS_TESTING_FAKE_SMS_PROVIDER_H_
