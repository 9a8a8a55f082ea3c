// Outbound event webhooks end to end in C++ (issue 16 §2), so that the
// delivery worker's threads also run in the ThreadSanitizer build of
// app_tests: the real server with SMSGW_WEBHOOK_ALLOW_PRIVATE, an endpoint
// created over gRPC, and a receiver on a loopback port that checks each
// delivery's Standard Webhooks signature with OpenSSL's HMAC (not the
// server's own signing code). The Node and Python suites in tests/interop
// check the same with the standardwebhooks library and a second language.
#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "smsgw/v1/webhooks.grpc.pb.h"
#include "tests/testing/hmac.h"
#include "tests/testing/server_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_clients.h"

namespace smsgw {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kPeer[] = "+14155550100";

struct Delivery {
  std::string id;
  std::string timestamp;
  std::string signature;
  std::string body;
};

// An HTTP receiver on 127.0.0.1 that records every POST and answers with
// the status set by set_status (200 to begin with).
class Receiver {
 public:
  Receiver() {
    server_.Post("/hook", [this](const httplib::Request& req,
                                 httplib::Response& res) {
      absl::MutexLock lock(&mu_);
      received_.push_back({req.get_header_value("webhook-id"),
                           req.get_header_value("webhook-timestamp"),
                           req.get_header_value("webhook-signature"),
                           req.body});
      res.status = status_;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }

  std::string url() const {
    return absl::StrCat("http://127.0.0.1:", port_, "/hook");
  }
  void set_status(int status) {
    absl::MutexLock lock(&mu_);
    status_ = status;
  }
  // The deliveries so far, once there are at least `n` (or after `timeout`).
  std::vector<Delivery> AwaitAtLeast(size_t n,
                                     absl::Duration timeout = absl::Seconds(20)) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return received_.size() >= n;
    };
    mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
    return received_;
  }

 private:
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<Delivery> received_ ABSL_GUARDED_BY(mu_);
  int status_ ABSL_GUARDED_BY(mu_) = 200;
};

// True when `d` carries a v1 signature of "id.timestamp.body" under the
// whsec_ `secret` (Standard Webhooks: the key is the base64 after the
// prefix; the header may list several space-separated signatures).
bool SignatureVerifies(const Delivery& d, const std::string& secret) {
  std::string key;
  if (!absl::Base64Unescape(secret.substr(std::string("whsec_").size()), &key)) {
    return false;
  }
  const std::string expected = absl::StrCat(
      "v1,", absl::Base64Escape(testing::Hmac(
                 EVP_sha256(), key,
                 absl::StrCat(d.id, ".", d.timestamp, ".", d.body))));
  for (absl::string_view s : absl::StrSplit(d.signature, ' ')) {
    if (s == expected) return true;
  }
  return false;
}

class EventWebhooksIntegrationTest : public testing::ServerTest {
 protected:
  void Start(std::map<std::string, std::string> env = {}) {
    env["SMSGW_WEBHOOK_ALLOW_PRIVATE"] = "true";
    ASSERT_NO_FATAL_FAILURE(StartWithAnn(env));
    stub_ = v1::WebhookService::NewStub(::grpc::CreateChannel(
        server_->grpc_address(), ::grpc::InsecureChannelCredentials()));
  }

  v1::CreateWebhookResponse Create(const std::string& url,
                                   std::vector<std::string> types) {
    v1::CreateWebhookRequest request;
    request.set_url(url);
    for (const std::string& t : types) request.add_event_types(t);
    v1::CreateWebhookResponse response;
    ::grpc::ClientContext context;
    testing::Authorize(context, ann_->access_token(), absl::Seconds(10));
    const ::grpc::Status status = stub_->CreateWebhook(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  v1::Webhook Get(const std::string& id) {
    v1::ListWebhooksResponse response;
    ::grpc::ClientContext context;
    testing::Authorize(context, ann_->access_token(), absl::Seconds(10));
    EXPECT_TRUE(stub_->ListWebhooks(&context, {}, &response).ok());
    for (const v1::Webhook& w : response.webhooks()) {
      if (w.id() == id) return w;
    }
    ADD_FAILURE() << "no webhook " << id;
    return {};
  }

  std::string Send(const std::string& body) {
    v1::SendMessageRequest request;
    request.set_to(kPeer);
    request.set_body(body);
    auto sent = ann_->SendMessage(request);
    EXPECT_THAT(sent, IsOk());
    return sent.ok() ? sent->message().id() : "";
  }

  std::unique_ptr<v1::WebhookService::Stub> stub_;
};

TEST_F(EventWebhooksIntegrationTest, DeliversSignedEventsInCursorOrder) {
  ASSERT_NO_FATAL_FAILURE(Start());
  Receiver receiver;
  const v1::CreateWebhookResponse created =
      Create(receiver.url(), {"message.created"});
  ASSERT_THAT(created.secret(), StartsWith("whsec_"));
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(Send(absl::StrCat("hello ", i)));

  const std::vector<Delivery> got = receiver.AwaitAtLeast(3);
  ASSERT_EQ(got.size(), 3u);
  int64_t last_cursor = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(SignatureVerifies(got[i], created.secret())) << got[i].signature;
    EXPECT_FALSE(SignatureVerifies(got[i], "whsec_" + absl::Base64Escape("x")));
    const nlohmann::json event = nlohmann::json::parse(got[i].body);
    EXPECT_EQ(event["type"], "message.created");
    EXPECT_EQ(event["data"]["message"]["id"], ids[i]);
    EXPECT_EQ(event["data"]["message"]["body"], absl::StrCat("hello ", i));
    int64_t cursor = 0;
    ASSERT_TRUE(absl::SimpleAtoi(event["data"]["cursor"].get<std::string>(),
                                 &cursor));
    EXPECT_GT(cursor, last_cursor);
    last_cursor = cursor;
  }
  // Each event has its own webhook-id.
  EXPECT_NE(got[0].id, got[1].id);
  EXPECT_NE(got[1].id, got[2].id);
}

TEST_F(EventWebhooksIntegrationTest, AFailingEndpointIsDisabledAndEnableResumesIt) {
  // A 1 s retry window: the first retry (at least 1 s after the first
  // failure) ends it.
  ASSERT_NO_FATAL_FAILURE(Start({{"SMSGW_WEBHOOK_RETRY_WINDOW", "1s"}}));
  Receiver receiver;
  receiver.set_status(500);
  const v1::CreateWebhookResponse created =
      Create(receiver.url(), {"message.created"});
  Send("first");

  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  v1::Webhook webhook = Get(created.webhook().id());
  while (webhook.enabled() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
    webhook = Get(created.webhook().id());
  }
  ASSERT_FALSE(webhook.enabled());
  EXPECT_THAT(webhook.disabled_reason(), HasSubstr("HTTP 500"));
  const std::vector<Delivery> failed = receiver.AwaitAtLeast(2);
  ASSERT_GE(failed.size(), 2u);
  EXPECT_EQ(failed[0].id, failed[1].id);  // a retry keeps its webhook-id
  const size_t attempts = failed.size();

  // Disabled: a new event is not attempted.
  Send("second");
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(receiver.AwaitAtLeast(0).size(), attempts);

  receiver.set_status(200);
  v1::EnableWebhookRequest enable;
  enable.set_id(created.webhook().id());
  v1::EnableWebhookResponse enabled;
  ::grpc::ClientContext context;
  testing::Authorize(context, ann_->access_token(), absl::Seconds(10));
  ASSERT_TRUE(stub_->EnableWebhook(&context, enable, &enabled).ok());
  EXPECT_TRUE(enabled.webhook().enabled());
  EXPECT_EQ(enabled.webhook().disabled_reason(), "");

  // The held event first (same webhook-id as its failed attempts), then
  // the one sent while disabled: nothing was skipped.
  const std::vector<Delivery> all = receiver.AwaitAtLeast(attempts + 2);
  ASSERT_EQ(all.size(), attempts + 2);
  EXPECT_EQ(all[attempts].id, failed[0].id);
  EXPECT_THAT(all[attempts].body, HasSubstr("\"first\""));
  EXPECT_THAT(all[attempts + 1].body, HasSubstr("\"second\""));
}

}  // namespace
}  // namespace smsgw
