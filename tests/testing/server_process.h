// File: server_process.h
//
// Runs the real smsgw-server binary as a child process on ephemeral loopback
// ports with its own database directory, for integration tests.
#ifndef SMSGW_TESTS_TESTING_SERVER_PROCESS_H_
#define SMSGW_TESTS_TESTING_SERVER_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace smsgw::testing {

// The integer in environment variable `name`, or `fallback` when it is
// unset or not an integer (the harnesses' CRASH_HARNESS_KILLS, ...).
int IntFromEnv(const char* name, int fallback);

// Path of a binary built next to the tests (SMSGW_BINARY_DIR/name).
std::string BuiltBinary(const std::string& name);

// One child smsgw-server. Not thread-safe. The destructor stops it (SIGTERM,
// then SIGKILL after 10 s).
class ServerProcess {
 public:
  struct Options {
    std::string db_path;  // required
    std::string grpc_addr = "127.0.0.1:0";
    std::string http_addr = "127.0.0.1:0";
    std::string metrics_addr = "127.0.0.1:0";
    // Extra environment. The abuse limits of issue 18 (SMSGW_SIGNUP_*,
    // SMSGW_VERIFY_MAX_*) default to 1000000 here; set them to test them.
    std::map<std::string, std::string> env;
    std::vector<std::string> args;           // extra flags
    std::string log_path;  // stderr goes here; default: <db dir>/server.log
  };

  explicit ServerProcess(Options options) : options_(std::move(options)) {}
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the server and waits until it reports its addresses (up to
  // `timeout`: an ASan server on a loaded 2-core CI machine once took more
  // than 30 s). FailedPrecondition with the log's tail when it exits first.
  absl::Status Start(absl::Duration timeout = absl::Seconds(60));

  // Sends `signal` and waits for the exit (up to `timeout`); returns the exit
  // status as waitpid() reports it, or -1 on timeout (then SIGKILLs).
  int Stop(int signal, absl::Duration timeout = absl::Seconds(15));

  // Waits for the process to exit on its own; the waitpid() status, or -1.
  int WaitForExit(absl::Duration timeout);

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  const std::string& grpc_address() const { return grpc_address_; }
  const std::string& http_address() const { return http_address_; }
  // GET /metrics (SMSGW_METRICS_ADDR).
  const std::string& metrics_address() const { return metrics_address_; }
  std::string ReadLog() const;

 private:
  Options options_;
  pid_t pid_ = -1;
  std::string grpc_address_;
  std::string http_address_;
  std::string metrics_address_;
  std::string port_file_;
};

}  // namespace smsgw::testing

#endif  // SMSGW_TESTS_TESTING_SERVER_PROCESS_H_
