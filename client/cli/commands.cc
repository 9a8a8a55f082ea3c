// The `smsgw` command table, ConfigDir, the usage text and RunCommand; the
// commands themselves are in <group>_commands.cc.
#include "client/cli/commands.h"

#include <cstdlib>
#include <functional>
#include <map>

#include "absl/strings/str_cat.h"
#include "client/cli/command_support.h"

namespace smsgw::cli {
namespace {

using Command = std::function<int(Context&)>;

const std::map<std::string, Command>& Commands() {
  static const auto* commands = new std::map<std::string, Command>{
      {"signup", SignUp},
      {"login", Login},
      {"logout", Logout},
      {"whoami", WhoAmI},
      {"send", Send},
      {"cancel", Cancel},
      {"messages", Messages},
      {"conversations", Conversations},
      {"delete", Delete},
      {"sim", Sim},
      {"stats", Stats},
      {"watch", Watch},
      {"verify", Verify},
      {"keys", Keys},
      {"groups", Groups},
  };
  return *commands;
}

}  // namespace

std::string ConfigDir(const CliOptions& options) {
  if (!options.config_dir.empty()) return options.config_dir;
  if (const char* dir = std::getenv("SMSGW_CONFIG_DIR"); dir && *dir) {
    return dir;
  }
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) {
    return absl::StrCat(xdg, "/smsgw");
  }
  const char* home = std::getenv("HOME");
  return absl::StrCat(home != nullptr ? home : ".", "/.config/smsgw");
}

std::string Usage() {
  return R"(usage: smsgw [--server=HOST:PORT] [--tls [--ca_cert=PEM]] [--json] COMMAND [flags]

Accounts:
  signup  --username U --password P [--phone NUMBER]   create an account and log in
  login   --username U --password P                    log in; the token is kept in
                                                       ~/.config/smsgw/token (mode 0600)
  logout                                               forget the token
  whoami                                               show the logged-in user
  keys create NAME --scopes S,...   create an API key for servers; prints its secret sk_...
                                    once (scopes: messages:send, messages:read,
                                    messages:delete, groups, webhooks)
  keys list | keys delete ID        your API keys (never their secrets) / revoke one at once
  With SMSGW_API_KEY=sk_... set, every command uses that key instead of the login token.

Messages:
  send --to NUMBER --body TEXT [--from N] [--media URL,...] [--conversation ID]
       [--idempotency_key K] [--validate_only]      send an SMS/MMS (waits for Twilio's answer)
       [--at T]                                     schedule it instead: T is RFC 3339 or +10m,
                                                    5 minutes to 35 days ahead
       [--validity D]                               not sent within D (1s..10h) -> EXPIRED
       [--priority bulk|normal|high]                its lane in the sender's queue
       [--ignore-quiet-hours]                       send now even in the recipient's quiet hours
  cancel ID                                         cancel a scheduled message not yet sent
  messages [list] [--conversation ID] [--peer N] [--query TEXT] [--limit N]
  messages get ID [--events]                         one message, with its delivery reports
  conversations [--limit N]                          threads, most recent first
  delete ID | delete --conversation ID               delete a message or a whole thread
  stats [--since 7d | --start T] [--end T] [--username U]
                                                     counts by status and UTC day, delivery
                                                     rate, segments, price (T: 2026-01-02 or
                                                     RFC 3339; no window = all history;
                                                     --username: admins, another user)
  watch [--conversation ID] [--after CURSOR] [--max_events N]
                                                     print events as they happen (one line
                                                     each: cursor, type, id, status, from -> to,
                                                     body; --json: one JSON object per line);
                                                     --after resumes after a printed cursor

Phone verification (needed to join groups):
  verify start [--phone NUMBER]       send a 6-digit code by SMS to your phone (--phone sets
                                      or changes it first)
  verify confirm --code CODE          confirm the code; your phone is then verified

Groups (each member gets one of the server's numbers for the group; text it from your
verified phone to post, and the group's messages reach you from it):
  groups create NAME [--description D]  create a group and join it
  groups join NAME | leave NAME         join / leave (the last one out deletes the group)
  groups list                           your groups, with your number for each
  groups show NAME                      members (phones masked) and your number
  groups send NAME --body TEXT          post from the app; lists each member's delivery
  groups messages NAME [--limit N]      the group's posts, newest first

Simulator (the built-in stand-in for Twilio; --sim URL, default http://127.0.0.1:8081,
env SMSGW_SIMULATOR_URL):
  sim serve [--port P] [--webhook URL] [--numbers N,...]
                                      run a standalone simulator until Ctrl-C (default
                                      port 8081, webhook http://127.0.0.1:8080/twilio/sms/inbound)
  sim inbound --from N --to N --body TEXT [--media URL,...]
                                      a message arrives: the simulator posts the signed
                                      inbound webhook; prints the MessageSid and its answer
  sim outbox [--to N]                 what the simulator "sent"

Global flags: --server (env SMSGW_SERVER, default 127.0.0.1:50051), --tls, --ca_cert,
--json (print the response as JSON), --timeout (e.g. 30s), --config_dir.
Exit codes: 0 ok, 1 refused by the server (one line on stderr), 2 usage error.
)";
}

int RunCommand(const CliOptions& options, const std::vector<std::string>& args,
               std::ostream& out, std::ostream& err) {
  Context ctx{options, args, out, err};
  if (args.empty() || args[0] == "help") {
    (args.empty() ? err : out) << Usage();
    return args.empty() ? 2 : 0;
  }
  auto it = Commands().find(args[0]);
  if (it == Commands().end()) {
    return UsageError(ctx, absl::StrCat("unknown command \"", args[0], "\""));
  }
  return it->second(ctx);
}

}  // namespace smsgw::cli
