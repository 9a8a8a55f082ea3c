// File: executor.h
//
// A fixed pool of worker threads with a bounded queue. gRPC callback handlers
// hand blocking work (SQLite, password hashing, provider calls) to it, so that
// gRPC's own threads never block; a full queue is reported to the caller,
// which answers RESOURCE_EXHAUSTED instead of queueing without bound.
#ifndef SMSGW_COMMON_EXECUTOR_H_
#define SMSGW_COMMON_EXECUTOR_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace smsgw {

// Runs closures on `num_threads` workers, at most `max_queue` waiting.
// Thread-safe. The destructor calls Shutdown().
class Executor {
 public:
  Executor(std::string name, int num_threads, size_t max_queue);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `fn` to run on a worker. Returns false, without running it, when
  // the queue already holds `max_queue` closures or Shutdown() has begun.
  bool TrySchedule(std::function<void()> fn);

  // Stops taking work, runs every closure already queued, joins the workers.
  // Idempotent.
  void Shutdown();

  // Closures queued and not yet started.
  size_t QueueSize() const;

 private:
  void WorkerLoop();

  const std::string name_;
  const size_t max_queue_;
  std::vector<std::thread> workers_;

  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace smsgw

#endif  // SMSGW_COMMON_EXECUTOR_H_
