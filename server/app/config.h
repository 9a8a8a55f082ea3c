// File: config.h
//
// Everything smsgw-server is configured with (DESIGN.md §8). The member
// initializers are the defaults, written here only: settings.h's table reads
// each setting from its flag or environment variable (named in the comments)
// and formats its default text from these.
#ifndef SMSGW_SERVER_APP_CONFIG_H_
#define SMSGW_SERVER_APP_CONFIG_H_

#include <map>
#include <string>
#include <vector>

#include "server/domain/abuse_limits.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/logging.h"

namespace smsgw::app {

struct ServerConfig {
  std::string grpc_addr = "127.0.0.1:50051";  // SMSGW_GRPC_ADDR, host:port
  std::string http_addr = "127.0.0.1:8080";   // SMSGW_HTTP_ADDR, host:port
  // SMSGW_METRICS_ADDR, host:port of GET /metrics, kept off the HTTP port
  // (which carries the public REST API); empty = no metrics listener.
  std::string metrics_addr = "127.0.0.1:9464";
  // SMSGW_CORS_ORIGINS: browser origins allowed to call the REST API
  // ("https://app.example.com", or "*"); empty = CORS off.
  std::vector<std::string> cors_origins;
  std::string db_path = "./data/smsgw.db";    // SMSGW_DB_PATH
  // SMSGW_DB_URL: a libpq URI (postgresql://user@host/db?...) or key=value
  // DSN selecting PostgreSQL instead of the SQLite file; empty = SQLite.
  // May hold a password: never logged, only its redacted form.
  std::string db_url;
  // SMSGW_PUBLIC_URL: the base URL Twilio calls; empty = http://<http_addr>.
  std::string public_url;
  // JWT_SECRET_KEY; empty = generated once into <db dir>/jwt_secret.key.
  std::string jwt_secret_key;
  absl::Duration token_ttl = absl::Hours(24);  // SMSGW_TOKEN_TTL
  std::vector<std::string> admin_users;        // SMSGW_ADMIN_USERS
  std::string default_region = "US";           // SMSGW_DEFAULT_REGION

  // Twilio. Empty account SID = the built-in simulator.
  std::string twilio_account_sid;  // TWILIO_ACCOUNT_SID
  std::string twilio_auth_token;   // TWILIO_AUTH_TOKEN
  std::vector<std::string> twilio_phone_numbers;  // TWILIO_PHONE_NUMBERS
  std::string twilio_messaging_service_sid;  // TWILIO_MESSAGING_SERVICE_SID
  std::string twilio_api_base = "https://api.twilio.com";  // TWILIO_API_BASE
  std::vector<std::string> sender_ids;  // SMSGW_SENDER_IDS
  std::vector<std::string> blocked_keywords;  // SMSGW_BLOCKED_KEYWORDS
  // Port of the embedded simulator on 127.0.0.1 (SMSGW_SIMULATOR_PORT);
  // 0 = ephemeral.
  int simulator_port = 8081;

  std::string tls_cert_path;  // SMSGW_TLS_CERT (PEM)
  std::string tls_key_path;   // SMSGW_TLS_KEY (PEM)
  logging::Level log_level = logging::Level::kInfo;  // SMSGW_LOG_LEVEL
  // SMSGW_PORT_FILE: main.cc writes the bound addresses here once listening
  // (for tests and scripts that ask for port 0); empty = none. ServerApp does
  // not read it.
  std::string port_file;

  // Worker threads for blocking RPC work, and the queue bound behind them.
  // Most of their time is spent waiting for the store's group commit (an
  // fsync shared by every write queued meanwhile), not on a core, so there
  // are more of them than cores: concurrent sends then share commits.
  int rpc_workers = 16;
  // A queued call is a few hundred bytes; sends hold no worker while the
  // provider answers, so thousands in flight are normal (bench scenario 2).
  int rpc_queue = 8192;
  // How long graceful shutdown waits for in-flight calls.
  absl::Duration shutdown_grace = absl::Seconds(10);

  // WatchMessages: events buffered per stream before a reader that stopped
  // reading is cut off (SMSGW_WATCH_BUFFER), and open streams per user
  // (SMSGW_WATCH_MAX_STREAMS).
  int watch_buffer = 1000;
  int watch_max_streams = 16;

  // Login throttling (issue 9): failed logins are remembered for
  // login_window (SMSGW_LOGIN_WINDOW); past login_max_failures for one
  // username (SMSGW_LOGIN_MAX_FAILURES) or login_peer_max_failures from one
  // client address (SMSGW_LOGIN_PEER_MAX_FAILURES) logins are refused with
  // RESOURCE_EXHAUSTED until the window lets them. A third of each limit is
  // answered at once; failures beyond that are answered after login_delay
  // (SMSGW_LOGIN_DELAY), doubling each time, at most 8 s.
  absl::Duration login_window = absl::Minutes(15);
  int login_max_failures = 10;
  int login_peer_max_failures = 50;
  absl::Duration login_delay = absl::Milliseconds(500);

  // Abuse controls (issue 18), counted in the database so that replicas
  // share them: sign-ups per client address (SMSGW_SIGNUP_PEER_MAX) and in
  // total (SMSGW_SIGNUP_MAX) per signup_window (SMSGW_SIGNUP_WINDOW); and
  // verification codes per hour to one 6-digit prefix, one country, and in
  // total (SMSGW_VERIFY_MAX_PER_PREFIX_PER_HOUR, ..._PER_COUNTRY_PER_HOUR,
  // SMSGW_VERIFY_MAX_PER_HOUR). Each at least 1.
  absl::Duration signup_window = absl::Hours(1);
  int signup_peer_max = 10;
  int signup_max = 200;
  int verify_max_per_prefix = 5;
  int verify_max_per_country = 50;
  int verify_max_per_hour = 200;
  // SMSGW_DAILY_SEGMENTS_PER_USER: SMS segments each user may send per UTC
  // day unless an admin gave them their own quota; 0 = none.
  int daily_segments_per_user = 0;
  // SMSGW_MAX_API_KEYS_PER_USER: API keys one user may hold (1-1000).
  int max_api_keys_per_user = 20;

  // gRPC transport limits (issue 9): largest request message
  // (SMSGW_GRPC_MAX_MESSAGE_BYTES; bigger ones fail RESOURCE_EXHAUSTED),
  // connections without calls for this long are closed
  // (SMSGW_GRPC_MAX_IDLE), concurrent calls per connection
  // (SMSGW_GRPC_MAX_STREAMS), and the server's keepalive pings.
  int grpc_max_message_bytes = 1 << 20;
  absl::Duration grpc_max_idle = absl::Minutes(30);
  int grpc_max_concurrent_streams = 100;
  absl::Duration grpc_keepalive_time = absl::Minutes(2);
  absl::Duration grpc_keepalive_timeout = absl::Seconds(20);

  // Webhook HTTP server (issue 9): worker threads (SMSGW_HTTP_THREADS; one
  // connection each, so this many slow clients can hold them all) and the
  // longest wait for each read of a request (SMSGW_HTTP_READ_TIMEOUT).
  int http_threads = 32;
  absl::Duration http_read_timeout = absl::Seconds(5);

  // Twilio API requests on the wire at once (SMSGW_TWILIO_MAX_IN_FLIGHT);
  // more wait in the client's queue. Sends per second through Twilio are at
  // most this divided by Twilio's answer time, so raise it with the
  // account's API concurrency limit (Twilio answers 429/20429 beyond it).
  int twilio_max_in_flight = 64;

  // Pacing of provider calls (issue "Durable dispatch"): per-sender rates in
  // segments per second (SMSGW_SENDER_RATES "sender=rate,..."; others get
  // their kind's default: long code 1, toll-free 3, short code 100,
  // alphanumeric 10), an account-wide cap (SMSGW_GLOBAL_RATE; 0 = none), and
  // the backlog bound per sender as time at its rate (SMSGW_MAX_BACKLOG;
  // 0 = none).
  std::map<std::string, double> sender_rates;
  double global_rate = 0;
  absl::Duration max_backlog = absl::Hours(10);
  // Sending policy (issue "Sending policy"): how long retryable provider
  // failures are retried for a message with no validity period
  // (SMSGW_RETRY_HORIZON, > 0), and the validity period of a send that names
  // none (SMSGW_DEFAULT_VALIDITY; zero = none, else 1s..10h).
  absl::Duration retry_horizon = absl::Hours(4);
  absl::Duration default_validity = absl::ZeroDuration();
  // Lost status callbacks (issue 17): a message still short of a final
  // status this long after Twilio accepted it is fetched from Twilio, and
  // again at doubling intervals until it is final or 72 h old
  // (SMSGW_STATUS_RECONCILE_AFTER; 0 = never fetch; less than 72 h).
  absl::Duration status_reconcile_after = absl::Minutes(10);
  // SMSGW_QUIET_HOURS as given, "HH:MM-HH:MM" in the recipient's local time
  // (domain/quiet_hours.h); empty = none. ValidateConfig parses it.
  std::string quiet_hours;
  // SMSGW_ALLOWED_COUNTRIES as given: ISO 3166-1 alpha-2 codes, comma
  // separated (domain/geo_permissions.h); empty = every country.
  // ValidateConfig parses it.
  std::string allowed_countries;
  // The earliest send_at, from now. Only tests change it (the hidden flag
  // --min_schedule_ahead), to schedule a send seconds ahead.
  absl::Duration min_schedule_ahead = absl::Minutes(5);
  // Outbound event webhooks (issue 16 §2): http and non-public target
  // addresses allowed (SMSGW_WEBHOOK_ALLOW_PRIVATE; tests, private
  // networks), and how long an endpoint's head event is retried before the
  // endpoint is disabled (SMSGW_WEBHOOK_RETRY_WINDOW, > 0).
  bool webhook_allow_private = false;
  absl::Duration webhook_retry_window = absl::Hours(24);

  // True when no Twilio account is configured.
  bool use_simulator() const { return twilio_account_sid.empty(); }
  // Whether provider calls are paced (and the backlog bounded): always with
  // Twilio; with the simulator, which enforces no carrier throughput, only
  // when SMSGW_SENDER_RATES or SMSGW_GLOBAL_RATE is set.
  bool pacing_enabled() const {
    return !use_simulator() || !sender_rates.empty() || global_rate > 0;
  }
  // Status fetches on the wire at once: they share the account's API
  // concurrency with the sends, so a sixteenth of twilio_max_in_flight,
  // from 1 to 4.
  int status_fetches_in_flight() const;
  // public_url, or http://<http_addr> when unset; no trailing '/'.
  std::string EffectivePublicUrl() const;
};

// Checks cross-field rules: TLS cert and key come together, addresses are
// host:port, a Twilio account SID comes with an auth token, and so on.
// InvalidArgument naming the setting (by its environment name) and the rule.
absl::Status ValidateConfig(const ServerConfig& config);

// The abuse limits of `config` as their gates take them (issue 18).
domain::SignupThrottle::Options SignupThrottleOptions(
    const ServerConfig& config);
domain::VerificationGuard::Options VerificationGuardOptions(
    const ServerConfig& config);

}  // namespace smsgw::app

#endif  // SMSGW_SERVER_APP_CONFIG_H_
