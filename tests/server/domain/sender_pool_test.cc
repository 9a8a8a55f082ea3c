// The sender pool's pure rule (server/domain/sender_pool.h), as a table.
#include "server/domain/sender_pool.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::domain {
namespace {

constexpr char kA[] = "+15005550006";
constexpr char kB[] = "+15005550020";
constexpr char kC[] = "+15005550021";

// One pool number: its facts in a compact form.
struct Facts {
  const char* number;
  bool same_area;
  int backlog_seconds;
  bool taken;
};

std::vector<SenderCandidate> Candidates(const std::vector<Facts>& facts) {
  std::vector<SenderCandidate> out;
  for (const Facts& f : facts) {
    SenderCandidate c;
    c.number = f.number;
    c.same_area = f.same_area;
    c.backlog = absl::Seconds(f.backlog_seconds);
    c.taken_by_other_user = f.taken;
    out.push_back(c);
  }
  return out;
}

TEST(PickSenderTest, FollowsStickyThenAreaThenBacklogAndAvoidsOthersNumbers) {
  struct Case {
    const char* name;
    std::vector<Facts> facts;
    const char* last_used;
    const char* want;
    SenderChoice want_choice;
    bool want_shared;
  };
  const std::vector<Case> cases = {
      {"quiet pool starts with the first number",
       {{kA, false, 0, false}, {kB, false, 0, false}, {kC, false, 0, false}},
       "", kA, SenderChoice::kLeastBacklog, false},
      {"least backlog wins among equals in area",
       {{kA, false, 30, false}, {kB, false, 5, false}, {kC, false, 9, false}},
       "", kB, SenderChoice::kLeastBacklog, false},
      {"a backlog tie goes to the earlier number",
       {{kA, false, 7, false}, {kB, false, 3, false}, {kC, false, 3, false}},
       "", kB, SenderChoice::kLeastBacklog, false},
      {"same area beats a shorter backlog",
       {{kA, false, 0, false}, {kB, false, 0, false}, {kC, true, 60, false}},
       "", kC, SenderChoice::kAreaCode, false},
      {"among same-area numbers the least backlog wins",
       {{kA, true, 20, false}, {kB, false, 0, false}, {kC, true, 10, false}},
       "", kC, SenderChoice::kAreaCode, false},
      {"sticky beats area and backlog",
       {{kA, true, 0, false}, {kB, false, 90, false}, {kC, false, 0, false}},
       kB, kB, SenderChoice::kSticky, false},
      {"another user's number is skipped while one is free",
       {{kA, false, 0, true}, {kB, false, 40, false}, {kC, false, 50, false}},
       "", kB, SenderChoice::kLeastBacklog, false},
      {"another user's number is skipped even when sticky",
       {{kA, false, 0, true}, {kB, false, 0, false}, {kC, false, 0, false}},
       kA, kB, SenderChoice::kLeastBacklog, false},
      {"another user's same-area number is skipped",
       {{kA, true, 0, true}, {kB, false, 0, false}, {kC, false, 0, false}},
       "", kB, SenderChoice::kLeastBacklog, false},
      {"last used outside the pool is ignored",
       {{kA, false, 5, false}, {kB, false, 0, false}},
       "+15005550099", kB, SenderChoice::kLeastBacklog, false},
      {"pool exhausted: sticky among all, shared",
       {{kA, false, 0, true}, {kB, false, 0, true}, {kC, false, 0, true}},
       kC, kC, SenderChoice::kSticky, true},
      {"pool exhausted: least backlog among all, shared",
       {{kA, false, 8, true}, {kB, false, 2, true}, {kC, false, 4, true}},
       "", kB, SenderChoice::kLeastBacklog, true},
      {"single number taken is still used, shared",
       {{kA, false, 0, true}}, "", kA, SenderChoice::kLeastBacklog, true},
  };
  for (const Case& c : cases) {
    absl::StatusOr<SenderPick> pick = PickSender(Candidates(c.facts), c.last_used);
    ASSERT_TRUE(pick.ok()) << c.name << ": " << pick.status();
    EXPECT_EQ(pick->number, c.want) << c.name;
    EXPECT_EQ(SenderChoiceName(pick->choice), SenderChoiceName(c.want_choice))
        << c.name;
    EXPECT_EQ(pick->shared, c.want_shared) << c.name;
  }
}

TEST(PickSenderTest, EmptyPoolIsInvalidArgument) {
  EXPECT_THAT(PickSender({}, kA),
              testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace smsgw::domain
