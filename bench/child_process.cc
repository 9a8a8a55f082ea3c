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
#include "common/spawn.h"

namespace smsgw::bench {

Child::Child(std::vector<std::string> args,
             std::map<std::string, std::string> env, const std::string& log) {
  SpawnOptions spawn;
  spawn.argv = std::move(args);
  // And the pacing and watch settings, which the scenarios set themselves.
  spawn.unset_env = DeveloperShellSettings();
  for (const char* name :
       {"SMSGW_SENDER_RATES", "SMSGW_GLOBAL_RATE", "SMSGW_MAX_BACKLOG",
        "SMSGW_WATCH_BUFFER", "SMSGW_WATCH_MAX_STREAMS"}) {
    spawn.unset_env.push_back(name);
  }
  spawn.env = std::move(env);
  const int out = OpenOutputFile(log);
  spawn.stdout_fd = out;
  spawn.stderr_fd = out;
  absl::StatusOr<pid_t> pid = Spawn(spawn);
  if (out >= 0) close(out);
  pid_ = pid.ok() ? *pid : -1;
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
