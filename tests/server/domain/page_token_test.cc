#include "server/domain/page_token.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::domain {
namespace {

using ::testing::HasSubstr;

std::string Base64(const std::string& text) {
  std::string out;
  absl::WebSafeBase64Escape(text, &out);
  return out;
}

void ExpectMalformed(const std::string& token, const std::string& kind) {
  EXPECT_THAT(DecodePageToken(token, kind),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("page_token is malformed")))
      << "token \"" << token << "\"";
}

TEST(PageTokenTest, RoundTripsThePayload) {
  const std::string token = EncodePageToken("m1", "42|0123abcd");
  absl::StatusOr<std::string> payload = DecodePageToken(token, "m1");
  ASSERT_TRUE(payload.ok()) << payload.status();
  EXPECT_EQ(*payload, "42|0123abcd");
}

TEST(PageTokenTest, IsWebSafeBase64OfKindAndPayload) {
  // The encoding is part of the contract: tokens handed out by earlier
  // builds keep working.
  EXPECT_EQ(EncodePageToken("g1", "team"), Base64("g1|team"));
  const std::string token = EncodePageToken("c1", "\xff\xfe?|/+");
  EXPECT_EQ(token.find_first_of("+/="), std::string::npos) << token;
}

TEST(PageTokenTest, PayloadKeepsFurtherSeparators) {
  absl::StatusOr<std::string> payload =
      DecodePageToken(EncodePageToken("gm1", "7|a|b"), "gm1");
  ASSERT_TRUE(payload.ok()) << payload.status();
  EXPECT_EQ(*payload, "7|a|b");
}

TEST(PageTokenTest, MalformedTokensAreRefused) {
  ExpectMalformed("not base64!", "m1");
  ExpectMalformed("%%%%", "m1");
  ExpectMalformed(Base64("m1"), "m1");    // no separator
  ExpectMalformed(Base64("m1|"), "m1");   // empty payload
  ExpectMalformed(Base64("|42"), "m1");   // no kind
  ExpectMalformed(Base64("42|fp"), "m1"); // made without a kind
}

TEST(PageTokenTest, ATokenOfAnotherListIsRefused) {
  ExpectMalformed(EncodePageToken("c1", "1|conv"), "m1");
  // A kind that is a prefix of another is still another kind.
  ExpectMalformed(EncodePageToken("gm1", "1|2"), "g1");
  ExpectMalformed(EncodePageToken("g1", "team"), "gm1");
}

TEST(PageTokenTest, AnEmptyTokenIsMalformed) {
  // Callers treat "" as "first page" before decoding; decoding it is an error.
  ExpectMalformed("", "m1");
}

TEST(PageSizeTest, DefaultsClampsAndRefusesNegative) {
  EXPECT_EQ(*PageSize(0), kDefaultPageSize);
  EXPECT_EQ(*PageSize(1), 1);
  EXPECT_EQ(*PageSize(kMaxPageSize), kMaxPageSize);
  EXPECT_EQ(*PageSize(kMaxPageSize + 1), kMaxPageSize);
  EXPECT_THAT(PageSize(-1), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("page_size")));
}

}  // namespace
}  // namespace smsgw::domain
