// GET /metrics on its own port (SMSGW_METRICS_ADDR; the HTTP port, which
// carries the public REST API, answers 404 there), scraped before and after
// real traffic: a
// send through the simulator (status callbacks over HTTP), a NOT_FOUND, an
// unsigned webhook. Asserts the counters moved by what happened.
#include <httplib.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
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

// Series name with labels exactly as rendered -> value.
using Scrape = std::map<std::string, double>;

class MetricsIntegrationTest : public testing::ServerTest {
 protected:
  void SetUp() override {
    StartServer();
    auto [host, port] = testing::HostPort(server_->http_address());
    http_ = std::make_unique<httplib::Client>(host, port);
    auto [mhost, mport] = testing::HostPort(server_->metrics_address());
    metrics_ = std::make_unique<httplib::Client>(mhost, mport);
  }

  // Parses the exposition text; fails the test on a line it cannot read.
  Scrape Get() {
    auto res = metrics_->Get("/metrics");
    EXPECT_TRUE(res);
    if (!res) return {};
    EXPECT_EQ(res->status, 200);
    EXPECT_THAT(res->get_header_value("Content-Type"),
                ::testing::HasSubstr("text/plain; version=0.0.4"));
    Scrape scrape;
    for (absl::string_view line : absl::StrSplit(res->body, '\n')) {
      if (line.empty() || absl::StartsWith(line, "#")) continue;
      const size_t space = line.rfind(' ');
      double value = 0;
      EXPECT_NE(space, absl::string_view::npos) << line;
      if (space == absl::string_view::npos) continue;
      EXPECT_TRUE(absl::SimpleAtod(line.substr(space + 1), &value)) << line;
      scrape[std::string(line.substr(0, space))] = value;
    }
    return scrape;
  }

  static double Value(const Scrape& scrape, const std::string& series) {
    auto it = scrape.find(series);
    return it == scrape.end() ? 0 : it->second;
  }

  std::unique_ptr<httplib::Client> http_;     // the HTTP (REST, webhook) port
  std::unique_ptr<httplib::Client> metrics_;  // the metrics port
};

TEST_F(MetricsIntegrationTest, MetricsLeaveThePublicHttpPort) {
  auto on_http = http_->Get("/metrics");
  ASSERT_TRUE(on_http);
  EXPECT_EQ(on_http->status, 404);
  EXPECT_THAT(on_http->body, ::testing::Not(::testing::HasSubstr("smsgw_")));
  // The metrics port serves metrics only: no webhooks, no REST API.
  auto webhook = metrics_->Post("/twilio/sms/inbound", "From=%2B1",
                                "application/x-www-form-urlencoded");
  ASSERT_TRUE(webhook);
  EXPECT_EQ(webhook->status, 404);
  auto rest = metrics_->Get("/v1/me");
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->status, 404);
  EXPECT_GT(Get().size(), 0u);
}

TEST_F(MetricsIntegrationTest, RestRequestsCountByRouteTemplate) {
  auto res = http_->Get("/v1/messages/7d3c0a52-0000-4000-8000-000000000000");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);  // no token
  auto unmatched = http_->Get("/v1/no-such-route/777");
  ASSERT_TRUE(unmatched);
  EXPECT_EQ(unmatched->status, 404);
  const Scrape scrape = Get();
  EXPECT_EQ(Value(scrape, "smsgw_rest_requests_total{route=\"/v1/messages/"
                          "{id}\",code=\"401\"}"),
            1);
  EXPECT_EQ(Value(scrape, "smsgw_rest_requests_total{route=\"unmatched\","
                          "code=\"404\"}"),
            1);
  for (const auto& [series, value] : scrape) {
    EXPECT_THAT(series, ::testing::Not(::testing::HasSubstr("7d3c0a52")));
    EXPECT_THAT(series, ::testing::Not(::testing::HasSubstr("777")));
  }
}

TEST_F(MetricsIntegrationTest, CountersMoveWithTraffic) {
  auto ann = SignedIn("ann");
  const Scrape before = Get();

  v1::SendMessageRequest request;
  request.set_to("+14155550100");
  request.set_body("metrics please");
  auto sent = ann->SendMessage(request);
  ASSERT_THAT(sent, testing::IsOk());
  // The simulator posts signed status callbacks until DELIVERED.
  v1::Message m = sent->message();
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (m.status() != v1::MESSAGE_STATUS_DELIVERED && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
    auto got = ann->GetMessage(m.id(), false);
    if (got.ok()) m = got->message();
  }
  ASSERT_EQ(m.status(), v1::MESSAGE_STATUS_DELIVERED);
  EXPECT_THAT(ann->GetMessage("00000000-0000-4000-8000-000000000000", false),
              testing::StatusIs(absl::StatusCode::kNotFound));
  // A webhook without a signature: 403, counted as such.
  auto forged = http_->Post("/twilio/sms/inbound", "From=%2B1&Body=x",
                            "application/x-www-form-urlencoded");
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 403);

  const Scrape after = Get();
  auto delta = [&](const std::string& series) {
    return Value(after, series) - Value(before, series);
  };
  const std::string send =
      "{grpc_method=\"/smsgw.v1.MessagingService/SendMessage\","
      "grpc_code=\"OK\"";
  EXPECT_EQ(delta("smsgw_grpc_server_handled_total" + send + "}"), 1);
  EXPECT_EQ(delta("smsgw_grpc_server_handling_seconds_count" + send + "}"), 1);
  EXPECT_EQ(delta("smsgw_grpc_server_handling_seconds_bucket" + send +
                  ",le=\"+Inf\"}"),
            1);
  EXPECT_GE(delta("smsgw_grpc_server_handled_total{grpc_method=\"/smsgw.v1."
                  "MessagingService/GetMessage\",grpc_code=\"NOT_FOUND\"}"),
            1);
  EXPECT_EQ(delta("smsgw_provider_requests_total{operation=\"create\","
                  "outcome=\"accepted\"}"),
            1);
  EXPECT_EQ(delta("smsgw_message_events_total{event=\"created\","
                  "status=\"PENDING\"}"),
            1);
  EXPECT_EQ(delta("smsgw_message_events_total{event=\"status_changed\","
                  "status=\"DELIVERED\"}"),
            1);
  // Status callbacks are answered 204 No Content: sent and delivered at least.
  EXPECT_GE(delta("smsgw_http_requests_total{path=\"/twilio/sms/status\","
                  "code=\"204\"}"),
            2);
  EXPECT_EQ(delta("smsgw_http_requests_total{path=\"/twilio/sms/inbound\","
                  "code=\"403\"}"),
            1);
  EXPECT_EQ(Value(after, "smsgw_watch_streams_open"), 0);
  EXPECT_EQ(Value(after, "smsgw_provider_requests_in_flight"), 0);
  EXPECT_EQ(Value(after, "smsgw_dispatch_backlog_segments{sender=\"+15005550006\"}"),
            0);
  EXPECT_GE(delta("smsgw_db_writes_total"), 3);
  EXPECT_GE(Value(after, "smsgw_db_writes_total"),
            Value(after, "smsgw_db_commits_total"));
}

TEST_F(MetricsIntegrationTest, MadeUpMethodsAndPathsDoNotGrowTheLabelSet) {
  auto res = http_->Get("/no/such/path/12345");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  const Scrape scrape = Get();
  EXPECT_EQ(Value(scrape, "smsgw_http_requests_total{path=\"other\",code=\"404\"}"),
            1);
  for (const auto& [series, value] : scrape) {
    EXPECT_THAT(series, ::testing::Not(::testing::HasSubstr("12345")));
  }
}

}  // namespace
}  // namespace smsgw
