// File: twilio_side.h
//
// Twilio's side of a real server, as tests play it: the webhooks Twilio posts
// to the server's HTTP port (the inbound SMS form, its X-Twilio-Signature,
// the POST itself), and a REST client reading the embedded simulator's outbox
// as a phone would. Signed by default with the simulator's built-in auth
// token, which is what the server checks signatures with when no Twilio
// account is set.
#ifndef SMSGW_TESTS_TESTING_TWILIO_SIDE_H_
#define SMSGW_TESTS_TESTING_TWILIO_SIDE_H_

#include <httplib.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/twilio/form_encoding.h"
#include "server/twilio/twilio_rest_client.h"
#include "tests/testing/server_process.h"

namespace smsgw::testing {

inline constexpr char kInboundPath[] = "/twilio/sms/inbound";
inline constexpr char kStatusPath[] = "/twilio/sms/status";

// The embedded simulator's account SID and auth token.
const std::string& SimulatorAccountSid();
const std::string& SimulatorAuthToken();

// A Twilio-style message SID made from `n` ("SM" and 32 digits).
std::string NewSid(int n);

// The inbound webhook form Twilio posts for an SMS `sid` from `from` to `to`
// (AccountSid: the simulator's).
twilio::FormParams InboundParams(const std::string& sid,
                                 const std::string& from, const std::string& to,
                                 const std::string& body);

// The X-Twilio-Signature of `params` posted to `path` on `server`.
std::string SignFor(const ServerProcess& server, const std::string& path,
                    const twilio::FormParams& params,
                    const std::string& auth_token = SimulatorAuthToken());

// Posts a raw `body` with `signature` (no header when empty) to `path` on the
// server's HTTP port (10 s read timeout); the response, which is empty
// (false) when none came.
httplib::Result PostForm(
    const ServerProcess& server, const std::string& path,
    const std::string& body, const std::string& signature,
    const std::string& content_type = "application/x-www-form-urlencoded");

// As PostForm; the HTTP status, or -1 when no response came.
int PostWebhook(
    const ServerProcess& server, const std::string& path,
    const std::string& body, const std::string& signature,
    const std::string& content_type = "application/x-www-form-urlencoded");

// Posts `params`, correctly signed, to `path`; the HTTP status or -1.
int PostSigned(const ServerProcess& server, const std::string& path,
               const twilio::FormParams& params);

// A REST client for the embedded simulator that a server started with
// --simulator_port=`port` serves, with the simulator's credentials; the
// client's Create error when it cannot be made.
absl::StatusOr<std::unique_ptr<twilio::TwilioRestClient>> SimulatorRestClient(
    int port);

// The newest phone verification code (6 characters) that `twilio` delivered
// to `phone` (from `from`, when not empty), polled for up to 10 s; "" when
// none came.
std::string ReadVerificationCode(twilio::TwilioRestClient& twilio,
                                 const std::string& phone,
                                 const std::string& from = "");

}  // namespace smsgw::testing

#endif  // SMSGW_TESTS_TESTING_TWILIO_SIDE_H_
