#include "common/spawn.h"

#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

extern char** environ;

namespace smsgw {
namespace {

// The child's environment, built in the parent: everything inherited except
// the removed and replaced names, then the replacements.
std::vector<std::string> ChildEnvironment(const SpawnOptions& options) {
  std::vector<std::string> out;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const char* eq = std::strchr(*entry, '=');
    if (eq == nullptr) continue;
    const std::string name(*entry, eq - *entry);
    if (options.env.count(name) > 0 ||
        std::find(options.unset_env.begin(), options.unset_env.end(), name) !=
            options.unset_env.end()) {
      continue;
    }
    out.emplace_back(*entry);
  }
  for (const auto& [name, value] : options.env) {
    out.push_back(absl::StrCat(name, "=", value));
  }
  return out;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

const std::vector<std::string>& DeveloperShellSettings() {
  static const auto* names = new std::vector<std::string>{
      "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",   "TWILIO_PHONE_NUMBERS",
      "TWILIO_API_BASE",    "TWILIO_MESSAGING_SERVICE_SID",
      "JWT_SECRET_KEY",     "SMSGW_PUBLIC_URL",    "SMSGW_ADMIN_USERS",
      "SMSGW_TLS_CERT",     "SMSGW_TLS_KEY",       "SMSGW_SENDER_IDS"};
  return *names;
}

absl::StatusOr<pid_t> Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("empty argv");
  std::vector<std::string> argv = options.argv;
  std::vector<std::string> envp = ChildEnvironment(options);
  std::vector<char*> raw_argv = Pointers(argv);
  std::vector<char*> raw_envp = Pointers(envp);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 onto 0/1/2 clears close-on-exec on the copy, so a parent's O_CLOEXEC
  // descriptor still reaches the child as its standard stream.
  const int fds[3] = {options.stdin_fd, options.stdout_fd, options.stderr_fd};
  for (int target = 0; target < 3; ++target) {
    if (fds[target] >= 0) {
      posix_spawn_file_actions_adddup2(&actions, fds[target], target);
    }
  }
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, raw_argv[0], &actions, nullptr,
                             raw_argv.data(), raw_envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return absl::InternalError(
        absl::StrCat("posix_spawn ", argv[0], ": ", std::strerror(rc)));
  }
  return pid;
}

int OpenOutputFile(const std::string& path, bool truncate) {
  return ::open(path.c_str(),
                O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : O_APPEND),
                0644);
}

}  // namespace smsgw
