#include "server/twilio/twilio_rest_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/twilio/message_json.h"
#include "tests/testing/fake_twilio_server.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::twilio {
namespace {

using ::smsgw::testing::FakeTwilioServer;
using ::smsgw::testing::RecordedRequest;
using ::smsgw::testing::ScriptedResponse;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kAuthToken[] = "test-auth-token";
constexpr char kTo[] = "+14155550100";
constexpr char kFrom[] = "+14155550199";

OutboundSms MakeSms(absl::string_view body = "hello") {
  OutboundSms sms;
  sms.to = kTo;
  sms.from = kFrom;
  sms.body = std::string(body);
  return sms;
}

absl::Time Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s),
                         absl::UTCTimeZone());
}

// A port on 127.0.0.1 that nothing listens on: bound once, then closed.
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

class TwilioRestClientTest : public ::testing::Test {
 protected:
  TwilioRestClient::Options DefaultOptions() const {
    TwilioRestClient::Options options;
    options.api_base = twilio_.base_url();
    options.account_sid = twilio_.account_sid();
    options.auth_token = kAuthToken;
    options.connect_timeout = absl::Seconds(2);
    options.total_timeout = absl::Seconds(5);
    return options;
  }

  std::unique_ptr<TwilioRestClient> MakeClient(
      const TwilioRestClient::Options& options) {
    absl::StatusOr<std::unique_ptr<TwilioRestClient>> client =
        TwilioRestClient::Create(options);
    EXPECT_THAT(client, IsOk());
    return client.ok() ? *std::move(client) : nullptr;
  }

  std::unique_ptr<TwilioRestClient> MakeClient() {
    return MakeClient(DefaultOptions());
  }

  std::string MessagesPath() const {
    return absl::StrCat("/2010-04-01/Accounts/", twilio_.account_sid(),
                        "/Messages.json");
  }

  // Declared first so that it outlives the clients the tests create.
  FakeTwilioServer twilio_;
};

TEST_F(TwilioRestClientTest, SendPostsFormEncodedMessageWithBasicAuth) {
  auto client = MakeClient();
  OutboundSms sms = MakeSms("Hi & bye = 100% +ok \xF0\x9F\x91\x8D");
  sms.media_urls = {"https://example.com/a.png?x=1&y=2",
                    "https://example.com/b.gif"};
  sms.status_callback = "https://hooks.example.com/twilio/status?id=7";
  sms.validity_period_s = 600;
  SendResult result = client->Send(sms);
  ASSERT_TRUE(result.accepted) << result.error.message;

  std::vector<RecordedRequest> requests = twilio_.requests();
  ASSERT_EQ(requests.size(), 1u);
  const RecordedRequest& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, MessagesPath());
  EXPECT_EQ(r.Header("Authorization"),
            "Basic " + absl::Base64Escape(absl::StrCat(
                           twilio_.account_sid(), ":", kAuthToken)));
  EXPECT_EQ(r.Header("Accept"), "application/json");
  EXPECT_EQ(r.Header("User-Agent"), "smsgw/0.1");
  EXPECT_THAT(r.Header("Content-Type"),
              StartsWith("application/x-www-form-urlencoded"));
  EXPECT_EQ(r.FormValue("To"), kTo);
  EXPECT_EQ(r.FormValue("From"), kFrom);
  EXPECT_EQ(r.FormValue("Body"), sms.body);
  EXPECT_THAT(r.FormValues("MediaUrl"),
              ::testing::ElementsAre("https://example.com/a.png?x=1&y=2",
                          "https://example.com/b.gif"));
  EXPECT_EQ(r.FormValue("StatusCallback"), sms.status_callback);
  EXPECT_EQ(r.FormValue("ValidityPeriod"), "600");
  EXPECT_FALSE(r.HasForm("MessagingServiceSid"));
  // Repeated keys, not MediaUrl[0]= or a comma list (twilio-node "repeat").
  EXPECT_THAT(r.body, HasSubstr("MediaUrl=https%3A%2F%2Fexample.com%2Fa.png"
                                "%3Fx%3D1%26y%3D2&MediaUrl="));
}

TEST_F(TwilioRestClientTest, SendOmitsUnsetOptionalFields) {
  auto client = MakeClient();
  ASSERT_TRUE(client->Send(MakeSms()).accepted);
  const RecordedRequest r = twilio_.requests().at(0);
  EXPECT_FALSE(r.HasForm("MediaUrl"));
  EXPECT_FALSE(r.HasForm("StatusCallback"));
  EXPECT_FALSE(r.HasForm("ValidityPeriod"));
  EXPECT_FALSE(r.HasForm("MessagingServiceSid"));
}

TEST_F(TwilioRestClientTest, SendUsesMessagingServiceSidInsteadOfFrom) {
  auto client = MakeClient();
  OutboundSms sms = MakeSms();
  sms.from.clear();
  sms.messaging_service_sid = "MG00000000000000000000000000000009";
  SendResult result = client->Send(sms);
  ASSERT_TRUE(result.accepted) << result.error.message;
  EXPECT_EQ(result.message.status, "accepted");
  EXPECT_EQ(result.message.messaging_service_sid, sms.messaging_service_sid);
  const RecordedRequest r = twilio_.requests().at(0);
  EXPECT_EQ(r.FormValue("MessagingServiceSid"), sms.messaging_service_sid);
  EXPECT_FALSE(r.HasForm("From"));
}

TEST_F(TwilioRestClientTest, SendWithApiKeyAuthenticatesWithTheKey) {
  TwilioRestClient::Options options = DefaultOptions();
  options.api_key_sid = "SK00000000000000000000000000000005";
  options.api_key_secret = "key-secret";
  auto client = MakeClient(options);
  ASSERT_TRUE(client->Send(MakeSms()).accepted);
  const RecordedRequest r = twilio_.requests().at(0);
  EXPECT_EQ(r.path, MessagesPath());  // the account stays in the path
  EXPECT_EQ(r.Header("Authorization"),
            "Basic " + absl::Base64Escape(
                           "SK00000000000000000000000000000005:key-secret"));
}

TEST_F(TwilioRestClientTest, SendParsesCreatedMessage) {
  auto client = MakeClient();
  SendResult result = client->Send(MakeSms("parse me"));
  ASSERT_TRUE(result.accepted) << result.error.message;
  EXPECT_THAT(result.message.sid, StartsWith("SM"));
  EXPECT_EQ(result.message.sid.size(), 34u);
  EXPECT_EQ(result.message.status, "queued");
  EXPECT_EQ(result.message.to, kTo);
  EXPECT_EQ(result.message.from, kFrom);
  EXPECT_EQ(result.message.body, "parse me");
  EXPECT_EQ(result.message.direction, "outbound-api");
  EXPECT_GT(result.message.date_created, absl::Now() - absl::Minutes(1));
}

TEST_F(TwilioRestClientTest, SendMapsTwilioErrors) {
  struct Case {
    int status;
    int code;
    const char* message;
    bool retryable;
  };
  const Case cases[] = {
      {400, 21211, "The 'To' number 5551234567 is not a valid phone number.",
       false},
      {400, 21610, "Attempt to send to unsubscribed recipient", false},
      {401, 20003, "Authenticate", false},
      {404, 20404, "The requested resource was not found", false},
      {429, 20429, "Too Many Requests", true},
      {500, 20500, "Internal Server Error", true},
      {503, 20503, "Service Unavailable", true},
  };
  auto client = MakeClient();
  for (const Case& c : cases) {
    twilio_.Enqueue(ScriptedResponse::TwilioError(c.status, c.code, c.message));
    SendResult result = client->Send(MakeSms());
    EXPECT_FALSE(result.accepted) << c.status;
    EXPECT_EQ(result.error.http_status, c.status);
    EXPECT_EQ(result.error.code, c.code);
    EXPECT_EQ(result.error.message, c.message);
    EXPECT_EQ(result.error.more_info,
              absl::StrCat("https://www.twilio.com/docs/errors/", c.code));
    EXPECT_EQ(result.error.retryable, c.retryable) << c.status;
  }
}

TEST_F(TwilioRestClientTest, SendKeepsStatusOfNonJsonErrorBodies) {
  auto client = MakeClient();
  twilio_.Enqueue(ScriptedResponse::Json(502, "<html>Bad Gateway</html>"));
  twilio_.Enqueue(ScriptedResponse::Json(401, ""));
  twilio_.Enqueue(ScriptedResponse::Json(400, "{\"oops\": true}"));

  SendResult gateway = client->Send(MakeSms());
  EXPECT_FALSE(gateway.accepted);
  EXPECT_EQ(gateway.error.http_status, 502);
  EXPECT_EQ(gateway.error.code, 0);
  EXPECT_TRUE(gateway.error.retryable);
  EXPECT_THAT(gateway.error.message, HasSubstr("Bad Gateway"));

  SendResult unauthorized = client->Send(MakeSms());
  EXPECT_EQ(unauthorized.error.http_status, 401);
  EXPECT_EQ(unauthorized.error.code, 20003);
  EXPECT_FALSE(unauthorized.error.retryable);

  SendResult bad = client->Send(MakeSms());
  EXPECT_EQ(bad.error.http_status, 400);
  EXPECT_FALSE(bad.error.retryable);
}

TEST_F(TwilioRestClientTest, SendReportsUnparsableSuccessAsUnknownOutcome) {
  auto client = MakeClient();
  twilio_.Enqueue(ScriptedResponse::Json(201, "{\"sid\": "));
  SendResult result = client->Send(MakeSms());
  EXPECT_FALSE(result.accepted);
  EXPECT_EQ(result.error.http_status, 201);
  EXPECT_FALSE(result.error.retryable);
  EXPECT_THAT(result.error.message, HasSubstr("unknown outcome"));
}

TEST_F(TwilioRestClientTest, SendTimesOutRetryablyWhenTwilioIsSlow) {
  TwilioRestClient::Options options = DefaultOptions();
  options.total_timeout = absl::Milliseconds(300);
  auto client = MakeClient(options);
  twilio_.Enqueue(ScriptedResponse::Delayed(
      absl::Seconds(10), ScriptedResponse::Json(201, "{}")));
  const absl::Time start = absl::Now();
  SendResult result = client->Send(MakeSms());
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_FALSE(result.accepted);
  EXPECT_EQ(result.error.http_status, 0);
  EXPECT_TRUE(result.error.retryable);
  EXPECT_THAT(result.error.message, HasSubstr("imed out"));
  EXPECT_GE(elapsed, absl::Milliseconds(250));
  EXPECT_LT(elapsed, absl::Seconds(3));
}

TEST_F(TwilioRestClientTest, SendRetryablyFailsWhenConnectionIsDropped) {
  auto client = MakeClient();
  twilio_.Enqueue(ScriptedResponse::Drop());
  SendResult result = client->Send(MakeSms());
  EXPECT_FALSE(result.accepted);
  EXPECT_EQ(result.error.http_status, 0);
  EXPECT_TRUE(result.error.retryable);
  EXPECT_THAT(result.error.message, HasSubstr("curl error"));
  EXPECT_EQ(twilio_.request_count(), 1u);
}

// libcurl resends a request by itself when its REUSED connection closes
// before any response byte; for a create that may duplicate the message. The
// client makes that resend fail (no rewind of the body is possible), so the
// caller sees a retryable failure without HTTP answer and can reconcile.
TEST_F(TwilioRestClientTest, DropOnReusedConnectionIsNotResentByLibcurl) {
  auto client = MakeClient();
  ASSERT_TRUE(client->Send(MakeSms()).accepted);
  twilio_.Enqueue(ScriptedResponse::Drop());
  SendResult result = client->Send(MakeSms("not resent"));
  EXPECT_FALSE(result.accepted);
  EXPECT_EQ(result.error.http_status, 0);
  EXPECT_TRUE(result.error.retryable);
  const std::vector<RecordedRequest> requests = twilio_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].FormValue("Body"), "not resent");
}

TEST_F(TwilioRestClientTest, SendRetryablyFailsWhenConnectionIsRefused) {
  TwilioRestClient::Options options = DefaultOptions();
  options.api_base = absl::StrCat("http://127.0.0.1:", ClosedPort());
  auto client = MakeClient(options);
  SendResult result = client->Send(MakeSms());
  EXPECT_FALSE(result.accepted);
  EXPECT_EQ(result.error.http_status, 0);
  EXPECT_TRUE(result.error.retryable);
  EXPECT_THAT(result.error.message, HasSubstr("curl error"));
}

TEST_F(TwilioRestClientTest, ManyConcurrentSendsEachCompleteExactlyOnce) {
  constexpr int kSends = 200;
  auto client = MakeClient();
  std::vector<std::atomic<int>> calls(kSends);
  std::atomic<int> accepted{0};
  absl::Mutex mu;
  int done = 0;
  for (int i = 0; i < kSends; ++i) {
    client->SendAsync(MakeSms(absl::StrCat("msg ", i)),
                      [&, i](SendResult result) {
                        calls[i].fetch_add(1);
                        if (result.accepted &&
                            result.message.body == absl::StrCat("msg ", i)) {
                          accepted.fetch_add(1);
                        }
                        absl::MutexLock lock(&mu);
                        ++done;
                      });
  }
  {
    absl::MutexLock lock(&mu);
    auto all_done = [&done]() { return done >= kSends; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all_done),
                                    absl::Seconds(60)));
  }
  // Late duplicates would show up here.
  absl::SleepFor(absl::Milliseconds(100));
  for (int i = 0; i < kSends; ++i) EXPECT_EQ(calls[i].load(), 1) << i;
  EXPECT_EQ(accepted.load(), kSends);
  EXPECT_EQ(twilio_.request_count(), static_cast<size_t>(kSends));
  // Keep-alive: at most max_in_flight (64) connections carried 200 requests.
  EXPECT_LE(twilio_.connection_count(), 64u);
  RecordProperty("connections", static_cast<int>(twilio_.connection_count()));
}

TEST_F(TwilioRestClientTest, SequentialSendsReuseOneConnection) {
  auto client = MakeClient();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client->Send(MakeSms()).accepted);
  EXPECT_EQ(twilio_.request_count(), 5u);
  EXPECT_EQ(twilio_.connection_count(), 1u);
}

TEST_F(TwilioRestClientTest, MaxInFlightBoundsConnections) {
  TwilioRestClient::Options options = DefaultOptions();
  options.max_in_flight = 2;
  auto client = MakeClient(options);
  constexpr int kSends = 30;
  absl::Mutex mu;
  int done = 0;
  for (int i = 0; i < kSends; ++i) {
    client->SendAsync(MakeSms(), [&](SendResult result) {
      EXPECT_TRUE(result.accepted) << result.error.message;
      absl::MutexLock lock(&mu);
      ++done;
    });
  }
  absl::MutexLock lock(&mu);
  auto all_done = [&done]() { return done >= kSends; };
  ASSERT_TRUE(
      mu.AwaitWithTimeout(absl::Condition(&all_done), absl::Seconds(30)));
  EXPECT_LE(twilio_.connection_count(), 2u);
}

TEST_F(TwilioRestClientTest, DestructorFailsPendingSendsExactlyOnce) {
  TwilioRestClient::Options options = DefaultOptions();
  options.max_in_flight = 2;
  options.total_timeout = absl::Seconds(30);
  auto client = MakeClient(options);
  constexpr int kSends = 5;
  for (int i = 0; i < kSends; ++i) {
    twilio_.Enqueue(ScriptedResponse::Delayed(
        absl::Seconds(20), ScriptedResponse::Json(201, "{}")));
  }
  std::vector<std::atomic<int>> calls(kSends);
  std::vector<SendResult> results(kSends);
  for (int i = 0; i < kSends; ++i) {
    client->SendAsync(MakeSms(), [&, i](SendResult result) {
      results[i] = std::move(result);
      calls[i].fetch_add(1);
    });
  }
  // Two on the wire, three queued.
  ASSERT_TRUE(twilio_.WaitForRequests(2, absl::Seconds(5)));
  const absl::Time start = absl::Now();
  client.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  for (int i = 0; i < kSends; ++i) {
    EXPECT_EQ(calls[i].load(), 1) << i;
    EXPECT_FALSE(results[i].accepted);
    EXPECT_TRUE(results[i].error.retryable);
    EXPECT_EQ(results[i].error.http_status, 0);
    EXPECT_EQ(results[i].error.message, "client shut down");
  }
  EXPECT_EQ(twilio_.request_count(), 2u);
}

TEST_F(TwilioRestClientTest, CallbackMayCallFetchWithoutDeadlock) {
  auto client = MakeClient();
  absl::Notification fetched;
  absl::StatusOr<ProviderMessage> from_callback;
  client->SendAsync(MakeSms("fetch me"), [&](SendResult result) {
    from_callback = client->Fetch(result.message.sid);
    fetched.Notify();
  });
  ASSERT_TRUE(fetched.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_THAT(from_callback, IsOk());
  EXPECT_EQ(from_callback->body, "fetch me");
}

TEST_F(TwilioRestClientTest, FetchReturnsStoredMessage) {
  auto client = MakeClient();
  SendResult sent = client->Send(MakeSms("stored"));
  ASSERT_TRUE(sent.accepted);
  absl::StatusOr<ProviderMessage> fetched = client->Fetch(sent.message.sid);
  ASSERT_THAT(fetched, IsOk());
  EXPECT_EQ(fetched->sid, sent.message.sid);
  EXPECT_EQ(fetched->body, "stored");
  EXPECT_EQ(fetched->to, kTo);
  const RecordedRequest r = twilio_.requests().at(1);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path,
            absl::StrCat("/2010-04-01/Accounts/", twilio_.account_sid(),
                         "/Messages/", sent.message.sid, ".json"));
  EXPECT_THAT(r.Header("Authorization"), StartsWith("Basic "));
  EXPECT_EQ(r.Header("Accept"), "application/json");
}

TEST_F(TwilioRestClientTest, FetchMapsErrorsToStatusCodes) {
  struct Case {
    ScriptedResponse response;
    absl::StatusCode code;
  };
  const Case cases[] = {
      {ScriptedResponse::TwilioError(404, 20404, "not found"),
       absl::StatusCode::kNotFound},
      {ScriptedResponse::TwilioError(401, 20003, "Authenticate"),
       absl::StatusCode::kInternal},
      {ScriptedResponse::TwilioError(400, 21211, "bad"),
       absl::StatusCode::kInvalidArgument},
      {ScriptedResponse::TwilioError(429, 20429, "Too Many Requests"),
       absl::StatusCode::kResourceExhausted},
      {ScriptedResponse::TwilioError(503, 20503, "down"),
       absl::StatusCode::kUnavailable},
      {ScriptedResponse::Json(200, "not json"), absl::StatusCode::kDataLoss},
      {ScriptedResponse::Drop(), absl::StatusCode::kUnavailable},
  };
  auto client = MakeClient();
  for (const Case& c : cases) {
    twilio_.Enqueue(c.response);
    EXPECT_THAT(client->Fetch("SM00000000000000000000000000000042"),
                StatusIs(c.code))
        << c.response.status << " " << c.response.body;
  }
}

TEST_F(TwilioRestClientTest, FetchOfUnknownSidIsNotFound) {
  auto client = MakeClient();
  EXPECT_THAT(client->Fetch("SM0000000000000000000000000000dead"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("20404")));
}

TEST_F(TwilioRestClientTest, FetchTimeoutIsDeadlineExceeded) {
  TwilioRestClient::Options options = DefaultOptions();
  options.total_timeout = absl::Milliseconds(300);
  auto client = MakeClient(options);
  twilio_.Enqueue(ScriptedResponse::Delayed(
      absl::Seconds(10), ScriptedResponse::Json(200, "{}")));
  EXPECT_THAT(client->Fetch("SM1"),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(TwilioRestClientTest, FetchOfUnreachableTwilioIsUnavailable) {
  TwilioRestClient::Options options = DefaultOptions();
  options.api_base = absl::StrCat("http://127.0.0.1:", ClosedPort());
  auto client = MakeClient(options);
  EXPECT_THAT(client->Fetch("SM1"), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(TwilioRestClientTest, ListFollowsNextPageUri) {
  auto client = MakeClient();
  std::vector<std::string> sids;
  for (int i = 0; i < 5; ++i) {
    SendResult sent = client->Send(MakeSms(absl::StrCat("to A ", i)));
    ASSERT_TRUE(sent.accepted);
    sids.push_back(sent.message.sid);
  }
  OutboundSms other = MakeSms("to B");
  other.to = "+14155550111";
  ASSERT_TRUE(client->Send(other).accepted);
  const size_t sends = twilio_.request_count();

  ListFilter filter;
  filter.to = kTo;
  filter.from = kFrom;
  filter.page_size = 2;
  absl::StatusOr<std::vector<ProviderMessage>> listed =
      client->List(filter, 100);
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ((*listed)[i].sid, sids[4 - i]) << "newest first";
  }

  const std::vector<RecordedRequest> requests = twilio_.requests();
  ASSERT_EQ(requests.size(), sends + 3);  // pages of 2, 2 and 1
  const RecordedRequest& first = requests[sends];
  EXPECT_EQ(first.method, "GET");
  EXPECT_EQ(first.path, MessagesPath());
  EXPECT_EQ(first.QueryValue("To"), kTo);
  EXPECT_EQ(first.QueryValue("From"), kFrom);
  EXPECT_EQ(first.QueryValue("PageSize"), "2");
  EXPECT_FALSE(first.HasQuery("Page"));
  const RecordedRequest& second = requests[sends + 1];
  EXPECT_EQ(second.path, MessagesPath());
  EXPECT_EQ(second.QueryValue("Page"), "1");
  EXPECT_EQ(second.QueryValue("PageToken"), "PASM1");
  EXPECT_EQ(second.QueryValue("To"), kTo);
  EXPECT_EQ(requests[sends + 2].QueryValue("Page"), "2");
}

TEST_F(TwilioRestClientTest, ListStopsAtMaxResults) {
  auto client = MakeClient();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client->Send(MakeSms()).accepted);
  const size_t sends = twilio_.request_count();
  ListFilter filter;
  filter.page_size = 2;
  absl::StatusOr<std::vector<ProviderMessage>> listed =
      client->List(filter, 3);
  ASSERT_THAT(listed, IsOk());
  EXPECT_EQ(listed->size(), 3u);
  EXPECT_EQ(twilio_.request_count(), sends + 2);
}

TEST_F(TwilioRestClientTest, ListSendsDateFiltersAndAppliesThemExactly) {
  auto client = MakeClient();
  auto stored = [&](absl::string_view sid, std::optional<absl::Time> sent) {
    ProviderMessage m;
    m.sid = std::string(sid);
    m.status = "sent";
    m.to = kTo;
    m.date_sent = sent;
    twilio_.AddMessage(MessageToJson(m, twilio_.account_sid()));
  };
  stored("SM_before", Utc(2023, 8, 24, 4, 59, 59));
  stored("SM_start", Utc(2023, 8, 24, 5, 0, 0));
  stored("SM_inside", Utc(2023, 8, 24, 6, 0, 0));
  stored("SM_end", Utc(2023, 8, 24, 7, 0, 0));
  stored("SM_after", Utc(2023, 8, 24, 7, 0, 1));
  stored("SM_unsent", std::nullopt);

  ListFilter filter;
  filter.date_sent_after = Utc(2023, 8, 24, 5, 0, 0);
  filter.date_sent_before = Utc(2023, 8, 24, 7, 0, 0);
  absl::StatusOr<std::vector<ProviderMessage>> listed =
      client->List(filter, 100);
  ASSERT_THAT(listed, IsOk());
  std::vector<std::string> sids;
  for (const ProviderMessage& m : *listed) sids.push_back(m.sid);
  EXPECT_THAT(sids, ::testing::ElementsAre("SM_unsent", "SM_end", "SM_inside",
                                "SM_start"));

  const RecordedRequest r = twilio_.requests().at(0);
  EXPECT_EQ(r.QueryValue("DateSent>"), "2023-08-24T05:00:00Z");
  EXPECT_EQ(r.QueryValue("DateSent<"), "2023-08-24T07:00:00Z");
  EXPECT_THAT(r.query, HasSubstr("DateSent%3E=2023-08-24T05%3A00%3A00Z"));
}

TEST_F(TwilioRestClientTest, ListRejectsBadArgumentsAndForeignPageLinks) {
  auto client = MakeClient();
  ListFilter filter;
  EXPECT_THAT(client->List(filter, 0),
              StatusIs(absl::StatusCode::kInvalidArgument));
  filter.page_size = 1001;
  EXPECT_THAT(client->List(filter, 10),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(twilio_.request_count(), 0u);

  filter.page_size = 1;
  twilio_.Enqueue(ScriptedResponse::Json(
      200, R"({"messages": [{"sid": "SM1", "status": "sent"}],
               "next_page_uri": "https://evil.example.com/steal"})"));
  EXPECT_THAT(client->List(filter, 10),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("not a path")));
  twilio_.Enqueue(ScriptedResponse::Json(200, R"({"messages": 3})"));
  EXPECT_THAT(client->List(filter, 10),
              StatusIs(absl::StatusCode::kDataLoss));
  twilio_.Enqueue(ScriptedResponse::TwilioError(503, 20503, "down"));
  EXPECT_THAT(client->List(filter, 10),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(TwilioRestClientTest, WrongCredentialsAreNotRetryable) {
  FakeTwilioServer::Options fake_options;
  fake_options.expected_user = "ACfeedfeedfeedfeedfeedfeedfeedfeed";
  fake_options.expected_password = "right";
  fake_options.account_sid = fake_options.expected_user;
  FakeTwilioServer strict(fake_options);
  TwilioRestClient::Options options = DefaultOptions();
  options.api_base = strict.base_url();
  options.account_sid = fake_options.account_sid;
  options.auth_token = "wrong";
  auto client = MakeClient(options);
  SendResult result = client->Send(MakeSms());
  EXPECT_FALSE(result.accepted);
  EXPECT_EQ(result.error.http_status, 401);
  EXPECT_EQ(result.error.code, 20003);
  EXPECT_FALSE(result.error.retryable);
  EXPECT_THAT(client->Fetch("SM1"), StatusIs(absl::StatusCode::kInternal));

  options.auth_token = "right";
  auto good = MakeClient(options);
  EXPECT_TRUE(good->Send(MakeSms()).accepted);
}

TEST(TwilioRestClientCreateTest, RejectsInvalidOptions) {
  auto valid = [] {
    TwilioRestClient::Options o;
    o.api_base = "https://api.twilio.com";
    o.account_sid = "AC00000000000000000000000000000001";
    o.auth_token = "token";
    return o;
  };
  std::vector<TwilioRestClient::Options> cases;
  cases.push_back(valid());
  cases.back().api_base = "api.twilio.com";
  cases.push_back(valid());
  cases.back().api_base = "ftp://api.twilio.com";
  cases.push_back(valid());
  cases.back().account_sid = "";
  cases.push_back(valid());
  cases.back().auth_token = "";
  cases.push_back(valid());
  cases.back().auth_token = "";
  cases.back().api_key_sid = "SK1";  // key without secret
  cases.push_back(valid());
  cases.back().connect_timeout = absl::ZeroDuration();
  cases.push_back(valid());
  cases.back().total_timeout = -absl::Seconds(1);
  cases.push_back(valid());
  cases.back().max_in_flight = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_THAT(TwilioRestClient::Create(cases[i]),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << "case " << i;
  }
  EXPECT_THAT(TwilioRestClient::Create(valid()), IsOk());
}

TEST(TwilioRestClientCreateTest, NormalisesTrailingSlashInApiBase) {
  TwilioRestClient::Options o;
  o.api_base = "http://127.0.0.1:1/";
  o.account_sid = "AC00000000000000000000000000000001";
  o.auth_token = "token";
  absl::StatusOr<std::unique_ptr<TwilioRestClient>> client =
      TwilioRestClient::Create(o);
  ASSERT_THAT(client, IsOk());
  EXPECT_EQ((*client)->MessagesUrl(),
            "http://127.0.0.1:1/2010-04-01/Accounts/"
            "AC00000000000000000000000000000001/Messages.json");
}

}  // namespace
}  // namespace smsgw::twilio
