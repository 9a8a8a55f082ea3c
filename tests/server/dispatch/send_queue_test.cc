// The sender queues: priority lanes, FIFO within a lane, deadlines.
#include "server/dispatch/send_queue.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace smsgw::dispatch {
namespace {

using ::testing::ElementsAre;
using storage::MessagePriority;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

SendQueue::Entry E(const std::string& id, int64_t seq, MessagePriority p,
                   const std::string& sender = "+15005550006",
                   std::optional<absl::Time> deadline = std::nullopt) {
  SendQueue::Entry e;
  e.id = id;
  e.sender = sender;
  e.priority = p;
  e.seq = seq;
  e.segments = 2;
  e.deadline = deadline;
  return e;
}

std::vector<std::string> Drain(SendQueue& q, const std::string& sender) {
  std::vector<std::string> ids;
  while (q.Head(sender) != nullptr) ids.push_back(q.PopHead(sender).id);
  return ids;
}

TEST(SendQueueTest, HighBeforeNormalBeforeBulkFifoWithinALevel) {
  SendQueue q;
  q.Push(E("bulk1", 1, MessagePriority::kBulk));
  q.Push(E("normal2", 2, MessagePriority::kNormal));
  q.Push(E("bulk3", 3, MessagePriority::kBulk));
  q.Push(E("high4", 4, MessagePriority::kHigh));
  q.Push(E("unspecified5", 5, MessagePriority::kUnspecified));  // = NORMAL
  q.Push(E("high6", 6, MessagePriority::kHigh));
  EXPECT_EQ(q.CountAt(MessagePriority::kBulk), 2);
  EXPECT_EQ(q.SegmentsOf("+15005550006"), 12);
  EXPECT_THAT(Drain(q, "+15005550006"),
              ElementsAre("high4", "high6", "normal2", "unspecified5", "bulk1",
                          "bulk3"));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.SegmentsOf("+15005550006"), 0);
}

TEST(SendQueueTest, SendersHaveQueuesOfTheirOwn) {
  SendQueue q;
  q.Push(E("a1", 1, MessagePriority::kBulk, "A"));
  q.Push(E("b2", 2, MessagePriority::kNormal, "B"));
  q.Push(E("a3", 3, MessagePriority::kHigh, "A"));
  EXPECT_EQ(q.Head("A")->id, "a3");
  EXPECT_EQ(q.Head("B")->id, "b2");
  EXPECT_EQ(q.Head("C"), nullptr);
  EXPECT_EQ(q.FirstSender(), "A");  // its head is HIGH
  q.PopHead("A");
  EXPECT_EQ(q.FirstSender(), "B");  // NORMAL beats A's BULK
}

TEST(SendQueueTest, PushingAQueuedIdTwiceChangesNothing) {
  SendQueue q;
  EXPECT_TRUE(q.Push(E("x", 1, MessagePriority::kNormal)));
  EXPECT_FALSE(q.Push(E("x", 9, MessagePriority::kHigh)));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.CountAt(MessagePriority::kHigh), 0);
}

TEST(SendQueueTest, ExpiredEntriesLeaveEarliestFirst) {
  SendQueue q;
  q.Push(E("late", 1, MessagePriority::kNormal, "A", kT0 + absl::Seconds(20)));
  q.Push(E("never", 2, MessagePriority::kNormal, "A"));
  q.Push(E("soon", 3, MessagePriority::kHigh, "B", kT0 + absl::Seconds(5)));
  EXPECT_EQ(q.NextDeadline(), kT0 + absl::Seconds(5));
  EXPECT_TRUE(q.PopExpired(kT0).empty());
  std::vector<SendQueue::Entry> gone = q.PopExpired(kT0 + absl::Seconds(30));
  ASSERT_EQ(gone.size(), 2u);
  EXPECT_EQ(gone[0].id, "soon");
  EXPECT_EQ(gone[1].id, "late");
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.NextDeadline(), absl::InfiniteFuture());
  EXPECT_EQ(q.Head("B"), nullptr);
}

TEST(SendQueueTest, RemoveTakesAnEntryOutOfEveryIndex) {
  SendQueue q;
  q.Push(E("x", 1, MessagePriority::kNormal, "A", kT0));
  EXPECT_TRUE(q.Remove("x"));
  EXPECT_FALSE(q.Remove("x"));
  EXPECT_FALSE(q.Contains("x"));
  EXPECT_TRUE(q.PopExpired(kT0 + absl::Hours(1)).empty());
  EXPECT_EQ(q.CountAt(MessagePriority::kNormal), 0);
  EXPECT_TRUE(q.Senders().empty());
}

}  // namespace
}  // namespace smsgw::dispatch
