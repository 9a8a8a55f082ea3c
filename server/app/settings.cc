#include "server/app/settings.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <utility>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "server/dispatch/rate_limiter.h"

namespace smsgw::app {
namespace {

using Parse = std::function<absl::Status(absl::string_view, ServerConfig&)>;
using Format = std::function<std::string(const ServerConfig&)>;

Setting Row(std::string flag, std::string env, std::string help,
            const Format& format, Parse parse) {
  Setting setting;
  setting.flag = std::move(flag);
  setting.env = std::move(env);
  setting.help = std::move(help);
  setting.default_text = format(ServerConfig());
  setting.parse = std::move(parse);
  return setting;
}

// A parser that can only say "malformed", with the sentence to say it in.
Parse Checked(std::function<bool(absl::string_view, ServerConfig&)> ok,
              std::string error) {
  return [ok = std::move(ok), error = std::move(error)](
             absl::string_view text, ServerConfig& config) {
    return ok(text, config) ? absl::OkStatus()
                            : absl::InvalidArgumentError(error);
  };
}

Setting Text(std::string flag, std::string env,
             std::string ServerConfig::*field, std::string help) {
  return Row(
      std::move(flag), std::move(env), std::move(help),
      [field](const ServerConfig& c) { return c.*field; },
      [field](absl::string_view text, ServerConfig& c) {
        c.*field = std::string(text);
        return absl::OkStatus();
      });
}

// Comma-separated; items trimmed, empty ones dropped.
Setting List(std::string flag, std::string env,
             std::vector<std::string> ServerConfig::*field, std::string help) {
  return Row(
      std::move(flag), std::move(env), std::move(help),
      [field](const ServerConfig& c) { return absl::StrJoin(c.*field, ","); },
      [field](absl::string_view text, ServerConfig& c) {
        std::vector<std::string> items;
        for (absl::string_view part :
             absl::StrSplit(text, ',', absl::SkipEmpty())) {
          part = absl::StripAsciiWhitespace(part);
          if (!part.empty()) items.emplace_back(part);
        }
        c.*field = std::move(items);
        return absl::OkStatus();
      });
}

Setting Int(std::string flag, std::string env, int ServerConfig::*field,
            std::string error, std::string help) {
  Setting setting = Row(
      std::move(flag), std::move(env), std::move(help),
      [field](const ServerConfig& c) { return absl::StrCat(c.*field); },
      Checked(
          [field](absl::string_view text, ServerConfig& c) {
            return absl::SimpleAtoi(text, &(c.*field));
          },
          std::move(error)));
  setting.integer_flag = !setting.flag.empty();
  return setting;
}

enum class Bound { kAny, kNonNegative, kPositive };

// absl::ParseDuration syntax ("24h", "90m", "500ms", "0").
Setting Duration(std::string flag, std::string env,
                 absl::Duration ServerConfig::*field, Bound bound,
                 std::string error, std::string help) {
  return Row(
      std::move(flag), std::move(env), std::move(help),
      [field](const ServerConfig& c) { return absl::FormatDuration(c.*field); },
      Checked(
          [field, bound](absl::string_view text, ServerConfig& c) {
            absl::Duration d;
            if (!absl::ParseDuration(text, &d)) return false;
            if (bound == Bound::kNonNegative && d < absl::ZeroDuration()) {
              return false;
            }
            if (bound == Bound::kPositive && d <= absl::ZeroDuration()) {
              return false;
            }
            c.*field = d;
            return true;
          },
          std::move(error)));
}

std::vector<Setting> BuildTable() {
  using C = ServerConfig;
  std::vector<Setting> t;
  t.push_back(Text("grpc_addr", "SMSGW_GRPC_ADDR", &C::grpc_addr,
                   "gRPC listen address host:port"));
  t.push_back(Text("http_addr", "SMSGW_HTTP_ADDR", &C::http_addr,
                   "HTTP listen address host:port: the REST API and "
                   "Twilio's webhooks"));
  t.push_back(Text("metrics_addr", "SMSGW_METRICS_ADDR", &C::metrics_addr,
                   "listen address host:port of GET /metrics (Prometheus); "
                   "empty = none"));
  t.push_back(List("cors_origins", "SMSGW_CORS_ORIGINS", &C::cors_origins,
                   "comma-separated browser origins allowed to call the "
                   "REST API, or *; empty = CORS off"));
  t.push_back(Text("db_path", "SMSGW_DB_PATH", &C::db_path,
                   "SQLite database file"));
  t.push_back(Text("db_url", "SMSGW_DB_URL", &C::db_url,
                   "PostgreSQL instead of SQLite: a libpq URI "
                   "(postgresql://user@host/db) or key=value DSN; empty = "
                   "the SQLite file SMSGW_DB_PATH"));
  t.push_back(Text("public_url", "SMSGW_PUBLIC_URL", &C::public_url,
                   "base URL Twilio calls; default http://<http_addr>"));
  t.push_back(Text("", "JWT_SECRET_KEY", &C::jwt_secret_key,
                   "HMAC key for access tokens, at least 32 bytes; empty = "
                   "generated once into <db dir>/jwt_secret.key"));
  t.push_back(Duration("token_ttl", "SMSGW_TOKEN_TTL", &C::token_ttl,
                       Bound::kAny,
                       "SMSGW_TOKEN_TTL / --token_ttl must be a duration like "
                       "24h",
                       "access token lifetime, e.g. 24h, 90m"));
  t.push_back(List("admin_users", "SMSGW_ADMIN_USERS", &C::admin_users,
                   "comma-separated usernames with the admin role"));
  t.push_back(Text("default_region", "SMSGW_DEFAULT_REGION", &C::default_region,
                   "region for national phone numbers, ISO 3166 alpha-2"));
  t.push_back(Text("", "TWILIO_ACCOUNT_SID", &C::twilio_account_sid,
                   "Twilio account SID; empty = the built-in simulator"));
  t.push_back(Text("", "TWILIO_AUTH_TOKEN", &C::twilio_auth_token,
                   "Twilio auth token, with TWILIO_ACCOUNT_SID"));
  t.push_back(List("twilio_phone_numbers", "TWILIO_PHONE_NUMBERS",
                   &C::twilio_phone_numbers,
                   "comma-separated E.164 sender numbers and group pool"));
  t.push_back(Text("twilio_messaging_service_sid",
                   "TWILIO_MESSAGING_SERVICE_SID",
                   &C::twilio_messaging_service_sid,
                   "send through this Messaging Service"));
  t.push_back(Text("twilio_api_base", "TWILIO_API_BASE", &C::twilio_api_base,
                   "Twilio REST base URL"));
  t.push_back(List("sender_ids", "SMSGW_SENDER_IDS", &C::sender_ids,
                   "comma-separated allowed alphanumeric sender IDs"));
  t.push_back(List("blocked_keywords", "SMSGW_BLOCKED_KEYWORDS",
                   &C::blocked_keywords,
                   "comma-separated words or phrases refused in outbound "
                   "bodies as whole words"));
  t.push_back(Int("simulator_port", "SMSGW_SIMULATOR_PORT", &C::simulator_port,
                  "SMSGW_SIMULATOR_PORT must be a port number",
                  "port of the embedded Twilio simulator (127.0.0.1) when no "
                  "Twilio account is set; 0 = any free port"));
  t.push_back(Int("watch_buffer", "SMSGW_WATCH_BUFFER", &C::watch_buffer,
                  "SMSGW_WATCH_BUFFER must be a number",
                  "WatchMessages events buffered per stream before a stalled "
                  "reader is cut off with RESOURCE_EXHAUSTED"));
  t.push_back(Int("watch_max_streams", "SMSGW_WATCH_MAX_STREAMS",
                  &C::watch_max_streams,
                  "SMSGW_WATCH_MAX_STREAMS must be a number",
                  "open WatchMessages streams per user"));
  // Pairs that have always shared one start-up sentence keep it.
  const std::string login_durations =
      "SMSGW_LOGIN_WINDOW and SMSGW_LOGIN_DELAY must be durations like 15m, "
      "500ms";
  t.push_back(Duration("login_window", "SMSGW_LOGIN_WINDOW", &C::login_window,
                       Bound::kAny, login_durations,
                       "failed logins are remembered this long"));
  t.push_back(Duration("login_delay", "SMSGW_LOGIN_DELAY", &C::login_delay,
                       Bound::kAny, login_durations,
                       "answer delay of the first slowed failed login; "
                       "doubles with each further failure up to 8s"));
  const std::string login_counts =
      "SMSGW_LOGIN_MAX_FAILURES and SMSGW_LOGIN_PEER_MAX_FAILURES must be "
      "numbers";
  t.push_back(Int("login_max_failures", "SMSGW_LOGIN_MAX_FAILURES",
                  &C::login_max_failures, login_counts,
                  "failed logins for one username within the window after "
                  "which logins are refused with RESOURCE_EXHAUSTED"));
  t.push_back(Int("login_peer_max_failures", "SMSGW_LOGIN_PEER_MAX_FAILURES",
                  &C::login_peer_max_failures, login_counts,
                  "the same, from one client address"));
  t.push_back(Duration("signup_window", "SMSGW_SIGNUP_WINDOW",
                       &C::signup_window, Bound::kAny,
                       "SMSGW_SIGNUP_WINDOW must be a duration like 1h",
                       "sign-ups are counted over this sliding window"));
  t.push_back(Int("signup_peer_max", "SMSGW_SIGNUP_PEER_MAX",
                  &C::signup_peer_max,
                  "SMSGW_SIGNUP_PEER_MAX must be a number",
                  "sign-ups from one client address within the window; more "
                  "are refused with RESOURCE_EXHAUSTED"));
  t.push_back(Int("signup_max", "SMSGW_SIGNUP_MAX", &C::signup_max,
                  "SMSGW_SIGNUP_MAX must be a number",
                  "sign-ups on the server within the window"));
  t.push_back(Int("verify_max_per_prefix_per_hour",
                  "SMSGW_VERIFY_MAX_PER_PREFIX_PER_HOUR",
                  &C::verify_max_per_prefix,
                  "SMSGW_VERIFY_MAX_PER_PREFIX_PER_HOUR must be a number",
                  "verification codes per hour to numbers sharing their first "
                  "6 digits"));
  t.push_back(Int("verify_max_per_country_per_hour",
                  "SMSGW_VERIFY_MAX_PER_COUNTRY_PER_HOUR",
                  &C::verify_max_per_country,
                  "SMSGW_VERIFY_MAX_PER_COUNTRY_PER_HOUR must be a number",
                  "verification codes per hour to one country"));
  t.push_back(Int("verify_max_per_hour", "SMSGW_VERIFY_MAX_PER_HOUR",
                  &C::verify_max_per_hour,
                  "SMSGW_VERIFY_MAX_PER_HOUR must be a number",
                  "verification codes per hour on the server"));
  t.push_back(Int("daily_segments_per_user", "SMSGW_DAILY_SEGMENTS_PER_USER",
                  &C::daily_segments_per_user,
                  "SMSGW_DAILY_SEGMENTS_PER_USER must be a number",
                  "SMS segments a user may send per UTC day (sends and group "
                  "deliveries) unless an admin set their own quota; 0 = "
                  "none"));
  t.push_back(Int("max_api_keys_per_user", "SMSGW_MAX_API_KEYS_PER_USER",
                  &C::max_api_keys_per_user,
                  "SMSGW_MAX_API_KEYS_PER_USER must be a number",
                  "API keys one user may hold"));
  const std::string transport_counts =
      "SMSGW_GRPC_MAX_MESSAGE_BYTES, SMSGW_GRPC_MAX_STREAMS, "
      "SMSGW_HTTP_THREADS and SMSGW_TWILIO_MAX_IN_FLIGHT must be numbers";
  t.push_back(Int("grpc_max_message_bytes", "SMSGW_GRPC_MAX_MESSAGE_BYTES",
                  &C::grpc_max_message_bytes, transport_counts,
                  "largest gRPC request message; bigger ones fail "
                  "RESOURCE_EXHAUSTED"));
  t.push_back(Int("grpc_max_streams", "SMSGW_GRPC_MAX_STREAMS",
                  &C::grpc_max_concurrent_streams, transport_counts,
                  "concurrent calls per gRPC connection"));
  t.push_back(Int("http_threads", "SMSGW_HTTP_THREADS", &C::http_threads,
                  transport_counts, "webhook HTTP worker threads"));
  t.push_back(Int("twilio_max_in_flight", "SMSGW_TWILIO_MAX_IN_FLIGHT",
                  &C::twilio_max_in_flight, transport_counts,
                  "Twilio API requests on the wire at once; more wait in a "
                  "queue. Keep it within your account's API concurrency "
                  "limit"));
  const std::string transport_durations =
      "SMSGW_GRPC_MAX_IDLE and SMSGW_HTTP_READ_TIMEOUT must be durations like "
      "30m, 5s";
  t.push_back(Duration("grpc_max_idle", "SMSGW_GRPC_MAX_IDLE",
                       &C::grpc_max_idle, Bound::kAny, transport_durations,
                       "close gRPC connections without calls for this long"));
  t.push_back(Duration("http_read_timeout", "SMSGW_HTTP_READ_TIMEOUT",
                       &C::http_read_timeout, Bound::kAny, transport_durations,
                       "webhook HTTP: longest wait for each read of a "
                       "request"));
  t.push_back(Row(
      "sender_rates", "SMSGW_SENDER_RATES",
      "per-sender send rates in segments/s, e.g. "
      "\"+15005550006=1,+18005550100=3\"; others get their kind's default "
      "(long code 1, toll-free 3, short code 100, alphanumeric 10)",
      [](const ServerConfig& c) {
        return absl::StrJoin(c.sender_rates, ",", absl::PairFormatter("="));
      },
      [](absl::string_view text, ServerConfig& c) {
        absl::StatusOr<std::map<std::string, double>> rates =
            dispatch::ParseSenderRates(text);
        if (!rates.ok()) {
          return absl::InvalidArgumentError(rates.status().message());
        }
        c.sender_rates = *std::move(rates);
        return absl::OkStatus();
      }));
  t.push_back(Row(
      "global_rate", "SMSGW_GLOBAL_RATE",
      "segments/s over all senders; 0 = no cap",
      [](const ServerConfig& c) { return absl::StrCat(c.global_rate); },
      Checked(
          [](absl::string_view text, ServerConfig& c) {
            double rate = 0;
            // !(rate >= 0) also refuses NaN.
            if (!absl::SimpleAtod(text, &rate) || !(rate >= 0)) return false;
            c.global_rate = rate;
            return true;
          },
          "SMSGW_GLOBAL_RATE must be a number of segments/s >= 0")));
  t.push_back(Duration("max_backlog", "SMSGW_MAX_BACKLOG", &C::max_backlog,
                       Bound::kNonNegative,
                       "SMSGW_MAX_BACKLOG must be a duration like 10h (0 = "
                       "none)",
                       "SendMessage answers RESOURCE_EXHAUSTED when a "
                       "sender's queue would take longer than this at its "
                       "rate; 0 = no bound"));
  t.push_back(Duration("retry_horizon", "SMSGW_RETRY_HORIZON",
                       &C::retry_horizon, Bound::kPositive,
                       "SMSGW_RETRY_HORIZON must be a duration above 0 like 4h",
                       "retryable provider failures (429, 5xx, timeouts) are "
                       "retried this long after a message was accepted when "
                       "it has no validity period; then it ends EXPIRED"));
  t.push_back(Duration("default_validity", "SMSGW_DEFAULT_VALIDITY",
                       &C::default_validity, Bound::kNonNegative,
                       "SMSGW_DEFAULT_VALIDITY must be a duration like 1h (0 "
                       "= none)",
                       "validity period of a send that names none, 1s to "
                       "10h; 0 = none"));
  t.push_back(Duration("status_reconcile_after",
                       "SMSGW_STATUS_RECONCILE_AFTER",
                       &C::status_reconcile_after, Bound::kNonNegative,
                       "SMSGW_STATUS_RECONCILE_AFTER must be a duration like "
                       "10m (0 = never)",
                       "fetch a message's status from Twilio when no final "
                       "status callback came this long after Twilio accepted "
                       "it, then again at doubling intervals until final or "
                       "72h old; 0 = never"));
  t.push_back(Text("quiet_hours", "SMSGW_QUIET_HOURS", &C::quiet_hours,
                   "HH:MM-HH:MM, e.g. 21:00-08:00: sends that would reach a "
                   "recipient inside this window of their local time are "
                   "scheduled for its end; empty = none"));
  t.push_back(Text("allowed_countries", "SMSGW_ALLOWED_COUNTRIES",
                   &C::allowed_countries,
                   "ISO 3166-1 alpha-2 codes, e.g. US,CA,GB: outbound SMS "
                   "(sends, group fan-out, verification codes) to any other "
                   "country is refused with FAILED_PRECONDITION; empty = "
                   "every country"));
  t.push_back(Duration("min_schedule_ahead", "", &C::min_schedule_ahead,
                       Bound::kNonNegative,
                       "--min_schedule_ahead must be a duration like 5m",
                       "for tests only: the earliest send_at from now"));
  t.push_back(Row(
      "webhook_allow_private", "SMSGW_WEBHOOK_ALLOW_PRIVATE",
      "true: outbound event webhooks may target http URLs and private, "
      "loopback or link-local addresses (tests, private networks only)",
      [](const ServerConfig& c) {
        return std::string(c.webhook_allow_private ? "true" : "false");
      },
      Checked(
          [](absl::string_view text, ServerConfig& c) {
            if (text == "true" || text == "1") {
              c.webhook_allow_private = true;
            } else if (text == "false" || text == "0" || text.empty()) {
              c.webhook_allow_private = false;
            } else {
              return false;
            }
            return true;
          },
          "SMSGW_WEBHOOK_ALLOW_PRIVATE must be true or false")));
  t.push_back(Duration("webhook_retry_window", "SMSGW_WEBHOOK_RETRY_WINDOW",
                       &C::webhook_retry_window, Bound::kPositive,
                       "SMSGW_WEBHOOK_RETRY_WINDOW must be a duration above 0 "
                       "like 24h",
                       "an outbound webhook event that keeps failing is "
                       "retried this long, then its endpoint is disabled "
                       "(EnableWebhook resumes it)"));
  t.push_back(Text("tls_cert", "SMSGW_TLS_CERT", &C::tls_cert_path,
                   "PEM certificate chain for gRPC over TLS"));
  t.push_back(Text("tls_key", "SMSGW_TLS_KEY", &C::tls_key_path,
                   "PEM private key for gRPC over TLS"));
  t.push_back(Row(
      "log_level", "SMSGW_LOG_LEVEL", "debug, info, warning or error",
      [](const ServerConfig& c) {
        // The word ParseLevel reads as this level.
        for (const char* word : {"debug", "info", "warning", "error"}) {
          absl::StatusOr<logging::Level> level = logging::ParseLevel(word);
          if (level.ok() && *level == c.log_level) return std::string(word);
        }
        return std::string();
      },
      [](absl::string_view text, ServerConfig& c) {
        absl::StatusOr<logging::Level> level = logging::ParseLevel(text);
        if (!level.ok()) {
          return absl::InvalidArgumentError(level.status().message());
        }
        c.log_level = *level;
        return absl::OkStatus();
      }));
  t.push_back(Text("port_file", "SMSGW_PORT_FILE", &C::port_file,
                   "if set, write the bound addresses here once listening "
                   "(for tests and scripts that ask for port 0)"));
  return t;
}

const Setting& SettingOrDie(absl::string_view flag) {
  const Setting* setting = FindSetting(flag);
  if (setting == nullptr || setting->flag.empty()) {
    std::fprintf(stderr, "smsgw-server: flag --%.*s is not in settings.cc\n",
                 static_cast<int>(flag.size()), flag.data());
    std::abort();
  }
  return *setting;
}

}  // namespace

const std::vector<Setting>& ServerSettings() {
  static const auto* table = new std::vector<Setting>(BuildTable());
  return *table;
}

const Setting* FindSetting(absl::string_view name) {
  for (const Setting& setting : ServerSettings()) {
    if (setting.flag.empty() ? setting.env == name : setting.flag == name) {
      return &setting;
    }
  }
  return nullptr;
}

std::string ResolveSetting(const Setting& setting, const SettingLookup& flags,
                           const SettingLookup& env) {
  if (!setting.flag.empty()) {
    if (std::optional<std::string> text = flags(setting.flag)) return *text;
  }
  if (!setting.env.empty()) {
    if (std::optional<std::string> text = env(setting.env)) return *text;
  }
  return setting.default_text;
}

absl::StatusOr<ServerConfig> LoadServerConfig(const SettingLookup& flags,
                                              const SettingLookup& env) {
  ServerConfig config;
  for (const Setting& setting : ServerSettings()) {
    absl::Status parsed =
        setting.parse(ResolveSetting(setting, flags, env), config);
    if (!parsed.ok()) return parsed;
  }
  return config;
}

std::optional<std::string> ProcessEnv(absl::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

std::optional<std::string> CommandLineFlag(absl::string_view name) {
  const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  if (flag == nullptr) return std::nullopt;
  if (auto value = flag->TryGet<int>(); value.has_value()) {
    if (*value < 0) return std::nullopt;  // -1: not given
    return absl::StrCat(*value);
  }
  return flag->CurrentValue();
}

std::string FlagDefault(absl::string_view flag) {
  const Setting& setting = SettingOrDie(flag);
  return ResolveSetting(
      setting, [](absl::string_view) { return std::nullopt; }, ProcessEnv);
}

std::string FlagHelp(absl::string_view flag) {
  const Setting& setting = SettingOrDie(flag);
  if (setting.env.empty()) return setting.help;
  if (setting.integer_flag) {
    return absl::StrCat(setting.help, " (env ", setting.env, ", default ",
                        setting.default_text, ")");
  }
  return absl::StrCat(setting.help, " (env ", setting.env, ")");
}

}  // namespace smsgw::app
