#include "tests/testing/server_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/testing/grpc_helpers.h"

namespace smsgw::testing {

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::pair<std::string, int> HostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return {"", 0};
  }
  return {address.substr(0, colon), port};
}

double MetricValue(const std::string& metrics_address,
                   const std::string& series) {
  auto [host, port] = HostPort(metrics_address);
  httplib::Client http(host, port);
  auto res = http.Get("/metrics");
  EXPECT_TRUE(res) << "GET /metrics on " << metrics_address;
  if (!res) return -1;
  for (absl::string_view line : absl::StrSplit(res->body, '\n')) {
    if (absl::StartsWith(line, absl::StrCat(series, " "))) {
      double value = 0;
      EXPECT_TRUE(absl::SimpleAtod(line.substr(series.size() + 1), &value));
      return value;
    }
  }
  return 0;
}

namespace {

std::unique_ptr<ServerProcess> NewServer(const std::string& db_path,
                                         std::map<std::string, std::string> env,
                                         std::vector<std::string> args) {
  ServerProcess::Options options;
  options.db_path = db_path;
  options.env = std::move(env);
  options.args = std::move(args);
  return std::make_unique<ServerProcess>(options);
}

}  // namespace

std::unique_ptr<ServerProcess> StartServerProcess(
    const std::string& db_path, std::map<std::string, std::string> env,
    std::vector<std::string> args) {
  auto server = NewServer(db_path, std::move(env), std::move(args));
  const absl::Status started = server->Start();
  EXPECT_TRUE(started.ok()) << started;
  if (!started.ok()) return nullptr;
  return server;
}

absl::Status StartStatus(std::map<std::string, std::string> env,
                         std::vector<std::string> args) {
  TempDir dir;
  auto server =
      NewServer(dir.File("data/smsgw.db"), std::move(env), std::move(args));
  return server->Start();
}

void ServerTest::StartServer(std::map<std::string, std::string> env,
                             std::vector<std::string> args) {
  // server_ stays set when the start fails, so that a test body that goes on
  // fails on its calls rather than on a null pointer.
  server_ = NewServer(db_path_, std::move(env), std::move(args));
  const absl::Status started = server_->Start();
  ASSERT_TRUE(started.ok()) << started;
}

void ServerTest::StartWithAnn(std::map<std::string, std::string> env,
                              std::vector<std::string> args) {
  StartServer(std::move(env), std::move(args));
  if (HasFatalFailure()) {
    // Never null: a test body that goes on fails on its calls (UNAVAILABLE)
    // instead of dereferencing a null client.
    client::SmsgwClient::Options options;
    options.target = "127.0.0.1:1";
    options.timeout = absl::Seconds(1);
    absl::StatusOr<std::unique_ptr<client::SmsgwClient>> dead =
        client::SmsgwClient::Create(options);
    if (dead.ok()) ann_ = *std::move(dead);
    return;
  }
  ann_ = SignedIn("ann");
}

std::unique_ptr<client::SmsgwClient> ServerTest::SignedIn(
    const std::string& name, const std::string& phone) {
  return SignedUpClient(*server_, name, kTestPassword, phone);
}

int64_t ServerTest::Rows(const std::string& table) const {
  absl::StatusOr<int64_t> n = CountRows(db_path_, table);
  EXPECT_TRUE(n.ok()) << table << ": " << n.status();
  return n.ok() ? *n : -1;
}

CommandResult CliServerTest::Smsgw(const std::vector<std::string>& args,
                                   const std::string& config,
                                   const std::vector<std::string>& flags) {
  return RunSmsgwCli(server_->grpc_address(), dir_.File(config), args, flags);
}

void CliServerTest::SignUp(const std::string& user, const std::string& config,
                           const std::string& phone) {
  std::vector<std::string> args = {"signup", "--username=" + user,
                                   std::string("--password=") + kTestPassword};
  if (!phone.empty()) args.push_back("--phone=" + phone);
  const CommandResult signup = Smsgw(args, config);
  ASSERT_EQ(signup.exit_code, 0) << signup.err;
}

}  // namespace smsgw::testing
