#include "server/domain/conversation_id.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::domain {
namespace {

TEST(ConversationIdTest, AcceptsLabelsAndE164Numbers) {
  for (const char* id : {"+14155550100", "order-42", "a", "team_chat.v2:eu",
                         "ABCdef123"}) {
    EXPECT_THAT(ValidateConversationId(id), testing::IsOk()) << id;
  }
  EXPECT_THAT(ValidateConversationId(std::string(128, 'x')), testing::IsOk());
}

TEST(ConversationIdTest, RefusesEmptyLongAndOddCharacters) {
  const std::string cases[] = {
      "",           std::string(129, 'x'), "with space", "slash/es",
      "quote'",     "semi;colon",          "ümlaut",     std::string("nul\0x", 5),
      "new\nline",  "percent%20",
  };
  for (const std::string& id : cases) {
    EXPECT_THAT(ValidateConversationId(id),
                testing::StatusIs(absl::StatusCode::kInvalidArgument,
                         ::testing::HasSubstr("conversation_id")))
        << id;
  }
}

}  // namespace
}  // namespace smsgw::domain
