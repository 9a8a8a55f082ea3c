// The Twilio simulator: sim serve, sim inbound and sim outbox.
#include "client/cli/command_support.h"

#include <pthread.h>

#include <algorithm>
#include <csignal>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "server/simulator/simulator.h"
#include "server/twilio/twilio_rest_client.h"
#include "server/twilio/twilio_signature.h"

namespace smsgw::cli {
namespace {

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

}  // namespace

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

}  // namespace smsgw::cli
