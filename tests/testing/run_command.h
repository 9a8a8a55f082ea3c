// File: run_command.h
//
// Runs a program with arguments (no shell), capturing stdout and stderr.
#ifndef SMSGW_TESTS_TESTING_RUN_COMMAND_H_
#define SMSGW_TESTS_TESTING_RUN_COMMAND_H_

#include <map>
#include <string>
#include <vector>

namespace smsgw::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when it did not exit normally
  std::string out;
  std::string err;
};

// The whole content of the file at `path`; "" when it cannot be read.
std::string ReadFileOrEmpty(const std::string& path);

// Runs `argv[0]` with `argv`, extra environment `env`, and waits for it.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env = {});

// Runs the built `smsgw` CLI against the server at `grpc_address`, keeping
// its token in `config_dir`, with `flags` before the command words `args`.
CommandResult RunSmsgwCli(const std::string& grpc_address,
                          const std::string& config_dir,
                          const std::vector<std::string>& args,
                          const std::vector<std::string>& flags = {});

}  // namespace smsgw::testing

#endif  // SMSGW_TESTS_TESTING_RUN_COMMAND_H_
