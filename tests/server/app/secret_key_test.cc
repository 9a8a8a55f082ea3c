#include "server/app/secret_key.h"

#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::app {
namespace {

using ::testing::HasSubstr;

// The unprivileged user (nobody) that the permission cases run as when the
// test runs as root, as CI does: root ignores directory permissions.
constexpr uid_t kNobody = 65534;

// What LoadOrCreateSecretKey returned, and what it set *created to.
struct Outcome {
  absl::Status status;
  bool created = true;
};

Outcome Load(const std::string& path) {
  Outcome outcome;
  outcome.status = LoadOrCreateSecretKey(path, &outcome.created).status();
  return outcome;
}

// Load(path) as an unprivileged user: directly when the test is not root;
// as root, in a forked child that has dropped to nobody (no supplementary
// groups), which reports the outcome through a pipe ("code created message").
Outcome LoadUnprivileged(const std::string& path) {
  if (geteuid() != 0) return Load(path);
  int fds[2];
  if (pipe(fds) != 0) return {absl::InternalError("pipe failed")};
  const pid_t pid = fork();
  if (pid < 0) return {absl::InternalError("fork failed")};
  if (pid == 0) {
    close(fds[0]);
    if (setgroups(0, nullptr) != 0 ||
        setresgid(kNobody, kNobody, kNobody) != 0 ||
        setresuid(kNobody, kNobody, kNobody) != 0 || geteuid() != kNobody) {
      _exit(2);
    }
    const Outcome outcome = Load(path);
    const std::string report =
        absl::StrCat(static_cast<int>(outcome.status.code()), " ",
                     outcome.created ? 1 : 0, " ", outcome.status.message());
    const bool written = write(fds[1], report.data(), report.size()) ==
                         static_cast<ssize_t>(report.size());
    _exit(written ? 0 : 3);
  }
  close(fds[1]);
  std::string report;
  char buffer[512];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof(buffer))) > 0;) {
    report.append(buffer, static_cast<size_t>(n));
  }
  close(fds[0]);
  int wait_status = 0;
  waitpid(pid, &wait_status, 0);
  const size_t first = report.find(' ');
  const size_t second = report.find(' ', first + 1);
  int code = 0;
  if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0 ||
      second == std::string::npos ||
      !absl::SimpleAtoi(report.substr(0, first), &code)) {
    return {absl::InternalError(
        absl::StrCat("unprivileged child failed: ", wait_status, " ", report))};
  }
  return {absl::Status(static_cast<absl::StatusCode>(code),
                       report.substr(second + 1)),
          report.substr(first + 1, 1) == "1"};
}

class SecretKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = ::testing::TempDir() + "/secret_key_test.XXXXXX";
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    // LoadUnprivileged's child must reach the directories made in dir_.
    if (geteuid() == 0) {
      ASSERT_EQ(chmod(dir_.c_str(), 0711), 0);
    }
  }
  void TearDown() override {
    chmod(dir_.c_str(), 0700);
    std::string command = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(std::system(command.c_str()), 0);
  }

  void WriteFile(const std::string& path, const std::string& contents,
                 mode_t mode) {
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << contents;
      ASSERT_TRUE(out.good());
    }
    ASSERT_EQ(chmod(path.c_str(), mode), 0);
  }

  // A directory dir_/`name` with `mode`, owned by the user LoadUnprivileged
  // runs as; its path.
  std::string UnprivilegedDir(const std::string& name, mode_t mode) {
    const std::string path = dir_ + "/" + name;
    EXPECT_EQ(mkdir(path.c_str(), mode), 0) << path;
    if (geteuid() == 0) {
      EXPECT_EQ(chown(path.c_str(), kNobody, kNobody), 0) << path;
    }
    EXPECT_EQ(chmod(path.c_str(), mode), 0) << path;  // umask aside
    return path;
  }

  std::string dir_;
};

TEST_F(SecretKeyTest, CreatesPrivateHexKeyWhenFileIsMissing) {
  const std::string path = dir_ + "/jwt.key";
  bool created = false;
  SMSGW_ASSERT_OK_AND_ASSIGN(std::string key,
                             LoadOrCreateSecretKey(path, &created));
  EXPECT_TRUE(created);
  EXPECT_THAT(key, ::testing::MatchesRegex("[0-9a-f]{64}"));

  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(path, std::ios::binary);
  std::string on_disk((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
  EXPECT_EQ(on_disk, key + "\n");
}

TEST_F(SecretKeyTest, LeavesNoTemporaryFilesBehind) {
  ASSERT_THAT(LoadOrCreateSecretKey(dir_ + "/jwt.key", nullptr), testing::IsOk());
  std::string command = "test \"$(ls -A '" + dir_ + "')\" = jwt.key";
  EXPECT_EQ(std::system(command.c_str()), 0);
}

TEST_F(SecretKeyTest, ReloadReturnsTheSameKey) {
  const std::string path = dir_ + "/jwt.key";
  bool created = false;
  SMSGW_ASSERT_OK_AND_ASSIGN(std::string first,
                             LoadOrCreateSecretKey(path, &created));
  ASSERT_TRUE(created);
  SMSGW_ASSERT_OK_AND_ASSIGN(std::string second,
                             LoadOrCreateSecretKey(path, &created));
  EXPECT_FALSE(created);
  EXPECT_EQ(first, second);
}

TEST_F(SecretKeyTest, TwoFilesGetDifferentKeys) {
  SMSGW_ASSERT_OK_AND_ASSIGN(std::string a,
                             LoadOrCreateSecretKey(dir_ + "/a.key", nullptr));
  SMSGW_ASSERT_OK_AND_ASSIGN(std::string b,
                             LoadOrCreateSecretKey(dir_ + "/b.key", nullptr));
  EXPECT_NE(a, b);
}

TEST_F(SecretKeyTest, LoadsOperatorProvidedKeyWithoutTrailingNewline) {
  const std::string path = dir_ + "/jwt.key";
  const std::string key(40, 'k');
  WriteFile(path, key + "\r\n", 0400);
  bool created = true;
  SMSGW_ASSERT_OK_AND_ASSIGN(std::string loaded,
                             LoadOrCreateSecretKey(path, &created));
  EXPECT_EQ(loaded, key);
  EXPECT_FALSE(created);
}

TEST_F(SecretKeyTest, RejectsKeyReadableByGroupOrOthers) {
  const std::string path = dir_ + "/jwt.key";
  const std::string key(64, 'a');
  for (mode_t mode : {0640, 0604, 0644, 0660, 0700 | 0007}) {
    WriteFile(path, key, mode);
    bool created = true;
    EXPECT_THAT(
        LoadOrCreateSecretKey(path, &created),
        StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("chmod 600")))
        << std::oct << mode;
    EXPECT_FALSE(created);
  }
}

TEST_F(SecretKeyTest, RejectsTooShortKey) {
  const std::string path = dir_ + "/jwt.key";
  // 31 bytes of key plus a newline: the newline does not count.
  WriteFile(path, std::string(31, 'a') + "\n", 0600);
  EXPECT_THAT(LoadOrCreateSecretKey(path, nullptr),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("at least 32")));
  WriteFile(path, "", 0600);
  EXPECT_THAT(LoadOrCreateSecretKey(path, nullptr),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(SecretKeyTest, RejectsOversizedFile) {
  const std::string path = dir_ + "/jwt.key";
  WriteFile(path, std::string(kMaxSecretKeyFileBytes + 1, 'a'), 0600);
  EXPECT_THAT(LoadOrCreateSecretKey(path, nullptr),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(SecretKeyTest, RejectsDirectoryAtKeyPath) {
  const std::string path = dir_ + "/jwt.key";
  ASSERT_EQ(mkdir(path.c_str(), 0700), 0);
  EXPECT_THAT(LoadOrCreateSecretKey(path, nullptr),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not a regular file")));
}

TEST_F(SecretKeyTest, FailsWhenParentIsNotADirectory) {
  const std::string file = dir_ + "/plain";
  WriteFile(file, "x", 0600);
  bool created = true;
  EXPECT_THAT(LoadOrCreateSecretKey(file + "/jwt.key", &created),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("plain/jwt.key")));
  EXPECT_FALSE(created);
}

TEST_F(SecretKeyTest, FailsWhenDirectoryIsMissing) {
  EXPECT_THAT(LoadOrCreateSecretKey(dir_ + "/nope/jwt.key", nullptr),
              StatusIs(absl::StatusCode::kNotFound));
}

// The control for the two cases below: in a directory of its own that it may
// write, the unprivileged user gets a key.
TEST_F(SecretKeyTest, UnprivilegedUserCreatesAKeyInItsOwnDirectory) {
  const std::string own = UnprivilegedDir("own", 0700);
  const Outcome outcome = LoadUnprivileged(own + "/jwt.key");
  EXPECT_THAT(outcome.status, testing::IsOk());
  EXPECT_TRUE(outcome.created);
  struct stat st;
  ASSERT_EQ(stat((own + "/jwt.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, geteuid() == 0 ? kNobody : geteuid());
}

TEST_F(SecretKeyTest, FailsWhenDirectoryIsNotAccessible) {
  const std::string locked = UnprivilegedDir("locked", 0000);
  const Outcome outcome = LoadUnprivileged(locked + "/jwt.key");
  EXPECT_THAT(outcome.status, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_FALSE(outcome.created);
}

TEST_F(SecretKeyTest, FailsWhenDirectoryIsReadOnly) {
  const std::string locked = UnprivilegedDir("readonly", 0500);
  const Outcome outcome = LoadUnprivileged(locked + "/jwt.key");
  EXPECT_THAT(outcome.status, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_FALSE(outcome.created);
}

TEST_F(SecretKeyTest, RejectsEmptyPath) {
  EXPECT_THAT(LoadOrCreateSecretKey("", nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace smsgw::app
