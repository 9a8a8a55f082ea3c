#include "server/simulator/simulator_connections.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/rendezvous.h"

namespace smsgw::twilio {
namespace {

using ::smsgw::testing::Rendezvous;
using ::testing::ElementsAreArray;

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

TEST(KeyedWorkersTest, RunsOneKeysClosuresInTheOrderQueued) {
  KeyedWorkers workers(4, absl::Seconds(10), nullptr);
  absl::Mutex mu;
  std::vector<std::vector<int>> seen(3);
  for (int n = 0; n < 100; ++n) {
    for (int key = 0; key < 3; ++key) {
      workers.Run(absl::StrCat("key", key), [&, key, n](int) {
        absl::MutexLock lock(&mu);
        seen[key].push_back(n);
      });
    }
  }
  auto all_seen = [&]() {
    return seen[0].size() + seen[1].size() + seen[2].size() == 300;
  };
  {
    absl::MutexLock lock(&mu);
    mu.AwaitWithTimeout(absl::Condition(&all_seen), absl::Seconds(30));
  }
  workers.Stop();
  std::vector<int> in_order(100);
  for (int n = 0; n < 100; ++n) in_order[n] = n;
  for (int key = 0; key < 3; ++key) {
    EXPECT_THAT(seen[key], ElementsAreArray(in_order)) << "key" << key;
  }
}

TEST(KeyedWorkersTest, PassesEachClosureTheShardOfItsKey) {
  KeyedWorkers workers(3, absl::Seconds(10), nullptr);
  absl::Mutex mu;
  std::vector<int> shards;
  for (int n = 0; n < 5; ++n) {
    workers.Run("same key", [&](int shard) {
      absl::MutexLock lock(&mu);
      shards.push_back(shard);
    });
  }
  auto five = [&]() { return shards.size() == 5; };
  {
    absl::MutexLock lock(&mu);
    mu.AwaitWithTimeout(absl::Condition(&five), absl::Seconds(30));
  }
  workers.Stop();
  ASSERT_EQ(shards.size(), 5u);
  EXPECT_GE(shards[0], 0);
  EXPECT_LT(shards[0], workers.shards());
  EXPECT_THAT(shards, ::testing::Each(shards[0]));
}

TEST(KeyedWorkersTest, CallsOnIdleOnceItsQueueHasRunDry) {
  absl::Notification idle;
  int idle_shard = -1;
  KeyedWorkers workers(1, absl::Milliseconds(1), [&](int shard) {
    idle_shard = shard;
    idle.Notify();
  });
  workers.Run("k", [](int) {});
  EXPECT_TRUE(idle.WaitForNotificationWithTimeout(absl::Seconds(30)));
  workers.Stop();
  EXPECT_EQ(idle_shard, 0);
}

TEST(KeyedWorkersTest, RequestStopDropsQueuedClosures) {
  KeyedWorkers workers(1, absl::Seconds(10), nullptr);
  absl::Notification running;
  absl::Notification release;
  bool later_ran = false;
  workers.Run("k", [&](int) {
    running.Notify();
    release.WaitForNotification();
  });
  workers.Run("k", [&](int) { later_ran = true; });
  running.WaitForNotification();
  workers.RequestStop();
  EXPECT_TRUE(workers.stopping());
  workers.Run("k", [&](int) { later_ran = true; });
  release.Notify();
  EXPECT_TRUE(workers.WaitStopped(absl::Seconds(30)));
  workers.Stop();
  EXPECT_FALSE(later_ran);
}

}  // namespace
}  // namespace smsgw::twilio
