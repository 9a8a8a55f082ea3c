#include "common/executor.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace smsgw {
namespace {

TEST(ExecutorTest, RunsEveryScheduledClosure) {
  std::atomic<int> ran{0};
  {
    Executor executor("test", 2, 100);
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(executor.TrySchedule([&ran] { ran.fetch_add(1); }));
    }
  }  // destructor drains
  EXPECT_EQ(ran.load(), 100);
}

TEST(ExecutorTest, FullQueueRefusesInsteadOfGrowing) {
  Executor executor("test", 1, 2);
  absl::Notification release;
  absl::Notification started;
  ASSERT_TRUE(executor.TrySchedule([&] {
    started.Notify();
    release.WaitForNotification();
  }));
  started.WaitForNotification();
  EXPECT_TRUE(executor.TrySchedule([] {}));
  EXPECT_TRUE(executor.TrySchedule([] {}));
  EXPECT_FALSE(executor.TrySchedule([] {}));
  EXPECT_EQ(executor.QueueSize(), 2u);
  release.Notify();
}

TEST(ExecutorTest, RefusesAfterShutdown) {
  Executor executor("test", 1, 10);
  executor.Shutdown();
  EXPECT_FALSE(executor.TrySchedule([] {}));
  executor.Shutdown();  // idempotent
}

}  // namespace
}  // namespace smsgw
