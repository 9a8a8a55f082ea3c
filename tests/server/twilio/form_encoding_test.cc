#include "server/twilio/form_encoding.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::twilio {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

struct ParseCase {
  const char* name;
  std::string body;
  FormParams expected;
};

TEST(ParseFormTest, DecodesWellFormedBodies) {
  const ParseCase cases[] = {
      {"empty body", "", {}},
      {"single pair", "a=1", {{"a", "1"}}},
      {"order kept", "b=2&a=1&c=3", {{"b", "2"}, {"a", "1"}, {"c", "3"}}},
      {"repeated key", "MediaUrl=x&To=y&MediaUrl=z",
       {{"MediaUrl", "x"}, {"To", "y"}, {"MediaUrl", "z"}}},
      {"plus is space", "Body=Hello+World", {{"Body", "Hello World"}}},
      {"encoded plus stays plus", "From=%2B14155550100",
       {{"From", "+14155550100"}}},
      {"lower-case hex", "a=%2b%2F", {{"a", "+/"}}},
      {"no equals gives empty value", "flag&a=1", {{"flag", ""}, {"a", "1"}}},
      {"empty value", "Body=", {{"Body", ""}}},
      {"empty name", "=v", {{"", "v"}}},
      {"only first equals splits", "a=b=c", {{"a", "b=c"}}},
      {"empty segments skipped", "&a=1&&b=2&", {{"a", "1"}, {"b", "2"}}},
      {"encoded name", "Na%6De=v", {{"Name", "v"}}},
      {"encoded ampersand and equals", "q=a%26b%3Dc", {{"q", "a&b=c"}}},
      {"percent-encoded UTF-8", "Body=%C3%B1%F0%9F%91%8D",
       {{"Body", "\xc3\xb1\xf0\x9f\x91\x8d"}}},
      {"raw UTF-8 accepted", "Body=\xc3\xb1", {{"Body", "\xc3\xb1"}}},
      {"percent-encoded percent", "p=100%25", {{"p", "100%"}}},
  };
  for (const ParseCase& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<FormParams> parsed = ParseForm(c.body, FormLimits{});
    ASSERT_THAT(parsed, IsOk());
    EXPECT_EQ(*parsed, c.expected);
  }
}

struct MalformedCase {
  const char* name;
  std::string body;
  const char* message_part;
};

TEST(ParseFormTest, RejectsMalformedBodies) {
  const MalformedCase cases[] = {
      {"broken percent", "a=%zz", "offset 2"},
      {"non-hex second digit", "a=%G1", "offset 2"},
      {"non-hex first digit", "a=%1G", "offset 2"},
      {"trailing percent", "a=1%", "offset 3"},
      {"percent and one digit at end", "a=%0", "offset 2"},
      {"bad percent in name", "x=1&n%q=1", "offset 5"},
      {"lone continuation byte", "a=%80", "UTF-8"},
      {"truncated two-byte sequence", "a=%C3", "UTF-8"},
      {"truncated four-byte sequence", "a=%F0%9F%91", "UTF-8"},
      {"overlong slash", "a=%C0%AF", "UTF-8"},
      {"overlong three-byte", "a=%E0%80%AF", "UTF-8"},
      {"surrogate", "a=%ED%A0%80", "UTF-8"},
      {"above U+10FFFF", "a=%F4%90%80%80", "UTF-8"},
      {"byte FF", "a=%FF", "UTF-8"},
      {"raw invalid UTF-8", "a=\xff", "UTF-8"},
      {"invalid UTF-8 in name", "%FE=1", "UTF-8"},
      {"encoded NUL", "a=x%00y", "NUL"},
      {"raw NUL", std::string("a=x\0y", 5), "NUL"},
      {"NUL in name", "a%00=1", "NUL"},
  };
  for (const MalformedCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_THAT(ParseForm(c.body, FormLimits{}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(c.message_part)));
  }
}

TEST(ParseFormTest, RejectsMoreParamsThanTheLimit) {
  FormLimits limits;
  limits.max_params = 3;
  EXPECT_THAT(ParseForm("a=1&b=2&c=3", limits), IsOk());
  EXPECT_THAT(ParseForm("a=1&b=2&c=3&d=4", limits),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more than 3 parameters")));
  // Empty segments are not parameters.
  EXPECT_THAT(ParseForm("a=1&&b=2&&c=3&", limits), IsOk());
}

TEST(ParseFormTest, DefaultLimitAllows256ParamsButNot257) {
  std::string body;
  for (int i = 0; i < 256; ++i) body += "k=v&";
  EXPECT_THAT(ParseForm(body, FormLimits{}), IsOk());
  body += "k=v";
  EXPECT_THAT(ParseForm(body, FormLimits{}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ParseFormTest, RejectsBodiesOverTheByteLimit) {
  FormLimits limits;
  limits.max_total_bytes = 8;
  EXPECT_THAT(ParseForm("Body=abc", limits), IsOk());
  EXPECT_THAT(ParseForm("Body=abcd", limits),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("exceeds the limit of 8")));

  const std::string big = "Body=" + std::string(64 * 1024, 'x');
  EXPECT_THAT(ParseForm(big, FormLimits{}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ParseFormTest, RejectsNamesOverTheLengthLimitAfterDecoding) {
  FormLimits limits;
  limits.max_name_bytes = 4;
  EXPECT_THAT(ParseForm("Body=x", limits), IsOk());
  // "%42ody" is 6 bytes on the wire but the 4-byte name "Body".
  EXPECT_THAT(ParseForm("%42ody=x", limits), IsOk());
  EXPECT_THAT(ParseForm("Bodyy=x", limits),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("over the limit of 4")));
}

TEST(PercentEncodeTest, KeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(PercentEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(PercentEncode("a b+c&d=e/f?g#h%"),
            "a%20b%2Bc%26d%3De%2Ff%3Fg%23h%25");
  EXPECT_EQ(PercentEncode("!*'()"), "%21%2A%27%28%29");
  EXPECT_EQ(PercentEncode("\xc3\xb1"), "%C3%B1");
  EXPECT_EQ(PercentEncode(""), "");
}

TEST(EncodeFormTest, EncodesPairsInOrder) {
  EXPECT_EQ(EncodeForm({}), "");
  EXPECT_EQ(EncodeForm({{"To", "+15005550006"},
                        {"Body", "Hi there"},
                        {"MediaUrl", "https://m.example/a.png?x=1&y=2"}}),
            "To=%2B15005550006&Body=Hi%20there&"
            "MediaUrl=https%3A%2F%2Fm.example%2Fa.png%3Fx%3D1%26y%3D2");
  EXPECT_EQ(EncodeForm({{"a", ""}, {"a", "1"}}), "a=&a=1");
}

TEST(EncodeFormTest, RoundTripsThroughParseForm) {
  const std::vector<FormParams> cases = {
      {},
      {{"a", "1"}},
      {{"Body", "Hello, World! \xc3\xb1 \xf0\x9f\x91\x8d"},
       {"From", "+14155550100"}},
      {{"MediaUrl", "https://x/b.png"}, {"MediaUrl", "https://x/a.png"}},
      {{"empty", ""}, {"", "empty name"}},
      {{"symbols", "%&=+ ?#/\\\"'<>"}},
      {{"ctrl", "line1\r\nline2\ttab"}},
  };
  for (const FormParams& params : cases) {
    const std::string encoded = EncodeForm(params);
    SCOPED_TRACE(encoded);
    absl::StatusOr<FormParams> parsed = ParseForm(encoded, FormLimits{});
    ASSERT_THAT(parsed, IsOk());
    EXPECT_EQ(*parsed, params);
  }
}

TEST(FormValueTest, ReturnsFirstValueOrNothing) {
  const FormParams params = {{"MediaUrl", "b"}, {"To", "t"}, {"MediaUrl", "a"}};
  EXPECT_EQ(FormValue(params, "MediaUrl"), "b");
  EXPECT_EQ(FormValue(params, "To"), "t");
  EXPECT_EQ(FormValue(params, "to"), std::nullopt);
  EXPECT_EQ(FormValue({{"Body", ""}}, "Body"), "");
}

TEST(FormValuesTest, ReturnsEveryValueInWireOrder) {
  const FormParams params = {{"MediaUrl", "b"}, {"To", "t"}, {"MediaUrl", "a"}};
  EXPECT_THAT(FormValues(params, "MediaUrl"), ElementsAre("b", "a"));
  EXPECT_THAT(FormValues(params, "To"), ElementsAre("t"));
  EXPECT_THAT(FormValues(params, "From"), ::testing::IsEmpty());
}

TEST(ParseFormTest, KeepsRepeatedKeysAsSeparatePairs) {
  absl::StatusOr<FormParams> parsed =
      ParseForm("MediaUrl=b&MediaUrl=a&MediaUrl=b", FormLimits{});
  ASSERT_THAT(parsed, IsOk());
  EXPECT_THAT(*parsed, ElementsAre(Pair("MediaUrl", "b"), Pair("MediaUrl", "a"),
                                   Pair("MediaUrl", "b")));
}

}  // namespace
}  // namespace smsgw::twilio
