// smsgw-server: parses flags (defaults from the environment, DESIGN.md §8),
// starts ServerApp, and shuts it down gracefully on SIGINT or SIGTERM.
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "server/app/config.h"
#include "server/app/server_app.h"
#include "common/logging.h"
#include "server/dispatch/rate_limiter.h"

namespace {

std::string Env(const char* name, const char* fallback = "") {
  const char* value = std::getenv(name);
  return value != nullptr ? value : fallback;
}

}  // namespace

ABSL_FLAG(std::string, grpc_addr, Env("SMSGW_GRPC_ADDR", "127.0.0.1:50051"),
          "gRPC listen address host:port (env SMSGW_GRPC_ADDR)");
ABSL_FLAG(std::string, http_addr, Env("SMSGW_HTTP_ADDR", "127.0.0.1:8080"),
          "webhook HTTP listen address host:port (env SMSGW_HTTP_ADDR)");
ABSL_FLAG(std::string, db_path, Env("SMSGW_DB_PATH", "./data/smsgw.db"),
          "SQLite database file (env SMSGW_DB_PATH)");
ABSL_FLAG(std::string, public_url, Env("SMSGW_PUBLIC_URL"),
          "base URL Twilio calls; default http://<http_addr> "
          "(env SMSGW_PUBLIC_URL)");
ABSL_FLAG(std::string, token_ttl, Env("SMSGW_TOKEN_TTL", "24h"),
          "access token lifetime, e.g. 24h, 90m (env SMSGW_TOKEN_TTL)");
ABSL_FLAG(std::string, admin_users, Env("SMSGW_ADMIN_USERS"),
          "comma-separated usernames with the admin role (env "
          "SMSGW_ADMIN_USERS)");
ABSL_FLAG(std::string, default_region, Env("SMSGW_DEFAULT_REGION", "US"),
          "region for national phone numbers, ISO 3166 alpha-2 (env "
          "SMSGW_DEFAULT_REGION)");
ABSL_FLAG(std::string, twilio_phone_numbers, Env("TWILIO_PHONE_NUMBERS"),
          "comma-separated E.164 sender numbers and group pool (env "
          "TWILIO_PHONE_NUMBERS)");
ABSL_FLAG(std::string, twilio_messaging_service_sid,
          Env("TWILIO_MESSAGING_SERVICE_SID"),
          "send through this Messaging Service (env "
          "TWILIO_MESSAGING_SERVICE_SID)");
ABSL_FLAG(std::string, twilio_api_base,
          Env("TWILIO_API_BASE", "https://api.twilio.com"),
          "Twilio REST base URL (env TWILIO_API_BASE)");
ABSL_FLAG(std::string, sender_ids, Env("SMSGW_SENDER_IDS"),
          "comma-separated allowed alphanumeric sender IDs (env "
          "SMSGW_SENDER_IDS)");
ABSL_FLAG(std::string, blocked_keywords, Env("SMSGW_BLOCKED_KEYWORDS"),
          "comma-separated words or phrases refused in outbound bodies as "
          "whole words (env SMSGW_BLOCKED_KEYWORDS)");
ABSL_FLAG(int, simulator_port, -1,
          "port of the embedded Twilio simulator (127.0.0.1) when no Twilio "
          "account is set; 0 = any free port (env SMSGW_SIMULATOR_PORT, "
          "default 8081)");
ABSL_FLAG(std::string, tls_cert, Env("SMSGW_TLS_CERT"),
          "PEM certificate chain for gRPC over TLS (env SMSGW_TLS_CERT)");
ABSL_FLAG(std::string, tls_key, Env("SMSGW_TLS_KEY"),
          "PEM private key for gRPC over TLS (env SMSGW_TLS_KEY)");
ABSL_FLAG(std::string, log_level, Env("SMSGW_LOG_LEVEL", "info"),
          "debug, info, warning or error (env SMSGW_LOG_LEVEL)");
ABSL_FLAG(int, watch_buffer, -1,
          "WatchMessages events buffered per stream before a stalled reader "
          "is cut off with RESOURCE_EXHAUSTED (env SMSGW_WATCH_BUFFER, "
          "default 1000)");
ABSL_FLAG(int, watch_max_streams, -1,
          "open WatchMessages streams per user (env SMSGW_WATCH_MAX_STREAMS, "
          "default 16)");
ABSL_FLAG(std::string, sender_rates, Env("SMSGW_SENDER_RATES"),
          "per-sender send rates in segments/s, e.g. "
          "\"+15005550006=1,+18005550100=3\"; others get their kind's "
          "default (long code 1, toll-free 3, short code 100, alphanumeric "
          "10) (env SMSGW_SENDER_RATES)");
ABSL_FLAG(std::string, global_rate, Env("SMSGW_GLOBAL_RATE", "0"),
          "segments/s over all senders; 0 = no cap (env SMSGW_GLOBAL_RATE)");
ABSL_FLAG(std::string, max_backlog, Env("SMSGW_MAX_BACKLOG", "10h"),
          "SendMessage answers RESOURCE_EXHAUSTED when a sender's queue "
          "would take longer than this at its rate; 0 = no bound (env "
          "SMSGW_MAX_BACKLOG)");
ABSL_FLAG(std::string, retry_horizon, Env("SMSGW_RETRY_HORIZON", "4h"),
          "retryable provider failures (429, 5xx, timeouts) are retried this "
          "long after a message was accepted when it has no validity period; "
          "then it ends EXPIRED (env SMSGW_RETRY_HORIZON)");
ABSL_FLAG(std::string, default_validity, Env("SMSGW_DEFAULT_VALIDITY", "0"),
          "validity period of a send that names none, 1s to 10h; 0 = none "
          "(env SMSGW_DEFAULT_VALIDITY)");
ABSL_FLAG(std::string, status_reconcile_after,
          Env("SMSGW_STATUS_RECONCILE_AFTER", "10m"),
          "fetch a message's status from Twilio when no final status "
          "callback came this long after Twilio accepted it, then again at "
          "doubling intervals until final or 72h old; 0 = never (env "
          "SMSGW_STATUS_RECONCILE_AFTER)");
ABSL_FLAG(std::string, quiet_hours, Env("SMSGW_QUIET_HOURS", ""),
          "HH:MM-HH:MM, e.g. 21:00-08:00: sends that would reach a recipient "
          "inside this window of their local time are scheduled for its end; "
          "empty = none (env SMSGW_QUIET_HOURS)");
ABSL_FLAG(std::string, login_window, Env("SMSGW_LOGIN_WINDOW", "15m"),
          "failed logins are remembered this long (env SMSGW_LOGIN_WINDOW)");
ABSL_FLAG(int, login_max_failures, -1,
          "failed logins for one username within the window after which "
          "logins are refused with RESOURCE_EXHAUSTED (env "
          "SMSGW_LOGIN_MAX_FAILURES, default 10)");
ABSL_FLAG(int, login_peer_max_failures, -1,
          "the same, from one client address (env "
          "SMSGW_LOGIN_PEER_MAX_FAILURES, default 50)");
ABSL_FLAG(std::string, login_delay, Env("SMSGW_LOGIN_DELAY", "500ms"),
          "answer delay of the first slowed failed login; doubles with each "
          "further failure up to 8s (env SMSGW_LOGIN_DELAY)");
ABSL_FLAG(int, grpc_max_message_bytes, -1,
          "largest gRPC request message; bigger ones fail RESOURCE_EXHAUSTED "
          "(env SMSGW_GRPC_MAX_MESSAGE_BYTES, default 1048576)");
ABSL_FLAG(std::string, grpc_max_idle, Env("SMSGW_GRPC_MAX_IDLE", "30m"),
          "close gRPC connections without calls for this long (env "
          "SMSGW_GRPC_MAX_IDLE)");
ABSL_FLAG(int, grpc_max_streams, -1,
          "concurrent calls per gRPC connection (env SMSGW_GRPC_MAX_STREAMS, "
          "default 100)");
ABSL_FLAG(int, twilio_max_in_flight, -1,
          "Twilio API requests on the wire at once; more wait in a queue. "
          "Keep it within your account's API concurrency limit (env "
          "SMSGW_TWILIO_MAX_IN_FLIGHT, default 64)");
ABSL_FLAG(int, http_threads, -1,
          "webhook HTTP worker threads (env SMSGW_HTTP_THREADS, default 32)");
ABSL_FLAG(std::string, http_read_timeout,
          Env("SMSGW_HTTP_READ_TIMEOUT", "5s"),
          "webhook HTTP: longest wait for each read of a request (env "
          "SMSGW_HTTP_READ_TIMEOUT)");
// For tests only: lets send_at be seconds ahead instead of 5 minutes.
ABSL_FLAG(std::string, min_schedule_ahead, "5m",
          "for tests only: the earliest send_at from now");
ABSL_FLAG(std::string, port_file, Env("SMSGW_PORT_FILE"),
          "if set, write the bound addresses here once listening (for tests "
          "and scripts that ask for port 0)");

namespace {

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    part = absl::StripAsciiWhitespace(part);
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

// An int flag whose default (-1) means: read `env`, else `fallback`.
bool IntSetting(int flag, const char* env, const char* fallback, int* out) {
  if (flag >= 0) {
    *out = flag;
    return true;
  }
  return absl::SimpleAtoi(Env(env, fallback), out);
}

int Fail(const std::string& message) {
  std::cerr << "smsgw-server: " << message << std::endl;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "smsgw-server: the smsgw gRPC SMS backend. Every flag also reads the "
      "environment variable named in its help.");
  absl::ParseCommandLine(argc, argv);

  // Block the shutdown signals before any thread starts, so that only the
  // sigwait() below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  smsgw::app::ServerConfig config;
  config.grpc_addr = absl::GetFlag(FLAGS_grpc_addr);
  config.http_addr = absl::GetFlag(FLAGS_http_addr);
  config.db_path = absl::GetFlag(FLAGS_db_path);
  config.public_url = absl::GetFlag(FLAGS_public_url);
  config.jwt_secret_key = Env("JWT_SECRET_KEY");
  if (!absl::ParseDuration(absl::GetFlag(FLAGS_token_ttl), &config.token_ttl)) {
    return Fail("SMSGW_TOKEN_TTL / --token_ttl must be a duration like 24h");
  }
  config.admin_users = SplitList(absl::GetFlag(FLAGS_admin_users));
  config.default_region = absl::GetFlag(FLAGS_default_region);
  config.twilio_account_sid = Env("TWILIO_ACCOUNT_SID");
  config.twilio_auth_token = Env("TWILIO_AUTH_TOKEN");
  config.twilio_phone_numbers =
      SplitList(absl::GetFlag(FLAGS_twilio_phone_numbers));
  config.twilio_messaging_service_sid =
      absl::GetFlag(FLAGS_twilio_messaging_service_sid);
  config.twilio_api_base = absl::GetFlag(FLAGS_twilio_api_base);
  config.sender_ids = SplitList(absl::GetFlag(FLAGS_sender_ids));
  config.blocked_keywords = SplitList(absl::GetFlag(FLAGS_blocked_keywords));
  config.simulator_port = absl::GetFlag(FLAGS_simulator_port);
  if (config.simulator_port < 0 &&
      !absl::SimpleAtoi(Env("SMSGW_SIMULATOR_PORT", "8081"),
                        &config.simulator_port)) {
    return Fail("SMSGW_SIMULATOR_PORT must be a port number");
  }
  config.watch_buffer = absl::GetFlag(FLAGS_watch_buffer);
  if (config.watch_buffer < 0 &&
      !absl::SimpleAtoi(Env("SMSGW_WATCH_BUFFER", "1000"),
                        &config.watch_buffer)) {
    return Fail("SMSGW_WATCH_BUFFER must be a number");
  }
  config.watch_max_streams = absl::GetFlag(FLAGS_watch_max_streams);
  if (config.watch_max_streams < 0 &&
      !absl::SimpleAtoi(Env("SMSGW_WATCH_MAX_STREAMS", "16"),
                        &config.watch_max_streams)) {
    return Fail("SMSGW_WATCH_MAX_STREAMS must be a number");
  }
  if (!absl::ParseDuration(absl::GetFlag(FLAGS_login_window),
                           &config.login_window) ||
      !absl::ParseDuration(absl::GetFlag(FLAGS_login_delay),
                           &config.login_delay)) {
    return Fail("SMSGW_LOGIN_WINDOW and SMSGW_LOGIN_DELAY must be durations "
                "like 15m, 500ms");
  }
  if (!IntSetting(absl::GetFlag(FLAGS_login_max_failures),
                  "SMSGW_LOGIN_MAX_FAILURES", "10",
                  &config.login_max_failures) ||
      !IntSetting(absl::GetFlag(FLAGS_login_peer_max_failures),
                  "SMSGW_LOGIN_PEER_MAX_FAILURES", "50",
                  &config.login_peer_max_failures)) {
    return Fail("SMSGW_LOGIN_MAX_FAILURES and SMSGW_LOGIN_PEER_MAX_FAILURES "
                "must be numbers");
  }
  if (!IntSetting(absl::GetFlag(FLAGS_grpc_max_message_bytes),
                  "SMSGW_GRPC_MAX_MESSAGE_BYTES", "1048576",
                  &config.grpc_max_message_bytes) ||
      !IntSetting(absl::GetFlag(FLAGS_grpc_max_streams),
                  "SMSGW_GRPC_MAX_STREAMS", "100",
                  &config.grpc_max_concurrent_streams) ||
      !IntSetting(absl::GetFlag(FLAGS_http_threads), "SMSGW_HTTP_THREADS",
                  "32", &config.http_threads) ||
      !IntSetting(absl::GetFlag(FLAGS_twilio_max_in_flight),
                  "SMSGW_TWILIO_MAX_IN_FLIGHT", "64",
                  &config.twilio_max_in_flight)) {
    return Fail("SMSGW_GRPC_MAX_MESSAGE_BYTES, SMSGW_GRPC_MAX_STREAMS, "
                "SMSGW_HTTP_THREADS and SMSGW_TWILIO_MAX_IN_FLIGHT must be "
                "numbers");
  }
  if (!absl::ParseDuration(absl::GetFlag(FLAGS_grpc_max_idle),
                           &config.grpc_max_idle) ||
      !absl::ParseDuration(absl::GetFlag(FLAGS_http_read_timeout),
                           &config.http_read_timeout)) {
    return Fail("SMSGW_GRPC_MAX_IDLE and SMSGW_HTTP_READ_TIMEOUT must be "
                "durations like 30m, 5s");
  }
  absl::StatusOr<std::map<std::string, double>> rates =
      smsgw::dispatch::ParseSenderRates(absl::GetFlag(FLAGS_sender_rates));
  if (!rates.ok()) return Fail(std::string(rates.status().message()));
  config.sender_rates = *std::move(rates);
  if (!absl::SimpleAtod(absl::GetFlag(FLAGS_global_rate),
                        &config.global_rate) ||
      !(config.global_rate >= 0)) {
    return Fail("SMSGW_GLOBAL_RATE must be a number of segments/s >= 0");
  }
  if (!absl::ParseDuration(absl::GetFlag(FLAGS_max_backlog),
                           &config.max_backlog) ||
      config.max_backlog < absl::ZeroDuration()) {
    return Fail("SMSGW_MAX_BACKLOG must be a duration like 10h (0 = none)");
  }
  if (!absl::ParseDuration(absl::GetFlag(FLAGS_retry_horizon),
                           &config.retry_horizon) ||
      config.retry_horizon <= absl::ZeroDuration()) {
    return Fail("SMSGW_RETRY_HORIZON must be a duration above 0 like 4h");
  }
  if (!absl::ParseDuration(absl::GetFlag(FLAGS_default_validity),
                           &config.default_validity) ||
      config.default_validity < absl::ZeroDuration()) {
    return Fail("SMSGW_DEFAULT_VALIDITY must be a duration like 1h (0 = none)");
  }
  if (!absl::ParseDuration(absl::GetFlag(FLAGS_status_reconcile_after),
                           &config.status_reconcile_after) ||
      config.status_reconcile_after < absl::ZeroDuration()) {
    return Fail("SMSGW_STATUS_RECONCILE_AFTER must be a duration like 10m "
                "(0 = never)");
  }
  config.quiet_hours = absl::GetFlag(FLAGS_quiet_hours);
  if (!absl::ParseDuration(absl::GetFlag(FLAGS_min_schedule_ahead),
                           &config.min_schedule_ahead) ||
      config.min_schedule_ahead < absl::ZeroDuration()) {
    return Fail("--min_schedule_ahead must be a duration like 5m");
  }
  config.tls_cert_path = absl::GetFlag(FLAGS_tls_cert);
  config.tls_key_path = absl::GetFlag(FLAGS_tls_key);
  absl::StatusOr<smsgw::logging::Level> level =
      smsgw::logging::ParseLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) return Fail(std::string(level.status().message()));
  config.log_level = *level;
  smsgw::logging::SetMinLevel(config.log_level);

  absl::StatusOr<std::unique_ptr<smsgw::app::ServerApp>> app =
      smsgw::app::ServerApp::Start(config);
  if (!app.ok()) return Fail(std::string(app.status().message()));

  const std::string port_file = absl::GetFlag(FLAGS_port_file);
  if (!port_file.empty()) {
    const std::string tmp = port_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << "grpc=" << (*app)->grpc_address() << "\n"
          << "http=" << (*app)->http_address() << "\n";
    }
    std::rename(tmp.c_str(), port_file.c_str());
  }

  std::thread signal_thread([&signals, &app] {
    int received = 0;
    sigwait(&signals, &received);
    SMSGW_LOG(kInfo) << "shutting down signal=" << strsignal(received);
    (*app)->Shutdown();
  });
  (*app)->Wait();
  // Wait() returned: the app shut down on its own; wake the signal thread.
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  SMSGW_LOG(kInfo) << "smsgw-server stopped";
  return 0;
}
