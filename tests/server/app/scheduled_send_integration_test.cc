// Scheduled sends, CancelMessage and the backlog bound end to end: the real
// smsgw-server (with the test-only --min_schedule_ahead flag, so that a send
// can be scheduled seconds ahead), its embedded Twilio simulator, a real
// SQLite file, and a restart while a message is scheduled.
#include <signal.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/smsgw_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/server_fixture.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_clients.h"

namespace smsgw {
namespace {

using ::testing::HasSubstr;

constexpr char kPeer[] = "+14155550100";

class ScheduledSendIntegrationTest : public testing::ServerTest {
 protected:
  // Starts the server (with --min_schedule_ahead=1s, so that a send can be
  // scheduled seconds ahead) and signs up ann, or logs her in again.
  void StartServer(std::map<std::string, std::string> env = {},
                   bool sign_up = true) {
    ServerTest::StartServer(std::move(env), {"--min_schedule_ahead=1s"});
    if (HasFatalFailure()) return;
    ann_ = sign_up ? SignedIn("ann") : testing::LoggedInClient(*server_, "ann");
  }

  static v1::SendMessageRequest Sms(const std::string& body,
                                    absl::Duration ahead) {
    v1::SendMessageRequest request;
    request.set_to(kPeer);
    request.set_body(body);
    if (ahead > absl::ZeroDuration()) {
      const absl::Time at = absl::Now() + ahead;
      request.mutable_send_at()->set_seconds(absl::ToUnixSeconds(at));
    }
    return request;
  }

  // Polls GetMessage (up to 15 s) until the message has left PENDING and
  // SCHEDULED; returns its last status.
  v1::MessageStatus AwaitDispatched(const std::string& id) {
    v1::MessageStatus status = v1::MESSAGE_STATUS_UNSPECIFIED;
    const absl::Time deadline = absl::Now() + absl::Seconds(15);
    while (absl::Now() < deadline) {
      auto got = ann_->GetMessage(id, false);
      if (got.ok()) {
        status = got->message().status();
        if (status != v1::MESSAGE_STATUS_SCHEDULED &&
            status != v1::MESSAGE_STATUS_PENDING) {
          return status;
        }
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
    return status;
  }
};

TEST_F(ScheduledSendIntegrationTest, ScheduledSendWaitsThenGoesOut) {
  StartServer();
  const absl::Time before = absl::Now();
  auto sent = ann_->SendMessage(Sms("later", absl::Seconds(3)));
  ASSERT_THAT(sent, IsOk());
  // Returned at once, SCHEDULED, with its time, no provider SID.
  EXPECT_LT(absl::Now() - before, absl::Seconds(2));
  const v1::Message& m = sent->message();
  EXPECT_EQ(m.status(), v1::MESSAGE_STATUS_SCHEDULED);
  EXPECT_TRUE(m.has_scheduled_time());
  EXPECT_TRUE(m.provider_sid().empty());

  auto early = ann_->GetMessage(m.id(), false);
  ASSERT_THAT(early, IsOk());
  EXPECT_EQ(early->message().status(), v1::MESSAGE_STATUS_SCHEDULED);

  const v1::MessageStatus after = AwaitDispatched(m.id());
  EXPECT_TRUE(after == v1::MESSAGE_STATUS_QUEUED ||
              after == v1::MESSAGE_STATUS_SENT ||
              after == v1::MESSAGE_STATUS_DELIVERED)
      << v1::MessageStatus_Name(after);
  EXPECT_LE(absl::Now() - before, absl::Seconds(15));

  // Handed over: too late to cancel.
  EXPECT_THAT(ann_->CancelMessage(m.id()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not SCHEDULED")));
}

TEST_F(ScheduledSendIntegrationTest, CancelStopsAScheduledSendOnce) {
  StartServer();
  auto sent = ann_->SendMessage(Sms("never", absl::Minutes(10)));
  ASSERT_THAT(sent, IsOk());
  const std::string id = sent->message().id();

  auto canceled = ann_->CancelMessage(id);
  ASSERT_THAT(canceled, IsOk());
  EXPECT_EQ(canceled->message().status(), v1::MESSAGE_STATUS_CANCELED);
  auto got = ann_->GetMessage(id, /*include_events=*/true);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->message().status(), v1::MESSAGE_STATUS_CANCELED);
  ASSERT_GE(got->events_size(), 1);
  EXPECT_EQ(got->events(got->events_size() - 1).status(),
            v1::MESSAGE_STATUS_CANCELED);

  EXPECT_THAT(ann_->CancelMessage(id),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("CANCELED")));
}

TEST_F(ScheduledSendIntegrationTest, CancelRefusesSentOthersAndMalformedIds) {
  StartServer();
  auto now = ann_->SendMessage(Sms("right away", absl::ZeroDuration()));
  ASSERT_THAT(now, IsOk());
  EXPECT_THAT(ann_->CancelMessage(now->message().id()),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  auto scheduled = ann_->SendMessage(Sms("mine", absl::Minutes(10)));
  ASSERT_THAT(scheduled, IsOk());
  auto bob = SignedIn("bob");
  EXPECT_THAT(bob->CancelMessage(scheduled->message().id()),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(bob->CancelMessage("00000000-0000-4000-8000-000000000000"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(bob->CancelMessage("not-a-uuid"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Bob's attempt changed nothing.
  auto got = ann_->GetMessage(scheduled->message().id(), false);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->message().status(), v1::MESSAGE_STATUS_SCHEDULED);
}

TEST_F(ScheduledSendIntegrationTest, ScheduledSendSurvivesARestart) {
  StartServer();
  auto sent = ann_->SendMessage(Sms("after restart", absl::Seconds(4)));
  ASSERT_THAT(sent, IsOk());
  const std::string id = sent->message().id();
  ann_.reset();
  EXPECT_EQ(server_->Stop(SIGTERM), 0);

  StartServer({}, /*sign_up=*/false);
  const v1::MessageStatus after = AwaitDispatched(id);
  EXPECT_TRUE(after == v1::MESSAGE_STATUS_QUEUED ||
              after == v1::MESSAGE_STATUS_SENT ||
              after == v1::MESSAGE_STATUS_DELIVERED)
      << v1::MessageStatus_Name(after);
}

TEST_F(ScheduledSendIntegrationTest, FullBacklogIsResourceExhaustedAtOnce) {
  // One segment per 100 s and a 200 s bound: the first message goes out at
  // once, the next two wait PENDING (2 segments queued), the fourth is
  // refused.
  StartServer({{"SMSGW_SENDER_RATES", "+15005550006=0.01"},
               {"SMSGW_MAX_BACKLOG", "200s"}});
  auto first = ann_->SendMessage(Sms("1", absl::ZeroDuration()));
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->message().status(), v1::MESSAGE_STATUS_QUEUED);
  for (const char* body : {"2", "3"}) {
    const absl::Time before = absl::Now();
    auto paced = ann_->SendMessage(Sms(body, absl::ZeroDuration()));
    ASSERT_THAT(paced, IsOk());
    EXPECT_EQ(paced->message().status(), v1::MESSAGE_STATUS_PENDING);
    // Paced far out: SendMessage does not sit on the wait budget.
    EXPECT_LT(absl::Now() - before, absl::Seconds(5));
  }
  const absl::Time before = absl::Now();
  EXPECT_THAT(ann_->SendMessage(Sms("4", absl::ZeroDuration())),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("sender +15005550006 has 2 segments queued")));
  EXPECT_LT(absl::Now() - before, absl::Seconds(2));
}

}  // namespace
}  // namespace smsgw
