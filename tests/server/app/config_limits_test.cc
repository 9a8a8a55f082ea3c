// ValidateConfig's rules for the hardening settings (issue 9): login
// throttling, gRPC transport limits and the webhook HTTP pool.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/app/config.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::app {
namespace {


struct BadSetting {
  std::string name;  // the environment name the error must mention
  std::function<void(ServerConfig&)> apply;
};

TEST(ConfigLimitsTest, DefaultsAreValid) {
  ServerConfig config;
  EXPECT_THAT(ValidateConfig(config), IsOk());
  EXPECT_EQ(config.grpc_max_message_bytes, 1 << 20);
  EXPECT_GT(config.http_threads, 8);  // more than httplib's own default
}

TEST(ConfigLimitsTest, EachBadLimitIsRefusedByName) {
  const std::vector<BadSetting> cases = {
      {"SMSGW_LOGIN_WINDOW", [](ServerConfig& c) { c.login_window = absl::ZeroDuration(); }},
      {"SMSGW_LOGIN_MAX_FAILURES", [](ServerConfig& c) { c.login_max_failures = 0; }},
      {"SMSGW_LOGIN_PEER_MAX_FAILURES", [](ServerConfig& c) { c.login_peer_max_failures = 0; }},
      {"SMSGW_LOGIN_DELAY", [](ServerConfig& c) { c.login_delay = absl::Milliseconds(-1); }},
      {"SMSGW_GRPC_MAX_MESSAGE_BYTES", [](ServerConfig& c) { c.grpc_max_message_bytes = 100; }},
      {"SMSGW_GRPC_MAX_STREAMS", [](ServerConfig& c) { c.grpc_max_concurrent_streams = 0; }},
      {"SMSGW_GRPC_MAX_IDLE", [](ServerConfig& c) { c.grpc_max_idle = absl::ZeroDuration(); }},
      {"SMSGW_HTTP_THREADS", [](ServerConfig& c) { c.http_threads = 0; }},
      {"SMSGW_TWILIO_MAX_IN_FLIGHT",
       [](ServerConfig& c) { c.twilio_max_in_flight = 0; }},
      {"SMSGW_HTTP_READ_TIMEOUT", [](ServerConfig& c) { c.http_read_timeout = absl::ZeroDuration(); }},
      {"SMSGW_RETRY_HORIZON", [](ServerConfig& c) { c.retry_horizon = absl::ZeroDuration(); }},
      {"SMSGW_DEFAULT_VALIDITY", [](ServerConfig& c) { c.default_validity = absl::Milliseconds(500); }},
      {"SMSGW_DEFAULT_VALIDITY", [](ServerConfig& c) { c.default_validity = absl::Hours(11); }},
      {"SMSGW_DEFAULT_VALIDITY", [](ServerConfig& c) { c.default_validity = -absl::Seconds(5); }},
      {"SMSGW_STATUS_RECONCILE_AFTER",
       [](ServerConfig& c) { c.status_reconcile_after = -absl::Seconds(1); }},
      {"SMSGW_STATUS_RECONCILE_AFTER",
       [](ServerConfig& c) { c.status_reconcile_after = absl::Hours(72); }},
      {"SMSGW_STATUS_RECONCILE_AFTER",
       [](ServerConfig& c) { c.status_reconcile_after = absl::InfiniteDuration(); }},
      {"SMSGW_QUIET_HOURS", [](ServerConfig& c) { c.quiet_hours = "21-08"; }},
      {"SMSGW_QUIET_HOURS", [](ServerConfig& c) { c.quiet_hours = "25:00-08:00"; }},
      {"SMSGW_QUIET_HOURS", [](ServerConfig& c) { c.quiet_hours = "08:00-08:00"; }},
  };
  for (const BadSetting& bad : cases) {
    ServerConfig config;
    bad.apply(config);
    EXPECT_THAT(ValidateConfig(config),
                testing::StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr(bad.name)))
        << bad.name;
  }
}

TEST(ConfigLimitsTest, StatusReconcileDelayMayBeZeroOrUnder72Hours) {
  ServerConfig config;
  EXPECT_EQ(config.status_reconcile_after, absl::Minutes(10));
  for (absl::Duration ok : {absl::ZeroDuration(), absl::Seconds(1),
                            absl::Hours(72) - absl::Seconds(1)}) {
    config.status_reconcile_after = ok;
    EXPECT_THAT(ValidateConfig(config), IsOk()) << ok;
  }
}

TEST(ConfigLimitsTest, QuietHoursAreOffByDefaultAndAcceptHHMMWindows) {
  ServerConfig config;
  EXPECT_TRUE(config.quiet_hours.empty());
  for (const char* ok : {"21:00-08:00", "00:00-06:00", "12:30-13:30"}) {
    config.quiet_hours = ok;
    EXPECT_THAT(ValidateConfig(config), IsOk()) << ok;
  }
}

TEST(ConfigLimitsTest, StatusFetchesInFlightAreASixteenthOfTwilioRequests) {
  const std::vector<std::pair<int, int>> cases = {
      {1, 1}, {16, 1}, {32, 2}, {64, 4}, {1000, 4}};
  for (const auto& [twilio, fetches] : cases) {
    ServerConfig config;
    config.twilio_max_in_flight = twilio;
    EXPECT_EQ(config.status_fetches_in_flight(), fetches) << twilio;
  }
}

TEST(ConfigLimitsTest, MetricsAddressAndCorsOrigins) {
  ServerConfig config;
  EXPECT_EQ(config.metrics_addr, "127.0.0.1:9464");
  EXPECT_TRUE(config.cors_origins.empty());
  config.metrics_addr = "";  // no metrics listener
  config.cors_origins = {"https://app.example.com", "http://localhost:3000",
                         "*"};
  EXPECT_THAT(ValidateConfig(config), IsOk());
  for (const char* bad : {"9464", "localhost", "host:port", ":x"}) {
    ServerConfig c;
    c.metrics_addr = bad;
    absl::Status status = ValidateConfig(c);
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << bad;
    EXPECT_THAT(std::string(status.message()),
                ::testing::HasSubstr("SMSGW_METRICS_ADDR"));
  }
  for (const char* bad : {"app.example.com", "ftp://x", "", "*.example.com"}) {
    ServerConfig c;
    c.cors_origins = {bad};
    absl::Status status = ValidateConfig(c);
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << bad;
    EXPECT_THAT(std::string(status.message()),
                ::testing::HasSubstr("SMSGW_CORS_ORIGINS"));
  }
}

}  // namespace
}  // namespace smsgw::app
