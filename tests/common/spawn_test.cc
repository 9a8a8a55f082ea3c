#include "common/spawn.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace smsgw {
namespace {

int WaitExit(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(SpawnTest, TheChildSeesTheSetAndNotTheUnsetVariables) {
  ::setenv("SMSGW_SPAWN_TEST_DROPPED", "leaked", 1);
  testing::TempDir dir;
  const std::string out_path = dir.File("out.txt");
  const int out = OpenOutputFile(out_path, /*truncate=*/true);
  ASSERT_GE(out, 0);
  SpawnOptions spawn;
  spawn.argv = {"/bin/sh", "-c",
                "echo \"$SMSGW_SPAWN_TEST_SET:${SMSGW_SPAWN_TEST_DROPPED-unset}\""
                "; echo to-stderr >&2"};
  spawn.env = {{"SMSGW_SPAWN_TEST_SET", "a b=c"}};
  spawn.unset_env = {"SMSGW_SPAWN_TEST_DROPPED"};
  spawn.stdout_fd = out;
  spawn.stderr_fd = out;
  absl::StatusOr<pid_t> pid = Spawn(spawn);
  ::close(out);
  ::unsetenv("SMSGW_SPAWN_TEST_DROPPED");
  ASSERT_TRUE(pid.ok()) << pid.status();
  EXPECT_EQ(WaitExit(*pid), 0);
  EXPECT_EQ(Read(out_path), "a b=c:unset\nto-stderr\n");
}

TEST(SpawnTest, OutputFilesAppendUnlessTruncated) {
  testing::TempDir dir;
  const std::string path = dir.File("log.txt");
  for (int i = 0; i < 2; ++i) {
    const int fd = OpenOutputFile(path);
    SpawnOptions spawn;
    spawn.argv = {"/bin/echo", "line"};
    spawn.stdout_fd = fd;
    absl::StatusOr<pid_t> pid = Spawn(spawn);
    ::close(fd);
    ASSERT_TRUE(pid.ok()) << pid.status();
    EXPECT_EQ(WaitExit(*pid), 0);
  }
  EXPECT_EQ(Read(path), "line\nline\n");
  ::close(OpenOutputFile(path, /*truncate=*/true));
  EXPECT_EQ(Read(path), "");
}

TEST(SpawnTest, EmptyArgvAndMissingBinariesAreErrors) {
  EXPECT_EQ(Spawn(SpawnOptions{}).status().code(),
            absl::StatusCode::kInvalidArgument);
  SpawnOptions missing;
  missing.argv = {"/nonexistent/smsgw-server"};
  EXPECT_EQ(Spawn(missing).status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(OpenOutputFile("/nonexistent/dir/log.txt"), -1);
}

// The harnesses spawn servers while other threads of the test allocate (an
// in-process fake Twilio). A fork whose child called setenv or fopen before
// exec could inherit a held allocator lock and never exec; every child here
// must run to its exit.
TEST(SpawnTest, SpawnsWhileAnotherThreadAllocates) {
  std::atomic<bool> stop{false};
  std::thread allocator([&stop] {
    while (!stop.load()) {
      std::string grown;
      for (int i = 0; i < 64; ++i) grown += std::string(100 + i, 'x');
      volatile size_t size = grown.size();
      (void)size;
    }
  });
  for (int i = 0; i < 50; ++i) {
    SpawnOptions spawn;
    spawn.argv = {"/bin/true"};
    spawn.env = {{"SMSGW_SPAWN_TEST_ROUND", std::to_string(i)}};
    absl::StatusOr<pid_t> pid = Spawn(spawn);
    ASSERT_TRUE(pid.ok()) << pid.status();
    EXPECT_EQ(WaitExit(*pid), 0) << "round " << i;
  }
  stop.store(true);
  allocator.join();
}

}  // namespace
}  // namespace smsgw
