#include "common/timer.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"

namespace smsgw {
namespace {

using ::smsgw::testing::FakeClock;

// Short, so that a test that waits for nothing to happen waits little.
constexpr absl::Duration kMaxSleep = absl::Milliseconds(5);
// How long a test waits for something that must happen.
constexpr absl::Duration kPatience = absl::Seconds(10);
// Several wake-ups of the timer: long enough for an early run to show.
constexpr absl::Duration kQuiet = absl::Milliseconds(50);

// Waits (real time, at most kPatience) until `runs` reaches `n`.
bool AwaitRuns(const std::atomic<int>& runs, int n) {
  const absl::Time give_up = absl::Now() + kPatience;
  while (runs.load() < n && absl::Now() < give_up) absl::SleepFor(kMaxSleep);
  return runs.load() >= n;
}

// Records what ran, in order.
class Log {
 public:
  void Add(const std::string& entry) {
    absl::MutexLock lock(&mu_);
    entries_.push_back(entry);
  }
  // Waits until `n` entries are there (at most kPatience).
  std::vector<std::string> WaitFor(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return entries_.size() >= n;
    };
    mu_.AwaitWithTimeout(absl::Condition(&enough), kPatience);
    return entries_;
  }
  std::vector<std::string> entries() {
    absl::MutexLock lock(&mu_);
    return entries_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> entries_ ABSL_GUARDED_BY(mu_);
};

TEST(TimerTest, RunsACallbackOnlyOnceTheFakeClockReachesItsDeadline) {
  FakeClock clock;
  Timer timer("test", &clock, kMaxSleep);
  Log log;
  const absl::Time at = clock.Now() + absl::Minutes(5);
  ASSERT_NE(timer.RunAt(at, [&log] { log.Add("ran"); }), Timer::kNoTimer);
  clock.Advance(absl::Minutes(5) - absl::Seconds(1));
  absl::SleepFor(kQuiet);
  EXPECT_TRUE(log.entries().empty());
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(log.WaitFor(1), std::vector<std::string>{"ran"});
}

TEST(TimerTest, RunsInDeadlineOrderAndFifoAtEqualDeadlines) {
  FakeClock clock;
  Timer timer("test", &clock, kMaxSleep);
  Log log;
  const absl::Time t0 = clock.Now();
  timer.RunAt(t0 + absl::Seconds(3), [&log] { log.Add("c"); });
  timer.RunAt(t0 + absl::Seconds(1), [&log] { log.Add("a1"); });
  timer.RunAt(t0 + absl::Seconds(1), [&log] { log.Add("a2"); });
  timer.RunAt(t0 + absl::Seconds(2), [&log] { log.Add("b"); });
  clock.Advance(absl::Seconds(10));
  EXPECT_EQ(log.WaitFor(4), (std::vector<std::string>{"a1", "a2", "b", "c"}));
}

TEST(TimerTest, PastDeadlineRunsAtOnceWithARealClock) {
  Timer timer("test", Clock::Real());
  absl::Notification ran;
  timer.RunAt(absl::InfinitePast(), [&ran] { ran.Notify(); });
  EXPECT_TRUE(ran.WaitForNotificationWithTimeout(kPatience));
}

TEST(TimerTest, CancelledCallbackNeverRuns) {
  FakeClock clock;
  Timer timer("test", &clock, kMaxSleep);
  Log log;
  const Timer::Id dropped =
      timer.RunAt(clock.Now() + absl::Seconds(1), [&log] { log.Add("x"); });
  timer.RunAt(clock.Now() + absl::Seconds(2), [&log] { log.Add("kept"); });
  EXPECT_TRUE(timer.Cancel(dropped));
  EXPECT_FALSE(timer.Cancel(dropped));  // already gone
  clock.Advance(absl::Seconds(5));
  EXPECT_EQ(log.WaitFor(1), std::vector<std::string>{"kept"});
  absl::SleepFor(kQuiet);
  EXPECT_EQ(log.entries(), std::vector<std::string>{"kept"});
}

TEST(TimerTest, RepeatingCallbackRunsAtTheTimesItReturns) {
  FakeClock clock;
  Timer timer("test", &clock, kMaxSleep);
  std::atomic<int> runs{0};
  absl::Notification third;
  const absl::Time t0 = clock.Now();
  timer.RunRepeatedly(t0 + absl::Seconds(1), [&] {
    if (runs.fetch_add(1) + 1 == 3) third.Notify();
    return clock.Now() + absl::Seconds(10);
  });
  clock.Advance(absl::Seconds(1));
  ASSERT_TRUE(AwaitRuns(runs, 1));
  clock.Advance(absl::Seconds(9));  // one second short of the next run
  absl::SleepFor(kQuiet);
  EXPECT_EQ(runs.load(), 1);
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(AwaitRuns(runs, 2));
  clock.Advance(absl::Seconds(10));
  EXPECT_TRUE(third.WaitForNotificationWithTimeout(kPatience));
}

TEST(TimerTest, WakeRunsAParkedOrLaterCallbackEarlier) {
  FakeClock clock;
  Timer timer("test", &clock, kMaxSleep);
  std::atomic<int> runs{0};
  // Parks after each run.
  const Timer::Id parked = timer.RunRepeatedly(absl::InfiniteFuture(), [&] {
    runs.fetch_add(1);
    return absl::InfiniteFuture();
  });
  absl::SleepFor(kQuiet);
  EXPECT_EQ(runs.load(), 0);
  timer.Wake(parked, clock.Now());
  EXPECT_TRUE(AwaitRuns(runs, 1));

  Log log;
  const Timer::Id late =
      timer.RunAt(clock.Now() + absl::Hours(1), [&log] { log.Add("late"); });
  timer.Wake(late, clock.Now() + absl::Seconds(1));
  timer.Wake(late, clock.Now() + absl::Minutes(30));  // never later
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(log.WaitFor(1), std::vector<std::string>{"late"});
}

TEST(TimerTest, WakeDuringARunMakesARepeatingCallbackRunAgain) {
  FakeClock clock;
  Timer timer("test", &clock, kMaxSleep);
  absl::Notification entered, release;
  std::atomic<int> runs{0};
  const Timer::Id id = timer.RunRepeatedly(clock.Now(), [&] {
    if (runs.fetch_add(1) == 0) {
      entered.Notify();
      release.WaitForNotification();
    }
    return absl::InfiniteFuture();
  });
  ASSERT_TRUE(entered.WaitForNotificationWithTimeout(kPatience));
  timer.Wake(id, clock.Now());
  release.Notify();
  EXPECT_TRUE(AwaitRuns(runs, 2));
}

TEST(TimerTest, ShutdownWaitsForTheRunningCallbackAndDropsTheRest) {
  FakeClock clock;
  auto timer = std::make_unique<Timer>("test", &clock, kMaxSleep);
  absl::Notification entered, release;
  std::atomic<bool> finished{false};
  std::atomic<bool> later_ran{false};
  timer->RunAt(clock.Now(), [&] {
    entered.Notify();
    release.WaitForNotification();
    finished = true;
  });
  timer->RunAt(clock.Now() + absl::Seconds(1), [&] { later_ran = true; });
  ASSERT_TRUE(entered.WaitForNotificationWithTimeout(kPatience));
  std::thread releaser([&] {
    absl::SleepFor(kQuiet);
    release.Notify();
  });
  timer->Shutdown();
  EXPECT_TRUE(finished.load());
  releaser.join();
  clock.Advance(absl::Seconds(5));  // past the dropped callback's deadline
  absl::SleepFor(kQuiet);
  EXPECT_EQ(timer->RunAt(clock.Now(), [&] { later_ran = true; }),
            Timer::kNoTimer);
  timer->Shutdown();  // idempotent
  timer.reset();
  EXPECT_FALSE(later_ran.load());
}

}  // namespace
}  // namespace smsgw
