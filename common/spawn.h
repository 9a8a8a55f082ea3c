// File: spawn.h
//
// Starts a child process with posix_spawn, so that no code of ours runs
// between fork and exec. The test harnesses and the benchmark start servers
// from processes whose other threads (an in-process fake Twilio, gRPC pollers)
// may hold the allocator's lock at the fork: a child that then calls setenv
// or fopen before exec waits on that lock forever, which under ASan's
// allocator happened often enough to fail CI ("did not report ready" with an
// empty log). posix_spawn's child only applies the file actions and execs.
#ifndef SMSGW_COMMON_SPAWN_H_
#define SMSGW_COMMON_SPAWN_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace smsgw {

// What to start and with which environment and standard streams.
struct SpawnOptions {
  // argv[0] is the path of the binary (not searched in PATH). Not empty.
  std::vector<std::string> argv;
  // Names removed from the inherited environment (a developer's TWILIO_*).
  std::vector<std::string> unset_env;
  // Variables set in the child, over the inherited ones.
  std::map<std::string, std::string> env;
  // Descriptors the child gets as fd 0, 1 and 2; -1 inherits the parent's.
  // They stay the caller's to close after Spawn returns.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
};

// The settings a developer's shell may hold (Twilio account and numbers, the
// JWT key, public URL, admins, TLS files, sender IDs) that a server started
// by a test harness or the benchmark must never inherit: for
// SpawnOptions::unset_env.
const std::vector<std::string>& DeveloperShellSettings();

// Starts the process and returns its pid; the caller waits for it.
// INVALID_ARGUMENT for an empty argv; INTERNAL when posix_spawn fails, a
// missing or non-executable binary included (glibc reports the exec error).
absl::StatusOr<pid_t> Spawn(const SpawnOptions& options);

// Opens `path` for the child's output: created 0644 if missing, appended to
// (or truncated when `truncate`), close-on-exec in the parent. Returns -1 when
// it cannot be opened.
int OpenOutputFile(const std::string& path, bool truncate = false);

}  // namespace smsgw

#endif  // SMSGW_COMMON_SPAWN_H_
