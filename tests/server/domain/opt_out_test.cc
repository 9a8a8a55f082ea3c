#include "server/domain/opt_out.h"

#include "gtest/gtest.h"

namespace smsgw::domain {
namespace {

TEST(OptOutTest, ClassifiesTwiliosDefaultKeywordsOnWholeBodiesOnly) {
  const struct {
    const char* body;
    KeywordAction action;
  } cases[] = {
      {"STOP", KeywordAction::kOptOut},      {"stop", KeywordAction::kOptOut},
      {"  sToP \n", KeywordAction::kOptOut}, {"STOPALL", KeywordAction::kOptOut},
      {"unsubscribe", KeywordAction::kOptOut}, {"Cancel", KeywordAction::kOptOut},
      {"END", KeywordAction::kOptOut},       {"quit", KeywordAction::kOptOut},
      {"REVOKE", KeywordAction::kOptOut},    {"optout", KeywordAction::kOptOut},
      {"START", KeywordAction::kOptIn},      {"yes", KeywordAction::kOptIn},
      {"Unstop", KeywordAction::kOptIn},     {"HELP", KeywordAction::kHelp},
      {"info", KeywordAction::kHelp},        {"stop please", KeywordAction::kNone},
      {"STOP!", KeywordAction::kNone},       {"S T O P", KeywordAction::kNone},
      {"", KeywordAction::kNone},            {"opt out", KeywordAction::kNone},
      {"ＳＴＯＰ", KeywordAction::kNone},  // full-width: not Twilio's keyword
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ClassifyKeyword(c.body), c.action) << "\"" << c.body << "\"";
  }
  EXPECT_EQ(NormalizedKeyword(" stop "), "STOP");
  EXPECT_EQ(NormalizedKeyword("hello"), "");
}

}  // namespace
}  // namespace smsgw::domain
