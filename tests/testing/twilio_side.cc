#include "tests/testing/twilio_side.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "server/simulator/simulator.h"
#include "server/twilio/twilio_signature.h"
#include "tests/testing/server_fixture.h"

namespace smsgw::testing {

const std::string& SimulatorAccountSid() {
  static const auto* sid =
      new std::string(twilio::TwilioSimulator::Options().account_sid);
  return *sid;
}

const std::string& SimulatorAuthToken() {
  static const auto* token =
      new std::string(twilio::TwilioSimulator::Options().auth_token);
  return *token;
}

std::string NewSid(int n) { return absl::StrFormat("SM%032d", n); }

twilio::FormParams InboundParams(const std::string& sid,
                                 const std::string& from, const std::string& to,
                                 const std::string& body) {
  return {
      {"AccountSid", SimulatorAccountSid()},
      {"ApiVersion", "2010-04-01"},
      {"Body", body},
      {"From", from},
      {"MessageSid", sid},
      {"NumMedia", "0"},
      {"NumSegments", "1"},
      {"SmsMessageSid", sid},
      {"SmsSid", sid},
      {"SmsStatus", "received"},
      {"To", to},
  };
}

std::string SignFor(const ServerProcess& server, const std::string& path,
                    const twilio::FormParams& params,
                    const std::string& auth_token) {
  return twilio::ComputeTwilioSignature(
      auth_token, absl::StrCat("http://", server.http_address(), path), params);
}

httplib::Result PostForm(const ServerProcess& server, const std::string& path,
                         const std::string& body, const std::string& signature,
                         const std::string& content_type) {
  auto [host, port] = HostPort(server.http_address());
  httplib::Client http(host, port);
  http.set_read_timeout(10, 0);
  httplib::Headers headers;
  if (!signature.empty()) headers.emplace("X-Twilio-Signature", signature);
  return http.Post(path.c_str(), headers, body, content_type.c_str());
}

int PostWebhook(const ServerProcess& server, const std::string& path,
                const std::string& body, const std::string& signature,
                const std::string& content_type) {
  auto result = PostForm(server, path, body, signature, content_type);
  return result ? result->status : -1;
}

int PostSigned(const ServerProcess& server, const std::string& path,
               const twilio::FormParams& params) {
  return PostWebhook(server, path, twilio::EncodeForm(params),
                     SignFor(server, path, params));
}

absl::StatusOr<std::unique_ptr<twilio::TwilioRestClient>> SimulatorRestClient(
    int port) {
  twilio::TwilioRestClient::Options rest;
  rest.api_base = absl::StrCat("http://127.0.0.1:", port);
  rest.account_sid = SimulatorAccountSid();
  rest.auth_token = SimulatorAuthToken();
  return twilio::TwilioRestClient::Create(rest);
}

std::string ReadVerificationCode(twilio::TwilioRestClient& twilio,
                                 const std::string& phone,
                                 const std::string& from) {
  const std::string prefix = "verification code is ";
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    twilio::ListFilter filter;
    filter.to = phone;
    filter.from = from;
    auto listed = twilio.List(filter, 200);  // newest first
    if (listed.ok()) {
      for (const auto& m : *listed) {
        const size_t at = m.body.find(prefix);
        if (at != std::string::npos)
          return m.body.substr(at + prefix.size(), 6);
      }
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return "";
}

}  // namespace smsgw::testing
