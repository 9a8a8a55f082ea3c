#include "server/domain/phone_number.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::domain {
namespace {

using ::testing::HasSubstr;

struct E164Case {
  const char* input;
  const char* region;
  const char* e164;
};

TEST(PhoneNumberParserTest, NormalisesToE164) {
  const E164Case cases[] = {
      {"+14155550100", "US", "+14155550100"},
      {"(415) 555-0100", "US", "+14155550100"},
      {"415.555.0100", "US", "+14155550100"},
      {"1 415 555 0100", "US", "+14155550100"},
      {"+1 (415) 555-0199", "US", "+14155550199"},
      {"+1 800 555 0199", "US", "+18005550199"},
      {"011 44 20 7946 0000", "US", "+442079460000"},
      {"+44 (0)20 7946 0000", "US", "+442079460000"},
      {"020 7946 0000", "GB", "+442079460000"},
      {"00 1 415 555 0100", "GB", "+14155550100"},
      {"06 12 34 56 78", "fr", "+33612345678"},
      {"+49 151 12345678", "US", "+4915112345678"},
      // Ofcom's fictional drama range: possible, though IsValidNumber()
      // says no.
      {"+44 7700 900123", "US", "+447700900123"},
  };
  for (const E164Case& c : cases) {
    SCOPED_TRACE(c.input);
    const PhoneNumberParser parser(c.region);
    SMSGW_ASSERT_OK_AND_ASSIGN(std::string e164, parser.ToE164(c.input));
    EXPECT_EQ(e164, c.e164);
  }
}

TEST(PhoneNumberParserTest, AcceptsTwilioMagicAndFictionalNumbers) {
  const PhoneNumberParser parser;
  const char* const numbers[] = {
      "+15005550001", "+15005550002", "+15005550003", "+15005550004",
      "+15005550005", "+15005550006", "+15005550007", "+15005550008",
      "+15005550009", "+14155550100", "+14155550199", "+12025550123",
  };
  for (const char* number : numbers) {
    SCOPED_TRACE(number);
    SMSGW_ASSERT_OK_AND_ASSIGN(std::string e164, parser.ToE164(number));
    EXPECT_EQ(e164, number);
  }
}

TEST(PhoneNumberParserTest, DefaultsToUnitedStates) {
  const PhoneNumberParser parser;
  EXPECT_EQ(parser.default_region(), "US");
  SMSGW_ASSERT_OK_AND_ASSIGN(std::string e164, parser.ToE164("500 555 0006"));
  EXPECT_EQ(e164, "+15005550006");
}

struct RejectCase {
  const char* name;
  std::string input;
  const char* message;
};

TEST(PhoneNumberParserTest, RejectsMalformedInputSayingWhy) {
  const RejectCase cases[] = {
      {"empty", "", "empty"},
      {"33 bytes", "+1 415 555 0100                  ", "longer than 32"},
      {"vanity letters", "+1-415-FLOWERS", "letter 'F'"},
      {"extension", "+1 415 555 0100 ext 12", "letter 'e'"},
      {"x extension", "415 555 0100 x12", "letter 'x'"},
      {"tel URI", "tel:+14155550100", "letter 't'"},
      {"trailing letters", "4155550100abc", "letter 'a'"},
      {"embedded NUL",
       std::string("+1415\0"
                   "5550100",
                   12),
       "NUL"},
      {"hash", "+14155550100#", "0x23"},
      {"non-ASCII digits",
       "\xEF\xBC\x8B"
       "14155550100",
       "0xef"},
      {"only punctuation", "()-", "could not be parsed"},
      {"unknown country code", "+999 123 456 789", "country code"},
      {"leading zero country code", "+0123456789", "country code"},
      {"too short", "+1 415 555 010", "too short"},
      {"too long", "+1 415 555 01001", "too long"},
      {"emergency number", "911", "too short"},
      {"local only", "555-0100", "area code"},
      {"NANP area code starting with 0", "+1 011 555 0100", "area code"},
      {"NANP exchange starting with 1", "+1 415 155 0100", "exchange"},
      {"too long for UK", "+44 20 7946 0000 1234567", "too long"},
  };
  const PhoneNumberParser parser("US");
  for (const RejectCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_THAT(
        parser.ToE164(c.input),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
  }
}

// ToE164() remembers what it accepted: asking again gives the same answer,
// per parser (its default region decides national numbers), a refusal is
// refused again, and more distinct numbers than it remembers keep parsing.
TEST(PhoneNumberParserTest, RememberedNumbersGiveTheSameAnswers) {
  const PhoneNumberParser us("US");
  const PhoneNumberParser gb("GB");
  auto e164 = [](const PhoneNumberParser& parser, const std::string& input) {
    absl::StatusOr<std::string> got = parser.ToE164(input);
    return got.ok() ? *got : got.status().ToString();
  };
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round);
    EXPECT_EQ(e164(us, "(415) 555-0100"), "+14155550100");
    EXPECT_EQ(e164(gb, "020 7946 0000"), "+442079460000");
    EXPECT_THAT(us.ToE164("020 7946 0000"),
                StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(us.ToE164("555-0100"),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("area code")));
  }
  for (size_t i = 0; i < PhoneNumberParser::kE164CacheEntries + 10; ++i) {
    const std::string national = absl::StrCat("415555", 1000 + i % 9000);
    ASSERT_EQ(e164(us, national), "+1" + national);
  }
  EXPECT_EQ(e164(us, "(415) 555-0100"), "+14155550100");
}

// Found by tests/fuzz/phone_number_fuzzer.cc: with default region DE,
// libphonenumber formatted these to "+49049301555", which it then parses as
// "+4949301555".
TEST(PhoneNumberParserTest, RefusesInputWithoutOneStableE164Form) {
  const PhoneNumberParser parser("DE");
  for (const char* input : {"+-0049-0049 3015) 55", "+0049 0049 301555"}) {
    SCOPED_TRACE(input);
    EXPECT_THAT(parser.ToE164(input),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("no single E.164 form")));
  }
  SMSGW_ASSERT_OK_AND_ASSIGN(std::string plain, parser.ToE164("+49 49 301555"));
  EXPECT_EQ(plain, "+4949301555");
  SMSGW_ASSERT_OK_AND_ASSIGN(std::string again, parser.ToE164(plain));
  EXPECT_EQ(again, plain);
}

TEST(PhoneNumberParserTest, NationalNumberNeedsAKnownDefaultRegion) {
  const PhoneNumberParser parser("XX");
  EXPECT_THAT(
      parser.ToE164("415 555 0100"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("country code")));
  SMSGW_ASSERT_OK_AND_ASSIGN(std::string e164,
                             parser.ToE164("+1 415 555 0100"));
  EXPECT_EQ(e164, "+14155550100");
}

TEST(PhoneNumberParserTest, IsSafeToShareAcrossThreads) {
  const PhoneNumberParser parser("US");
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&parser, &failures, t] {
      for (int i = 0; i < 200; ++i) {
        absl::StatusOr<std::string> e164 = parser.ToE164("(415) 555-0100");
        if (!e164.ok() || *e164 != "+14155550100") ++failures[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(failures, ::testing::Each(0));
}

TEST(IsE164Test, AcceptsOnlyStrictE164) {
  struct Case {
    const char* s;
    bool want;
  };
  const Case cases[] = {
      {"+14155550100", true},
      {"+12345678", true},
      {"+123456789012345", true},
      {"+1234567", false},
      {"+1234567890123456", false},
      {"14155550100", false},
      {"+04155550100", false},
      {"+1 4155550100", false},
      {"+1415555010a", false},
      {"", false},
      {"+", false},
      {"++14155550100", false},
      {"+1415-555-0100", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.s);
    EXPECT_EQ(IsE164(c.s), c.want);
  }
  EXPECT_FALSE(
      IsE164(std::string("+1415555\0"
                         "0100",
                         13)));
}

TEST(MaskPhoneNumberTest, KeepsCountryCodeThreeDigitsAndLastFour) {
  struct Case {
    const char* e164;
    const char* masked;
  };
  const Case cases[] = {
      {"+14155550100", "+1415\u2022\u2022\u20220100"},
      {"+447700900123", "+44770\u2022\u2022\u20220123"},
      // Only 2 digits would be hidden: keep one fewer at the front.
      {"+33612345678", "+3361\u2022\u2022\u20225678"},
      {"+4915112345678", "+49151\u2022\u2022\u2022\u20225678"},
      // Three-digit country code, short national number: fewer kept.
      {"+35312345678", "+3531\u2022\u2022\u20225678"},
      {"+50012345", "+500\u20222345"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.e164);
    EXPECT_EQ(MaskPhoneNumber(c.e164), c.masked);
  }
}

TEST(MaskPhoneNumberTest, HidesInputThatIsNotE164) {
  EXPECT_EQ(MaskPhoneNumber("(415) 555-0100"), "\u2022\u2022\u2022");
  EXPECT_EQ(MaskPhoneNumber(""), "\u2022\u2022\u2022");
}

TEST(PhoneNumberParserTest, AreaOfIsCountryCodeAndDestinationCode) {
  const PhoneNumberParser parser("US");
  const std::pair<const char*, const char*> cases[] = {
      {"+14155550177", "1-415"},   // NANP: the area code
      {"+15005550006", "1-500"},   // Twilio's test numbers too
      {"+12125550100", "1-212"},
      {"+442079460000", "44-20"},  // London
      {"+447700900123", "44-7700"},
  };
  for (const auto& [e164, area] : cases) {
    absl::StatusOr<std::string> got = parser.AreaOf(e164);
    ASSERT_TRUE(got.ok()) << e164 << ": " << got.status();
    EXPECT_EQ(*got, area) << e164;
  }
  EXPECT_THAT(parser.AreaOf("4155550177"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(parser.AreaOf(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace smsgw::domain
