#include "tests/testing/run_command.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/spawn.h"
#include "tests/testing/server_process.h"

namespace smsgw::testing {
std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env) {
  char out_path[] = "/tmp/smsgw-cmd-out-XXXXXX";
  char err_path[] = "/tmp/smsgw-cmd-err-XXXXXX";
  const int out_fd = ::mkstemp(out_path);
  const int err_fd = ::mkstemp(err_path);
  CommandResult result;
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  SpawnOptions spawn;
  spawn.argv = argv;
  spawn.env = env;
  spawn.stdin_fd = null_fd;
  spawn.stdout_fd = out_fd;
  spawn.stderr_fd = err_fd;
  absl::StatusOr<pid_t> spawned = Spawn(spawn);
  if (null_fd >= 0) ::close(null_fd);
  if (!spawned.ok()) {
    ::close(out_fd);
    ::close(err_fd);
    ::unlink(out_path);
    ::unlink(err_path);
    result.err = std::string(spawned.status().message());
    return result;
  }
  const pid_t pid = *spawned;
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  ::close(out_fd);
  ::close(err_fd);
  result.out = ReadFileOrEmpty(out_path);
  result.err = ReadFileOrEmpty(err_path);
  ::unlink(out_path);
  ::unlink(err_path);
  return result;
}

CommandResult RunSmsgwCli(const std::string& grpc_address,
                          const std::string& config_dir,
                          const std::vector<std::string>& args,
                          const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {BuiltBinary("smsgw"),
                                   "--server=" + grpc_address,
                                   "--config_dir=" + config_dir};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv);
}

}  // namespace smsgw::testing
