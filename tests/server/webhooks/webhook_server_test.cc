#include "server/webhooks/webhook_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::webhooks {
namespace {

int Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Seconds until the server closes `fd` (reading and dropping what it sends),
// or -1 if it is still open after `limit`.
double SecondsUntilClosed(int fd, absl::Duration limit) {
  const absl::Time start = absl::Now();
  char buffer[1024];
  while (absl::Now() - start < limit) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    if (::recv(fd, buffer, sizeof(buffer), 0) <= 0) {
      return absl::ToDoubleSeconds(absl::Now() - start);
    }
  }
  return -1;
}

class WebhookServerTest : public ::testing::Test {
 protected:
  void Start(WebhookServer::Options options) {
    options.host = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<WebhookServer>(options);
    server_->http().Get("/slow", [this](const httplib::Request&,
                                        httplib::Response& res) {
      // Hold the thread until 10 calls run at once (or 3 s pass): more
      // than httplib's default pool could run.
      const int now = ++running_;
      {
        absl::MutexLock lock(&mu_);
        peak_ = std::max(peak_, now);
      }
      const absl::Time give_up = absl::Now() + absl::Seconds(3);
      while (running_ < 10 && absl::Now() < give_up) {
        absl::SleepFor(absl::Milliseconds(10));
      }
      {
        absl::MutexLock lock(&mu_);
        peak_ = std::max(peak_, running_.load());
      }
      --running_;
      res.set_content("done", "text/plain");
    });
    ASSERT_THAT(server_->Start(), testing::IsOk());
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Stop();
  }

  std::unique_ptr<WebhookServer> server_;
  std::atomic<int> running_{0};
  absl::Mutex mu_;
  int peak_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST_F(WebhookServerTest, TooManyHeadersAreAnswered431) {
  WebhookServer::Options options;
  // httplib adds a few of its own (Host, REMOTE_ADDR, ...).
  options.max_headers = 20;
  Start(options);
  httplib::Client client("127.0.0.1", server_->port());
  httplib::Headers few;
  for (int i = 0; i < 3; ++i) few.emplace(absl::StrCat("X-H", i), "v");
  auto ok = client.Get("/healthz", few);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  httplib::Headers many;
  for (int i = 0; i < 40; ++i) many.emplace(absl::StrCat("X-H", i), "v");
  auto refused = client.Get("/healthz", many);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 431);
}

TEST_F(WebhookServerTest, TooManyHeaderBytesAreAnswered431) {
  WebhookServer::Options options;
  options.max_header_bytes = 4096;
  Start(options);
  httplib::Client client("127.0.0.1", server_->port());
  httplib::Headers big = {{"X-A", std::string(3000, 'a')},
                          {"X-B", std::string(3000, 'b')}};
  auto refused = client.Get("/healthz", big);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 431);
  auto ok = client.Get("/healthz", {{"X-A", std::string(3000, 'a')}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(WebhookServerTest, ThreadPoolHasTheConfiguredSize) {
  WebhookServer::Options options;
  options.threads = 12;
  Start(options);
  std::vector<std::thread> callers;
  for (int i = 0; i < 12; ++i) {
    callers.emplace_back([this] {
      httplib::Client client("127.0.0.1", server_->port());
      client.Get("/slow");
    });
  }
  for (std::thread& t : callers) t.join();
  absl::MutexLock lock(&mu_);
  // httplib's own default on this machine would be 8.
  EXPECT_GT(peak_, 8);
}

TEST_F(WebhookServerTest, HalfSentRequestIsDroppedAfterReadAndKeepAliveTimeouts) {
  WebhookServer::Options options;
  options.read_timeout = absl::Seconds(1);
  options.keep_alive_timeout = absl::Seconds(1);
  Start(options);
  const int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  const std::string half = "POST /x HTTP/1.1\r\nHost: a\r\nX-Hal";
  ASSERT_EQ(::send(fd, half.data(), half.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(half.size()));
  const double seconds = SecondsUntilClosed(fd, absl::Seconds(6));
  ::close(fd);
  EXPECT_GT(seconds, 0.5);
  EXPECT_LT(seconds, 3.0);
}

TEST_F(WebhookServerTest, SilentConnectionIsDroppedAfterTheKeepAliveTimeout) {
  WebhookServer::Options options;
  options.keep_alive_timeout = absl::Seconds(1);
  Start(options);
  const int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  const double seconds = SecondsUntilClosed(fd, absl::Seconds(6));
  ::close(fd);
  EXPECT_GT(seconds, 0.5);
  EXPECT_LT(seconds, 2.5);
}

TEST_F(WebhookServerTest, KeepAliveConnectionServesAtMostTheLimit) {
  WebhookServer::Options options;
  options.keep_alive_max_count = 3;
  Start(options);
  httplib::Client client("127.0.0.1", server_->port());
  client.set_keep_alive(true);
  std::vector<std::string> connection;
  for (int i = 0; i < 3; ++i) {
    auto got = client.Get("/healthz");
    ASSERT_TRUE(got);
    connection.push_back(got->get_header_value("Connection"));
  }
  // The third answer on the connection announces its end.
  EXPECT_NE(connection[0], "close");
  EXPECT_NE(connection[1], "close");
  EXPECT_EQ(connection[2], "close");
}

}  // namespace
}  // namespace smsgw::webhooks
