// File: simulator_scheduler.h
//
// The simulator's timer: one thread running closures at their due times, in
// (due time, enqueue order) order. The status steps and callbacks of
// `TwilioSimulator` (simulator.h) are scheduled here.
//
//   SimulatorScheduler scheduler;
//   scheduler.At(absl::Now() + absl::Milliseconds(200), [] { /* step */ });
//
// Thread-safe. Not copyable.
#ifndef SMSGW_SERVER_SIMULATOR_SIMULATOR_SCHEDULER_H_
#define SMSGW_SERVER_SIMULATOR_SIMULATOR_SCHEDULER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace smsgw::twilio {

class SimulatorScheduler {
 public:
  SimulatorScheduler();   // starts the thread
  ~SimulatorScheduler();  // Stop()s.
  SimulatorScheduler(const SimulatorScheduler&) = delete;
  SimulatorScheduler& operator=(const SimulatorScheduler&) = delete;

  // Runs `fn` on the scheduler's thread at `when` (at once when past).
  // Dropped after Stop().
  void At(absl::Time when, std::function<void()> fn);

  // Drops pending closures, lets the running one (if any) finish and joins
  // the thread. Idempotent.
  void Stop();

 private:
  void Run();

  absl::Mutex mu_;
  absl::CondVar cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::pair<absl::Time, uint64_t>, std::function<void()>> tasks_
      ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace smsgw::twilio

#endif  // SMSGW_SERVER_SIMULATOR_SIMULATOR_SCHEDULER_H_
