#include "client/cli/commands.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "client/cli/send_at.h"
#include "client/cli/time_window.h"
#include "client/smsgw_client.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "server/simulator/simulator.h"
#include "server/twilio/twilio_rest_client.h"
#include "server/twilio/twilio_signature.h"

namespace smsgw::cli {
namespace {

constexpr char kTokenFile[] = "token";

struct Context {
  const CliOptions& options;
  const std::vector<std::string>& args;
  std::ostream& out;
  std::ostream& err;
};

int Refused(Context& ctx, const absl::Status& status) {
  ctx.err << "smsgw: " << absl::StatusCodeToString(status.code()) << ": "
          << status.message() << "\n";
  return 1;
}

int UsageError(Context& ctx, absl::string_view message) {
  ctx.err << "smsgw: " << message << "\n(run `smsgw help` for usage)\n";
  return 2;
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions print;
  print.add_whitespace = true;
  print.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, print);
  return json;
}

std::string FormatTime(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC",
                          absl::FromUnixSeconds(ts.seconds()),
                          absl::UTCTimeZone());
}

absl::Status SaveToken(const CliOptions& options, const std::string& token) {
  const std::string dir = ConfigDir(options);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", dir, ": ", ec.message()));
  }
  ::chmod(dir.c_str(), 0700);
  const std::string path = dir + "/" + kTokenFile;
  const std::string tmp = path + ".tmp";
  // Created 0600 from the start: the token must never be readable by others,
  // not even for a moment.
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  const std::string content = token + "\n";
  const bool written =
      ::write(fd, content.data(), content.size()) ==
      static_cast<ssize_t>(content.size());
  ::fchmod(fd, 0600);
  ::close(fd);
  if (!written || std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

std::string LoadToken(const CliOptions& options) {
  std::ifstream in(ConfigDir(options) + "/" + kTokenFile);
  std::string token;
  std::getline(in, token);
  return std::string(absl::StripAsciiWhitespace(token));
}

absl::StatusOr<std::unique_ptr<client::SmsgwClient>> Connect(
    const CliOptions& options, bool with_token) {
  client::SmsgwClient::Options client_options;
  client_options.target = options.server;
  client_options.use_tls = options.tls;
  client_options.timeout = options.timeout;
  if (!options.ca_cert_path.empty()) {
    std::ifstream in(options.ca_cert_path);
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read --ca_cert ", options.ca_cert_path));
    }
    std::stringstream pem;
    pem << in.rdbuf();
    client_options.ca_cert_pem = pem.str();
  }
  absl::StatusOr<std::unique_ptr<client::SmsgwClient>> client =
      client::SmsgwClient::Create(client_options);
  if (!client.ok()) return client.status();
  if (with_token) {
    std::string token = LoadToken(options);
    if (token.empty()) {
      return absl::UnauthenticatedError(
          "not logged in: run `smsgw login --username NAME --password PW` "
          "first");
    }
    (*client)->set_access_token(std::move(token));
  }
  return client;
}

void PrintUser(Context& ctx, const v1::User& user) {
  ctx.out << "username: " << user.username() << "\n"
          << "phone: "
          << (user.phone_number().empty() ? "-" : user.phone_number())
          << (user.phone_number().empty()
                  ? ""
                  : (user.phone_verified() ? " (verified)" : " (unverified)"))
          << "\n"
          << "admin: " << (user.admin() ? "yes" : "no") << "\n"
          << "created: " << FormatTime(user.create_time()) << "\n";
}

template <typename Response>
int SessionCommand(Context& ctx, const absl::StatusOr<Response>& response,
                   absl::string_view verb) {
  if (!response.ok()) return Refused(ctx, response.status());
  absl::Status saved = SaveToken(ctx.options, response->access_token());
  if (!saved.ok()) return Refused(ctx, saved);
  if (ctx.options.json) {
    ctx.out << ToJson(*response);
    return 0;
  }
  ctx.out << verb << " as " << response->user().username()
          << "; token saved, valid until "
          << FormatTime(response->expire_time()) << "\n";
  return 0;
}

int SignUp(Context& ctx) {
  if (ctx.options.username.empty() || ctx.options.password.empty()) {
    return UsageError(ctx, "signup needs --username and --password");
  }
  auto client = Connect(ctx.options, /*with_token=*/false);
  if (!client.ok()) return Refused(ctx, client.status());
  return SessionCommand(ctx,
                        (*client)->SignUp(ctx.options.username,
                                          ctx.options.password,
                                          ctx.options.phone),
                        "signed up");
}

int Login(Context& ctx) {
  if (ctx.options.username.empty() || ctx.options.password.empty()) {
    return UsageError(ctx, "login needs --username and --password");
  }
  auto client = Connect(ctx.options, /*with_token=*/false);
  if (!client.ok()) return Refused(ctx, client.status());
  return SessionCommand(
      ctx, (*client)->Login(ctx.options.username, ctx.options.password),
      "logged in");
}

int Logout(Context& ctx) {
  std::error_code ec;
  std::filesystem::remove(ConfigDir(ctx.options) + "/" + kTokenFile, ec);
  ctx.out << "logged out\n";
  return 0;
}

int WhoAmI(Context& ctx) {
  auto client = Connect(ctx.options, /*with_token=*/true);
  if (!client.ok()) return Refused(ctx, client.status());
  absl::StatusOr<v1::GetCurrentUserResponse> response =
      (*client)->GetCurrentUser();
  if (!response.ok()) return Refused(ctx, response.status());
  if (ctx.options.json) {
    ctx.out << ToJson(*response);
  } else {
    PrintUser(ctx, response->user());
  }
  return 0;
}

const char* StatusText(int status) {
  return v1::MessageStatus_Name(static_cast<v1::MessageStatus>(status))
      .c_str() + sizeof("MESSAGE_STATUS_") - 1;
}

void PrintMessage(Context& ctx, const v1::Message& m) {
  ctx.out << m.id() << "  " << StatusText(m.status()) << "  "
          << (m.direction() == v1::MESSAGE_DIRECTION_INBOUND ? "in " : "out")
          << "  " << m.from() << " -> " << m.to() << "  "
          << FormatTime(m.create_time());
  if (!m.provider_sid().empty()) ctx.out << "  " << m.provider_sid();
  if (m.has_scheduled_time()) {
    ctx.out << "  scheduled " << FormatTime(m.scheduled_time());
  }
  if (m.error_code() != 0) {
    ctx.out << "  error " << m.error_code() << ": " << m.error_message();
  }
  ctx.out << "\n    " << m.body() << "\n";
}

int Send(Context& ctx) {
  if (ctx.options.to.empty() ||
      (ctx.options.body.empty() && ctx.options.media_urls.empty())) {
    return UsageError(ctx, "send needs --to and --body (or --media)");
  }
  auto client = Connect(ctx.options, /*with_token=*/true);
  if (!client.ok()) return Refused(ctx, client.status());
  v1::SendMessageRequest request;
  request.set_to(ctx.options.to);
  request.set_body(ctx.options.body);
  request.set_from(ctx.options.from);
  request.set_conversation_id(ctx.options.conversation);
  for (const std::string& url : ctx.options.media_urls) {
    request.add_media_urls(url);
  }
  request.set_idempotency_key(ctx.options.idempotency_key);
  request.set_validate_only(ctx.options.validate_only);
  if (!ctx.options.at.empty()) {
    absl::StatusOr<absl::Time> at = ParseSendAt(ctx.options.at, absl::Now());
    if (!at.ok()) return UsageError(ctx, at.status().message());
    request.mutable_send_at()->set_seconds(absl::ToUnixSeconds(*at));
  }
  if (!ctx.options.validity.empty()) {
    absl::Duration validity;
    if (!absl::ParseDuration(ctx.options.validity, &validity) ||
        validity <= absl::ZeroDuration()) {
      return UsageError(ctx, "--validity must be a duration like 30m or 2h");
    }
    request.mutable_validity_period()->set_seconds(
        absl::ToInt64Seconds(validity));
    request.mutable_validity_period()->set_nanos(static_cast<int32_t>(
        absl::ToInt64Nanoseconds(validity % absl::Seconds(1))));
  }
  if (!ctx.options.priority.empty()) {
    const std::string name = absl::AsciiStrToUpper(ctx.options.priority);
    v1::MessagePriority priority;
    if (!v1::MessagePriority_Parse("MESSAGE_PRIORITY_" + name, &priority) ||
        priority == v1::MESSAGE_PRIORITY_UNSPECIFIED) {
      return UsageError(ctx, "--priority must be bulk, normal or high");
    }
    request.set_priority(priority);
  }
  if (ctx.options.ignore_quiet_hours) request.set_respect_quiet_hours(false);
  auto response = (*client)->SendMessage(request);
  if (!response.ok()) return Refused(ctx, response.status());
  if (ctx.options.json) {
    ctx.out << ToJson(*response);
    return 0;
  }
  const v1::Message& m = response->message();
  if (ctx.options.validate_only) {
    ctx.out << "valid: to " << m.to() << ", "
            << (m.encoding() == v1::MESSAGE_ENCODING_UCS2 ? "UCS-2" : "GSM-7")
            << ", " << m.num_segments() << " segment(s)";
    if (m.has_scheduled_time()) {
      ctx.out << "; would be scheduled for " << FormatTime(m.scheduled_time());
    }
    if (response->non_gsm_characters_size() > 0) {
      ctx.out << "; UCS-2 because of:";
      for (const std::string& c : response->non_gsm_characters()) {
        ctx.out << " " << c;
      }
    }
    ctx.out << "\n";
    return 0;
  }
  if (response->idempotent_replay()) ctx.out << "(idempotent replay)\n";
  PrintMessage(ctx, m);
  return 0;
}

int Messages(Context& ctx) {
  auto client = Connect(ctx.options, /*with_token=*/true);
  if (!client.ok()) return Refused(ctx, client.status());
  if (ctx.args.size() >= 2 && ctx.args[1] == "get") {
    if (ctx.args.size() != 3) return UsageError(ctx, "messages get ID");
    auto response = (*client)->GetMessage(ctx.args[2], ctx.options.events);
    if (!response.ok()) return Refused(ctx, response.status());
    if (ctx.options.json) {
      ctx.out << ToJson(*response);
      return 0;
    }
    PrintMessage(ctx, response->message());
    for (const v1::DeliveryReport& r : response->events()) {
      ctx.out << "    " << FormatTime(r.event_time()) << "  "
              << StatusText(r.status()) << "  " << r.provider_status()
              << (r.applied() ? "" : "  (not applied)");
      if (r.error_code() != 0) ctx.out << "  error " << r.error_code();
      ctx.out << "\n";
    }
    return 0;
  }
  if (ctx.args.size() >= 2 && ctx.args[1] != "list") {
    return UsageError(ctx, "messages [list|get ID]");
  }
  v1::ListMessagesRequest request;
  request.set_conversation_id(ctx.options.conversation);
  request.set_peer_number(ctx.options.peer);
  request.set_query(ctx.options.query);
  request.set_page_size(ctx.options.limit);
  auto response = (*client)->ListMessages(request);
  if (!response.ok()) return Refused(ctx, response.status());
  if (ctx.options.json) {
    ctx.out << ToJson(*response);
    return 0;
  }
  if (response->messages().empty()) ctx.out << "no messages\n";
  for (const v1::Message& m : response->messages()) PrintMessage(ctx, m);
  return 0;
}

int Conversations(Context& ctx) {
  auto client = Connect(ctx.options, /*with_token=*/true);
  if (!client.ok()) return Refused(ctx, client.status());
  v1::ListConversationsRequest request;
  request.set_page_size(ctx.options.limit);
  auto response = (*client)->ListConversations(request);
  if (!response.ok()) return Refused(ctx, response.status());
  if (ctx.options.json) {
    ctx.out << ToJson(*response);
    return 0;
  }
  if (response->conversations().empty()) ctx.out << "no conversations\n";
  for (const v1::Conversation& c : response->conversations()) {
    ctx.out << c.id() << "  peer " << c.peer_number() << "  "
            << c.message_count() << " message(s), last "
            << FormatTime(c.update_time()) << ": "
            << c.last_message().body().substr(0, 60) << "\n";
  }
  return 0;
}

// `smsgw cancel ID`: stops a scheduled send.
int Cancel(Context& ctx) {
  if (ctx.args.size() != 2) return UsageError(ctx, "cancel ID");
  auto client = Connect(ctx.options, /*with_token=*/true);
  if (!client.ok()) return Refused(ctx, client.status());
  auto response = (*client)->CancelMessage(ctx.args[1]);
  if (!response.ok()) return Refused(ctx, response.status());
  if (ctx.options.json) {
    ctx.out << ToJson(*response);
    return 0;
  }
  PrintMessage(ctx, response->message());
  return 0;
}

int Delete(Context& ctx) {
  auto client = Connect(ctx.options, /*with_token=*/true);
  if (!client.ok()) return Refused(ctx, client.status());
  if (ctx.args.size() == 2) {
    absl::Status deleted = (*client)->DeleteMessage(ctx.args[1]).status();
    if (!deleted.ok()) return Refused(ctx, deleted);
    ctx.out << "deleted 1 message\n";
    return 0;
  }
  if (ctx.args.size() != 1 || ctx.options.conversation.empty()) {
    return UsageError(ctx, "delete ID, or delete --conversation ID");
  }
  v1::DeleteMessagesRequest request;
  request.set_conversation_id(ctx.options.conversation);
  auto response = (*client)->DeleteMessages(request);
  if (!response.ok()) return Refused(ctx, response.status());
  ctx.out << "deleted " << response->deleted_count() << " message(s)\n";
  return 0;
}

// `smsgw sim outbox`: what the simulator "sent", read through Twilio's own
// Messages list API with the real REST client.
int SimOutbox(Context& ctx) {
  twilio::TwilioSimulator::Options defaults;
  twilio::TwilioRestClient::Options options;
  options.api_base = ctx.options.simulator_url;
  options.account_sid = defaults.account_sid;
  options.auth_token = defaults.auth_token;
  options.total_timeout = ctx.options.timeout;
  auto client = twilio::TwilioRestClient::Create(options);
  if (!client.ok()) return Refused(ctx, client.status());
  twilio::ListFilter filter;
  filter.to = ctx.options.to;
  auto messages = (*client)->List(filter, ctx.options.limit);
  if (!messages.ok()) return Refused(ctx, messages.status());
  if (messages->empty()) ctx.out << "the simulator has sent nothing yet\n";
  for (const twilio::ProviderMessage& m : *messages) {
    ctx.out << m.sid << "  " << m.status << "  " << m.from << " -> " << m.to
            << "\n    " << m.body << "\n";
  }
  return 0;
}

// The first line of `text`, at most 200 bytes, for one-line errors.
std::string OneLine(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  text = text.substr(0, text.find_first_of("\r\n"));
  if (text.size() > 200) return absl::StrCat(text.substr(0, 200), "...");
  return std::string(text);
}

// An HTTP client for the simulator at --sim ("http://host:port", loopback
// plain HTTP: the simulator never serves TLS).
absl::StatusOr<std::unique_ptr<httplib::Client>> SimulatorHttpClient(
    const CliOptions& options) {
  absl::string_view url = options.simulator_url;
  while (absl::ConsumeSuffix(&url, "/")) {
  }
  absl::string_view authority = url;
  if (!absl::ConsumePrefix(&authority, "http://") || authority.empty() ||
      authority.find_first_of("/?#") != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--sim must be http://HOST:PORT, got \"", options.simulator_url, "\""));
  }
  auto client = std::make_unique<httplib::Client>(std::string(url));
  const auto timeout = absl::ToChronoMicroseconds(options.timeout);
  client->set_connection_timeout(timeout);
  client->set_read_timeout(timeout);
  client->set_write_timeout(timeout);
  twilio::TwilioSimulator::Options defaults;
  client->set_basic_auth(defaults.account_sid.c_str(),
                         defaults.auth_token.c_str());
  return client;
}

// `smsgw sim inbound`: a message arrives at one of the simulated numbers;
// the simulator posts the signed inbound webhook and reports its answer.
int SimInbound(Context& ctx) {
  const CliOptions& o = ctx.options;
  if (o.from.empty() || o.to.empty() ||
      (o.body.empty() && o.media_urls.empty())) {
    return UsageError(ctx,
                      "sim inbound needs --from, --to and --body (or --media)");
  }
  auto client = SimulatorHttpClient(o);
  if (!client.ok()) return UsageError(ctx, client.status().message());
  nlohmann::json request = {{"from", o.from},
                            {"to", o.to},
                            {"body", o.body},
                            {"media_urls", o.media_urls}};
  httplib::Result result = (*client)->Post(
      "/sim/v1/inbound",
      request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
      "application/json");
  if (!result) {
    return Refused(ctx, absl::UnavailableError(absl::StrCat(
                            "no simulator at ", o.simulator_url, ": ",
                            httplib::to_string(result.error()),
                            " (start one with `smsgw sim serve` or "
                            "smsgw-server without TWILIO_ACCOUNT_SID)")));
  }
  nlohmann::json answer =
      nlohmann::json::parse(result->body, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object()) {
    return Refused(ctx, absl::UnknownError(absl::StrCat(
                            o.simulator_url, " answered HTTP ", result->status,
                            " without JSON; is it a smsgw "
                            "simulator?")));
  }
  if (result->status != 200) {
    std::string reason = OneLine(answer.value("error", ""));
    if (answer.contains("message_sid")) {
      absl::StrAppend(&reason, " (", answer.value("message_sid", ""),
                      " stays stored)");
    }
    absl::StatusCode code =
        result->status == 400   ? absl::StatusCode::kInvalidArgument
        : result->status == 401 ? absl::StatusCode::kUnauthenticated
        : result->status == 409 ? absl::StatusCode::kFailedPrecondition
        : result->status == 502 ? absl::StatusCode::kUnavailable
                                : absl::StatusCode::kUnknown;
    return Refused(ctx, absl::Status(code, reason));
  }
  const std::string sid = answer.value("message_sid", "");
  const int webhook_status = answer.value("webhook_status", 0);
  const std::string webhook_body = answer.value("webhook_body", "");
  if (o.json) {
    ctx.out << answer.dump(2, ' ', false,
                           nlohmann::json::error_handler_t::replace)
            << "\n";
  } else {
    ctx.out << "MessageSid " << sid << "\n"
            << "webhook " << answer.value("webhook_url", "")
            << " answered HTTP " << webhook_status;
    const std::string type = answer.value("webhook_content_type", "");
    if (!type.empty()) ctx.out << " (" << type << ")";
    ctx.out << "\n";
    for (absl::string_view line :
         absl::StrSplit(webhook_body, '\n', absl::SkipWhitespace())) {
      ctx.out << "    " << line << "\n";
    }
  }
  if (webhook_status < 200 || webhook_status > 299) {
    ctx.err << "smsgw: inbound webhook answered HTTP " << webhook_status
            << " for " << sid;
    if (std::string first = OneLine(webhook_body); !first.empty()) {
      ctx.err << ": " << first;
    }
    ctx.err << "\n";
    return 1;
  }
  return 0;
}

bool IsE164Number(absl::string_view s) {
  return s.size() >= 3 && s.size() <= 16 && s[0] == '+' && s[1] != '0' &&
         std::all_of(s.begin() + 1, s.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

// `smsgw sim serve`: a standalone simulator in the foreground until SIGINT or
// SIGTERM, for pointing a server (TWILIO_API_BASE) or another program at.
int SimServe(Context& ctx) {
  const CliOptions& o = ctx.options;
  twilio::TwilioSimulator::Options options;
  if (o.sim_port < 0 || o.sim_port > 65535) {
    return UsageError(ctx, "--port must be 0..65535");
  }
  options.port = o.sim_port;
  if (!o.sim_webhook.empty() && !absl::StartsWith(o.sim_webhook, "http://") &&
      !absl::StartsWith(o.sim_webhook, "https://")) {
    return UsageError(ctx, "--webhook must be an http(s) URL");
  }
  options.inbound_webhook_url = o.sim_webhook;
  for (const std::string& number : o.sim_numbers) {
    if (!IsE164Number(number)) {
      return UsageError(ctx, absl::StrCat("--numbers: \"", number,
                                          "\" is not E.164 (+14155550100)"));
    }
  }
  if (!o.sim_numbers.empty()) options.phone_numbers = o.sim_numbers;
  const std::string token = options.auth_token;
  options.signer = [token](const std::string& url,
                           const twilio::TwilioSimulator::Params& params) {
    return twilio::ComputeTwilioSignature(token, url, params);
  };

  // Blocked before the simulator's threads exist so that they inherit the
  // mask and sigwait() below is the only taker of the signal.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &stop_signals, &previous);

  twilio::TwilioSimulator simulator(options);
  absl::Status started = simulator.Start();
  if (!started.ok()) {
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return Refused(ctx, absl::Status(started.code(),
                                     absl::StrCat(started.message(),
                                                  " (is another simulator or "
                                                  "smsgw-server running? try "
                                                  "--port)")));
  }
  // The first line carries the bound URL, for scripts using --port 0.
  ctx.out << "Twilio simulator listening on " << simulator.base_url()
          << " (Ctrl-C to stop)\n"
          << "  TWILIO_API_BASE=" << simulator.base_url() << "\n"
          << "  TWILIO_ACCOUNT_SID=" << simulator.account_sid() << "\n"
          << "  TWILIO_AUTH_TOKEN=" << simulator.auth_token() << "\n"
          << "  TWILIO_PHONE_NUMBERS="
          << absl::StrJoin(options.phone_numbers, ",") << "\n"
          << "  inbound webhook: "
          << (options.inbound_webhook_url.empty()
                  ? "none (`sim inbound` is refused)"
                  : options.inbound_webhook_url)
          << "\n";
  ctx.out.flush();

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  simulator.Stop();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  ctx.out << "stopped (" << (signal_number == SIGINT ? "SIGINT" : "SIGTERM")
          << ")\n";
  return 0;
}

int Sim(Context& ctx) {
  const std::string sub = ctx.args.size() >= 2 ? ctx.args[1] : "";
  if (ctx.args.size() == 2 && sub == "outbox") return SimOutbox(ctx);
  if (ctx.args.size() == 2 && sub == "inbound") return SimInbound(ctx);
  if (ctx.args.size() == 2 && sub == "serve") return SimServe(ctx);
  return UsageError(
      ctx,
      "sim serve [--port P] [--webhook URL] [--numbers N,...] | "
      "sim inbound --from N --to N --body TEXT [--media URL,...] | "
      "sim outbox [--to N] (with --sim URL)");
}

void PrintStatusCounts(
    Context& ctx,
    const google::protobuf::RepeatedPtrField<v1::StatusCount>& counts) {
  bool first = true;
  for (const v1::StatusCount& c : counts) {
    ctx.out << (first ? "" : ", ") << StatusText(c.status()) << " "
            << c.count();
    first = false;
  }
  if (first) ctx.out << "-";
}

// `smsgw stats`: counts by status and UTC day, delivery rate, segments and
// price of the caller's messages (or --username's, for admins).
int Stats(Context& ctx) {
  if (ctx.args.size() != 1) return UsageError(ctx, "stats takes no arguments");
  const CliOptions& o = ctx.options;
  if (!o.since.empty() && !o.start.empty()) {
    return UsageError(ctx, "stats: give --since or --start, not both");
  }
  v1::GetMessageStatsRequest request;
  request.set_username(o.username);
  absl::Time end = absl::Now();
  if (!o.end.empty()) {
    absl::StatusOr<absl::Time> t = ParseInstant(o.end);
    if (!t.ok()) {
      return UsageError(ctx, absl::StrCat("--end: ", t.status().message()));
    }
    end = *t;
    request.mutable_end_time()->set_seconds(absl::ToUnixSeconds(end));
  }
  if (!o.since.empty()) {
    absl::StatusOr<absl::Duration> since = ParseSince(o.since);
    if (!since.ok()) return UsageError(ctx, since.status().message());
    // Whole seconds: the server's window is [start, end).
    request.mutable_start_time()->set_seconds(
        absl::ToUnixSeconds(end - *since));
  }
  if (!o.start.empty()) {
    absl::StatusOr<absl::Time> t = ParseInstant(o.start);
    if (!t.ok()) {
      return UsageError(ctx, absl::StrCat("--start: ", t.status().message()));
    }
    request.mutable_start_time()->set_seconds(absl::ToUnixSeconds(*t));
  }
  auto client = Connect(o, /*with_token=*/true);
  if (!client.ok()) return Refused(ctx, client.status());
  auto response = (*client)->GetMessageStats(request);
  if (!response.ok()) return Refused(ctx, response.status());
  if (o.json) {
    ctx.out << ToJson(*response);
    return 0;
  }
  ctx.out << "messages: " << response->outbound_count() << " out, "
          << response->inbound_count() << " in; " << response->total_segments()
          << " segment(s) sent\n";
  ctx.out << "delivery rate: "
          << absl::StrFormat("%.1f%%", 100.0 * response->delivery_rate())
          << "\n";
  ctx.out << "price: " << response->total_price()
          << (response->price_unit().empty() ? "" : " ")
          << response->price_unit() << "\n";
  ctx.out << "by status: ";
  PrintStatusCounts(ctx, response->status_counts());
  ctx.out << "\n";
  for (const v1::DailyStats& day : response->days()) {
    ctx.out << day.date() << "  out " << day.outbound_count() << "  in "
            << day.inbound_count() << "  segments " << day.total_segments()
            << "  ";
    PrintStatusCounts(ctx, day.status_counts());
    ctx.out << "\n";
  }
  return 0;
}

// --- watch ---

std::string OneLineJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, print);
  return json;
}

const char* EventTypeText(v1::MessageEventType type) {
  switch (type) {
    case v1::MESSAGE_EVENT_TYPE_CREATED:
      return "CREATED";
    case v1::MESSAGE_EVENT_TYPE_INBOUND:
      return "INBOUND";
    case v1::MESSAGE_EVENT_TYPE_STATUS_CHANGED:
      return "STATUS_CHANGED";
    case v1::MESSAGE_EVENT_TYPE_DELETED:
      return "DELETED";
    default:
      return "UNSPECIFIED";
  }
}

// `smsgw watch`: one line per event until interrupted (or --max_events).
// A stream the server ends (too slow, shutting down) exits 1 with the
// server's message, which names the cursor to pass as --after.
int Watch(Context& ctx) {
  if (ctx.args.size() != 1) {
    return UsageError(ctx, "watch [--conversation ID] [--after CURSOR]");
  }
  if (ctx.options.max_events < 0) {
    return UsageError(ctx, "--max_events must not be negative");
  }
  auto client = Connect(ctx.options, /*with_token=*/true);
  if (!client.ok()) return Refused(ctx, client.status());
  v1::WatchMessagesRequest request;
  request.set_conversation_id(ctx.options.conversation);
  request.set_after_cursor(ctx.options.after);
  // A watch has no deadline: --timeout bounds single calls, not a stream.
  std::unique_ptr<::grpc::ClientContext> context = (*client)->NewContext();
  context->set_deadline(std::chrono::system_clock::time_point::max());
  std::unique_ptr<::grpc::ClientReader<v1::WatchMessagesResponse>> reader =
      (*client)->messaging()->WatchMessages(context.get(), request);
  v1::WatchMessagesResponse response;
  int64_t seen = 0;
  while ((ctx.options.max_events == 0 || seen < ctx.options.max_events) &&
         reader->Read(&response)) {
    ++seen;
    const v1::MessageEvent& e = response.event();
    if (ctx.options.json) {
      ctx.out << OneLineJson(e) << std::endl;
      continue;
    }
    const v1::Message& m = e.message();
    ctx.out << e.cursor() << "  " << EventTypeText(e.type()) << "  " << m.id()
            << "  " << StatusText(m.status());
    if (e.type() == v1::MESSAGE_EVENT_TYPE_DELETED) {
      ctx.out << "  conversation " << m.conversation_id();
    } else {
      ctx.out << "  " << m.from() << " -> " << m.to() << "  " << m.body();
    }
    ctx.out << std::endl;  // flushed: the output is often a pipe
  }
  if (ctx.options.max_events != 0 && seen >= ctx.options.max_events) {
    context->TryCancel();
    (void)reader->Finish();
    return 0;
  }
  absl::Status status = client::FromGrpcStatus(reader->Finish());
  if (!status.ok()) return Refused(ctx, status);
  return 0;
}

// --- verify / groups ---

// `smsgw verify start [--phone N]` and `smsgw verify confirm --code C`.
int Verify(Context& ctx) {
  const std::string sub = ctx.args.size() == 2 ? ctx.args[1] : "";
  if (sub != "start" && sub != "confirm") {
    return UsageError(ctx, "verify start [--phone N] | verify confirm --code C");
  }
  if (sub == "confirm" && ctx.options.code.empty()) {
    return UsageError(ctx, "verify confirm needs --code (the 6 digits received)");
  }
  auto client = Connect(ctx.options, /*with_token=*/true);
  if (!client.ok()) return Refused(ctx, client.status());
  if (sub == "start") {
    auto response = (*client)->StartPhoneVerification(ctx.options.phone);
    if (!response.ok()) return Refused(ctx, response.status());
    if (ctx.options.json) {
      ctx.out << ToJson(*response);
      return 0;
    }
    ctx.out << "code sent by SMS to " << response->phone_number()
            << "; valid until " << FormatTime(response->expire_time())
            << "\nthen run: smsgw verify confirm --code CODE\n";
    return 0;
  }
  auto response = (*client)->ConfirmPhoneVerification(ctx.options.code);
  if (!response.ok()) return Refused(ctx, response.status());
  if (ctx.options.json) {
    ctx.out << ToJson(*response);
    return 0;
  }
  ctx.out << "phone " << response->user().phone_number() << " verified\n";
  return 0;
}

int PrintJson(Context& ctx, const google::protobuf::Message& message) {
  ctx.out << ToJson(message);
  return 0;
}

void PrintGroupLine(Context& ctx, const v1::Group& g) {
  ctx.out << g.name() << "  " << g.member_count() << " member(s)"
          << "  your number " << (g.proxy_number().empty() ? "-" : g.proxy_number())
          << "\n";
}

void PrintGroup(Context& ctx, const v1::Group& g) {
  ctx.out << "group: " << g.name() << "\n";
  if (!g.description().empty()) {
    ctx.out << "description: " << g.description() << "\n";
  }
  ctx.out << "created: " << FormatTime(g.create_time()) << "\n"
          << "your number: "
          << (g.proxy_number().empty() ? "-" : g.proxy_number())
          << "  (text it from your verified phone to post to the group)\n"
          << "members (" << g.member_count() << "):\n";
  for (const v1::GroupMember& m : g.members()) {
    ctx.out << "  " << m.username() << "  " << m.masked_phone() << "  joined "
            << FormatTime(m.join_time()) << "\n";
  }
}

// `smsgw groups create|join|leave|list|show|send|messages`.
int Groups(Context& ctx) {
  const std::vector<std::string>& a = ctx.args;
  const std::string sub = a.size() >= 2 ? a[1] : "list";
  constexpr absl::string_view kUsage =
      "groups create NAME [--description D] | join NAME | leave NAME | list | "
      "show NAME | send NAME --body TEXT | messages NAME";
  const bool named = sub == "create" || sub == "join" || sub == "leave" ||
                     sub == "show" || sub == "send" || sub == "messages";
  if (sub == "list" ? a.size() > 2 : (!named || a.size() != 3)) {
    return UsageError(ctx, kUsage);
  }
  if (sub == "send" && ctx.options.body.empty()) {
    return UsageError(ctx, "groups send NAME needs --body");
  }
  const std::string name = named ? a[2] : "";
  auto client = Connect(ctx.options, /*with_token=*/true);
  if (!client.ok()) return Refused(ctx, client.status());
  client::SmsgwClient& c = **client;
  const bool json = ctx.options.json;

  if (sub == "create" || sub == "join") {
    v1::Group group;
    std::string proxy;
    if (sub == "create") {
      auto r = c.CreateGroup(name, ctx.options.description);
      if (!r.ok()) return Refused(ctx, r.status());
      if (json) return PrintJson(ctx, *r);
      group = r->group();
      proxy = group.proxy_number();
    } else {
      auto r = c.JoinGroup(name);
      if (!r.ok()) return Refused(ctx, r.status());
      if (json) return PrintJson(ctx, *r);
      group = r->membership().group();
      proxy = r->membership().proxy_number();
    }
    ctx.out << (sub == "create" ? "created" : "joined") << " group "
            << group.name() << " (" << group.member_count()
            << " member(s)); your number for it: " << proxy
            << "\ntext " << proxy
            << " from your verified phone to post to the group\n";
    return 0;
  }
  if (sub == "leave") {
    auto r = c.LeaveGroup(name);
    if (!r.ok()) return Refused(ctx, r.status());
    if (json) return PrintJson(ctx, *r);
    ctx.out << "left group " << name << "\n";
    return 0;
  }
  if (sub == "list") {
    v1::ListGroupsRequest request;
    request.set_page_size(ctx.options.limit);
    auto r = c.ListGroups(request);
    if (!r.ok()) return Refused(ctx, r.status());
    if (json) return PrintJson(ctx, *r);
    if (r->groups().empty()) ctx.out << "you are in no group\n";
    for (const v1::Group& g : r->groups()) PrintGroupLine(ctx, g);
    return 0;
  }
  if (sub == "show") {
    auto r = c.GetGroup(name);
    if (!r.ok()) return Refused(ctx, r.status());
    if (json) return PrintJson(ctx, *r);
    PrintGroup(ctx, r->group());
    return 0;
  }
  if (sub == "send") {
    v1::SendGroupMessageRequest request;
    request.set_name(name);
    request.set_body(ctx.options.body);
    request.set_idempotency_key(ctx.options.idempotency_key);
    if (ctx.options.ignore_quiet_hours) request.set_respect_quiet_hours(false);
    auto r = c.SendGroupMessage(request);
    if (!r.ok()) return Refused(ctx, r.status());
    if (json) return PrintJson(ctx, *r);
    ctx.out << "posted " << r->message().id() << " to " << r->message().group_name()
            << "\n";
    if (r->deliveries().empty()) ctx.out << "  (no other members)\n";
    for (const v1::GroupDelivery& d : r->deliveries()) {
      ctx.out << "  " << d.username() << "  ";
      if (d.skipped()) {
        ctx.out << "skipped: " << d.skip_reason() << "\n";
      } else {
        ctx.out << StatusText(d.message().status()) << "  "
                << d.message().from() << " -> " << d.message().to() << "\n";
      }
    }
    return 0;
  }
  // messages
  v1::ListGroupMessagesRequest request;
  request.set_name(name);
  request.set_page_size(ctx.options.limit);
  auto r = c.ListGroupMessages(request);
  if (!r.ok()) return Refused(ctx, r.status());
  if (json) return PrintJson(ctx, *r);
  if (r->messages().empty()) ctx.out << "no messages\n";
  for (const v1::Message& m : r->messages()) {
    ctx.out << FormatTime(m.create_time()) << "  " << m.owner_username()
            << (m.direction() == v1::MESSAGE_DIRECTION_INBOUND ? " (sms)"
                                                               : " (app)")
            << ": " << m.body() << "\n";
  }
  return 0;
}

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
