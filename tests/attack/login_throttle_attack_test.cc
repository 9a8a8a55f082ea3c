// Attack suite, login throttling (issue 9): password guessing against one
// username, and a spray over many usernames from one address, slow down and
// then answer RESOURCE_EXHAUSTED with a retry time; a correct login after the
// window works. The server runs with a short window and small limits.
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/smsgw_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/attack/attack_helpers.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_clients.h"

namespace smsgw::attack {
namespace {


constexpr char kPassword[] = "correct horse";
constexpr int kWindowSeconds = 3;
// Per username: 6 failures (the first 2 answered at once); per address: 8
// (2 at once).
constexpr int kMaxFailures = 6;
constexpr int kPeerMaxFailures = 8;

class LoginThrottleAttackTest : public testing::ServerTest {
 protected:
  // `delay`: the first slowed answer's delay.
  void Start(const std::string& delay) {
    StartServer({},
                {absl::StrCat("--login_window=", kWindowSeconds, "s"),
                 absl::StrCat("--login_max_failures=", kMaxFailures),
                 absl::StrCat("--login_peer_max_failures=", kPeerMaxFailures),
                 absl::StrCat("--login_delay=", delay)});
    if (HasFatalFailure()) return;
    testing::SignedUpClient(*server_, "ann", kPassword);
    client_ = testing::ClientFor(*server_);
  }

  // One login, and how long it took.
  absl::Status TimedLogin(const std::string& user, const std::string& password,
                          absl::Duration* took) {
    const absl::Time start = absl::Now();
    absl::Status status = client_->Login(user, password).status();
    *took = absl::Now() - start;
    return status;
  }

  std::unique_ptr<client::SmsgwClient> client_;
};

TEST_F(LoginThrottleAttackTest, GuessingOneUsernameSlowsDownThenLocksOut) {
  ASSERT_NO_FATAL_FAILURE(Start("150ms"));
  std::vector<absl::Duration> took(kMaxFailures);
  for (int i = 0; i < kMaxFailures; ++i) {
    ASSERT_THAT(TimedLogin("ann", absl::StrCat("wrong guess ", i), &took[i]),
                StatusIs(absl::StatusCode::kUnauthenticated))
        << "attempt " << i;
  }
  // The free failures are answered at hashing speed; the next ones at least
  // 150, 300, 600, 1200 ms later.
  EXPECT_GE(took[2], absl::Milliseconds(150));
  EXPECT_GE(took[3], absl::Milliseconds(300));
  EXPECT_GE(took[4], absl::Milliseconds(600));
  EXPECT_GE(took[5], absl::Milliseconds(1200));
  EXPECT_LT(took[0], took[5] - absl::Milliseconds(900));

  // Locked: even the right password is refused, quickly, with a retry time.
  absl::Duration locked_took;
  const absl::Status locked = TimedLogin("ann", kPassword, &locked_took);
  EXPECT_THAT(locked, StatusIs(absl::StatusCode::kResourceExhausted,
                               ::testing::HasSubstr("retry in")));
  const int retry = RetrySeconds(locked);
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, kWindowSeconds);
  EXPECT_LT(locked_took, absl::Seconds(1));
  // Other usernames from the same address still log in.
  testing::SignedUpClient(*server_, "bob", kPassword);
  EXPECT_THAT(client_->Login("bob", kPassword), IsOk());

  // After the retry time the right password works, and counting starts
  // over.
  absl::SleepFor(absl::Seconds(retry) + absl::Milliseconds(200));
  EXPECT_THAT(client_->Login("ann", kPassword), IsOk());
  absl::Duration fresh;
  EXPECT_THAT(TimedLogin("ann", "wrong again", &fresh),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_LT(fresh, absl::Seconds(1));
}

TEST_F(LoginThrottleAttackTest, SprayingUsernamesFromOneAddressLocksItOut) {
  ASSERT_NO_FATAL_FAILURE(Start("10ms"));
  // Unknown usernames, known ones and invalid ones all count.
  for (int i = 0; i < kPeerMaxFailures; ++i) {
    const std::string user = i % 3 == 0   ? absl::StrCat("nobody", i)
                             : i % 3 == 1 ? "ann"
                                          : "invalid user!";
    absl::Duration took;
    ASSERT_THAT(TimedLogin(user, "not the password", &took),
                StatusIs(absl::StatusCode::kUnauthenticated))
        << "attempt " << i << " " << user;
  }
  const absl::Status locked =
      client_->Login("fresh_name", "whatever pw").status();
  EXPECT_THAT(locked, StatusIs(absl::StatusCode::kResourceExhausted,
                               ::testing::HasSubstr("retry in")));
  EXPECT_GE(RetrySeconds(locked), 1);
  absl::SleepFor(absl::Seconds(kWindowSeconds) + absl::Milliseconds(300));
  EXPECT_THAT(client_->Login("ann", kPassword), IsOk());
}

TEST_F(LoginThrottleAttackTest, ParallelGuessesAreCountedBeforeTheyAreAnswered) {
  // 3 x the limit at once from many connections: at most the limit are
  // checked, the rest are refused.
  ASSERT_NO_FATAL_FAILURE(Start("150ms"));
  std::vector<std::unique_ptr<client::SmsgwClient>> clients;
  for (int i = 0; i < 3 * kMaxFailures; ++i) {
    clients.push_back(testing::ClientFor(*server_));
  }
  std::vector<absl::Status> results(clients.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < clients.size(); ++i) {
    threads.emplace_back([&, i] {
      results[i] =
          clients[i]->Login("ann", absl::StrCat("guess ", i)).status();
    });
  }
  for (std::thread& t : threads) t.join();
  int checked = 0;
  int refused = 0;
  for (const absl::Status& status : results) {
    if (absl::IsUnauthenticated(status)) ++checked;
    if (absl::IsResourceExhausted(status)) ++refused;
  }
  EXPECT_LE(checked, kMaxFailures);
  EXPECT_EQ(checked + refused, static_cast<int>(results.size()));
}

}  // namespace
}  // namespace smsgw::attack
