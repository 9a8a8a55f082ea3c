// File: commands.h
//
// The `smsgw` command-line client's commands, apart from flag parsing so that
// tests can run them. Each command prints to `out` and returns a process exit
// code: 0 on success, 1 when the server refused (a one-line error on `err`),
// 2 for a usage error.
#ifndef SMSGW_CLIENT_CLI_COMMANDS_H_
#define SMSGW_CLIENT_CLI_COMMANDS_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace smsgw::cli {

// Everything a command may need; main.cc fills it from flags.
struct CliOptions {
  std::string server = "127.0.0.1:50051";  // host:port (--server)
  bool tls = false;
  std::string ca_cert_path;  // PEM, with --tls
  // Where the login token is kept; empty = $SMSGW_CONFIG_DIR, else
  // $XDG_CONFIG_HOME/smsgw, else ~/.config/smsgw.
  std::string config_dir;
  bool json = false;  // print responses as JSON (proto3 JSON mapping)
  absl::Duration timeout = absl::Seconds(30);

  // Command arguments (flags of the same names).
  std::string username;
  std::string password;
  std::string phone;
  std::string to;
  std::string from;
  std::string body;
  std::vector<std::string> media_urls;
  std::string conversation;
  std::string peer;
  std::string query;
  std::string id;
  std::string idempotency_key;
  bool validate_only = false;
  // send --at: when to send (RFC 3339, or "+10m" from now); empty = now.
  std::string at;
  // send --validity: validity period (e.g. 30m, 1s..10h); empty = server's.
  std::string validity;
  // send --priority: bulk, normal or high; empty = normal.
  std::string priority;
  // send / groups send --ignore-quiet-hours: respect_quiet_hours = false.
  bool ignore_quiet_hours = false;
  bool events = false;
  int limit = 20;
  std::string simulator_url = "http://127.0.0.1:8081";  // --sim
  // `sim serve`: listen port on 127.0.0.1 (0 = ephemeral), the URL inbound
  // messages are posted to, and the simulated account's numbers (E.164;
  // empty = the simulator's defaults).
  int sim_port = 8081;  // --port
  std::string sim_webhook =
      "http://127.0.0.1:8080/twilio/sms/inbound";  // --webhook
  std::vector<std::string> sim_numbers;            // --numbers
  // stats: the window, --since (a period back from now, e.g. 7d) or
  // --start/--end (RFC 3339 or YYYY-MM-DD, UTC); empty = unset.
  std::string since;
  std::string start;
  std::string end;
  // watch: resume after this MessageEvent.cursor (--after), and stop after
  // this many events (--max_events; 0 = until interrupted).
  std::string after;
  int64_t max_events = 0;
  // verify confirm: the 6-digit code (--code); groups create: the
  // description (--description).
  std::string code;
  std::string description;
  // keys create: the scopes to grant (--scopes).
  std::vector<std::string> scopes;
  // A credential to use instead of the saved login token: an API key
  // "sk_..." (env SMSGW_API_KEY); empty = the token file.
  std::string api_key;
};

// Runs `args` (the positional words after the program name, e.g.
// {"signup"} or {"messages", "get", "<id>"}).
int RunCommand(const CliOptions& options, const std::vector<std::string>& args,
               std::ostream& out, std::ostream& err);

// The directory the token is kept in, resolved as CliOptions::config_dir says.
std::string ConfigDir(const CliOptions& options);

// Help text listing every command.
std::string Usage();

}  // namespace smsgw::cli

#endif  // SMSGW_CLIENT_CLI_COMMANDS_H_
