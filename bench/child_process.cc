#include "bench/child_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace smsgw::bench {

Child::Child(std::vector<std::string> args,
             std::map<std::string, std::string> env, const std::string& log) {
  pid_ = fork();
  if (pid_ == 0) {
    for (const char* name :
         {"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_PHONE_NUMBERS",
          "TWILIO_API_BASE", "TWILIO_MESSAGING_SERVICE_SID", "JWT_SECRET_KEY",
          "SMSGW_PUBLIC_URL", "SMSGW_ADMIN_USERS", "SMSGW_TLS_CERT",
          "SMSGW_TLS_KEY", "SMSGW_SENDER_IDS", "SMSGW_SENDER_RATES",
          "SMSGW_GLOBAL_RATE", "SMSGW_MAX_BACKLOG", "SMSGW_WATCH_BUFFER",
          "SMSGW_WATCH_MAX_STREAMS"}) {
      unsetenv(name);
    }
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    FILE* out = std::fopen(log.c_str(), "a");
    if (out != nullptr) {
      dup2(fileno(out), STDOUT_FILENO);
      dup2(fileno(out), STDERR_FILENO);
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    std::_Exit(127);
  }
}

bool Child::Alive() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

void Child::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 500; ++i) {
    if (!Alive()) return;
    absl::SleepFor(absl::Milliseconds(20));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::map<std::string, std::string> WaitForPortFile(const std::string& path,
                                                   const std::string& key,
                                                   Child& child) {
  for (int i = 0; i < 1500; ++i) {
    std::ifstream in(path);
    std::map<std::string, std::string> values;
    std::string line;
    while (std::getline(in, line)) {
      std::vector<std::string> kv =
          absl::StrSplit(line, absl::MaxSplits('=', 1));
      if (kv.size() == 2) values[kv[0]] = kv[1];
    }
    if (values.count(key)) return values;
    if (!child.Alive()) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return {};
}

std::string SelfExe() {
  return std::filesystem::read_symlink("/proc/self/exe").string();
}

}  // namespace smsgw::bench
