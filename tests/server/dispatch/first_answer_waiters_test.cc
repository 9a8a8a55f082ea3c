// Who waits for a message's first provider answer, and for how long.
#include "server/dispatch/first_answer_waiters.h"

#include <atomic>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace smsgw::dispatch {
namespace {

constexpr absl::Duration kPatience = absl::Seconds(10);

TEST(FirstAnswerWaitersTest, CallbackGetsTheAnsweredMessage) {
  FirstAnswerWaiters waiters;
  waiters.Expect("m1");
  absl::Notification called;
  std::string got;
  ASSERT_TRUE(waiters.Notify("m1", absl::Now() + absl::Hours(1),
                             [&](const storage::Message* answered) {
                               got = answered != nullptr
                                         ? answered->provider_sid
                                         : "null";
                               called.Notify();
                             }));
  storage::Message m;
  m.id = "m1";
  m.provider_sid = "SM1001";
  waiters.Answered("m1", &m);
  ASSERT_TRUE(called.HasBeenNotified());  // on the caller's thread
  EXPECT_EQ(got, "SM1001");
}

TEST(FirstAnswerWaitersTest, CallbackGetsNullAtItsDeadline) {
  FirstAnswerWaiters waiters;
  waiters.Expect("m1");
  absl::Notification called;
  bool null = false;
  ASSERT_TRUE(waiters.Notify("m1", absl::Now() + absl::Milliseconds(20),
                             [&](const storage::Message* answered) {
                               null = answered == nullptr;
                               called.Notify();
                             }));
  ASSERT_TRUE(called.WaitForNotificationWithTimeout(kPatience));
  EXPECT_TRUE(null);
  // Answered later: the callback is not called twice.
  waiters.Answered("m1");
}

TEST(FirstAnswerWaitersTest, NotifyRefusesWhatIsNotAwaitedOrTooLate) {
  FirstAnswerWaiters waiters;
  auto never = [](const storage::Message*) { FAIL() << "kept a callback"; };
  EXPECT_FALSE(waiters.Notify("unknown", absl::Now() + absl::Hours(1), never));
  waiters.Expect("m1");
  EXPECT_FALSE(waiters.Notify("m1", absl::Now() - absl::Seconds(1), never));
  waiters.Answered("m1");
  EXPECT_FALSE(waiters.Notify("m1", absl::Now() + absl::Hours(1), never));
}

TEST(FirstAnswerWaitersTest, AwaitReturnsOnTheAnswerOrTheDeadline) {
  FirstAnswerWaiters waiters;
  waiters.Expect("m1");
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    waiters.Await("m1", absl::Now() + absl::Hours(1));
    returned = true;
  });
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_FALSE(returned.load());
  waiters.Answered("m1");
  waiter.join();
  EXPECT_TRUE(returned.load());

  waiters.Expect("m2");
  waiters.Await("m2", absl::Now() + absl::Milliseconds(10));      // returns
  waiters.Await("never-expected", absl::Now() + absl::Hours(1));  // at once
}

TEST(FirstAnswerWaitersTest, ShutdownCallsEveryWaiterAndRefusesNewOnes) {
  FirstAnswerWaiters waiters;
  waiters.Expect("m1");
  waiters.Expect("m2");
  int nulls = 0;
  auto count = [&nulls](const storage::Message* answered) {
    if (answered == nullptr) ++nulls;
  };
  ASSERT_TRUE(waiters.Notify("m1", absl::Now() + absl::Hours(1), count));
  ASSERT_TRUE(waiters.Notify("m1", absl::Now() + absl::Hours(1), count));
  ASSERT_TRUE(waiters.Notify("m2", absl::Now() + absl::Hours(1), count));
  waiters.Shutdown();
  EXPECT_EQ(nulls, 3);
  EXPECT_FALSE(waiters.Notify("m2", absl::Now() + absl::Hours(1), count));
  waiters.Shutdown();  // idempotent
  EXPECT_EQ(nulls, 3);
}

}  // namespace
}  // namespace smsgw::dispatch
