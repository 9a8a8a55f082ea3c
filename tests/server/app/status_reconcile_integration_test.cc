// Lost status callbacks end to end (issue 17): the real smsgw-server against
// a fake Twilio over HTTP that never sends a status callback. With
// SMSGW_STATUS_RECONCILE_AFTER short, the message still ends DELIVERED,
// through a fetch of Twilio's Message resource. And a bad value of the
// setting stops the server at start.
#include <httplib.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/smsgw_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_twilio_server.h"
#include "tests/testing/server_fixture.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_clients.h"

namespace smsgw {
namespace {

using ::testing::HasSubstr;

constexpr char kPeer[] = "+14155550100";

// The body of GET /metrics on `server`'s metrics port ("" on failure).
std::string ScrapeMetrics(const testing::ServerProcess& server) {
  auto [host, port] = testing::HostPort(server.metrics_address());
  httplib::Client http(host, port);
  auto scraped = http.Get("/metrics");
  EXPECT_TRUE(scraped);
  return scraped ? scraped->body : "";
}

using StatusReconcileIntegrationTest = testing::ServerTest;

TEST_F(StatusReconcileIntegrationTest,
       MessageWithoutCallbackEndsDeliveredByFetch) {
  testing::FakeTwilioServer twilio;
  StartWithAnn({{"TWILIO_ACCOUNT_SID", twilio.account_sid()},
                {"TWILIO_AUTH_TOKEN", "secret-token"},
                {"TWILIO_API_BASE", twilio.base_url()},
                {"TWILIO_PHONE_NUMBERS", "+15005550006"},
                {"SMSGW_STATUS_RECONCILE_AFTER", "1s"}});
  auto& ann = ann_;

  v1::SendMessageRequest request;
  request.set_to(kPeer);
  request.set_body("did it arrive?");
  auto sent = ann->SendMessage(request);
  ASSERT_THAT(sent, testing::IsOk());
  ASSERT_EQ(sent->message().status(), v1::MESSAGE_STATUS_QUEUED);
  const std::string sid = sent->message().provider_sid();
  // The handset got it; the callback that would say so never comes.
  ASSERT_TRUE(twilio.SetMessageStatus(sid, "delivered"));

  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  absl::StatusOr<v1::GetMessageResponse> got;
  do {
    absl::SleepFor(absl::Milliseconds(100));
    got = ann->GetMessage(sent->message().id(), /*include_events=*/true);
    ASSERT_THAT(got, testing::IsOk());
  } while (got->message().status() != v1::MESSAGE_STATUS_DELIVERED &&
           absl::Now() < deadline);
  ASSERT_EQ(got->message().status(), v1::MESSAGE_STATUS_DELIVERED);
  EXPECT_TRUE(got->message().has_deliver_time());
  const v1::DeliveryReport& last = got->events(got->events_size() - 1);
  EXPECT_EQ(last.source(), v1::DELIVERY_REPORT_SOURCE_PROVIDER_RESPONSE);
  EXPECT_EQ(last.provider_status(), "delivered");
  EXPECT_TRUE(last.applied());

  // Twilio was asked for that message, and nothing but it.
  const std::string resource =
      absl::StrCat("/2010-04-01/Accounts/", twilio.account_sid(), "/Messages/",
                   sid, ".json");
  int fetches = 0;
  for (const testing::RecordedRequest& r : twilio.requests()) {
    if (r.method != "GET") continue;
    EXPECT_EQ(r.path, resource);
    ++fetches;
  }
  EXPECT_GE(fetches, 1);

  EXPECT_THAT(
      ScrapeMetrics(*server_),
      HasSubstr("smsgw_status_reconcile_total{outcome=\"updated\"} 1\n"));
}

TEST_F(StatusReconcileIntegrationTest, BadReconcileDelayStopsTheServerAtStart) {
  for (const char* value : {"soon", "10", "-1m", "72h", "inf"}) {
    EXPECT_THAT(testing::StartStatus({{"SMSGW_STATUS_RECONCILE_AFTER", value}}),
                testing::StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("SMSGW_STATUS_RECONCILE_AFTER")))
        << value;
  }
}

TEST_F(StatusReconcileIntegrationTest, ZeroReconcileDelayTurnsTheChecksOff) {
  StartServer({{"SMSGW_STATUS_RECONCILE_AFTER", "0"}});
  const std::string scraped = ScrapeMetrics(*server_);
  EXPECT_THAT(scraped, HasSubstr("smsgw_provider_requests_total"));
  EXPECT_THAT(scraped, ::testing::Not(HasSubstr("smsgw_status_reconcile")));
}

}  // namespace
}  // namespace smsgw
