#include "server/domain/password_hasher.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::domain {
namespace {

// Small memory keeps the suite fast; the production default is checked
// separately.
PasswordHasherOptions FastOptions() {
  PasswordHasherOptions options;
  options.memory_kib = 64;
  options.iterations = 1;
  return options;
}

TEST(PasswordHasherTest, DefaultsAreOwaspArgon2idParameters) {
  PasswordHasher hasher;
  EXPECT_EQ(hasher.options().memory_kib, 19456u);
  EXPECT_EQ(hasher.options().iterations, 2u);
  SMSGW_ASSERT_OK_AND_ASSIGN(std::string encoded, hasher.Hash("hunter2"));
  EXPECT_THAT(encoded, ::testing::StartsWith("$argon2id$v=19$m=19456,t=2,p=1$"));
  EXPECT_TRUE(hasher.Verify("hunter2", encoded));
}

TEST(PasswordHasherTest, VerifyAcceptsRightPasswordAndRejectsWrongOne) {
  PasswordHasher hasher(FastOptions());
  SMSGW_ASSERT_OK_AND_ASSIGN(std::string encoded, hasher.Hash("correct horse"));
  EXPECT_THAT(encoded, ::testing::StartsWith("$argon2id$v=19$m=64,t=1,p=1$"));
  EXPECT_TRUE(hasher.Verify("correct horse", encoded));
  EXPECT_FALSE(hasher.Verify("correct hors", encoded));
  EXPECT_FALSE(hasher.Verify("correct horse ", encoded));
  EXPECT_FALSE(hasher.Verify("", encoded));
}

TEST(PasswordHasherTest, SamePasswordGetsDifferentSalts) {
  PasswordHasher hasher(FastOptions());
  SMSGW_ASSERT_OK_AND_ASSIGN(std::string first, hasher.Hash("same"));
  SMSGW_ASSERT_OK_AND_ASSIGN(std::string second, hasher.Hash("same"));
  EXPECT_NE(first, second);
  EXPECT_TRUE(hasher.Verify("same", first));
  EXPECT_TRUE(hasher.Verify("same", second));
}

TEST(PasswordHasherTest, EmptyPasswordIsHashedAndVerified) {
  PasswordHasher hasher(FastOptions());
  SMSGW_ASSERT_OK_AND_ASSIGN(std::string encoded, hasher.Hash(""));
  EXPECT_TRUE(hasher.Verify("", encoded));
  EXPECT_FALSE(hasher.Verify(std::string(1, '\0'), encoded));
}

TEST(PasswordHasherTest, BytesAfterAnEmbeddedNulAreNotIgnored) {
  PasswordHasher hasher(FastOptions());
  const std::string password("abc\0def", 7);
  SMSGW_ASSERT_OK_AND_ASSIGN(std::string encoded, hasher.Hash(password));
  EXPECT_TRUE(hasher.Verify(password, encoded));
  EXPECT_FALSE(hasher.Verify("abc", encoded));
  EXPECT_FALSE(hasher.Verify(std::string("abc\0xyz", 7), encoded));
}

TEST(PasswordHasherTest, VerifyRejectsMalformedEncodedStrings) {
  PasswordHasher hasher(FastOptions());
  SMSGW_ASSERT_OK_AND_ASSIGN(std::string good, hasher.Hash("pw"));
  ASSERT_TRUE(hasher.Verify("pw", good));

  std::string argon2i = good;
  argon2i.replace(0, std::string("$argon2id$").size(), "$argon2i$");
  std::string with_nul_suffix = good;
  with_nul_suffix.push_back('\0');
  with_nul_suffix.append("junk");
  std::string flipped_hash = good;
  flipped_hash.back() = flipped_hash.back() == 'A' ? 'B' : 'A';

  struct Case {
    const char* name;
    std::string encoded;
  };
  const Case cases[] = {
      {"empty", ""},
      {"prefix only", "$argon2id$"},
      {"truncated", good.substr(0, good.size() / 2)},
      {"missing last char", good.substr(0, good.size() - 1)},
      {"argon2i instead of argon2id", argon2i},
      {"bcrypt",
       "$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"},
      {"garbage", "not a hash at all"},
      {"binary garbage", std::string("\xff\xfe\x00\x01", 4)},
      {"nul then junk", with_nul_suffix},
      {"over-long", good + std::string(200, 'A')},
      {"exactly STRBYTES long", std::string(128, '$')},
      {"bad version", absl::StrCat("$argon2id$v=18$", good.substr(15))},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(hasher.Verify("pw", c.encoded)) << c.name;
    EXPECT_TRUE(hasher.NeedsRehash(c.encoded)) << c.name;
  }
  // Well-formed with the right parameters, but not this password's hash.
  EXPECT_FALSE(hasher.Verify("pw", flipped_hash));
}

TEST(PasswordHasherTest, NeedsRehashOnlyWhenParametersDiffer) {
  PasswordHasher old_hasher(FastOptions());
  SMSGW_ASSERT_OK_AND_ASSIGN(std::string encoded, old_hasher.Hash("pw"));
  EXPECT_FALSE(old_hasher.NeedsRehash(encoded));

  PasswordHasherOptions more_memory = FastOptions();
  more_memory.memory_kib = 128;
  PasswordHasher memory_hasher(more_memory);
  EXPECT_TRUE(memory_hasher.NeedsRehash(encoded));
  // Raising the parameters must not lock out existing users.
  EXPECT_TRUE(memory_hasher.Verify("pw", encoded));

  PasswordHasherOptions more_passes = FastOptions();
  more_passes.iterations = 2;
  PasswordHasher passes_hasher(more_passes);
  EXPECT_TRUE(passes_hasher.NeedsRehash(encoded));
  EXPECT_TRUE(passes_hasher.Verify("pw", encoded));

  SMSGW_ASSERT_OK_AND_ASSIGN(std::string rehashed, passes_hasher.Hash("pw"));
  EXPECT_FALSE(passes_hasher.NeedsRehash(rehashed));
}

TEST(PasswordHasherTest, HashRejectsParametersOutsideLibsodiumLimits) {
  PasswordHasherOptions tiny_memory;
  tiny_memory.memory_kib = 1;
  EXPECT_THAT(
      PasswordHasher(tiny_memory).Hash("pw"),
      testing::StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("memory_kib=1")));

  PasswordHasherOptions zero_passes = FastOptions();
  zero_passes.iterations = 0;
  EXPECT_THAT(PasswordHasher(zero_passes).Hash("pw"),
              testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace smsgw::domain
