// Attack suite, secrets in logs (issue 9): a full run at the most verbose log
// level (sign-up with a known password, a failed and a good login, the
// access token in use, a phone verification code, Twilio credentials, a
// signed webhook), then the server's whole log is searched for every secret
// and the obvious encodings of them.
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/smsgw_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/attack/attack_helpers.h"
#include "tests/testing/fake_twilio_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_clients.h"

namespace smsgw::attack {
namespace {

using ::testing::HasSubstr;

constexpr char kPassword[] = "Pa55w0rd-unique-4711-zebra";
constexpr char kWrongPassword[] = "guessed-wrong-0815-okapi";
constexpr char kTwilioToken[] = "twilio-auth-token-secret-9c1e7f";
constexpr char kJwtKey[] = "jwt-signing-key-secret-0123456789abcdef";
constexpr char kPhone[] = "+14155550142";
constexpr char kOurNumber[] = "+15005550006";

// Whether `log` holds `digits` with no digit on either side.
bool HasNumber(const std::string& log, const std::string& digits) {
  for (size_t at = log.find(digits); at != std::string::npos;
       at = log.find(digits, at + 1)) {
    const bool digit_before = at > 0 && absl::ascii_isdigit(log[at - 1]);
    const size_t end = at + digits.size();
    const bool digit_after = end < log.size() && absl::ascii_isdigit(log[end]);
    if (!digit_before && !digit_after) return true;
  }
  return false;
}

TEST(SecretsInLogsAttackTest, NoSecretReachesTheLogAtDebugLevel) {
  testing::FakeTwilioServer twilio;
  testing::TempDir dir;
  auto server = StartServer(
      dir, {"--log_level=debug"},
      {{"TWILIO_ACCOUNT_SID", twilio.account_sid()},
       {"TWILIO_AUTH_TOKEN", kTwilioToken},
       {"TWILIO_API_BASE", twilio.base_url()},
       {"TWILIO_PHONE_NUMBERS", kOurNumber},
       {"JWT_SECRET_KEY", kJwtKey}});
  ASSERT_NE(server, nullptr);

  auto client = testing::ClientFor(*server);
  auto signed_up = client->SignUp("ann", kPassword, kPhone);
  ASSERT_THAT(signed_up, IsOk());
  EXPECT_THAT(client->Login("ann", kWrongPassword).status(),
              testing::StatusIs(absl::StatusCode::kUnauthenticated));
  auto login = client->Login("ann", kPassword);
  ASSERT_THAT(login, IsOk());
  const std::string token = login->access_token();
  client->set_access_token(token);
  // A forged token too: refused tokens must not be logged either.
  const std::string forged = absl::StrCat(
      token.substr(0, token.rfind('.')), ".forgedsignatureforgedsignature12");
  {
    auto other = testing::ClientFor(*server);
    other->set_access_token(forged);
    EXPECT_FALSE(other->GetCurrentUser().ok());
  }

  // Phone verification: the code travels in the SMS body to Twilio.
  ASSERT_THAT(client->StartPhoneVerification(""), IsOk());
  ASSERT_TRUE(twilio.WaitForRequests(1, absl::Seconds(10)));
  std::string code;
  for (const auto& request : twilio.requests()) {
    const std::string body = request.FormValue("Body");
    const size_t at = body.find("verification code is ");
    if (at != std::string::npos) code = body.substr(at + 21, 6);
  }
  ASSERT_EQ(code.size(), 6u);
  const std::string wrong_code = code == "000000" ? "111111" : "000000";
  EXPECT_FALSE(client->ConfirmPhoneVerification(wrong_code).ok());
  ASSERT_THAT(client->ConfirmPhoneVerification(code), IsOk());

  // An API key, used once and refused once (a scope it lacks).
  auto key = client->CreateApiKey("secrets test", {"messages:send"});
  ASSERT_THAT(key, IsOk());
  const std::string api_key = key->secret();
  {
    auto keyed = testing::ClientFor(*server);
    keyed->set_access_token(api_key);
    EXPECT_THAT(keyed->GetCurrentUser(), IsOk());
    EXPECT_THAT(keyed->ListApiKeys().status(),
                testing::StatusIs(absl::StatusCode::kPermissionDenied));
  }

  // Messages and a signed webhook.
  v1::SendMessageRequest send;
  send.set_to("+14155550199");
  send.set_body("hello from the secrets test");
  ASSERT_THAT(client->SendMessage(send), IsOk());
  twilio::FormParams inbound =
      InboundParams(NewSid(1), "+14155550199", kOurNumber, "reply");
  for (auto& [name, value] : inbound) {
    if (name == "AccountSid") value = twilio.account_sid();
  }
  const std::string signature =
      SignFor(*server, "/twilio/sms/inbound", inbound, kTwilioToken);
  EXPECT_EQ(PostWebhook(*server, "/twilio/sms/inbound",
                        twilio::EncodeForm(inbound), signature),
            200);
  EXPECT_EQ(PostWebhook(*server, "/twilio/sms/inbound",
                        twilio::EncodeForm(inbound), "bad-signature"),
            403);

  server->Stop(SIGTERM);
  const std::string log = server->ReadLog();
  // The run did log (at debug level), so an empty log cannot pass.
  ASSERT_THAT(log, HasSubstr("smsgw-server ready"));
  ASSERT_THAT(log, HasSubstr("shutdown:"));

  std::vector<std::string> parts = absl::StrSplit(token, '.');
  ASSERT_EQ(parts.size(), 3u);
  const std::vector<std::pair<std::string, std::string>> secrets = {
      {"password", kPassword},
      {"wrong password", kWrongPassword},
      {"access token", token},
      {"access token signature", parts[2]},
      {"forged token", forged},
      {"Twilio auth token", kTwilioToken},
      {"Twilio basic auth",
       absl::Base64Escape(absl::StrCat(twilio.account_sid(), ":", kTwilioToken))},
      {"JWT key", kJwtKey},
      {"webhook signature", signature},
      {"API key", api_key},
      {"API key without its prefix", api_key.substr(3)},
  };
  for (const auto& [what, secret] : secrets) {
    EXPECT_THAT(log, ::testing::Not(HasSubstr(secret))) << what << " is in the log";
  }
  EXPECT_FALSE(HasNumber(log, code)) << "verification code is in the log";
}

}  // namespace
}  // namespace smsgw::attack
