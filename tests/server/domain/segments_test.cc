#include "server/domain/segments.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::domain {
namespace {

using ::testing::ElementsAre;

std::string Repeat(absl::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) absl::StrAppend(&out, s);
  return out;
}

struct SegmentCase {
  const char* name;
  std::string body;
  SmsEncoding encoding;
  int64_t segments;
  int64_t total_units;
  int64_t length;
};

// Expected values were computed with npm sms-segments-calculator 1.3.0
// (Twilio's calculator); the first block is twilio-reference.md §7.
std::vector<SegmentCase> SegmentCases() {
  const std::string a = "a";
  const std::string euro = "\u20ac";        // €, GSM extension table
  const std::string zhe = "\u0416";         // Ж, Cyrillic, BMP
  const std::string thumbs = "\U0001F44D";  // 👍, surrogate pair
  const std::string e_acute = "e\u0301";    // e + combining acute
  return {
      {"a x160", Repeat(a, 160), SmsEncoding::kGsm7, 1, 160, 160},
      {"a x161", Repeat(a, 161), SmsEncoding::kGsm7, 2, 161, 161},
      {"a x306", Repeat(a, 306), SmsEncoding::kGsm7, 2, 306, 306},
      {"a x307", Repeat(a, 307), SmsEncoding::kGsm7, 3, 307, 307},
      {"euro x80", Repeat(euro, 80), SmsEncoding::kGsm7, 1, 160, 80},
      {"euro x81", Repeat(euro, 81), SmsEncoding::kGsm7, 2, 162, 81},
      {"escape pair not split", Repeat(a, 152) + "[" + Repeat(a, 10),
       SmsEncoding::kGsm7, 2, 164, 163},
      {"zhe x70", Repeat(zhe, 70), SmsEncoding::kUcs2, 1, 70, 70},
      {"zhe x71", Repeat(zhe, 71), SmsEncoding::kUcs2, 2, 71, 71},
      {"zhe x134", Repeat(zhe, 134), SmsEncoding::kUcs2, 2, 134, 134},
      {"zhe x135", Repeat(zhe, 135), SmsEncoding::kUcs2, 3, 135, 135},
      {"thumbs x35", Repeat(thumbs, 35), SmsEncoding::kUcs2, 1, 70, 70},
      {"thumbs x36", Repeat(thumbs, 36), SmsEncoding::kUcs2, 2, 72, 72},
      {"lowercase c cedilla", "\u00e7", SmsEncoding::kUcs2, 1, 1, 1},
      {"right single quote", "\u2019", SmsEncoding::kUcs2, 1, 1, 1},
      // Boundaries where dividing the units would give the wrong count.
      {"escape pair at end of single segment", Repeat(a, 159) + euro,
       SmsEncoding::kGsm7, 2, 161, 160},
      {"escape pair just fits", Repeat(a, 158) + euro, SmsEncoding::kGsm7, 1,
       160, 159},
      {"escape pair moved fits second part",
       Repeat(a, 152) + euro + Repeat(a, 151), SmsEncoding::kGsm7, 2, 305, 304},
      {"escape pair moved overflows second part",
       Repeat(a, 152) + euro + Repeat(a, 152), SmsEncoding::kGsm7, 3, 306, 305},
      {"surrogate pair at end of single segment", Repeat(zhe, 69) + thumbs,
       SmsEncoding::kUcs2, 2, 71, 71},
      {"surrogate pair just fits", Repeat(zhe, 68) + thumbs, SmsEncoding::kUcs2,
       1, 70, 70},
      {"surrogate pair moved fits second part",
       Repeat(zhe, 66) + thumbs + Repeat(zhe, 65), SmsEncoding::kUcs2, 2, 133,
       133},
      {"surrogate pair moved overflows second part",
       Repeat(zhe, 66) + thumbs + Repeat(zhe, 66), SmsEncoding::kUcs2, 3, 134,
       134},
      {"combining accent kept with its letter",
       Repeat(zhe, 66) + e_acute + Repeat(zhe, 66), SmsEncoding::kUcs2, 3, 134,
       134},
      {"ZWJ family kept whole",
       Repeat(zhe, 66) + "\U0001F468\u200D\U0001F469\u200D\U0001F467" +
           Repeat(zhe, 60),
       SmsEncoding::kUcs2, 3, 134, 134},
      {"flags x17", Repeat("\U0001F1EB\U0001F1F7", 17), SmsEncoding::kUcs2, 1,
       68, 68},
      // CR LF is two GSM characters, not one.
      {"CR LF x80", Repeat("\r\n", 80), SmsEncoding::kGsm7, 1, 160, 160},
      {"CR LF x81", Repeat("\r\n", 81), SmsEncoding::kGsm7, 2, 162, 162},
      {"form feed is an extension character", "\f", SmsEncoding::kGsm7, 1, 2,
       1},
      {"GSM letters outside ASCII", "\u00c7\u00e9\u00f1\u0394\u03a9\u00bf",
       SmsEncoding::kGsm7, 1, 6, 6},
      {"backtick is not GSM", "`", SmsEncoding::kUcs2, 1, 1, 1},
      {"NUL is not GSM", std::string(1, '\0'), SmsEncoding::kUcs2, 1, 1, 1},
      {"empty body", "", SmsEncoding::kGsm7, 0, 0, 0},
  };
}

TEST(CountSegmentsTest, MatchesTwilioCalculatorVectors) {
  for (const SegmentCase& c : SegmentCases()) {
    SCOPED_TRACE(c.name);
    SMSGW_ASSERT_OK_AND_ASSIGN(SegmentInfo info, CountSegments(c.body));
    EXPECT_EQ(info.encoding, c.encoding);
    EXPECT_EQ(info.segments, c.segments);
    EXPECT_EQ(info.total_units, c.total_units);
    EXPECT_EQ(info.length, c.length);
  }
}

TEST(CountSegmentsTest, EncodesWholeGsmBasicTableInOneSeptetEach) {
  // The basic table as twilio-reference.md §7 lists it: the 128 GSM 03.38
  // positions minus ESC, 127 characters.
  const std::string basic = absl::StrCat(
      "@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r",
      "\u00c5\u00e5\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398",
      "\u039e\u00c6\u00e6\u00df\u00c9 !\"#\u00a4%&'()*+,-./0123456789:;<=>?",
      "\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7\u00bf",
      "abcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0");
  SMSGW_ASSERT_OK_AND_ASSIGN(SegmentInfo info, CountSegments(basic));
  EXPECT_EQ(info.encoding, SmsEncoding::kGsm7);
  EXPECT_EQ(info.total_units, 127);
  EXPECT_EQ(info.length, 127);
}

TEST(CountSegmentsTest, EncodesGsmExtensionTableInTwoSeptetsEach) {
  SMSGW_ASSERT_OK_AND_ASSIGN(SegmentInfo info,
                             CountSegments("\f^{}\\[~]|\u20ac"));
  EXPECT_EQ(info.encoding, SmsEncoding::kGsm7);
  EXPECT_EQ(info.total_units, 20);
  EXPECT_EQ(info.length, 10);
}

TEST(CountSegmentsTest, SwitchesToUcs2ForLookAlikesOutsideGsm) {
  const char* const look_alikes[] = {
      "\u00e7",                      // ç (only capital Ç is GSM)
      "`",      "\t",     "\u00a0",  // backtick, tab, no-break space
      "\u00e1", "\u00ed", "\u00f3", "\u00fa", "\u00e2", "\u00ea",
      "\u00c3", "\u00f5", "\u00c8", "\u00cb", "\u00a2", "\u00b0",
      "\u03b1",                      // α (only some Greek capitals are GSM)
      "\u0391",                      // Α, Greek capital alpha, looks like A
      "\u2018", "\u201c", "\u2026",  // smart quotes, ellipsis
  };
  for (const char* c : look_alikes) {
    SCOPED_TRACE(c);
    SMSGW_ASSERT_OK_AND_ASSIGN(SegmentInfo info, CountSegments(c));
    EXPECT_EQ(info.encoding, SmsEncoding::kUcs2);
    EXPECT_THAT(info.non_gsm_characters, ElementsAre(c));
  }
}

TEST(CountSegmentsTest, GsmBodyReportsNoNonGsmCharacters) {
  SMSGW_ASSERT_OK_AND_ASSIGN(SegmentInfo info,
                             CountSegments("Hello {world} \u20ac5\r\n"));
  EXPECT_EQ(info.encoding, SmsEncoding::kGsm7);
  EXPECT_THAT(info.non_gsm_characters, ::testing::IsEmpty());
}

TEST(CountSegmentsTest, ListsDistinctNonGsmCharactersInFirstAppearanceOrder) {
  SMSGW_ASSERT_OK_AND_ASSIGN(
      SegmentInfo info,
      CountSegments("It\u2019s \u00e7a \U0001F44D \u2019 \u00e7 \U0001F44D`"));
  EXPECT_EQ(info.encoding, SmsEncoding::kUcs2);
  EXPECT_THAT(info.non_gsm_characters,
              ElementsAre("\u2019", "\u00e7", "\U0001F44D", "`"));
}

TEST(CountSegmentsTest, ListsCombiningMarkSeparatelyFromItsGsmLetter) {
  SMSGW_ASSERT_OK_AND_ASSIGN(SegmentInfo info, CountSegments("e\u0301"));
  EXPECT_EQ(info.encoding, SmsEncoding::kUcs2);
  EXPECT_THAT(info.non_gsm_characters, ElementsAre("\u0301"));
}

TEST(CountSegmentsTest, KeepsCountingGsmCharactersAfterAnEscapePair) {
  SMSGW_ASSERT_OK_AND_ASSIGN(
      SegmentInfo info,
      CountSegments(Repeat("a", 100) + "|" + Repeat("b", 58)));
  EXPECT_EQ(info.total_units, 160);
  EXPECT_EQ(info.segments, 1);
}

TEST(CountSegmentsTest, LengthCountsEmojiAsTwoCharacters) {
  SMSGW_ASSERT_OK_AND_ASSIGN(SegmentInfo info,
                             CountSegments(Repeat("\U0001F600", 800) + "a"));
  EXPECT_EQ(info.length, 1601);
  EXPECT_GT(info.length, kMaxBodyLength);
}

TEST(CountSegmentsTest, NamesEncodings) {
  EXPECT_EQ(SmsEncodingName(SmsEncoding::kGsm7), "GSM-7");
  EXPECT_EQ(SmsEncodingName(SmsEncoding::kUcs2), "UCS-2");
}

struct InvalidUtf8Case {
  const char* name;
  std::string body;
  const char* offset_text;  // "byte offset N"
  const char* reason;
};

TEST(CountSegmentsTest, RejectsInvalidUtf8NamingTheByteOffset) {
  const InvalidUtf8Case cases[] = {
      {"lone continuation byte", "ab\x80", "byte offset 2", "continuation"},
      {"truncated two-byte sequence at end", "abc\xC3", "byte offset 3",
       "truncated"},
      {"truncated three-byte sequence",
       "\xE2\x82"
       "a",
       "byte offset 0", "truncated"},
      {"truncated four-byte sequence at end", "x\xF0\x9F\x91", "byte offset 1",
       "truncated"},
      {"overlong two-byte slash", "\xC0\xAF", "byte offset 0", "overlong"},
      {"overlong two-byte with C1", "a\xC1\xBF", "byte offset 1", "overlong"},
      {"overlong three-byte", "\xE0\x80\xAF", "byte offset 0", "overlong"},
      {"overlong four-byte", "\xF0\x80\x80\xAF", "byte offset 0", "overlong"},
      {"encoded high surrogate", "ok\xED\xA0\x80", "byte offset 2",
       "surrogate"},
      {"encoded low surrogate", "\xED\xBF\xBF", "byte offset 0", "surrogate"},
      {"above U+10FFFF", "\xF4\x90\x80\x80", "byte offset 0", "U+10FFFF"},
      {"byte 0xF5", "\xF5\x80\x80\x80", "byte offset 0", "never used"},
      {"byte 0xFF", "hello \xFF", "byte offset 6", "never used"},
      {"byte 0xFE", "\xFE", "byte offset 0", "never used"},
      {"error after valid multibyte text", "\u20ac\u20ac\xFF", "byte offset 6",
       "never used"},
  };
  for (const InvalidUtf8Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_THAT(CountSegments(c.body),
                testing::StatusIs(absl::StatusCode::kInvalidArgument,
                         ::testing::AllOf(::testing::HasSubstr(c.offset_text),
                                          ::testing::HasSubstr(c.reason))));
  }
}

TEST(CountSegmentsTest, AcceptsLargestCodePoints) {
  SMSGW_ASSERT_OK_AND_ASSIGN(SegmentInfo info,
                             CountSegments("\xF4\x8F\xBF\xBF\xEF\xBF\xBF"));
  EXPECT_EQ(info.encoding, SmsEncoding::kUcs2);
  EXPECT_EQ(info.length, 3);
}

}  // namespace
}  // namespace smsgw::domain
