// MessagingService's sending-policy rules (issue "Sending policy", items 1
// and 2) in process: the real SQLite store on a temp file, a FakeClock and a
// queue that only records what it was handed.
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/domain/messaging_service.h"
#include "server/domain/phone_number.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/outbound_store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw::domain {
namespace {

using ::smsgw::testing::IsOk;
using ::smsgw::testing::StatusIs;
using ::testing::HasSubstr;
using storage::MessagePriority;

// Keeps what it is handed; answers every waiter at once (PENDING).
class RecordingQueue final : public OutboundQueue {
 public:
  void Enqueue(const storage::Message& message) override {
    absl::MutexLock lock(&mu_);
    handed_.push_back(message);
  }
  void AwaitFirstAnswer(absl::string_view, absl::Time) override {}
  void NotifyOnFirstAnswer(absl::string_view, absl::Time,
                           AnswerCallback done) override {
    done(nullptr);
  }
  void RefreshFromProvider(absl::string_view) override {}
  size_t handed() {
    absl::MutexLock lock(&mu_);
    return handed_.size();
  }

 private:
  absl::Mutex mu_;
  std::vector<storage::Message> handed_ ABSL_GUARDED_BY(mu_);
};

class MessagingServicePolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    caller_.id = outbound_.owner();
    caller_.username = "ann";
  }

  void StartService(absl::Duration default_validity = absl::ZeroDuration()) {
    MessagingService::Options options;
    options.phone_numbers = {"+15005550006"};
    options.default_validity = default_validity;
    service_ = std::make_unique<MessagingService>(
        outbound_.store(), outbound_.users(), &queue_, &phones_, &clock_,
        options);
  }

  absl::StatusOr<SendResult> Send(SendPolicy policy,
                                  std::optional<absl::Time> send_at = {}) {
    SendRequest request;
    request.to = "+14155550100";
    request.body = "hello";
    request.policy = policy;
    request.send_at = send_at;
    return service_->Send(caller_, request, clock_.Now() + absl::Seconds(5));
  }

  int64_t StoredCount() {
    storage::MessageQuery query;
    query.owner_id = caller_.id;
    query.limit = 100;
    absl::StatusOr<std::vector<storage::Message>> all = outbound_.store()->List(query);
    return all.ok() ? static_cast<int64_t>(all->size()) : -1;
  }

  smsgw::testing::TempDir dir_;
  smsgw::testing::FakeClock clock_;
  smsgw::testing::OutboundStore outbound_{dir_.File("smsgw.db"), &clock_};
  RecordingQueue queue_;
  PhoneNumberParser phones_{"US"};
  std::unique_ptr<MessagingService> service_;
  storage::User caller_;
};

TEST_F(MessagingServicePolicyTest, ValidityPeriodOutsideOneSecondToTenHoursStoresNothing) {
  StartService();
  for (absl::Duration bad : {absl::ZeroDuration(), absl::Milliseconds(999),
                             absl::Hours(10) + absl::Seconds(1),
                             -absl::Seconds(30)}) {
    SendPolicy policy;
    policy.validity_period = bad;
    EXPECT_THAT(Send(policy), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr("validity_period")))
        << absl::FormatDuration(bad);
  }
  EXPECT_EQ(StoredCount(), 0);
  EXPECT_EQ(queue_.handed(), 0u);
}

TEST_F(MessagingServicePolicyTest, UnknownPriorityStoresNothing) {
  StartService();
  SendPolicy policy;
  policy.priority = static_cast<MessagePriority>(7);
  EXPECT_THAT(Send(policy), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("priority")));
  EXPECT_EQ(StoredCount(), 0);
}

TEST_F(MessagingServicePolicyTest, ValidityCountsFromAcceptanceOrSendAt) {
  StartService();
  SendPolicy policy;
  policy.validity_period = absl::Minutes(30);
  policy.priority = MessagePriority::kHigh;
  absl::StatusOr<SendResult> now = Send(policy);
  ASSERT_THAT(now, IsOk());
  EXPECT_EQ(now->message.expire_time, clock_.Now() + absl::Minutes(30));
  EXPECT_EQ(now->message.priority, MessagePriority::kHigh);
  const absl::Time at = clock_.Now() + absl::Hours(2);
  absl::StatusOr<SendResult> later = Send(policy, at);
  ASSERT_THAT(later, IsOk());
  EXPECT_EQ(later->message.expire_time, at + absl::Minutes(30));
  // Both as stored, too.
  absl::StatusOr<storage::Message> stored = outbound_.store()->Get(later->message.id);
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->expire_time, at + absl::Minutes(30));
  EXPECT_EQ(stored->priority, MessagePriority::kHigh);
}

TEST_F(MessagingServicePolicyTest, ServerDefaultValidityAppliesOnlyWhenNoneIsNamed) {
  StartService(/*default_validity=*/absl::Hours(1));
  absl::StatusOr<SendResult> plain = Send(SendPolicy{});
  ASSERT_THAT(plain, IsOk());
  EXPECT_EQ(plain->message.expire_time, clock_.Now() + absl::Hours(1));
  EXPECT_EQ(plain->message.priority, MessagePriority::kNormal);
  SendPolicy own;
  own.validity_period = absl::Seconds(90);
  absl::StatusOr<SendResult> named = Send(own);
  ASSERT_THAT(named, IsOk());
  EXPECT_EQ(named->message.expire_time, clock_.Now() + absl::Seconds(90));
}

TEST_F(MessagingServicePolicyTest, NoValidityByDefault) {
  StartService();
  absl::StatusOr<SendResult> sent = Send(SendPolicy{});
  ASSERT_THAT(sent, IsOk());
  EXPECT_FALSE(sent->message.expire_time.has_value());
}

}  // namespace
}  // namespace smsgw::domain
