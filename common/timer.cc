#include "common/timer.h"

#include <algorithm>
#include <utility>

namespace smsgw {

Timer::Timer(std::string name, Clock* clock, absl::Duration max_sleep)
    : name_(std::move(name)),
      clock_(clock),
      max_sleep_(std::max(max_sleep, absl::Milliseconds(1))) {
  thread_ = std::thread([this] { Loop(); });
}

Timer::~Timer() { Shutdown(); }

Timer::Id Timer::RunAt(absl::Time at, std::function<void()> fn) {
  return Add(
      at,
      [fn = std::move(fn)] {
        fn();
        return absl::InfiniteFuture();
      },
      /*repeating=*/false);
}

Timer::Id Timer::RunRepeatedly(absl::Time first, Repeating fn) {
  return Add(first, std::move(fn), /*repeating=*/true);
}

Timer::Id Timer::Add(absl::Time at, Repeating fn, bool repeating) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return kNoTimer;
  const Id id = next_id_++;
  Task& task = tasks_[id];
  task.fn = std::move(fn);
  task.repeating = repeating;
  PlaceLocked(id, task, at);
  return id;
}

void Timer::PlaceLocked(Id id, Task& task, absl::Time at) {
  task.key = std::make_pair(at, next_seq_++);
  // Only a new earliest deadline changes how long the thread sleeps.
  const bool earliest = order_.empty() || *task.key < order_.begin()->first;
  order_.emplace(*task.key, id);
  if (earliest) changed_.Signal();
}

void Timer::Wake(Id id, absl::Time at) {
  absl::MutexLock lock(&mu_);
  auto it = tasks_.find(id);
  if (it == tasks_.end() || it->second.cancelled) return;
  Task& task = it->second;
  if (task.running) {
    task.wake_while_running = std::min(task.wake_while_running, at);
    return;
  }
  if (task.key.has_value()) {
    if (task.key->first <= at) return;
    order_.erase(*task.key);
  }
  PlaceLocked(id, task, at);
}

bool Timer::Cancel(Id id) {
  absl::MutexLock lock(&mu_);
  auto it = tasks_.find(id);
  if (it == tasks_.end() || it->second.cancelled) return false;
  Task& task = it->second;
  if (task.running) {
    // A one-shot callback under way has run already, as far as the caller
    // is concerned; a repeating one is still scheduled until it returns.
    task.cancelled = true;
    return task.repeating;
  }
  if (task.key.has_value()) order_.erase(*task.key);
  tasks_.erase(it);
  return true;
}

void Timer::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    changed_.Signal();
  }
  {
    // Two callers must not both join the thread.
    absl::MutexLock join(&join_mu_);
    if (thread_.joinable()) thread_.join();
  }
  absl::MutexLock lock(&mu_);
  order_.clear();
  tasks_.clear();
}

void Timer::Loop() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    if (order_.empty()) {
      changed_.Wait(&mu_);
      continue;
    }
    const absl::Time at = order_.begin()->first.first;
    const absl::Time now = clock_->Now();
    if (now < at) {
      // Read the clock again after max_sleep_ at the latest: a fake clock
      // moves without a signal.
      changed_.WaitWithTimeout(&mu_, std::min(max_sleep_, at - now));
      continue;
    }
    const Id id = order_.begin()->second;
    order_.erase(order_.begin());
    Task& task = tasks_[id];
    task.key.reset();
    task.running = true;
    // A copy: the map may move its entries while the callback runs.
    Repeating fn = task.fn;
    mu_.Unlock();
    const absl::Time next = fn();
    mu_.Lock();
    auto it = tasks_.find(id);
    if (it == tasks_.end()) continue;  // Shutdown() cleared it
    Task& done = it->second;
    done.running = false;
    const absl::Time again = std::min(next, done.wake_while_running);
    done.wake_while_running = absl::InfiniteFuture();
    if (!done.repeating || done.cancelled) {
      tasks_.erase(it);
    } else if (again != absl::InfiniteFuture()) {
      PlaceLocked(id, done, again);
    }
  }
}

}  // namespace smsgw
