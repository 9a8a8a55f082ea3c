#include "server/twilio/simulator_connections.h"

#include <algorithm>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace smsgw::twilio {
namespace {

// Counts tasks running at once; each waits (at most 10 s) until `target`
// are running, which only tasks on separate threads can reach.
class Rendezvous {
 public:
  explicit Rendezvous(int target) : target_(target) {}

  void Arrive() {
    absl::MutexLock lock(&mu_);
    ++inside_;
    max_inside_ = std::max(max_inside_, inside_);
    if (inside_ >= target_) met_ = true;
    mu_.AwaitWithTimeout(absl::Condition(&met_), absl::Seconds(10));
    --inside_;
    ++finished_;
  }

  int max_inside() {
    absl::MutexLock lock(&mu_);
    return max_inside_;
  }

  int finished() {
    absl::MutexLock lock(&mu_);
    return finished_;
  }

 private:
  const int target_;
  absl::Mutex mu_;
  int inside_ ABSL_GUARDED_BY(mu_) = 0;
  int max_inside_ ABSL_GUARDED_BY(mu_) = 0;
  int finished_ ABSL_GUARDED_BY(mu_) = 0;
  bool met_ ABSL_GUARDED_BY(mu_) = false;
};

TEST(ConnectionThreadsTest, RunsAsManyTasksAtOnceAsItsCap) {
  constexpr int kCap = 16;
  Rendezvous rendezvous(kCap);
  ConnectionThreads threads(kCap);
  for (int i = 0; i < kCap; ++i) threads.enqueue([&] { rendezvous.Arrive(); });
  threads.shutdown();
  EXPECT_EQ(rendezvous.finished(), kCap);
  EXPECT_EQ(rendezvous.max_inside(), kCap);
}

TEST(ConnectionThreadsTest, TasksBeyondTheCapWaitAndAllRun) {
  ConnectionThreads threads(2);
  absl::Mutex mu;
  int ran = 0;
  for (int i = 0; i < 10; ++i) {
    threads.enqueue([&] {
      absl::MutexLock lock(&mu);
      ++ran;
    });
  }
  threads.shutdown();  // runs what is still queued first
  EXPECT_EQ(ran, 10);
}

TEST(ConnectionThreadsTest, EnqueueAfterShutdownRunsOnTheCaller) {
  ConnectionThreads threads(1);
  threads.shutdown();
  bool ran = false;
  threads.enqueue([&] { ran = true; });
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace smsgw::twilio
