#include "server/dispatch/first_answer_waiters.h"

#include <utility>

#include "common/clock.h"

namespace smsgw::dispatch {

FirstAnswerWaiters::FirstAnswerWaiters()
    : deadlines_("first-answer", Clock::Real()) {}

FirstAnswerWaiters::~FirstAnswerWaiters() { Shutdown(); }

void FirstAnswerWaiters::Expect(const std::string& id) {
  absl::MutexLock lock(&mu_);
  awaiting_.insert(id);
}

void FirstAnswerWaiters::Answered(const std::string& id,
                                  const storage::Message* answered) {
  std::vector<Waiter> ready;
  {
    absl::MutexLock lock(&mu_);
    awaiting_.erase(id);
    auto it = waiters_.find(id);
    if (it == waiters_.end()) return;
    ready = std::move(it->second);
    waiters_.erase(it);
  }
  for (Waiter& w : ready) {
    deadlines_.Cancel(w.timer);
    w.done(answered);
  }
}

bool FirstAnswerWaiters::Notify(absl::string_view id, absl::Time deadline,
                                AnswerCallback done) {
  const std::string key(id);
  absl::MutexLock lock(&mu_);
  if (closed_ || !awaiting_.contains(key) || deadline <= absl::Now()) {
    return false;
  }
  const uint64_t seq = next_seq_++;
  const Timer::Id timer =
      deadlines_.RunAt(deadline, [this, key, seq] { Expired(key, seq); });
  waiters_[key].push_back(Waiter{seq, timer, std::move(done)});
  return true;
}

void FirstAnswerWaiters::Expired(const std::string& id, uint64_t seq) {
  AnswerCallback done;
  {
    absl::MutexLock lock(&mu_);
    auto it = waiters_.find(id);
    if (it == waiters_.end()) return;  // answered meanwhile
    std::vector<Waiter>& list = it->second;
    for (auto w = list.begin(); w != list.end(); ++w) {
      if (w->seq != seq) continue;
      done = std::move(w->done);
      list.erase(w);
      break;
    }
    if (list.empty()) waiters_.erase(it);
  }
  if (done) done(nullptr);
}

void FirstAnswerWaiters::Await(absl::string_view id, absl::Time deadline) {
  const std::string key(id);
  absl::MutexLock lock(&mu_);
  auto answered = [this, &key]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !awaiting_.contains(key);
  };
  mu_.AwaitWithDeadline(absl::Condition(&answered), deadline);
}

void FirstAnswerWaiters::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }
  // No deadline fires after this; what is left is called here.
  deadlines_.Shutdown();
  absl::flat_hash_map<std::string, std::vector<Waiter>> left;
  {
    absl::MutexLock lock(&mu_);
    left.swap(waiters_);
  }
  for (auto& [id, list] : left) {
    for (Waiter& w : list) w.done(nullptr);
  }
}

}  // namespace smsgw::dispatch
