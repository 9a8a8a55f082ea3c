#include "server/app/config.h"

#include <algorithm>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/domain/messaging_service.h"
#include "server/dispatch/status_reconciler.h"
#include "server/domain/abuse_limits.h"
#include "server/domain/geo_permissions.h"
#include "server/domain/quiet_hours.h"
#include "storage/postgres/pg_database.h"

namespace smsgw::app {
namespace {

absl::Status ValidateHostPort(absl::string_view name, absl::string_view addr) {
  const size_t colon = addr.rfind(':');
  int port = 0;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(addr.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, " must be host:port (e.g. 127.0.0.1:50051), got \"", addr, "\""));
  }
  return absl::OkStatus();
}

}  // namespace

std::string ServerConfig::EffectivePublicUrl() const {
  std::string url =
      public_url.empty() ? absl::StrCat("http://", http_addr) : public_url;
  while (absl::EndsWith(url, "/")) url.pop_back();
  return url;
}

int ServerConfig::status_fetches_in_flight() const {
  return std::clamp(twilio_max_in_flight / 16, 1, 4);
}

domain::SignupThrottle::Options SignupThrottleOptions(
    const ServerConfig& config) {
  domain::SignupThrottle::Options options;
  options.window = config.signup_window;
  options.per_peer = config.signup_peer_max;
  options.total = config.signup_max;
  return options;
}

domain::VerificationGuard::Options VerificationGuardOptions(
    const ServerConfig& config) {
  domain::VerificationGuard::Options options;
  options.per_prefix = config.verify_max_per_prefix;
  options.per_country = config.verify_max_per_country;
  options.total = config.verify_max_per_hour;
  return options;
}

absl::Status ValidateConfig(const ServerConfig& config) {
  if (absl::Status s = ValidateHostPort("SMSGW_GRPC_ADDR", config.grpc_addr);
      !s.ok()) {
    return s;
  }
  if (!config.metrics_addr.empty()) {
    if (absl::Status s =
            ValidateHostPort("SMSGW_METRICS_ADDR", config.metrics_addr);
        !s.ok()) {
      return s;
    }
  }
  for (const std::string& origin : config.cors_origins) {
    if (origin != "*" && !absl::StartsWith(origin, "http://") &&
        !absl::StartsWith(origin, "https://")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "SMSGW_CORS_ORIGINS: \"", origin,
          "\" is not an origin (https://host[:port]) or *"));
    }
  }
  if (absl::Status s = ValidateHostPort("SMSGW_HTTP_ADDR", config.http_addr);
      !s.ok()) {
    return s;
  }
  if (config.db_path.empty()) {
    return absl::InvalidArgumentError("SMSGW_DB_PATH must not be empty");
  }
  if (!config.db_url.empty()) {
    // Never echo the value: it may carry a password.
    if (!storage::postgres::LooksLikeConninfo(config.db_url) ||
        !storage::postgres::RedactConninfo(config.db_url).ok()) {
      return absl::InvalidArgumentError(
          "SMSGW_DB_URL is not a PostgreSQL connection string: give a libpq "
          "URI (postgresql://user@host:5432/db) or a key=value DSN "
          "(host=... dbname=...)");
    }
  }
  if (config.tls_cert_path.empty() != config.tls_key_path.empty()) {
    return absl::InvalidArgumentError(
        "SMSGW_TLS_CERT and SMSGW_TLS_KEY must be set together");
  }
  if (!config.public_url.empty() &&
      !absl::StartsWith(config.public_url, "http://") &&
      !absl::StartsWith(config.public_url, "https://")) {
    return absl::InvalidArgumentError(
        "SMSGW_PUBLIC_URL must start with http:// or https://");
  }
  if (!config.twilio_account_sid.empty() && config.twilio_auth_token.empty()) {
    return absl::InvalidArgumentError(
        "TWILIO_AUTH_TOKEN must be set when TWILIO_ACCOUNT_SID is");
  }
  if (config.token_ttl <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("SMSGW_TOKEN_TTL must be positive");
  }
  if (config.webhook_retry_window <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "SMSGW_WEBHOOK_RETRY_WINDOW must be positive");
  }
  if (config.retry_horizon <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("SMSGW_RETRY_HORIZON must be positive");
  }
  if (config.default_validity != absl::ZeroDuration()) {
    if (absl::Status s = domain::ValidateValidityPeriod(
            config.default_validity, "SMSGW_DEFAULT_VALIDITY");
        !s.ok()) {
      return s;
    }
  }
  if (!config.quiet_hours.empty()) {
    absl::StatusOr<domain::QuietHours> quiet =
        domain::ParseQuietHours(config.quiet_hours);
    if (!quiet.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("SMSGW_QUIET_HOURS: ", quiet.status().message()));
    }
  }
  if (absl::Status s = domain::SignupThrottle::Validate(
          SignupThrottleOptions(config));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = domain::VerificationGuard::Validate(
          VerificationGuardOptions(config));
      !s.ok()) {
    return s;
  }
  if (config.daily_segments_per_user < 0) {
    return absl::InvalidArgumentError(
        "SMSGW_DAILY_SEGMENTS_PER_USER must be 0 (none) or a positive number "
        "of segments");
  }
  if (config.max_api_keys_per_user < 1 ||
      config.max_api_keys_per_user > 1000) {
    return absl::InvalidArgumentError(
        "SMSGW_MAX_API_KEYS_PER_USER must be 1 to 1000");
  }
  if (absl::StatusOr<std::set<std::string>> countries =
          domain::ParseAllowedCountries(config.allowed_countries);
      !countries.ok()) {
    return countries.status();
  }
  if (!config.jwt_secret_key.empty() && config.jwt_secret_key.size() < 32) {
    return absl::InvalidArgumentError(
        "JWT_SECRET_KEY must be at least 32 bytes long");
  }
  if (config.watch_buffer < 1 || config.watch_max_streams < 1) {
    return absl::InvalidArgumentError(
        "SMSGW_WATCH_BUFFER and SMSGW_WATCH_MAX_STREAMS must be at least 1");
  }
  if (config.login_window <= absl::ZeroDuration() ||
      config.login_max_failures < 1 || config.login_peer_max_failures < 1 ||
      config.login_delay < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "SMSGW_LOGIN_WINDOW must be positive, SMSGW_LOGIN_MAX_FAILURES and "
        "SMSGW_LOGIN_PEER_MAX_FAILURES at least 1, SMSGW_LOGIN_DELAY not "
        "negative");
  }
  if (config.grpc_max_message_bytes < 1024 ||
      config.grpc_max_concurrent_streams < 1 ||
      config.grpc_max_idle <= absl::ZeroDuration() ||
      config.grpc_keepalive_time <= absl::ZeroDuration() ||
      config.grpc_keepalive_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "SMSGW_GRPC_MAX_MESSAGE_BYTES must be at least 1024, "
        "SMSGW_GRPC_MAX_STREAMS at least 1 and SMSGW_GRPC_MAX_IDLE positive");
  }
  if (config.http_threads < 1 ||
      config.http_read_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "SMSGW_HTTP_THREADS must be at least 1 and SMSGW_HTTP_READ_TIMEOUT "
        "positive");
  }
  if (config.twilio_max_in_flight < 1) {
    return absl::InvalidArgumentError(
        "SMSGW_TWILIO_MAX_IN_FLIGHT must be at least 1");
  }
  const absl::Duration horizon =
      dispatch::StatusReconciler::Options().give_up_after;
  if (config.status_reconcile_after < absl::ZeroDuration() ||
      config.status_reconcile_after >= horizon) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SMSGW_STATUS_RECONCILE_AFTER must be at least 0 (0 = never fetch) "
        "and less than ",
        absl::FormatDuration(horizon), " (when status checks stop), got ",
        absl::FormatDuration(config.status_reconcile_after)));
  }
  return absl::OkStatus();
}

}  // namespace smsgw::app
