// smsgw: the command-line client. Flag parsing only; commands.cc does the work.
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/time/time.h"
#include "client/cli/commands.h"

namespace {
std::string Env(const char* name, const char* fallback = "") {
  const char* value = std::getenv(name);
  return value != nullptr && *value ? value : fallback;
}
}  // namespace

ABSL_FLAG(std::string, server, Env("SMSGW_SERVER", "127.0.0.1:50051"),
          "smsgw gRPC address host:port (env SMSGW_SERVER)");
ABSL_FLAG(bool, tls, false, "connect with TLS");
ABSL_FLAG(std::string, ca_cert, "", "PEM file of trusted roots, with --tls");
ABSL_FLAG(std::string, config_dir, "", "where the login token is kept");
ABSL_FLAG(bool, json, false, "print responses as JSON");
ABSL_FLAG(std::string, timeout, "30s", "per-call deadline");
ABSL_FLAG(std::string, username, "", "username");
ABSL_FLAG(std::string, password, Env("SMSGW_PASSWORD"),
          "password (env SMSGW_PASSWORD)");
ABSL_FLAG(std::string, phone, "", "mobile number (E.164 or national)");
ABSL_FLAG(std::string, to, "", "recipient number");
ABSL_FLAG(std::string, from, "", "sender number or alphanumeric sender ID");
ABSL_FLAG(std::string, body, "", "message text");
ABSL_FLAG(std::vector<std::string>, media, {}, "comma-separated media URLs");
ABSL_FLAG(std::string, conversation, "", "conversation id");
ABSL_FLAG(std::string, peer, "", "peer number filter");
ABSL_FLAG(std::string, query, "", "full-text search");
ABSL_FLAG(std::string, idempotency_key, "", "idempotency key for send");
ABSL_FLAG(bool, validate_only, false, "send: only validate and count segments");
ABSL_FLAG(std::string, at, "",
          "send: schedule for this time, RFC 3339 or +DURATION (e.g. +10m); "
          "5 minutes to 35 days ahead");
ABSL_FLAG(std::string, validity, "",
          "send: validity period, 1s to 10h (e.g. 30m); not sent by then -> "
          "EXPIRED");
ABSL_FLAG(std::string, priority, "",
          "send: bulk, normal (default) or high: the lane in the sender's "
          "queue");
ABSL_FLAG(bool, ignore_quiet_hours, false,
          "send, groups send: go out now even inside the recipient's quiet "
          "hours (SMSGW_QUIET_HOURS); for transactional messages");
ABSL_FLAG(bool, events, false, "messages get: include delivery reports");
ABSL_FLAG(int, limit, 20, "how many items to list");
ABSL_FLAG(std::string, sim, Env("SMSGW_SIMULATOR_URL", "http://127.0.0.1:8081"),
          "base URL of the Twilio simulator (env SMSGW_SIMULATOR_URL)");
ABSL_FLAG(int, port, 8081, "sim serve: port on 127.0.0.1 (0 picks a free one)");
ABSL_FLAG(std::string, webhook, "http://127.0.0.1:8080/twilio/sms/inbound",
          "sim serve: URL that inbound messages are posted to");
ABSL_FLAG(std::vector<std::string>, numbers, {},
          "sim serve: the simulated account's numbers, comma-separated E.164");
ABSL_FLAG(std::string, since, "",
          "stats: period back from now, e.g. 7d or 36h");
ABSL_FLAG(std::string, start, "",
          "stats: window start, 2026-01-02 or RFC 3339");
ABSL_FLAG(std::string, end, "", "stats: window end (exclusive), default now");

ABSL_FLAG(std::string, after, "",
          "watch: resume after this event cursor");
ABSL_FLAG(int64_t, max_events, 0,
          "watch: stop after this many events (0 = until interrupted)");

ABSL_FLAG(std::string, code, "", "verify confirm: the 6-digit code received");
ABSL_FLAG(std::string, description, "", "groups create: the group's description");
ABSL_FLAG(std::vector<std::string>, scopes, {},
          "keys create: comma-separated scopes (messages:send, messages:read, "
          "messages:delete, groups, webhooks)");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(smsgw::cli::Usage());
  // Abseil flag names cannot hold '-', and the documented spelling of this
  // one does.
  static char kIgnoreQuietHours[] = "--ignore_quiet_hours";
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--ignore-quiet-hours") {
      argv[i] = kIgnoreQuietHours;
    }
  }
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  smsgw::cli::CliOptions options;
  options.server = absl::GetFlag(FLAGS_server);
  options.tls = absl::GetFlag(FLAGS_tls);
  options.ca_cert_path = absl::GetFlag(FLAGS_ca_cert);
  options.config_dir = absl::GetFlag(FLAGS_config_dir);
  options.json = absl::GetFlag(FLAGS_json);
  if (!absl::ParseDuration(absl::GetFlag(FLAGS_timeout), &options.timeout)) {
    std::cerr << "smsgw: --timeout must be a duration like 30s\n";
    return 2;
  }
  options.username = absl::GetFlag(FLAGS_username);
  options.password = absl::GetFlag(FLAGS_password);
  options.phone = absl::GetFlag(FLAGS_phone);
  options.to = absl::GetFlag(FLAGS_to);
  options.from = absl::GetFlag(FLAGS_from);
  options.body = absl::GetFlag(FLAGS_body);
  options.media_urls = absl::GetFlag(FLAGS_media);
  options.conversation = absl::GetFlag(FLAGS_conversation);
  options.peer = absl::GetFlag(FLAGS_peer);
  options.query = absl::GetFlag(FLAGS_query);
  options.idempotency_key = absl::GetFlag(FLAGS_idempotency_key);
  options.validate_only = absl::GetFlag(FLAGS_validate_only);
  options.at = absl::GetFlag(FLAGS_at);
  options.validity = absl::GetFlag(FLAGS_validity);
  options.priority = absl::GetFlag(FLAGS_priority);
  options.ignore_quiet_hours = absl::GetFlag(FLAGS_ignore_quiet_hours);
  options.events = absl::GetFlag(FLAGS_events);
  options.limit = absl::GetFlag(FLAGS_limit);
  options.simulator_url = absl::GetFlag(FLAGS_sim);
  options.sim_port = absl::GetFlag(FLAGS_port);
  options.sim_webhook = absl::GetFlag(FLAGS_webhook);
  options.sim_numbers = absl::GetFlag(FLAGS_numbers);
  options.since = absl::GetFlag(FLAGS_since);
  options.start = absl::GetFlag(FLAGS_start);
  options.end = absl::GetFlag(FLAGS_end);
  options.after = absl::GetFlag(FLAGS_after);
  options.max_events = absl::GetFlag(FLAGS_max_events);
  options.code = absl::GetFlag(FLAGS_code);
  options.description = absl::GetFlag(FLAGS_description);
  options.scopes = absl::GetFlag(FLAGS_scopes);
  options.api_key = Env("SMSGW_API_KEY");
  std::vector<std::string> args(positional.begin() + 1, positional.end());
  return smsgw::cli::RunCommand(options, args, std::cout, std::cerr);
}
