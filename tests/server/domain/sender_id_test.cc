#include "server/domain/sender_id.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::domain {
namespace {

TEST(ValidateAlphanumericSenderIdTest, AcceptsTwilioStyleIds) {
  const char* const valid[] = {
      "A",           "Acme",   "ACME",        "acme",
      "Acme Inc",    "Shop24", "7Eleven",
      "ABCDEFGHIJK",  // 11 characters
      "A1 B2 C3 D4", " Acme",  "a         1",
  };
  for (const char* id : valid) {
    SCOPED_TRACE(id);
    EXPECT_THAT(ValidateAlphanumericSenderId(id), testing::IsOk());
  }
}

struct InvalidCase {
  const char* name;
  std::string id;
  const char* message;
};

TEST(ValidateAlphanumericSenderIdTest, RejectsIdsBreakingTwilioRules) {
  const InvalidCase cases[] = {
      {"empty", "", "empty"},
      {"12 characters", "ABCDEFGHIJKL", "at most 11"},
      {"digits only", "12345", "at least one letter"},
      {"spaces only", "   ", "at least one letter"},
      {"digits and spaces", "123 456", "at least one letter"},
      {"hyphen", "Acme-Co", "offset 4"},
      {"underscore", "Acme_Co", "offset 4"},
      {"ampersand", "A&B", "offset 1"},
      {"plus", "+1415", "offset 0"},
      {"dot", "acme.com", "offset 4"},
      {"tab", "Acme\tCo", "0x09"},
      {"NUL", std::string("Ac\0me", 5), "0x00"},
      {"non-ASCII letter", "Caf\xC3\xA9", "offset 3"},
      {"long non-ASCII", "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9",
       "at most 11"},
  };
  for (const InvalidCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_THAT(
        ValidateAlphanumericSenderId(c.id),
        testing::StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr(c.message)));
  }
}

}  // namespace
}  // namespace smsgw::domain
