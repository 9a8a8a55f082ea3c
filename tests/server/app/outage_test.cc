// Provider outage: the stand-alone fake Twilio answers 503 to everything for
// a while; smsgw keeps the messages, retries with backoff, and once the
// provider answers again every message is created there exactly once.
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/smsgw_client.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_twilio_process.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw {
namespace {

using ::smsgw::client::SmsgwClient;
using ::smsgw::testing::FakeTwilioProcess;
using ::smsgw::testing::IsOk;
using ::smsgw::testing::ServerProcess;

TEST(OutageTest, MessagesWaitOutAnOutageAndAreCreatedOnce) {
  smsgw::testing::TempDir dir;
  FakeTwilioProcess twilio(dir.path(), /*create_delay_ms=*/0);
  ASSERT_TRUE(twilio.Start());
  ServerProcess::Options options;
  options.db_path = dir.File("data/smsgw.db");
  options.env = {{"TWILIO_ACCOUNT_SID", FakeTwilioProcess::kAccountSid},
                 {"TWILIO_AUTH_TOKEN", "secret-token"},
                 {"TWILIO_API_BASE", twilio.base_url()},
                 {"TWILIO_PHONE_NUMBERS", "+15005550006"},
                 // Carrier pacing is not under test here.
                 {"SMSGW_SENDER_RATES", "+15005550006=1000"}};
  ServerProcess server(options);
  ASSERT_THAT(server.Start(), IsOk());
  SmsgwClient::Options client_options;
  client_options.target = server.grpc_address();
  auto client = *SmsgwClient::Create(client_options);
  auto session = client->SignUp("ann", "correct horse", "");
  ASSERT_THAT(session, IsOk());
  client->set_access_token(session->access_token());

  ASSERT_TRUE(twilio.Outage(absl::Seconds(3)));
  constexpr int kMessages = 8;
  std::vector<std::string> ids;
  for (int i = 0; i < kMessages; ++i) {
    v1::SendMessageRequest request;
    request.set_to("+14155550100");
    request.set_body(absl::StrCat("during the outage #", i));
    auto sent = client->SendMessage(request);
    ASSERT_THAT(sent, IsOk());
    // Twilio is down: accepted and kept, not failed.
    EXPECT_EQ(sent->message().status(), v1::MESSAGE_STATUS_PENDING);
    ids.push_back(sent->message().id());
  }

  const absl::Time deadline = absl::Now() + absl::Seconds(90);
  int queued = 0;
  while (absl::Now() < deadline) {
    queued = 0;
    for (const std::string& id : ids) {
      auto got = client->GetMessage(id, false);
      ASSERT_THAT(got, IsOk());
      ASSERT_NE(got->message().status(), v1::MESSAGE_STATUS_FAILED)
          << got->message().error_message();
      if (got->message().status() != v1::MESSAGE_STATUS_PENDING) ++queued;
    }
    if (queued == kMessages) break;
    absl::SleepFor(absl::Milliseconds(250));
  }
  EXPECT_EQ(queued, kMessages);

  std::map<std::string, int> creates;
  for (const auto& m : twilio.Messages()) ++creates[m.value("body", "")];
  EXPECT_EQ(creates.size(), static_cast<size_t>(kMessages));
  for (const auto& [body, count] : creates) {
    EXPECT_EQ(count, 1) << body;
  }
}

}  // namespace
}  // namespace smsgw
