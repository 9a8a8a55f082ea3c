// MessagingService's sending-policy rules (issue "Sending policy", items 1
// and 2; quiet hours, issue 17 item 3) in process: the real SQLite store on a temp file, a FakeClock and a
// queue that only records what it was handed.
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/domain/messaging_service.h"
#include "server/domain/phone_number.h"
#include "storage/sqlite/database.h"
#include "storage/sqlite/sqlite_message_store.h"
#include "storage/sqlite/sqlite_user_store.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw::domain {
namespace {

using ::smsgw::testing::IsOk;
using ::smsgw::testing::StatusIs;
using ::testing::HasSubstr;
using storage::MessagePriority;
using storage::MessageStatus;

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
    storage::sqlite::Database::Options options;
    options.path = dir_.File("smsgw.db");
    options.synchronous_full = false;
    db_ = *storage::sqlite::Database::Open(options);
    users_ = std::make_unique<storage::sqlite::SqliteUserStore>(db_.get());
    store_ = std::make_unique<storage::sqlite::SqliteMessageStore>(db_.get(),
                                                                   &clock_);
    storage::User user;
    user.username = "ann";
    user.password_hash = "$argon2id$fake";
    user.create_time = user.update_time = clock_.Now();
    caller_ = *users_->Insert(user);
  }

  void StartService(absl::Duration default_validity = absl::ZeroDuration(),
                    std::optional<QuietHours> quiet_hours = std::nullopt) {
    MessagingService::Options options;
    options.phone_numbers = {"+15005550006"};
    options.default_validity = default_validity;
    options.quiet_hours = quiet_hours;
    options.server_time_zone = absl::UTCTimeZone();
    service_ = std::make_unique<MessagingService>(
        store_.get(), users_.get(), &queue_, &phones_, &clock_, options);
  }

  absl::StatusOr<SendResult> Send(SendPolicy policy,
                                  std::optional<absl::Time> send_at = {},
                                  bool validate_only = false) {
    SendRequest request;
    request.to = kLosAngelesPhone;
    request.body = "hello";
    request.policy = policy;
    request.send_at = send_at;
    request.validate_only = validate_only;
    return service_->Send(caller_, request, clock_.Now() + absl::Seconds(5));
  }

  // SMSGW_QUIET_HOURS=21:00-08:00, the clock at `local` Los Angeles time on
  // 2026-01-15 (PST, UTC-8).
  void StartAtLosAngelesTime(int hour, int minute) {
    absl::TimeZone la;
    ASSERT_TRUE(absl::LoadTimeZone("America/Los_Angeles", &la));
    clock_.Set(absl::FromCivil(absl::CivilMinute(2026, 1, 15, hour, minute), la));
    StartService(absl::ZeroDuration(), *ParseQuietHours("21:00-08:00"));
  }

  static constexpr char kLosAngelesPhone[] = "+14155550100";
  // 08:00 PST on 2026-01-16.
  const absl::Time kLosAngelesMorning = absl::FromUnixSeconds(1768579200);

  int64_t StoredCount() {
    storage::MessageQuery query;
    query.owner_id = caller_.id;
    query.limit = 100;
    absl::StatusOr<std::vector<storage::Message>> all = store_->List(query);
    return all.ok() ? static_cast<int64_t>(all->size()) : -1;
  }

  smsgw::testing::TempDir dir_;
  smsgw::testing::FakeClock clock_;
  std::unique_ptr<storage::sqlite::Database> db_;
  std::unique_ptr<storage::sqlite::SqliteUserStore> users_;
  std::unique_ptr<storage::sqlite::SqliteMessageStore> store_;
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
  absl::StatusOr<storage::Message> stored = store_->Get(later->message.id);
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

TEST_F(MessagingServicePolicyTest, SendAt2300RecipientTimeIsStoredScheduledFor0800) {
  StartAtLosAngelesTime(23, 0);
  absl::StatusOr<SendResult> sent = Send(SendPolicy{});
  ASSERT_THAT(sent, IsOk());
  EXPECT_EQ(sent->message.status, MessageStatus::kScheduled);
  EXPECT_EQ(sent->message.scheduled_time, kLosAngelesMorning);
  absl::StatusOr<storage::Message> stored = store_->Get(sent->message.id);
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->status, MessageStatus::kScheduled);
  EXPECT_EQ(stored->scheduled_time, kLosAngelesMorning);
  EXPECT_EQ(stored->next_attempt_time, kLosAngelesMorning);
  EXPECT_EQ(queue_.handed(), 0u);  // the scheduled-release timer sends it
  absl::StatusOr<storage::Message> canceled =
      service_->Cancel(caller_, sent->message.id);
  ASSERT_THAT(canceled, IsOk());
  EXPECT_EQ(canceled->status, MessageStatus::kCanceled);
}

TEST_F(MessagingServicePolicyTest, RespectQuietHoursFalseSendsAtOnce) {
  StartAtLosAngelesTime(23, 0);
  SendPolicy transactional;
  transactional.respect_quiet_hours = false;
  absl::StatusOr<SendResult> sent = Send(transactional);
  ASSERT_THAT(sent, IsOk());
  EXPECT_EQ(sent->message.status, MessageStatus::kPending);
  EXPECT_FALSE(sent->message.scheduled_time.has_value());
  EXPECT_EQ(queue_.handed(), 1u);
}

TEST_F(MessagingServicePolicyTest, SendOutsideQuietHoursGoesAtOnce) {
  StartAtLosAngelesTime(14, 0);
  absl::StatusOr<SendResult> sent = Send(SendPolicy{});
  ASSERT_THAT(sent, IsOk());
  EXPECT_EQ(sent->message.status, MessageStatus::kPending);
  EXPECT_EQ(queue_.handed(), 1u);
}

TEST_F(MessagingServicePolicyTest, SendAtInsideQuietHoursMovesToTheWindowEnd) {
  StartAtLosAngelesTime(14, 0);
  SendPolicy policy;
  policy.validity_period = absl::Hours(1);
  // 22:00 the same evening.
  absl::StatusOr<SendResult> sent =
      Send(policy, clock_.Now() + absl::Hours(8));
  ASSERT_THAT(sent, IsOk());
  EXPECT_EQ(sent->message.status, MessageStatus::kScheduled);
  EXPECT_EQ(sent->message.scheduled_time, kLosAngelesMorning);
  // The validity counts from when it may go, as from send_at.
  EXPECT_EQ(sent->message.expire_time, kLosAngelesMorning + absl::Hours(1));
}

TEST_F(MessagingServicePolicyTest, SendAtOutsideQuietHoursIsKept) {
  StartAtLosAngelesTime(14, 0);
  const absl::Time at = clock_.Now() + absl::Hours(2);
  absl::StatusOr<SendResult> sent = Send(SendPolicy{}, at);
  ASSERT_THAT(sent, IsOk());
  EXPECT_EQ(sent->message.scheduled_time, at);
}

TEST_F(MessagingServicePolicyTest, ValidateOnlyReportsTheQuietHoursScheduleAndStoresNothing) {
  StartAtLosAngelesTime(23, 0);
  absl::StatusOr<SendResult> checked =
      Send(SendPolicy{}, std::nullopt, /*validate_only=*/true);
  ASSERT_THAT(checked, IsOk());
  EXPECT_EQ(checked->message.status, MessageStatus::kScheduled);
  EXPECT_EQ(checked->message.scheduled_time, kLosAngelesMorning);
  EXPECT_TRUE(checked->message.id.empty());
  EXPECT_EQ(StoredCount(), 0);
  EXPECT_EQ(queue_.handed(), 0u);
}

TEST_F(MessagingServicePolicyTest, QuietHoursAreJudgedPerGroupRecipient) {
  // 07:00 UTC: 23:00 in Los Angeles, 16:00 in Tokyo.
  StartAtLosAngelesTime(23, 0);
  std::vector<SystemSendRequest> sends(2);
  for (SystemSendRequest& send : sends) {
    send.owner_id = caller_.id;
    send.owner_username = caller_.username;
    send.from = "+15005550006";
    send.body = "group: hello";
  }
  sends[0].to = kLosAngelesPhone;
  sends[0].conversation_id = "group-la";
  sends[1].to = "+81312345678";
  sends[1].conversation_id = "group-tokyo";
  std::vector<absl::StatusOr<storage::Message>> stored =
      service_->SendSystemBatch(sends);
  ASSERT_EQ(stored.size(), 2u);
  ASSERT_THAT(stored[0], IsOk());
  ASSERT_THAT(stored[1], IsOk());
  EXPECT_EQ(stored[0]->status, MessageStatus::kScheduled);
  EXPECT_EQ(stored[0]->scheduled_time, kLosAngelesMorning);
  EXPECT_EQ(stored[1]->status, MessageStatus::kPending);
  EXPECT_EQ(queue_.handed(), 1u);  // only Tokyo's goes now
}

}  // namespace
}  // namespace smsgw::domain
