// Quiet hours end to end: the real smsgw-server with SMSGW_QUIET_HOURS set to
// a window around the current Los Angeles time, so that a send to a +1415
// number is held whatever the hour the test runs at.
#include <memory>
#include <string>

#include "absl/strings/str_format.h"
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


constexpr char kLosAngelesPeer[] = "+14155550100";

std::string Clock(const absl::CivilMinute& m) {
  return absl::StrFormat("%02d:%02d", m.hour(), m.minute());
}

class QuietHoursIntegrationTest : public testing::ServerTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(absl::LoadTimeZone("America/Los_Angeles", &la_));
    // From an hour ago to two hours ahead, Los Angeles time.
    const absl::CivilMinute now(la_.At(absl::Now()).cs);
    window_end_ = now + 120;
    StartWithAnn(
        {{"SMSGW_QUIET_HOURS", Clock(now - 60) + "-" + Clock(window_end_)}});
  }

  static v1::SendMessageRequest Sms() {
    v1::SendMessageRequest request;
    request.set_to(kLosAngelesPeer);
    request.set_body("good night");
    return request;
  }

  absl::TimeZone la_;
  absl::CivilMinute window_end_;
};

TEST_F(QuietHoursIntegrationTest, SendInQuietHoursIsScheduledForTheWindowEndAndCancellable) {
  const int64_t window_end =
      absl::ToUnixSeconds(absl::FromCivil(window_end_, la_));
  v1::SendMessageRequest check = Sms();
  check.set_validate_only(true);
  auto checked = ann_->SendMessage(check);
  ASSERT_THAT(checked, IsOk());
  EXPECT_EQ(checked->message().status(), v1::MESSAGE_STATUS_SCHEDULED);
  EXPECT_EQ(checked->message().scheduled_time().seconds(), window_end);

  auto sent = ann_->SendMessage(Sms());
  ASSERT_THAT(sent, IsOk());
  const v1::Message& m = sent->message();
  EXPECT_EQ(m.status(), v1::MESSAGE_STATUS_SCHEDULED);
  EXPECT_EQ(m.scheduled_time().seconds(), window_end);
  EXPECT_TRUE(m.provider_sid().empty());

  auto got = ann_->GetMessage(m.id(), false);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->message().status(), v1::MESSAGE_STATUS_SCHEDULED);

  auto canceled = ann_->CancelMessage(m.id());
  ASSERT_THAT(canceled, IsOk());
  EXPECT_EQ(canceled->message().status(), v1::MESSAGE_STATUS_CANCELED);
}

TEST_F(QuietHoursIntegrationTest, RespectQuietHoursFalseGoesAtOnce) {
  v1::SendMessageRequest request = Sms();
  request.set_respect_quiet_hours(false);
  auto sent = ann_->SendMessage(request);
  ASSERT_THAT(sent, IsOk());
  EXPECT_NE(sent->message().status(), v1::MESSAGE_STATUS_SCHEDULED);
  EXPECT_FALSE(sent->message().has_scheduled_time());
}

TEST(QuietHoursConfigTest, MalformedQuietHoursStopTheServerAtStart) {
  EXPECT_THAT(testing::StartStatus({{"SMSGW_QUIET_HOURS", "9pm-8am"}}),
              testing::StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::HasSubstr("SMSGW_QUIET_HOURS: \"9pm-8am\": expected "
                                 "HH:MM-HH:MM")));
}

}  // namespace
}  // namespace smsgw
