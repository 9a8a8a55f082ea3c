#include "server/simulator/simulator_scheduler.h"

#include <functional>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace smsgw::twilio {

SimulatorScheduler::SimulatorScheduler() : thread_([this] { Run(); }) {}

SimulatorScheduler::~SimulatorScheduler() { Stop(); }

void SimulatorScheduler::At(absl::Time when, std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  tasks_.emplace(std::make_pair(when, next_seq_++), std::move(fn));
  cv_.Signal();
}

void SimulatorScheduler::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    tasks_.clear();
    cv_.Signal();
  }
  if (thread_.joinable()) thread_.join();
}

void SimulatorScheduler::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    if (tasks_.empty()) {
      cv_.Wait(&mu_);
      continue;
    }
    absl::Time when = tasks_.begin()->first.first;
    if (absl::Now() < when) {
      cv_.WaitWithDeadline(&mu_, when);
      continue;
    }
    std::function<void()> fn = std::move(tasks_.begin()->second);
    tasks_.erase(tasks_.begin());
    mu_.Unlock();
    fn();
    mu_.Lock();
  }
}

}  // namespace smsgw::twilio
