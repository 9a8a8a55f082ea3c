// File: command_support.h
//
// The plumbing the `smsgw` commands share (printing, errors, the saved login
// token, connecting), and each command group's entry points. commands.cc
// dispatches to them; <group>_commands.cc implement them. Every entry point
// returns a process exit code as commands.h describes.
#ifndef SMSGW_CLIENT_CLI_COMMAND_SUPPORT_H_
#define SMSGW_CLIENT_CLI_COMMAND_SUPPORT_H_

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/cli/commands.h"
#include "client/smsgw_client.h"

namespace smsgw::cli {

// One command run: its options, its positional words (args[0] is the
// command) and where it prints.
struct Context {
  const CliOptions& options;
  const std::vector<std::string>& args;
  std::ostream& out;
  std::ostream& err;
};

// Prints "smsgw: CODE: message" on err; returns 1 (refused).
int Refused(Context& ctx, const absl::Status& status);

// Prints "smsgw: message" and a pointer to `smsgw help` on err; returns 2.
int UsageError(Context& ctx, absl::string_view message);

// `message` as indented JSON (proto3 mapping, proto field names).
std::string ToJson(const google::protobuf::Message& message);

// Prints ToJson(message) on out; returns 0.
int PrintJson(Context& ctx, const google::protobuf::Message& message);

// "YYYY-MM-DD HH:MM:SS UTC", or "-" for an unset timestamp.
std::string FormatTime(const google::protobuf::Timestamp& ts);

// A v1::MessageStatus value's name without its MESSAGE_STATUS_ prefix.
const char* StatusText(int status);

// One message as two lines: id, status, direction, numbers, time, SID,
// schedule and error; then the body, indented.
void PrintMessage(Context& ctx, const v1::Message& m);

// The file the login token is kept in: ConfigDir(options)/token.
std::string TokenPath(const CliOptions& options);

// Writes the token to TokenPath (directory 0700, file 0600, replaced
// atomically). InternalError when the directory or file cannot be written.
absl::Status SaveToken(const CliOptions& options, const std::string& token);

// A client for --server (with --tls and --ca_cert). With `with_token`, it
// carries the saved login token: UnauthenticatedError when there is none.
// InvalidArgumentError when --ca_cert cannot be read.
absl::StatusOr<std::unique_ptr<client::SmsgwClient>> Connect(
    const CliOptions& options, bool with_token);

// Accounts (account_commands.cc): signup, login, logout, whoami, verify.
int SignUp(Context& ctx);
int Login(Context& ctx);
int Logout(Context& ctx);
int WhoAmI(Context& ctx);
int Verify(Context& ctx);
int Keys(Context& ctx);

// Messages (message_commands.cc): send (now or scheduled), cancel,
// messages [list|get], conversations, delete.
int Send(Context& ctx);
int Cancel(Context& ctx);
int Messages(Context& ctx);
int Conversations(Context& ctx);
int Delete(Context& ctx);

// Observing (watch_stats_commands.cc): stats, watch.
int Stats(Context& ctx);
int Watch(Context& ctx);

// Groups (group_commands.cc): groups create|join|leave|list|show|send|messages.
int Groups(Context& ctx);

// The Twilio simulator (sim_commands.cc): sim serve|inbound|outbox.
int Sim(Context& ctx);

}  // namespace smsgw::cli

#endif  // SMSGW_CLIENT_CLI_COMMAND_SUPPORT_H_
