// MessagingService's sending-policy rules (issue "Sending policy", items 1
// and 2; issue 17 item 3, quiet hours; item 4, the sender pool) in
// process: the real SQLite store on a temp file, a FakeClock and a queue
// that only records what it was handed.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/domain/messaging_service.h"
#include "server/domain/phone_number.h"
#include "storage/sqlite/database.h"
#include "storage/sqlite/sqlite_message_store.h"
#include "storage/sqlite/sqlite_user_store.h"
#include "tests/testing/sqlite_test_db.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw::domain {
namespace {

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
  absl::StatusOr<absl::Duration> Backlog(absl::string_view sender) override {
    absl::MutexLock lock(&mu_);
    auto it = backlog_.find(std::string(sender));
    return it == backlog_.end() ? absl::ZeroDuration() : it->second;
  }
  void SetBacklog(const std::string& sender, absl::Duration backlog) {
    absl::MutexLock lock(&mu_);
    backlog_[sender] = backlog;
  }
  size_t handed() {
    absl::MutexLock lock(&mu_);
    return handed_.size();
  }

 private:
  absl::Mutex mu_;
  std::vector<storage::Message> handed_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Duration> backlog_ ABSL_GUARDED_BY(mu_);
};

class MessagingServicePolicyTest : public testing::SqliteStoresTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(OpenStores(/*synchronous_full=*/false));
    caller_ = AddUser("ann");
  }

  void StartService(absl::Duration default_validity = absl::ZeroDuration(),
                    std::vector<std::string> numbers = {"+15005550006"},
                    std::string messaging_service_sid = "",
                    std::optional<QuietHours> quiet_hours = std::nullopt) {
    MessagingService::Options options;
    options.phone_numbers = std::move(numbers);
    options.default_validity = default_validity;
    options.messaging_service_sid = std::move(messaging_service_sid);
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

  storage::User AddUser(const std::string& name) {
    storage::User user;
    user.username = name;
    user.password_hash = "$argon2id$fake";
    user.create_time = user.update_time = clock_.Now();
    absl::StatusOr<storage::User> stored = users_->Insert(user);
    EXPECT_THAT(stored, IsOk());
    return stored.ok() ? *stored : storage::User();
  }

  // SMSGW_QUIET_HOURS=21:00-08:00, the clock at `local` Los Angeles time on
  // 2026-01-15 (PST, UTC-8).
  void StartAtLosAngelesTime(int hour, int minute) {
    absl::TimeZone la;
    ASSERT_TRUE(absl::LoadTimeZone("America/Los_Angeles", &la));
    clock_.Set(absl::FromCivil(absl::CivilMinute(2026, 1, 15, hour, minute), la));
    StartService(absl::ZeroDuration(), {"+15005550006"}, "",
                 *ParseQuietHours("21:00-08:00"));
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

// --- The sender pool (issue 17 item 4) ---

constexpr char kPoolA[] = "+15005550006";
constexpr char kPoolB[] = "+15005550020";
constexpr char kPoolC[] = "+15005550021";
constexpr char kRecipient[] = "+14155550177";

class MessagingServiceSenderPoolTest : public MessagingServicePolicyTest {
 protected:
  void StartPool(std::vector<std::string> numbers = {kPoolA, kPoolB, kPoolC}) {
    StartService(absl::ZeroDuration(), std::move(numbers));
  }

  absl::StatusOr<SendResult> SendAs(const storage::User& user,
                                    const std::string& to = kRecipient,
                                    const std::string& from = "",
                                    const std::string& key = "") {
    SendRequest request;
    request.to = to;
    request.body = "hello";
    request.from = from;
    request.idempotency_key = key;
    return service_->Send(user, request, clock_.Now() + absl::Seconds(5));
  }

  std::string FromOf(const storage::User& user,
                     const std::string& to = kRecipient) {
    absl::StatusOr<SendResult> sent = SendAs(user, to);
    EXPECT_THAT(sent, IsOk());
    return sent.ok() ? sent->message.from : "<error>";
  }
};

TEST_F(MessagingServiceSenderPoolTest,
       TwoUsersTextingTheSamePersonGetDifferentNumbers) {
  StartPool();
  const storage::User bobby = AddUser("bobby");
  absl::StatusOr<SendResult> ann = SendAs(caller_);
  ASSERT_THAT(ann, IsOk());
  EXPECT_EQ(ann->message.from, kPoolA);
  ASSERT_TRUE(ann->sender_pick.has_value());
  EXPECT_FALSE(ann->sender_pick->shared);
  absl::StatusOr<SendResult> bob = SendAs(bobby);
  ASSERT_THAT(bob, IsOk());
  EXPECT_EQ(bob->message.from, kPoolB);
  EXPECT_EQ(bob->message.our_number, kPoolB);
  ASSERT_TRUE(bob->sender_pick.has_value());
  EXPECT_EQ(bob->sender_pick->choice, SenderChoice::kLeastBacklog);
}

TEST_F(MessagingServiceSenderPoolTest, AUserStaysOnTheNumberItUsedWithThePerson) {
  StartPool();
  const storage::User bobby = AddUser("bobby");
  EXPECT_EQ(FromOf(caller_), kPoolA);
  EXPECT_EQ(FromOf(bobby), kPoolB);
  // A busier number does not move an existing thread.
  queue_.SetBacklog(kPoolB, absl::Minutes(10));
  absl::StatusOr<SendResult> again = SendAs(bobby);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->message.from, kPoolB);
  EXPECT_EQ(again->sender_pick->choice, SenderChoice::kSticky);
  EXPECT_EQ(FromOf(caller_), kPoolA);
}

TEST_F(MessagingServiceSenderPoolTest, ANewPersonGetsTheLeastBackloggedNumber) {
  StartPool();
  queue_.SetBacklog(kPoolA, absl::Seconds(30));
  queue_.SetBacklog(kPoolB, absl::Seconds(40));
  queue_.SetBacklog(kPoolC, absl::Seconds(20));
  EXPECT_EQ(FromOf(caller_), kPoolC);
}

TEST_F(MessagingServiceSenderPoolTest, APersonInTheSameAreaGetsTheLocalNumber) {
  // +1415 matches the recipient's area code; +1212 and +1500 do not.
  StartPool({kPoolA, "+12125550100", "+14155550999"});
  queue_.SetBacklog("+14155550999", absl::Minutes(5));
  absl::StatusOr<SendResult> sent = SendAs(caller_);
  ASSERT_THAT(sent, IsOk());
  EXPECT_EQ(sent->message.from, "+14155550999");
  EXPECT_EQ(sent->sender_pick->choice, SenderChoice::kAreaCode);
}

TEST_F(MessagingServiceSenderPoolTest, AnExplicitFromWinsOverThePool) {
  StartPool();
  const storage::User bobby = AddUser("bobby");
  EXPECT_EQ(FromOf(caller_), kPoolA);
  absl::StatusOr<SendResult> sent = SendAs(bobby, kRecipient, kPoolA);
  ASSERT_THAT(sent, IsOk());
  EXPECT_EQ(sent->message.from, kPoolA);
  EXPECT_FALSE(sent->sender_pick.has_value());
}

TEST_F(MessagingServiceSenderPoolTest, AMessagingServiceStillPicksTheSender) {
  StartService(absl::ZeroDuration(), {kPoolA, kPoolB},
               "MG00000000000000000000000000000000");
  absl::StatusOr<SendResult> sent = SendAs(caller_);
  ASSERT_THAT(sent, IsOk());
  EXPECT_EQ(sent->message.from, "");
  EXPECT_EQ(sent->message.messaging_service_sid,
            "MG00000000000000000000000000000000");
  EXPECT_FALSE(sent->sender_pick.has_value());
}

TEST_F(MessagingServiceSenderPoolTest,
       WhenThePoolRunsOutTheLastUserSharesANumber) {
  StartPool();
  std::set<std::string> used;
  for (const char* name : {"bobby", "carl"}) used.insert(FromOf(AddUser(name)));
  used.insert(FromOf(caller_));
  EXPECT_EQ(used, (std::set<std::string>{kPoolA, kPoolB, kPoolC}));
  queue_.SetBacklog(kPoolA, absl::Seconds(9));
  queue_.SetBacklog(kPoolC, absl::Seconds(9));
  absl::StatusOr<SendResult> dave = SendAs(AddUser("dave"));
  ASSERT_THAT(dave, IsOk());
  EXPECT_EQ(dave->message.from, kPoolB);
  EXPECT_TRUE(dave->sender_pick->shared);
}

TEST_F(MessagingServiceSenderPoolTest,
       ConcurrentFirstSendsToOnePersonNeverShareANumberWhileOneIsFree) {
  StartPool();
  std::vector<storage::User> users = {caller_, AddUser("bobby"),
                                      AddUser("carl")};
  std::vector<std::string> froms(users.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < users.size(); ++i) {
    threads.emplace_back([&, i] {
      absl::StatusOr<SendResult> sent = SendAs(users[i]);
      froms[i] = sent.ok() ? sent->message.from : sent.status().ToString();
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(std::set<std::string>(froms.begin(), froms.end()),
            (std::set<std::string>{kPoolA, kPoolB, kPoolC}))
      << froms[0] << " " << froms[1] << " " << froms[2];
  EXPECT_EQ(StoredCount(), 1);  // ann's; the others are filed under them
}

TEST_F(MessagingServiceSenderPoolTest,
       ARetryWithTheSameKeyReplaysEvenIfItsNumberWasTakenSince) {
  StartPool();
  absl::StatusOr<SendResult> first =
      SendAs(caller_, kRecipient, "", "key-1");
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->message.from, kPoolA);
  ASSERT_THAT(SendAs(AddUser("bobby"), kRecipient, kPoolA), IsOk());
  absl::StatusOr<SendResult> retry = SendAs(caller_, kRecipient, "", "key-1");
  ASSERT_THAT(retry, IsOk());
  EXPECT_TRUE(retry->replayed);
  EXPECT_EQ(retry->message.id, first->message.id);
  EXPECT_EQ(StoredCount(), 1);
}

TEST_F(MessagingServiceSenderPoolTest, ThePoolNeverPicksTheRecipientsOwnNumber) {
  StartPool();
  queue_.SetBacklog(kPoolB, absl::Seconds(1));
  queue_.SetBacklog(kPoolC, absl::Seconds(1));
  EXPECT_EQ(FromOf(caller_, kPoolA), kPoolB);
}

TEST_F(MessagingServiceSenderPoolTest, ABadRecipientIsRefusedAndStoresNothing) {
  StartPool();
  EXPECT_THAT(SendAs(caller_, "not a number"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("to:")));
  EXPECT_EQ(StoredCount(), 0);
  EXPECT_EQ(queue_.handed(), 0u);
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
