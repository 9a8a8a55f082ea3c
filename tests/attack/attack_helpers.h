// File: attack_helpers.h
//
// Shared by the attack suite (issue 9): a real smsgw-server in a temp
// directory and raw TCP sockets for HTTP abuse; the signed webhook posts come
// from tests/testing/twilio_side.h. Header-only: the suite's
// CMake target compiles only *_test.cc.
#ifndef SMSGW_TESTS_ATTACK_ATTACK_HELPERS_H_
#define SMSGW_TESTS_ATTACK_ATTACK_HELPERS_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/smsgw_client.h"
#include "gtest/gtest.h"
#include "tests/testing/server_fixture.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/twilio_side.h"

namespace smsgw::attack {

// The N of the "retry in N s" that throttled answers (login, sign-up,
// verification) carry, or -1 when there is none.
inline int RetrySeconds(const absl::Status& status) {
  const std::string message(status.message());
  const size_t at = message.find("retry in ");
  int seconds = -1;
  if (at == std::string::npos) return -1;
  const std::string rest = message.substr(at + 9);
  if (!absl::SimpleAtoi(rest.substr(0, rest.find(' ')), &seconds)) return -1;
  return seconds;
}

using testing::HostPort;
using testing::InboundParams;
using testing::NewSid;
using testing::PostSigned;
using testing::PostWebhook;
using testing::SignFor;

// Starts a server on a database in `dir`; the test fails (fatally, via the
// returned null) when it does not start.
inline std::unique_ptr<testing::ServerProcess> StartServer(
    const testing::TempDir& dir, std::vector<std::string> args = {},
    std::map<std::string, std::string> env = {}) {
  return testing::StartServerProcess(dir.File("data/smsgw.db"), std::move(env),
                                     std::move(args));
}

// A blocking TCP connection to a loopback "host:port"; -1 on failure.
inline int ConnectTcp(const std::string& address) {
  auto [host, port] = HostPort(address);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline bool SendAll(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n =
        ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// What a raw connection saw: the bytes read, and whether the peer closed
// (EOF or reset) before `timeout`.
struct ReadResult {
  std::string bytes;
  bool closed = false;
};

// Reads until the peer closes or `timeout` passes.
inline ReadResult ReadUntilClose(int fd, absl::Duration timeout) {
  ReadResult result;
  const absl::Time deadline = absl::Now() + timeout;
  char buffer[4096];
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return result;
    pollfd p{fd, POLLIN, 0};
    const int ready =
        ::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (ready <= 0) continue;
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) {
      result.closed = true;
      return result;
    }
    result.bytes.append(buffer, static_cast<size_t>(n));
  }
}

// The HTTP status code of a raw response ("HTTP/1.1 403 ..."), or 0.
inline int HttpStatusOf(const std::string& response) {
  int status = 0;
  if (response.size() < 12 || response.compare(0, 5, "HTTP/") != 0 ||
      !absl::SimpleAtoi(response.substr(9, 3), &status)) {
    return 0;
  }
  return status;
}

// GET /healthz over a fresh connection: true if answered 200 in `timeout`.
inline bool HttpHealthy(const testing::ServerProcess& server,
                        absl::Duration timeout = absl::Seconds(3)) {
  auto [host, port] = HostPort(server.http_address());
  httplib::Client http(host, port);
  const int64_t ms = absl::ToInt64Milliseconds(timeout);
  http.set_connection_timeout(ms / 1000, (ms % 1000) * 1000);
  http.set_read_timeout(ms / 1000, (ms % 1000) * 1000);
  auto result = http.Get("/healthz");
  return result && result->status == 200;
}

}  // namespace smsgw::attack

#endif  // SMSGW_TESTS_ATTACK_ATTACK_HELPERS_H_
