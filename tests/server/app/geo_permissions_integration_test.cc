// Geo permissions end to end (issue 18, item 1): the real server with
// SMSGW_ALLOWED_COUNTRIES refuses SendMessage, verification codes and group
// deliveries to other countries before anything is stored, says which
// country and which setting, and counts the refusals in /metrics.
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/smsgw_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "server/twilio/twilio_rest_client.h"
#include "tests/testing/server_fixture.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_clients.h"
#include "tests/testing/twilio_side.h"

namespace smsgw {
namespace {

using ::testing::HasSubstr;

constexpr char kUsPhone[] = "+14155550101";
constexpr char kUsPhone2[] = "+14155550102";
constexpr char kUkMobile[] = "+447400900001";  // a UK mobile range
constexpr char kSimNumber[] = "+15005550006";  // the simulator's first number

class GeoPermissionsIntegrationTest : public testing::ServerTest {
 protected:
  // Restarts the server on the same database with `countries` (empty = the
  // setting unset) and the simulator on a fixed port.
  void Restart(const std::string& countries) {
    server_.reset();
    if (sim_port_ == 0) sim_port_ = testing::FreePort();
    ASSERT_GT(sim_port_, 0);
    std::map<std::string, std::string> env;
    if (!countries.empty()) env["SMSGW_ALLOWED_COUNTRIES"] = countries;
    ASSERT_NO_FATAL_FAILURE(
        StartServer(env, {absl::StrCat("--simulator_port=", sim_port_)}));
    auto twilio = testing::SimulatorRestClient(sim_port_);
    ASSERT_THAT(twilio, IsOk());
    twilio_ = *std::move(twilio);
  }

  // The value of `series` on GET /metrics; 0 when absent.
  double Metric(const std::string& series) {
    return testing::MetricValue(server_->metrics_address(), series);
  }

  void Verify(client::SmsgwClient& client, const std::string& phone) {
    auto started = client.StartPhoneVerification(phone);
    ASSERT_THAT(started, IsOk());
    const std::string code =
        testing::ReadVerificationCode(*twilio_, phone, kSimNumber);
    ASSERT_EQ(code.size(), 6u);
    ASSERT_THAT(client.ConfirmPhoneVerification(code), IsOk());
  }

  int sim_port_ = 0;
  std::unique_ptr<twilio::TwilioRestClient> twilio_;
};

TEST_F(GeoPermissionsIntegrationTest, SendToAnotherCountryIsRefusedAndCounted) {
  ASSERT_NO_FATAL_FAILURE(Restart("US,CA"));
  auto ann = SignedIn("ann");
  const int64_t before = Rows("messages");

  v1::SendMessageRequest uk;
  uk.set_to(kUkMobile);
  uk.set_body("hello");
  auto refused = ann->SendMessage(uk);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kFailedPrecondition,
                                HasSubstr("is in GB")));
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kFailedPrecondition,
                                HasSubstr("SMSGW_ALLOWED_COUNTRIES (CA,US)")));
  // Validate-only is refused the same way; nothing was stored either time.
  uk.set_validate_only(true);
  EXPECT_THAT(ann->SendMessage(uk),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(Rows("messages"), before);
  EXPECT_EQ(Metric(R"(smsgw_geo_refusals_total{country="GB",path="send"})"),
            2);

  // An allowed country goes out as before.
  v1::SendMessageRequest us;
  us.set_to(kUsPhone);
  us.set_body("hello");
  EXPECT_THAT(ann->SendMessage(us), IsOk());
  EXPECT_EQ(Rows("messages"), before + 1);
}

TEST_F(GeoPermissionsIntegrationTest, VerificationCodeToAnotherCountryIsRefused) {
  ASSERT_NO_FATAL_FAILURE(Restart("US"));
  auto ann = SignedIn("ann");
  EXPECT_THAT(ann->StartPhoneVerification(kUkMobile),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("is in GB")));
  EXPECT_EQ(Rows("messages"), 0);
  EXPECT_EQ(
      Metric(R"(smsgw_geo_refusals_total{country="GB",path="verification"})"),
      1);
  // The allowed country still gets its code.
  ASSERT_NO_FATAL_FAILURE(Verify(*ann, kUsPhone));
}

TEST_F(GeoPermissionsIntegrationTest, GroupMemberInAnotherCountryIsSkipped) {
  // Three members verify their phones while every country is allowed...
  ASSERT_NO_FATAL_FAILURE(Restart(""));
  auto ann = SignedIn("ann");
  auto bob = SignedIn("bob");
  auto cat = SignedIn("cat");
  ASSERT_NO_FATAL_FAILURE(Verify(*ann, kUsPhone));
  ASSERT_NO_FATAL_FAILURE(Verify(*bob, kUsPhone2));
  ASSERT_NO_FATAL_FAILURE(Verify(*cat, kUkMobile));
  ASSERT_THAT(ann->CreateGroup("hikers", ""), IsOk());
  ASSERT_THAT(bob->JoinGroup("hikers"), IsOk());
  ASSERT_THAT(cat->JoinGroup("hikers"), IsOk());

  // ...then the operator allows only the US.
  ASSERT_NO_FATAL_FAILURE(Restart("US"));
  ann = testing::LoggedInClient(*server_, "ann");
  const int64_t before = Rows("messages");
  v1::SendGroupMessageRequest request;
  request.set_name("hikers");
  request.set_body("trail at 9");
  auto sent = ann->SendGroupMessage(request);
  ASSERT_THAT(sent, IsOk());
  ASSERT_EQ(sent->deliveries_size(), 2);
  const v1::GroupDelivery& to_bob = sent->deliveries(0);
  const v1::GroupDelivery& to_cat = sent->deliveries(1);
  EXPECT_EQ(to_bob.username(), "bob");
  EXPECT_FALSE(to_bob.skipped());
  EXPECT_EQ(to_cat.username(), "cat");
  EXPECT_TRUE(to_cat.skipped());
  EXPECT_THAT(to_cat.skip_reason(), HasSubstr("is in GB"));
  EXPECT_THAT(to_cat.skip_reason(), HasSubstr("SMSGW_ALLOWED_COUNTRIES"));
  // The group message and bob's delivery; nothing for cat.
  EXPECT_EQ(Rows("messages"), before + 2);
  EXPECT_EQ(Metric(R"(smsgw_geo_refusals_total{country="GB",path="group"})"),
            1);
}

TEST_F(GeoPermissionsIntegrationTest, BadCountryListIsRefusedAtStart) {
  for (const char* bad : {"UK", "US,,CA", "USA", "1A", "XX"}) {
    EXPECT_THAT(testing::StartStatus({{"SMSGW_ALLOWED_COUNTRIES", bad}}),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("SMSGW_ALLOWED_COUNTRIES")))
        << bad;
  }
}

}  // namespace
}  // namespace smsgw
