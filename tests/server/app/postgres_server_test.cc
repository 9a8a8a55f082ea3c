// smsgw-server on PostgreSQL (issue 13, SMSGW_DB_URL): the real server
// against a fresh database of the throwaway PostgreSQL 15 server, sending
// through its embedded simulator (status callbacks included), searching,
// keeping everything across a restart; a second server on the same database
// serving as a standby whose sends the first one dispatches; bad URLs
// refused at start without their password in the log.
#include <map>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/smsgw_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/pg_test_db.h"
#include "tests/testing/server_fixture.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_clients.h"

namespace smsgw {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPeer[] = "+14155550100";

class PostgresServerTest : public testing::ServerTest {
 protected:
  void SetUp() override { SMSGW_REQUIRE_DATABASE(db_.status()); }

  std::map<std::string, std::string> Env() {
    return {{"SMSGW_DB_URL", db_.conninfo()}};
  }

  // Polls GetMessage until `id` is `status` (20 s at most).
  v1::Message AwaitStatus(client::SmsgwClient& client, const std::string& id,
                          v1::MessageStatus status) {
    v1::Message last;
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      auto got = client.GetMessage(id, false);
      if (got.ok()) {
        last = got->message();
        if (last.status() == status) return last;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << "message " << id << " stayed " << last.status();
    return last;
  }

  testing::PgTestDatabase db_;
};

TEST_F(PostgresServerTest, SendsStoresSearchesAndKeepsItAllAcrossARestart) {
  ASSERT_NO_FATAL_FAILURE(StartWithAnn(Env()));
  EXPECT_THAT(server_->ReadLog(), HasSubstr("database open postgresql="));
  v1::SendMessageRequest request;
  request.set_to(kPeer);
  request.set_body("Dinner at eight, see you there");
  request.set_idempotency_key("dinner-1");
  SMSGW_ASSERT_OK_AND_ASSIGN(v1::SendMessageResponse sent,
                             ann_->SendMessage(request));
  const std::string id = sent.message().id();
  // The simulator's signed callbacks land on the webhook port and move it
  // along, through PostgreSQL.
  const v1::Message delivered =
      AwaitStatus(*ann_, id, v1::MESSAGE_STATUS_DELIVERED);
  EXPECT_FALSE(delivered.provider_sid().empty());
  // The idempotency key replays, not sends again.
  SMSGW_ASSERT_OK_AND_ASSIGN(v1::SendMessageResponse again,
                             ann_->SendMessage(request));
  EXPECT_EQ(again.message().id(), id);

  v1::ListMessagesRequest search;
  search.set_query("dinner NOT breakfast");
  SMSGW_ASSERT_OK_AND_ASSIGN(v1::ListMessagesResponse found,
                             ann_->ListMessages(search));
  ASSERT_EQ(found.messages_size(), 1);
  EXPECT_EQ(found.messages(0).id(), id);
  search.set_query("body:dinner");  // not portable: refused on both engines
  EXPECT_THAT(ann_->ListMessages(search),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("column filters")));

  // Restart on the same database: the account and the message are there.
  server_.reset();
  ASSERT_NO_FATAL_FAILURE(StartServer(Env()));
  auto ann = testing::LoggedInClient(*server_, "ann");
  SMSGW_ASSERT_OK_AND_ASSIGN(v1::GetMessageResponse kept, ann->GetMessage(id, false));
  EXPECT_EQ(kept.message().status(), v1::MESSAGE_STATUS_DELIVERED);
  EXPECT_EQ(kept.message().body(), "Dinner at eight, see you there");
}

TEST_F(PostgresServerTest, ASecondServerOnTheSameDatabaseServesAsAStandby) {
  ASSERT_NO_FATAL_FAILURE(StartWithAnn(Env()));
  testing::ServerProcess::Options options;
  options.db_path = dir_.File("second/smsgw.db");
  options.env = Env();
  testing::ServerProcess second(options);
  ASSERT_THAT(second.Start(), IsOk());
  // The first dispatches; the second serves the API on the same data, and
  // accepts the first one's tokens (one JWT key, kept in the database).
  EXPECT_THAT(server_->ReadLog(), HasSubstr("dispatch lease taken"));
  EXPECT_EQ(testing::MetricValue(server_->metrics_address(),
                                 "smsgw_dispatch_lease_held"),
            1);
  EXPECT_EQ(testing::MetricValue(second.metrics_address(),
                                 "smsgw_dispatch_lease_held"),
            0);
  auto on_second = testing::LoggedInClient(second, "ann");
  ASSERT_NE(on_second, nullptr);
  v1::SendMessageRequest request;
  request.set_to(kPeer);
  request.set_body("sent through the standby");
  SMSGW_ASSERT_OK_AND_ASSIGN(v1::SendMessageResponse sent,
                             on_second->SendMessage(request));
  // The dispatching replica claims it and the simulator delivers it.
  const v1::Message delivered = AwaitStatus(
      *ann_, sent.message().id(), v1::MESSAGE_STATUS_DELIVERED);
  EXPECT_FALSE(delivered.provider_sid().empty());
}

TEST_F(PostgresServerTest, FailedLoginsCountOnEveryReplica) {
  std::map<std::string, std::string> env = Env();
  env["SMSGW_LOGIN_MAX_FAILURES"] = "3";
  env["SMSGW_LOGIN_DELAY"] = "1ms";
  ASSERT_NO_FATAL_FAILURE(StartWithAnn(env));
  testing::ServerProcess::Options options;
  options.db_path = dir_.File("second/smsgw.db");
  options.env = env;
  testing::ServerProcess second(options);
  ASSERT_THAT(second.Start(), IsOk());
  auto guess = [](testing::ServerProcess& server) {
    client::SmsgwClient::Options o;
    o.target = server.grpc_address();
    auto client = *client::SmsgwClient::Create(o);
    return client->Login("ann", "wrong guess").status();
  };
  // Guesses spread over both replicas are counted together.
  EXPECT_THAT(guess(*server_), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(guess(second), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(guess(*server_), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(guess(second),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("too many failed logins")));
}

TEST(PostgresConfigTest, BadUrlsStopTheServerAtStartWithoutThePassword) {
  const absl::Status unreachable = testing::StartStatus(
      {{"SMSGW_DB_URL",
        "postgresql://smsgw:hunter2secret@127.0.0.1:1/smsgw?connect_timeout=2"}});
  EXPECT_THAT(unreachable, StatusIs(absl::StatusCode::kFailedPrecondition,
                                    HasSubstr("cannot open PostgreSQL")));
  EXPECT_THAT(std::string(unreachable.message()),
              Not(HasSubstr("hunter2secret")));
  const absl::Status malformed = testing::StartStatus(
      {{"SMSGW_DB_URL", "postgresql://smsgw:hunter2secret@[::1/db"}});
  EXPECT_THAT(malformed, StatusIs(absl::StatusCode::kFailedPrecondition,
                                  HasSubstr("SMSGW_DB_URL is not a PostgreSQL "
                                            "connection string")));
  EXPECT_THAT(std::string(malformed.message()),
              Not(HasSubstr("hunter2secret")));
}

}  // namespace
}  // namespace smsgw
