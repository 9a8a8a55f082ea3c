#include "common/executor.h"

#include <utility>

namespace smsgw {

Executor::Executor(std::string name, int num_threads, size_t max_queue)
    : name_(std::move(name)), max_queue_(max_queue) {
  if (num_threads < 1) num_threads = 1;
  workers_.reserve(num_threads);
  for (int i = 0; i < num_threads; ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

Executor::~Executor() { Shutdown(); }

bool Executor::TrySchedule(std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  if (shutting_down_ || queue_.size() >= max_queue_) return false;
  queue_.push_back(std::move(fn));
  return true;
}

size_t Executor::QueueSize() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

void Executor::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_ && workers_.empty()) return;
    shutting_down_ = true;
  }
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  workers_.clear();
}

void Executor::WorkerLoop() {
  while (true) {
    std::function<void()> fn;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](Executor* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->shutting_down_ || !self->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // shutting down and drained
      fn = std::move(queue_.front());
      queue_.pop_front();
    }
    fn();
  }
}

}  // namespace smsgw
