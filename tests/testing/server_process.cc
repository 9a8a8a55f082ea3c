#include "tests/testing/server_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/spawn.h"

namespace smsgw::testing {

int IntFromEnv(const char* name, int fallback) {
  int value = fallback;
  if (const char* text = std::getenv(name)) {
    if (!absl::SimpleAtoi(text, &value)) value = fallback;
  }
  return value;
}

std::string BuiltBinary(const std::string& name) {
#ifdef SMSGW_BINARY_DIR
  return std::string(SMSGW_BINARY_DIR) + "/" + name;
#else
  return name;
#endif
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Stop(SIGTERM, absl::Seconds(10));
}

std::string ServerProcess::ReadLog() const {
  std::ifstream in(options_.log_path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status ServerProcess::Start(absl::Duration timeout) {
  const std::string dir =
      std::filesystem::path(options_.db_path).parent_path().string();
  std::filesystem::create_directories(dir);
  if (options_.log_path.empty()) options_.log_path = dir + "/server.log";
  port_file_ = dir + "/ports." + std::to_string(::getpid()) + "." +
               std::to_string(absl::ToUnixNanos(absl::Now()));
  std::filesystem::remove(port_file_);

  std::vector<std::string> args = {
      BuiltBinary("smsgw-server"),
      "--grpc_addr=" + options_.grpc_addr,
      "--http_addr=" + options_.http_addr,
      "--metrics_addr=" + options_.metrics_addr,
      "--db_path=" + options_.db_path,
      "--port_file=" + port_file_,
      "--simulator_port=0",
  };
  args.insert(args.end(), options_.args.begin(), options_.args.end());

  SpawnOptions spawn;
  spawn.argv = std::move(args);
  // A clean environment, so that the developer's TWILIO_* never leak in.
  spawn.unset_env = DeveloperShellSettings();
  // The abuse limits (issue 18) count every sign-up and code from
  // 127.0.0.1, where whole suites sign up hundreds of users: off unless a
  // test sets them in `env` (the sign-up and pumping suites do).
  for (const char* name :
       {"SMSGW_SIGNUP_PEER_MAX", "SMSGW_SIGNUP_MAX",
        "SMSGW_VERIFY_MAX_PER_PREFIX_PER_HOUR",
        "SMSGW_VERIFY_MAX_PER_COUNTRY_PER_HOUR", "SMSGW_VERIFY_MAX_PER_HOUR"}) {
    spawn.env[name] = "1000000";
  }
  for (const auto& [name, value] : options_.env) spawn.env[name] = value;
  const int log = OpenOutputFile(options_.log_path);
  spawn.stdout_fd = log;
  spawn.stderr_fd = log;
  absl::StatusOr<pid_t> pid = Spawn(spawn);
  if (log >= 0) ::close(log);
  if (!pid.ok()) return pid.status();
  pid_ = *pid;

  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::FailedPreconditionError(
          absl::StrCat("smsgw-server exited during start-up (status ", status,
                       "):\n", ReadLog()));
    }
    std::ifstream in(port_file_);
    std::string line;
    while (std::getline(in, line)) {
      if (absl::StartsWith(line, "grpc=")) grpc_address_ = line.substr(5);
      if (absl::StartsWith(line, "http=")) http_address_ = line.substr(5);
      if (absl::StartsWith(line, "metrics=")) {
        metrics_address_ = line.substr(8);
      }
    }
    if (!grpc_address_.empty() && !http_address_.empty() &&
        (options_.metrics_addr.empty() || !metrics_address_.empty())) {
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  Stop(SIGKILL);
  return absl::DeadlineExceededError(
      absl::StrCat("smsgw-server did not report ready:\n", ReadLog()));
}

int ServerProcess::WaitForExit(absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return status;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return -1;
}

int ServerProcess::Stop(int signal, absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  int status = WaitForExit(timeout);
  if (status == -1 && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    WaitForExit(absl::Seconds(5));
  }
  return status;
}

}  // namespace smsgw::testing
