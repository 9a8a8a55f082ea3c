// File: fake_sms_provider.h
//
// An in-process SmsProvider for dispatcher and reconciler tests: it accepts
// every send at once (status "queued", SIDs SM1001, SM1002, …), or while
// FailWith() is in force answers every create with that HTTP status (a
// retryable failure) and every list with Unavailable; FailNextCreates()
// scripts the answers of the next creates, HoldCreates() keeps creates
// unanswered (in flight) until released; it answers Fetch() from a table of
// statuses the test sets, after any scripted errors, and List() with nothing
// of ours unless the test adds messages (AddListed, ListAccepted) or scripts
// errors (FailNextLists); it records what was asked and when (on the test's
// clock). For the HTTP side of Twilio use FakeTwilioServer instead.
// Thread-safe.
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
    {
      absl::MutexLock lock(&mu_);
      if (hold_creates_) {
        held_.emplace_back(std::move(sms), std::move(done));
        return;
      }
    }
    Answer(std::move(sms), std::move(done));
  }

  // Answers a create as the script says, on the calling thread.
  void Answer(twilio::OutboundSms sms, SendCallback done) {
    twilio::SendResult result;
    {
      absl::MutexLock lock(&mu_);
      ++calls_;
      ++creates_;
      validity_.push_back(sms.validity_period_s);
      if (!create_errors_.empty()) {
        result.error = create_errors_.front();
        create_errors_.pop_front();
      } else if (fail_status_ != 0) {
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
        result.message.direction = "outbound-api";
        result.message.to = sms.to;
        result.message.from = sms.from;
        result.message.body = sms.body;
        result.message.date_created = clock_->Now();
        accepted_.push_back(result.message);
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
    ++lists_;
    if (!list_errors_.empty()) {
      absl::Status error = list_errors_.front();
      list_errors_.pop_front();
      return error;
    }
    if (fail_status_ != 0) return absl::UnavailableError("outage");
    // None of ours unless the test said otherwise; newest first.
    std::vector<twilio::ProviderMessage> listed(listed_.rbegin(),
                                                listed_.rend());
    if (list_accepted_) listed.insert(listed.end(), accepted_.rbegin(),
                                      accepted_.rend());
    return listed;
  }

  // The next creates, one each, answer these errors instead (`retryable`
  // as given); then FailWith() or acceptance as before.
  void FailNextCreates(std::vector<twilio::ProviderError> errors) {
    absl::MutexLock lock(&mu_);
    for (twilio::ProviderError& e : errors) create_errors_.push_back(e);
  }
  // While held, creates are kept unanswered (in flight, not counted in
  // calls()); releasing answers the kept ones in order, on this thread.
  void HoldCreates(bool hold) {
    std::vector<std::pair<twilio::OutboundSms, SendCallback>> held;
    {
      absl::MutexLock lock(&mu_);
      hold_creates_ = hold;
      if (!hold) held.swap(held_);
    }
    for (auto& [sms, done] : held) Answer(std::move(sms), std::move(done));
  }
  // Creates kept by HoldCreates() so far.
  size_t held_creates() {
    absl::MutexLock lock(&mu_);
    return held_.size();
  }
  // List() reports `message` from now on (the provider has it).
  void AddListed(twilio::ProviderMessage message) {
    absl::MutexLock lock(&mu_);
    listed_.push_back(std::move(message));
  }
  // List() also reports every message this fake accepted, as Twilio would.
  void ListAccepted(bool on) {
    absl::MutexLock lock(&mu_);
    list_accepted_ = on;
  }
  // The next `n` lists fail with `error`.
  void FailNextLists(int n, absl::Status error) {
    absl::MutexLock lock(&mu_);
    for (int i = 0; i < n; ++i) list_errors_.push_back(error);
  }
  // List() calls so far, failed ones included.
  int lists() {
    absl::MutexLock lock(&mu_);
    return lists_;
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
  // Waits (real time, up to 5 s) until at least `n` creates were answered,
  // accepted or not, or `n` lists were made.
  bool AwaitCreates(int n) { return AwaitCounter(&creates_, n); }
  bool AwaitLists(int n) { return AwaitCounter(&lists_, n); }
  // Creates answered so far, accepted or not.
  int creates() {
    absl::MutexLock lock(&mu_);
    return creates_;
  }
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

  bool AwaitCounter(const int* counter, int n) {
    absl::MutexLock lock(&mu_);
    auto enough = [counter, n]() { return *counter >= n; };
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
  std::deque<twilio::ProviderError> create_errors_ ABSL_GUARDED_BY(mu_);
  bool hold_creates_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::pair<twilio::OutboundSms, SendCallback>> held_
      ABSL_GUARDED_BY(mu_);
  std::vector<twilio::ProviderMessage> accepted_ ABSL_GUARDED_BY(mu_);
  std::vector<twilio::ProviderMessage> listed_ ABSL_GUARDED_BY(mu_);
  bool list_accepted_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<absl::Status> list_errors_ ABSL_GUARDED_BY(mu_);
  int lists_ ABSL_GUARDED_BY(mu_) = 0;
  int creates_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace smsgw::testing

#endif  // SMSGW_TESTS_TESTING_FAKE_SMS_PROVIDER_H_
