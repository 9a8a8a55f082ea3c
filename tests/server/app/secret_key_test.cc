#include "server/app/secret_key.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::app {
namespace {

using ::smsgw::testing::IsOk;
using ::smsgw::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

class SecretKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = ::testing::TempDir() + "/secret_key_test.XXXXXX";
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
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

  std::string dir_;
};

TEST_F(SecretKeyTest, CreatesPrivateHexKeyWhenFileIsMissing) {
  const std::string path = dir_ + "/jwt.key";
  bool created = false;
  SMSGW_ASSERT_OK_AND_ASSIGN(std::string key,
                             LoadOrCreateSecretKey(path, &created));
  EXPECT_TRUE(created);
  EXPECT_THAT(key, MatchesRegex("[0-9a-f]{64}"));

  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(path, std::ios::binary);
  std::string on_disk((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
  EXPECT_EQ(on_disk, key + "\n");
}

TEST_F(SecretKeyTest, LeavesNoTemporaryFilesBehind) {
  ASSERT_THAT(LoadOrCreateSecretKey(dir_ + "/jwt.key", nullptr), IsOk());
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

TEST_F(SecretKeyTest, FailsWhenDirectoryIsNotAccessible) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  const std::string locked = dir_ + "/locked";
  ASSERT_EQ(mkdir(locked.c_str(), 0000), 0);
  bool created = true;
  EXPECT_THAT(LoadOrCreateSecretKey(locked + "/jwt.key", &created),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_FALSE(created);
}

TEST_F(SecretKeyTest, FailsWhenDirectoryIsReadOnly) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  const std::string locked = dir_ + "/readonly";
  ASSERT_EQ(mkdir(locked.c_str(), 0500), 0);
  EXPECT_THAT(LoadOrCreateSecretKey(locked + "/jwt.key", nullptr),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(SecretKeyTest, RejectsEmptyPath) {
  EXPECT_THAT(LoadOrCreateSecretKey("", nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace smsgw::app
