// File: server_fixture.h
//
// What most integration suites start from: a real smsgw-server on loopback
// ports with its own database in a temp directory, clients signed up to it,
// and the built `smsgw` CLI run against it. One home for the fixture that the
// app, attack and e2e suites used to copy.
#ifndef SMSGW_TESTS_TESTING_SERVER_FIXTURE_H_
#define SMSGW_TESTS_TESTING_SERVER_FIXTURE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "client/smsgw_client.h"
#include "gtest/gtest.h"
#include "tests/testing/run_command.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_clients.h"

namespace smsgw::testing {

// A loopback TCP port that was free a moment ago (bound to port 0, read,
// closed), for a listener the test names up front (the simulator's); -1 when
// no socket could be bound.
int FreePort();

// "host:port" split at the last colon; {"", 0} when there is no port number.
std::pair<std::string, int> HostPort(const std::string& address);

// The value of the unlabelled `series` on GET /metrics of the server whose
// metrics listener is `metrics_address`; 0 when absent, -1 (with a test
// failure) when the listener does not answer.
double MetricValue(const std::string& metrics_address,
                   const std::string& series);

// Starts a server on `db_path` with extra environment `env` and flags `args`.
// Returns null, with a (non-fatal) test failure naming the cause and the log's
// tail, when it does not start.
std::unique_ptr<ServerProcess> StartServerProcess(
    const std::string& db_path, std::map<std::string, std::string> env = {},
    std::vector<std::string> args = {});

// Starts a server on a fresh database with `env` and `args`, and stops it
// again; Start's status. For settings the server must refuse at start.
absl::Status StartStatus(std::map<std::string, std::string> env,
                         std::vector<std::string> args = {});

// A fixture with one server per test on dir_/data/smsgw.db. StartServer is
// not called for the test: each suite starts it (in SetUp or in the test body)
// with what it needs.
class ServerTest : public ::testing::Test {
 protected:
  using SmsgwClient = client::SmsgwClient;

  // Starts server_ with extra `env` and flags `args`; a fatal failure when it
  // does not start (wrap a call in a test body in ASSERT_NO_FATAL_FAILURE).
  void StartServer(std::map<std::string, std::string> env = {},
                   std::vector<std::string> args = {});

  // StartServer, then signs up "ann" into ann_.
  void StartWithAnn(std::map<std::string, std::string> env = {},
                    std::vector<std::string> args = {});

  // A client signed up to server_ as `name` with kTestPassword (and phone
  // `phone`); see SignedUpClient for failures.
  std::unique_ptr<client::SmsgwClient> SignedIn(const std::string& name,
                                                const std::string& phone = "");

  // SELECT COUNT(*) FROM `table` on the server's database; -1, with a test
  // failure, when it cannot be read.
  int64_t Rows(const std::string& table) const;

  TempDir dir_;
  const std::string db_path_ = dir_.File("data/smsgw.db");
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<client::SmsgwClient> ann_;  // set by StartWithAnn
};

// ServerTest for the `smsgw` CLI: SetUp starts the server with no extra
// settings; Smsgw runs the real binary against it.
class CliServerTest : public ServerTest {
 protected:
  using CommandResult = ::smsgw::testing::CommandResult;

  void SetUp() override { StartServer(); }

  // Runs `smsgw` with `flags` then `args`, keeping its token in dir_/`config`
  // (one directory per user where a test has several).
  CommandResult Smsgw(const std::vector<std::string>& args,
                      const std::string& config = "config",
                      const std::vector<std::string>& flags = {});

  // `smsgw signup` as `user` with kTestPassword (and `phone`); a fatal
  // failure when it does not exit 0.
  void SignUp(const std::string& user, const std::string& config = "config",
              const std::string& phone = "");
};

}  // namespace smsgw::testing

#endif  // SMSGW_TESTS_TESTING_SERVER_FIXTURE_H_
