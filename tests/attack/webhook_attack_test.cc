// Attack suite, webhooks (issue 9): the HTTP port faces the internet. Replays
// change nothing twice; bad signatures, oversized bodies, broken encodings,
// repeated keys and parameter floods are refused with a 4xx and store
// nothing; half-sent requests (slow-loris) are dropped after the read timeout
// and do not stop the server from serving others. The server runs against a
// fake Twilio (no status callbacks of its own) with a known auth token, a
// short read timeout and a small HTTP pool.
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/smsgw_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/attack/attack_helpers.h"
#include "tests/testing/fake_twilio_server.h"
#include "tests/testing/grpc_helpers.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_clients.h"

namespace smsgw::attack {
namespace {

using ::testing::AllOf;
using ::testing::Ge;
using ::testing::Lt;

constexpr char kAuthToken[] = "attack-suite-twilio-auth-token-0001";
constexpr char kOurNumber[] = "+15005550006";
constexpr int kHttpThreads = 4;

class WebhookAttackTest : public testing::ServerTest {
 protected:
  void SetUp() override {
    StartServer({{"TWILIO_ACCOUNT_SID", twilio_.account_sid()},
                 {"TWILIO_AUTH_TOKEN", kAuthToken},
                 {"TWILIO_API_BASE", twilio_.base_url()},
                 {"TWILIO_PHONE_NUMBERS", kOurNumber}},
                {absl::StrCat("--http_threads=", kHttpThreads),
                 "--http_read_timeout=1s"});
  }

  // The server goes before the fake Twilio it talks to.
  void TearDown() override { server_.reset(); }

  twilio::FormParams Inbound(int n, const std::string& body = "hello") {
    twilio::FormParams params =
        InboundParams(NewSid(n), "+14155550177", kOurNumber, body);
    for (auto& [name, value] : params) {
      if (name == "AccountSid") value = twilio_.account_sid();
    }
    return params;
  }

  std::string Sign(const std::string& path, const twilio::FormParams& params,
                   const std::string& token = kAuthToken) {
    return SignFor(*server_, path, params, token);
  }

  int Post(const std::string& path, const twilio::FormParams& params) {
    return PostWebhook(*server_, path, twilio::EncodeForm(params),
                       Sign(path, params));
  }

  int64_t Messages() { return Rows("messages"); }

  // The server still works for honest callers: health, and a fresh signed
  // inbound SMS is stored.
  void ExpectStillServing() {
    EXPECT_TRUE(HttpHealthy(*server_));
    const int64_t before = Messages();
    EXPECT_EQ(Post(testing::kInboundPath, Inbound(++next_sid_ + 9000)), 200);
    EXPECT_EQ(Messages(), before + 1);
  }

  testing::FakeTwilioServer twilio_;
  int next_sid_ = 0;
};

TEST_F(WebhookAttackTest, ReplayedInboundIsStoredOnce) {
  const twilio::FormParams params = Inbound(1);
  const int64_t before = Messages();
  EXPECT_EQ(Post(testing::kInboundPath, params), 200);
  EXPECT_EQ(Messages(), before + 1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Post(testing::kInboundPath, params), 200);
  EXPECT_EQ(Messages(), before + 1);
  // The same SID with another body (and a valid signature) is not a second
  // message either.
  EXPECT_LT(Post(testing::kInboundPath, Inbound(1, "changed")), 500);
  EXPECT_EQ(Messages(), before + 1);
}

TEST_F(WebhookAttackTest, ReplayedStatusCallbackChangesNothingTwice) {
  auto ann = testing::SignedUpClient(*server_, "ann");
  v1::SendMessageRequest send;
  send.set_to("+14155550123");
  send.set_body("to be delivered");
  auto sent = ann->SendMessage(send);
  ASSERT_THAT(sent, IsOk());
  ASSERT_TRUE(twilio_.WaitForRequests(1, absl::Seconds(10)));
  // Wait for the provider's answer to be stored (the SID).
  std::string sid;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (sid.empty() && absl::Now() < deadline) {
    auto got = ann->GetMessage(sent->message().id(), false);
    ASSERT_THAT(got, IsOk());
    sid = got->message().provider_sid();
    if (sid.empty()) absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_FALSE(sid.empty());

  const twilio::FormParams delivered = {
      {"AccountSid", twilio_.account_sid()}, {"MessageSid", sid},
      {"MessageStatus", "delivered"},        {"From", kOurNumber},
      {"To", "+14155550123"},                {"ApiVersion", "2010-04-01"}};
  EXPECT_EQ(Post(testing::kStatusPath, delivered), 204);
  auto after_first = ann->GetMessage(sent->message().id(), true);
  ASSERT_THAT(after_first, IsOk());
  EXPECT_EQ(after_first->message().status(), v1::MESSAGE_STATUS_DELIVERED);
  auto applied = [](const v1::GetMessageResponse& r) {
    int n = 0;
    for (const auto& e : r.events()) n += e.applied() ? 1 : 0;
    return n;
  };
  for (int i = 0; i < 3; ++i) EXPECT_LT(Post(testing::kStatusPath, delivered), 300);
  // An older status replayed after it cannot move it back.
  twilio::FormParams sent_again = delivered;
  for (auto& [name, value] : sent_again) {
    if (name == "MessageStatus") value = "sent";
  }
  EXPECT_LT(Post(testing::kStatusPath, sent_again), 300);
  auto after_replays = ann->GetMessage(sent->message().id(), true);
  ASSERT_THAT(after_replays, IsOk());
  EXPECT_EQ(after_replays->message().status(), v1::MESSAGE_STATUS_DELIVERED);
  EXPECT_EQ(after_replays->message().update_time().seconds(),
            after_first->message().update_time().seconds());
  EXPECT_EQ(applied(*after_replays), applied(*after_first));
}

TEST_F(WebhookAttackTest, WrongSignaturesAreRefusedAndStoreNothing) {
  const twilio::FormParams params = Inbound(2);
  const std::string body = twilio::EncodeForm(params);
  const int64_t before = Messages();
  twilio::FormParams other = params;
  other.push_back({"Extra", "1"});
  const std::string long_sig(6000, 'A');
  for (const std::string& signature : std::vector<std::string>{
           Sign(testing::kInboundPath, params, "some-other-auth-token"),
           Sign(testing::kStatusPath, params),               // signed for another URL
           Sign(testing::kInboundPath, other),               // signed other params
           Sign(absl::StrCat(testing::kInboundPath, "?x=1"), params),
           "",                                   // missing
           "not base64 at all!",
           "AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
           long_sig,
       }) {
    const int status = PostWebhook(*server_, testing::kInboundPath, body, signature);
    EXPECT_THAT(status, AllOf(Ge(400), Lt(500)))
        << "signature " << signature.substr(0, 40);
  }
  // Signed body, tampered in flight.
  EXPECT_EQ(PostWebhook(*server_, testing::kInboundPath,
                        twilio::EncodeForm(Inbound(2, "tampered")),
                        Sign(testing::kInboundPath, params)),
            403);
  EXPECT_EQ(Messages(), before);
  ExpectStillServing();
}

TEST_F(WebhookAttackTest, OversizedBodiesAreRefused) {
  const int64_t before = Messages();
  twilio::FormParams params = Inbound(3, std::string(70 * 1024, 'x'));
  EXPECT_EQ(Post(testing::kInboundPath, params), 413);
  // A declared 100 MB body is refused without reading it.
  const int fd = ConnectTcp(server_->http_address());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(
      fd, absl::StrCat("POST ", testing::kInboundPath,
                       " HTTP/1.1\r\nHost: x\r\nContent-Type: "
                       "application/x-www-form-urlencoded\r\n"
                       "X-Twilio-Signature: abc\r\nContent-Length: ",
                       100 * 1024 * 1024, "\r\n\r\nBody=")));
  const ReadResult answer = ReadUntilClose(fd, absl::Seconds(5));
  ::close(fd);
  EXPECT_EQ(HttpStatusOf(answer.bytes), 413) << answer.bytes;
  // Chunked, without a length: cut off once over the limit.
  const int chunked = ConnectTcp(server_->http_address());
  ASSERT_GE(chunked, 0);
  std::string request = absl::StrCat(
      "POST ", testing::kInboundPath,
      " HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/x-www-form-urlencoded\r\nX-Twilio-Signature: abc\r\n"
      "Transfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 80; ++i) {
    absl::StrAppend(&request, "400\r\n", std::string(1024, 'a'), "\r\n");
  }
  absl::StrAppend(&request, "0\r\n\r\n");
  SendAll(chunked, request);  // may fail once the server closes
  const ReadResult chunked_answer = ReadUntilClose(chunked, absl::Seconds(5));
  ::close(chunked);
  const int status = HttpStatusOf(chunked_answer.bytes);
  EXPECT_TRUE(status == 413 || status == 400 ||
              (status == 0 && chunked_answer.closed))
      << chunked_answer.bytes.substr(0, 200);
  // Headers past httplib's limit.
  const int headers = ConnectTcp(server_->http_address());
  ASSERT_GE(headers, 0);
  std::string big_headers =
      absl::StrCat("GET /healthz HTTP/1.1\r\nHost: x\r\n");
  for (int i = 0; i < 2000; ++i) {
    absl::StrAppend(&big_headers, "X-Pad-", i, ": ", std::string(100, 'p'),
                    "\r\n");
  }
  absl::StrAppend(&big_headers, "\r\n");
  SendAll(headers, big_headers);
  const ReadResult headers_answer = ReadUntilClose(headers, absl::Seconds(5));
  ::close(headers);
  EXPECT_EQ(HttpStatusOf(headers_answer.bytes), 431)
      << headers_answer.bytes.substr(0, 200);
  EXPECT_EQ(Messages(), before);
  ExpectStillServing();
}

TEST_F(WebhookAttackTest, MalformedFormsAreRefused) {
  const int64_t before = Messages();
  // Broken percent-encoding, signed over what the signer would make of it:
  // the server must refuse before (or instead of) any signature check.
  for (const std::string& body : std::vector<std::string>{
           "Body=%zz&From=%2B14155550177",
           "Body=%&From=%2B14155550177",
           "Body=%4&From=%2B14155550177",
           "Body=ok&%=x",
           "Body=%00nul&From=%2B14155550177",
           "Body=\xff\xfe&From=x",
       }) {
    const int status =
        PostWebhook(*server_, testing::kInboundPath, body, Sign(testing::kInboundPath, {{"Body", "x"}}));
    EXPECT_THAT(status, AllOf(Ge(400), Lt(500))) << body;
  }
  // Repeated keys, correctly signed.
  twilio::FormParams repeated = Inbound(4);
  repeated.push_back({"From", "+14155550999"});
  EXPECT_EQ(Post(testing::kInboundPath, repeated), 400);
  repeated = Inbound(5);
  repeated.push_back({"MessageSid", NewSid(6)});
  EXPECT_EQ(Post(testing::kInboundPath, repeated), 400);
  // Thousands of parameters, within the byte limit, correctly signed.
  twilio::FormParams flood = Inbound(7);
  for (int i = 0; i < 5000; ++i) flood.push_back({absl::StrCat("p", i), "1"});
  EXPECT_THAT(Post(testing::kInboundPath, flood), AllOf(Ge(400), Lt(500)));
  // Thousands of empty segments.
  EXPECT_THAT(PostWebhook(*server_, testing::kInboundPath, std::string(60000, '&'),
                          Sign(testing::kInboundPath, {})),
              AllOf(Ge(400), Lt(500)));
  // Wrong content type.
  EXPECT_EQ(PostWebhook(*server_, testing::kInboundPath, twilio::EncodeForm(Inbound(8)),
                        Sign(testing::kInboundPath, Inbound(8)), "application/json"),
            415);
  EXPECT_EQ(Messages(), before);
  ExpectStillServing();
}

TEST_F(WebhookAttackTest, HalfSentRequestsAreDroppedAfterTheReadTimeout) {
  const int64_t before = Messages();
  // As many silent connections as the server has HTTP threads, each with
  // half a request: headers cut off, or a body shorter than declared.
  std::vector<int> sockets;
  for (int i = 0; i < kHttpThreads; ++i) {
    const int fd = ConnectTcp(server_->http_address());
    ASSERT_GE(fd, 0);
    const twilio::FormParams params = Inbound(100 + i);
    const std::string body = twilio::EncodeForm(params);
    if (i % 2 == 0) {
      ASSERT_TRUE(SendAll(fd, absl::StrCat("POST ", testing::kInboundPath,
                                           " HTTP/1.1\r\nHost: x\r\nX-Twi")));
    } else {
      ASSERT_TRUE(SendAll(
          fd, absl::StrCat("POST ", testing::kInboundPath,
                           " HTTP/1.1\r\nHost: x\r\nContent-Type: "
                           "application/x-www-form-urlencoded\r\n"
                           "X-Twilio-Signature: ",
                           Sign(testing::kInboundPath, params), "\r\nContent-Length: ",
                           body.size(), "\r\n\r\n",
                           body.substr(0, body.size() / 2))));
    }
    sockets.push_back(fd);
  }
  // Each is closed by the server within the read timeout (1 s), with a
  // 4xx at most: none hangs on.
  const absl::Time start = absl::Now();
  for (int fd : sockets) {
    const ReadResult result = ReadUntilClose(fd, absl::Seconds(8));
    EXPECT_TRUE(result.closed) << "connection still open after 8 s";
    const int status = HttpStatusOf(result.bytes);
    EXPECT_TRUE(status == 0 || (status >= 400 && status < 500))
        << result.bytes.substr(0, 200);
    ::close(fd);
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(Messages(), before);
  ExpectStillServing();
}

TEST_F(WebhookAttackTest, SlowClientsBelowThePoolSizeDoNotBlockOthers) {
  // Fewer silent connections than threads: others are answered at once.
  std::vector<int> sockets;
  for (int i = 0; i < kHttpThreads - 1; ++i) {
    const int fd = ConnectTcp(server_->http_address());
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(SendAll(fd, "POST /twilio/sms/inbound HTTP/1.1\r\nHo"));
    sockets.push_back(fd);
  }
  absl::SleepFor(absl::Milliseconds(100));
  const absl::Time start = absl::Now();
  EXPECT_TRUE(HttpHealthy(*server_, absl::Seconds(2)));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(800));
  // More than the pool: each slow connection holds a thread for at most
  // the read timeout plus the keep-alive timeout (1 s + 1 s), so an honest
  // request queued behind 11 of them on 4 threads is served within 3 rounds.
  for (int i = 0; i < 2 * kHttpThreads; ++i) {
    const int fd = ConnectTcp(server_->http_address());
    ASSERT_GE(fd, 0);
    SendAll(fd, "GET /healthz HTTP/1.1\r\nHo");
    sockets.push_back(fd);
  }
  const absl::Time flooded = absl::Now();
  EXPECT_TRUE(HttpHealthy(*server_, absl::Seconds(10)));
  EXPECT_LT(absl::Now() - flooded, absl::Seconds(7));
  for (int fd : sockets) ::close(fd);
  ExpectStillServing();
}

TEST_F(WebhookAttackTest, ConnectionsThatNeverSendAreClosed) {
  const int fd = ConnectTcp(server_->http_address());
  ASSERT_GE(fd, 0);
  const ReadResult result = ReadUntilClose(fd, absl::Seconds(6));
  ::close(fd);
  EXPECT_TRUE(result.closed);
  EXPECT_TRUE(result.bytes.empty() || HttpStatusOf(result.bytes) >= 400);
}

TEST_F(WebhookAttackTest, KeepAliveConnectionsAreBounded) {
  // One connection, many pipelined requests: the server closes it after its
  // keep-alive limit rather than serving it forever.
  const int fd = ConnectTcp(server_->http_address());
  ASSERT_GE(fd, 0);
  std::string requests;
  for (int i = 0; i < 200; ++i) {
    absl::StrAppend(&requests, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  SendAll(fd, requests);
  const ReadResult result = ReadUntilClose(fd, absl::Seconds(8));
  ::close(fd);
  EXPECT_TRUE(result.closed);
  int answered = 0;
  for (size_t at = result.bytes.find("HTTP/1.1 200"); at != std::string::npos;
       at = result.bytes.find("HTTP/1.1 200", at + 1)) {
    ++answered;
  }
  EXPECT_GE(answered, 1);
  EXPECT_LT(answered, 200);
}

}  // namespace
}  // namespace smsgw::attack
