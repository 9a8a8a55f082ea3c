// Attack suite, SMS pumping (issue 18): a bot signs up accounts from one
// address, each with a UK mobile number of one range, and asks for a
// verification code for each — the toll-fraud pattern where the range's
// operator shares the termination fee. The same 30-account attack runs with
// the server's default limits, with one gate lifted at a time, and with both
// lifted (what the server did before issue 18), and prints the figures; a
// positive control shows ordinary sign-ups and verifications pass.
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/smsgw_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/attack/attack_helpers.h"
#include "tests/testing/server_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_clients.h"

namespace smsgw::attack {
namespace {

using ::testing::HasSubstr;

constexpr int kAttempts = 30;
constexpr char kOff[] = "1000000";

// The server's defaults for the abuse limits, spelled out: the test server
// harness lifts them unless a test names them.
std::map<std::string, std::string> Defaults() {
  return {{"SMSGW_SIGNUP_PEER_MAX", "10"},
          {"SMSGW_SIGNUP_MAX", "200"},
          {"SMSGW_VERIFY_MAX_PER_PREFIX_PER_HOUR", "5"},
          {"SMSGW_VERIFY_MAX_PER_COUNTRY_PER_HOUR", "50"},
          {"SMSGW_VERIFY_MAX_PER_HOUR", "200"}};
}

struct Outcome {
  int signups = 0;
  int codes = 0;
  absl::Status last_signup_error;
  absl::Status last_code_error;
};

class SmsPumpingAttackTest : public testing::ServerTest {
 protected:
  // The attack: kAttempts sign-ups from 127.0.0.1, each with the next
  // number of +44 7400 900xxx, each followed by StartPhoneVerification.
  Outcome Attack(const std::string& user_prefix = "bot") {
    Outcome out;
    for (int i = 0; i < kAttempts; ++i) {
      auto bot = testing::ClientFor(*server_);
      const std::string phone =
          absl::StrCat("+447400900", i < 10 ? "00" : "0", i);
      auto signed_up = bot->SignUp(absl::StrCat(user_prefix, i),
                                   testing::kTestPassword, phone);
      if (!signed_up.ok()) {
        out.last_signup_error = signed_up.status();
        continue;
      }
      ++out.signups;
      bot->set_access_token(signed_up->access_token());
      auto code = bot->StartPhoneVerification("");
      if (code.ok()) {
        ++out.codes;
      } else {
        out.last_code_error = code.status();
      }
    }
    return out;
  }

  static void Report(const std::string& setup, const Outcome& o) {
    std::cout << "sms pumping, " << setup << ": sign-ups " << o.signups << "/"
              << kAttempts << ", verification codes sent " << o.codes << "/"
              << kAttempts << std::endl;
  }
};

TEST_F(SmsPumpingAttackTest, DefaultLimitsStopTheAttack) {
  ASSERT_NO_FATAL_FAILURE(StartServer(Defaults()));
  const Outcome o = Attack();
  Report("default limits", o);
  EXPECT_EQ(o.signups, 10);  // SMSGW_SIGNUP_PEER_MAX
  EXPECT_EQ(o.codes, 5);     // SMSGW_VERIFY_MAX_PER_PREFIX_PER_HOUR
  EXPECT_THAT(o.last_signup_error,
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("too many sign-ups from your address: at "
                                 "most 10 per hour")));
  const int retry = RetrySeconds(o.last_signup_error);
  EXPECT_GT(retry, 3000) << o.last_signup_error;
  EXPECT_LE(retry, 3600) << o.last_signup_error;
  EXPECT_THAT(o.last_code_error,
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("numbers starting with this prefix +447400")));
  EXPECT_GT(RetrySeconds(o.last_code_error), 0);
  // Refused sign-ups stored nothing; refused codes sent nothing.
  EXPECT_EQ(Rows("users"), 10);
  EXPECT_EQ(Rows("messages"), 5);
  // The server logs the prefix it refused.
  EXPECT_THAT(server_->ReadLog(),
              HasSubstr("verification refused (pumping guard) "
                        "prefix=+447400 country=GB"));
}

TEST_F(SmsPumpingAttackTest, VerificationGuardAloneStopsTheCodes) {
  std::map<std::string, std::string> env = Defaults();
  env["SMSGW_SIGNUP_PEER_MAX"] = kOff;
  env["SMSGW_SIGNUP_MAX"] = kOff;
  ASSERT_NO_FATAL_FAILURE(StartServer(env));
  const Outcome o = Attack();
  Report("sign-up throttle lifted, verification guard on", o);
  EXPECT_EQ(o.signups, kAttempts);
  EXPECT_EQ(o.codes, 5);
  EXPECT_EQ(Rows("messages"), 5);
}

TEST_F(SmsPumpingAttackTest, SignupThrottleAloneStopsTheAccounts) {
  std::map<std::string, std::string> env = Defaults();
  env["SMSGW_VERIFY_MAX_PER_PREFIX_PER_HOUR"] = kOff;
  env["SMSGW_VERIFY_MAX_PER_COUNTRY_PER_HOUR"] = kOff;
  env["SMSGW_VERIFY_MAX_PER_HOUR"] = kOff;
  ASSERT_NO_FATAL_FAILURE(StartServer(env));
  const Outcome o = Attack();
  Report("verification guard lifted, sign-up throttle on", o);
  EXPECT_EQ(o.signups, 10);
  EXPECT_EQ(o.codes, 10);
}

TEST_F(SmsPumpingAttackTest, WithoutTheGuardEveryCodeGoesOut) {
  // What the server did before issue 18: 30 of 30.
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const Outcome o = Attack();
  Report("all limits lifted (no guard)", o);
  EXPECT_EQ(o.signups, kAttempts);
  EXPECT_EQ(o.codes, kAttempts);
}

TEST_F(SmsPumpingAttackTest, OrdinaryUsePassesTheDefaults) {
  // Positive control: a family signing up from one home address, each with
  // their own number, verifying once and once more after a typo.
  ASSERT_NO_FATAL_FAILURE(StartServer(Defaults()));
  const char* phones[] = {"+14155550101", "+12125550102", "+16175550103",
                          "+447400123456", "+33612345678"};
  int verified = 0;
  for (int i = 0; i < 5; ++i) {
    auto user = testing::ClientFor(*server_);
    auto session = user->SignUp(absl::StrCat("member", i),
                                testing::kTestPassword, phones[i]);
    ASSERT_THAT(session, IsOk());
    user->set_access_token(session->access_token());
    ASSERT_THAT(user->StartPhoneVerification(""), IsOk()) << phones[i];
    ASSERT_THAT(user->StartPhoneVerification(""), IsOk()) << phones[i];
    ++verified;
  }
  EXPECT_EQ(verified, 5);
}

TEST_F(SmsPumpingAttackTest, CountryAndServerBudgetsHold) {
  std::map<std::string, std::string> env = Defaults();
  env["SMSGW_SIGNUP_PEER_MAX"] = kOff;
  env["SMSGW_VERIFY_MAX_PER_COUNTRY_PER_HOUR"] = "3";
  env["SMSGW_VERIFY_MAX_PER_HOUR"] = "4";
  ASSERT_NO_FATAL_FAILURE(StartServer(env));
  // Different prefixes, one country: the country budget ends it at 3.
  const char* uk[] = {"+447400100001", "+447500100002", "+447700100003",
                      "+447800100004"};
  int sent = 0;
  absl::Status last;
  for (int i = 0; i < 4; ++i) {
    auto user = testing::SignedUpClient(*server_, absl::StrCat("uk", i),
                                        testing::kTestPassword, uk[i]);
    absl::Status s = user->StartPhoneVerification("").status();
    if (s.ok()) ++sent; else last = s;
  }
  EXPECT_EQ(sent, 3);
  EXPECT_THAT(last, StatusIs(absl::StatusCode::kResourceExhausted,
                             HasSubstr("to this country (GB): at most 3 per "
                                       "hour; retry in")));
  // Another country still has room until the server's total of 4.
  auto us = testing::SignedUpClient(*server_, "us0", testing::kTestPassword,
                                    "+14155550101");
  EXPECT_THAT(us->StartPhoneVerification(""), IsOk());
  auto fr = testing::SignedUpClient(*server_, "fr0", testing::kTestPassword,
                                    "+33612345678");
  EXPECT_THAT(fr->StartPhoneVerification(""),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("on this server: at most 4 per hour")));
}

TEST_F(SmsPumpingAttackTest, PremiumRateAndUnknownNumbersNeverGetACode) {
  ASSERT_NO_FATAL_FAILURE(StartServer(Defaults()));
  auto ann = SignedIn("ann", "+14155550101");
  for (const char* number :
       {"+449012345678", "+19002345678", "+33884012345", "+447700900123"}) {
    EXPECT_THAT(ann->StartPhoneVerification(number),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("verification codes go to mobile and "
                                   "fixed-line numbers only")))
        << number;
  }
  // Nothing changed: ann's phone is still hers, no code was sent.
  auto me = ann->GetCurrentUser();
  ASSERT_THAT(me, IsOk());
  EXPECT_EQ(me->user().phone_number(), "+14155550101");
  EXPECT_EQ(Rows("messages"), 0);
  EXPECT_EQ(Rows("phone_verifications"), 0);
}

TEST_F(SmsPumpingAttackTest, CountsSurviveARestart) {
  // The counts live in the database (issue 18, item 5): a restart, like
  // another replica on the same database, sees the sign-ups already made.
  std::map<std::string, std::string> env = Defaults();
  env["SMSGW_SIGNUP_PEER_MAX"] = "3";
  ASSERT_NO_FATAL_FAILURE(StartServer(env));
  for (int i = 0; i < 3; ++i) {
    auto user = testing::ClientFor(*server_);
    ASSERT_THAT(user->SignUp(absl::StrCat("user", i), testing::kTestPassword, ""),
                IsOk());
  }
  server_.reset();
  ASSERT_NO_FATAL_FAILURE(StartServer(env));
  auto late = testing::ClientFor(*server_);
  EXPECT_THAT(late->SignUp("user3", testing::kTestPassword, ""),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("from your address: at most 3 per hour")));
  // Malformed input costs no attempt and says what is wrong.
  EXPECT_THAT(late->SignUp("", testing::kTestPassword, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SmsPumpingAttackTest, BadLimitsStopTheServerAtStart) {
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{
           {"SMSGW_SIGNUP_PEER_MAX", "0"},
           {"SMSGW_SIGNUP_MAX", "-1"},
           {"SMSGW_SIGNUP_WINDOW", "-1h"},
           {"SMSGW_SIGNUP_WINDOW", "soon"},
           {"SMSGW_VERIFY_MAX_PER_PREFIX_PER_HOUR", "five"},
           {"SMSGW_VERIFY_MAX_PER_COUNTRY_PER_HOUR", "0"},
           {"SMSGW_VERIFY_MAX_PER_HOUR", "0"}}) {
    EXPECT_THAT(testing::StartStatus({{name, value}}),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr(name)))
        << name << "=" << value;
  }
}

}  // namespace
}  // namespace smsgw::attack
