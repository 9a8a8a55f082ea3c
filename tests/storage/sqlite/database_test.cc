#include "storage/sqlite/database.h"

#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/sqlite/migrations.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw::storage::sqlite {
namespace {

using ::testing::HasSubstr;

Database::Options OptionsFor(const std::string& path) {
  Database::Options options;
  options.path = path;
  options.reader_connections = 2;
  return options;
}

// Opens the database at `path`, runs `sql` in a write transaction and closes
// it again; the first error.
absl::Status ExecAndClose(const std::string& path, const std::string& sql) {
  absl::StatusOr<std::unique_ptr<Database>> db =
      Database::Open(OptionsFor(path));
  if (!db.ok()) return db.status();
  return (*db)->Write([&sql](Connection& conn) { return conn.Exec(sql); });
}

absl::StatusOr<int64_t> CountRows(Database& db, const std::string& table) {
  int64_t count = -1;
  absl::Status status = db.Read([&](Connection& conn) -> absl::Status {
    auto stmt = conn.Prepare("SELECT COUNT(*) FROM " + table);
    if (!stmt.ok()) return stmt.status();
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    count = stmt->Int(0);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return count;
}

TEST(DatabaseTest, OpenCreatesFileInNewDirectoryAndAppliesMigrations) {
  smsgw::testing::TempDir dir;
  auto db = Database::Open(OptionsFor(dir.File("sub/dir/smsgw.db")));
  ASSERT_THAT(db, IsOk());
  EXPECT_EQ((*db)->schema_version(), AllMigrations().back().version);
  EXPECT_THAT(CountRows(**db, "users"), IsOk());
}

TEST(DatabaseTest, ReopenKeepsDataAndDoesNotReapplyMigrations) {
  smsgw::testing::TempDir dir;
  const std::string path = dir.File("smsgw.db");
  ASSERT_THAT(ExecAndClose(path,
                           "INSERT INTO users(username, password_hash, "
                           "create_time, update_time) VALUES ('ann', 'x', 0, 0)"),
              IsOk());
  auto db = Database::Open(OptionsFor(path));
  ASSERT_THAT(db, IsOk());
  EXPECT_EQ(*CountRows(**db, "users"), 1);
  EXPECT_EQ(*CountRows(**db, "schema_migrations"),
            static_cast<int64_t>(AllMigrations().size()));
}

TEST(DatabaseTest, WriteRollsBackWhenTheFunctionFails) {
  smsgw::testing::TempDir dir;
  auto db = Database::Open(OptionsFor(dir.File("smsgw.db")));
  ASSERT_THAT(db, IsOk());
  absl::Status status = (*db)->Write([](Connection& conn) -> absl::Status {
    absl::Status inserted = conn.Exec(
        "INSERT INTO users(username, password_hash, create_time, update_time)"
        " VALUES ('ann', 'x', 0, 0)");
    if (!inserted.ok()) return inserted;
    return absl::AbortedError("changed my mind");
  });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(*CountRows(**db, "users"), 0);
}

TEST(DatabaseTest, UniqueViolationMapsToAlreadyExists) {
  smsgw::testing::TempDir dir;
  auto db = Database::Open(OptionsFor(dir.File("smsgw.db")));
  ASSERT_THAT(db, IsOk());
  auto insert = [&] {
    return (*db)->Write([](Connection& conn) -> absl::Status {
      auto stmt = conn.Prepare(
          "INSERT INTO users(username, password_hash, create_time, "
          "update_time) VALUES (?, 'x', 0, 0)");
      if (!stmt.ok()) return stmt.status();
      return stmt->Bind(1, "ann").Run();
    });
  };
  ASSERT_THAT(insert(), IsOk());
  EXPECT_THAT(insert(), StatusIs(absl::StatusCode::kAlreadyExists));
}

absl::Status InsertUser(Connection& conn, const std::string& name) {
  auto stmt = conn.Prepare(
      "INSERT INTO users(username, password_hash, create_time, update_time) "
      "VALUES (?, 'x', 0, 0)");
  if (!stmt.ok()) return stmt.status();
  return stmt->Bind(1, name).Run();
}

// Writers that queue behind a running commit share the next transaction,
// and a failing one among them is rolled back alone.
TEST(DatabaseTest, WritesQueuedBehindACommitShareOneTransaction) {
  smsgw::testing::TempDir dir;
  auto db = Database::Open(OptionsFor(dir.File("smsgw.db")));
  ASSERT_THAT(db, IsOk());
  Database& database = **db;
  const Database::WriteStats before = database.write_stats();

  absl::Notification leader_inside, release_leader;
  std::thread leader([&] {
    EXPECT_THAT(database.Write([&](Connection& conn) {
      leader_inside.Notify();
      release_leader.WaitForNotification();
      return InsertUser(conn, "leader");
    }),
                IsOk());
  });
  leader_inside.WaitForNotification();

  constexpr int kFollowers = 8;
  std::vector<absl::Status> results(kFollowers);
  std::vector<std::thread> followers;
  for (int i = 0; i < kFollowers; ++i) {
    followers.emplace_back([&, i] {
      results[i] = database.Write([i](Connection& conn) -> absl::Status {
        absl::Status inserted = InsertUser(conn, "user" + std::to_string(i));
        if (!inserted.ok()) return inserted;
        // Every third writer changes its mind after writing.
        if (i % 3 == 0) return absl::AbortedError("changed my mind");
        return absl::OkStatus();
      });
    });
  }
  // Let every follower queue up behind the leader's open transaction.
  absl::SleepFor(absl::Milliseconds(200));
  release_leader.Notify();
  leader.join();
  for (std::thread& t : followers) t.join();

  int expected_users = 1;
  for (int i = 0; i < kFollowers; ++i) {
    if (i % 3 == 0) {
      EXPECT_THAT(results[i], StatusIs(absl::StatusCode::kAborted)) << i;
    } else {
      EXPECT_THAT(results[i], IsOk()) << i;
      ++expected_users;
    }
  }
  EXPECT_EQ(*CountRows(database, "users"), expected_users);
  const Database::WriteStats after = database.write_stats();
  EXPECT_EQ(after.writes - before.writes, 1 + kFollowers);
  // The leader's transaction, then the followers together (the sleep above
  // lets all of them queue; at worst they split, never one each).
  EXPECT_LT(after.transactions - before.transactions, 1 + kFollowers);
}

TEST(DatabaseTest, AFailingWriteInABatchDoesNotUndoTheOthersNorItsOwnReads) {
  smsgw::testing::TempDir dir;
  auto db = Database::Open(OptionsFor(dir.File("smsgw.db")));
  ASSERT_THAT(db, IsOk());
  Database& database = **db;
  // A unique violation inside a batch: only that writer fails.
  ASSERT_THAT(database.Write([](Connection& c) { return InsertUser(c, "ann"); }),
              IsOk());
  std::vector<std::thread> threads;
  std::vector<absl::Status> results(6);
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      results[i] = database.Write([i](Connection& conn) {
        return InsertUser(conn, i == 2 ? "ann" : "bob" + std::to_string(i));
      });
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < 6; ++i) {
    if (i == 2) {
      EXPECT_THAT(results[i], StatusIs(absl::StatusCode::kAlreadyExists));
    } else {
      EXPECT_THAT(results[i], IsOk()) << i;
    }
  }
  EXPECT_EQ(*CountRows(database, "users"), 6);
}

TEST(DatabaseTest, FailedMigrationLeavesTheFileAsItWasAndSaysWhich) {
  smsgw::testing::TempDir dir;
  const std::string path = dir.File("smsgw.db");
  {
    auto db = Database::Open(OptionsFor(path));
    ASSERT_THAT(db, IsOk());
  }
  std::vector<Migration> migrations = AllMigrations();
  const int next = migrations.back().version + 1;
  migrations.push_back({next, "broken",
                        "CREATE TABLE half_done(x INTEGER);"
                        "INSERT INTO no_such_table VALUES (1);"});
  {
    auto db = Database::Open(OptionsFor(path));
    ASSERT_THAT(db, IsOk());
    absl::StatusOr<int> applied = absl::InternalError("not run");
    ASSERT_THAT((*db)->Write([&](Connection& conn) -> absl::Status {
      // ApplyMigrations manages its own transactions: leave Write()'s (its
      // group-commit savepoint included) first and restore both after.
      (void)conn.Exec("COMMIT");
      applied = ApplyMigrations(conn, migrations);
      return conn.Exec("BEGIN; SAVEPOINT group_commit;");
    }),
                IsOk());
    EXPECT_THAT(applied, StatusIs(absl::StatusCode::kFailedPrecondition,
                                  HasSubstr("broken")));
    EXPECT_THAT(CountRows(**db, "half_done"),
                StatusIs(absl::StatusCode::kInternal, HasSubstr("no such table")));
    EXPECT_EQ(*CountRows(**db, "schema_migrations"),
              static_cast<int64_t>(AllMigrations().size()));
  }
}

// Migration 12 rebuilds the full-text index with the owner in it: messages
// written under version 11 (owner unknown to the index) are found by their
// owner's search afterwards, and the new triggers keep the index in step.
TEST(DatabaseTest, SearchIndexOfVersion11IsRebuiltWithTheOwner) {
  smsgw::testing::TempDir dir;
  const std::string path = dir.File("smsgw.db");
  // A file as version 11 left it: its body-only index, filled by its trigger.
  ASSERT_THAT(ExecAndClose(path, R"sql(
    DROP TRIGGER messages_fts_insert;
    DROP TRIGGER messages_fts_delete;
    DROP TRIGGER messages_fts_update;
    DROP TABLE messages_fts;
    CREATE VIRTUAL TABLE messages_fts USING fts5(
      body, content='messages', content_rowid='seq', tokenize='unicode61');
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
      INSERT INTO messages_fts(rowid, body) VALUES (new.seq, new.body);
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
      INSERT INTO messages_fts(messages_fts, rowid, body)
        VALUES ('delete', old.seq, old.body);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
      INSERT INTO messages_fts(messages_fts, rowid, body)
        VALUES ('delete', old.seq, old.body);
      INSERT INTO messages_fts(rowid, body) VALUES (new.seq, new.body);
    END;
    DELETE FROM schema_migrations WHERE version = 12;
    INSERT INTO users(id, username, password_hash, create_time, update_time)
      VALUES (7, 'ann', 'x', 0, 0), (8, 'bob', 'x', 0, 0);
    INSERT INTO messages(seq, id, owner_id, direction, from_number, to_number,
                         peer_number, body, status, create_time, update_time)
      VALUES (1, 'a1', 7, 1, '+1', '+2', '+2', 'dinner at eight', 3, 0, 0),
             (2, 'b1', 8, 1, '+1', '+2', '+2', 'dinner for two', 3, 0, 0),
             (3, 'a2', 7, 1, '+1', '+2', '+2', 'lunch', 3, 0, 0);
  )sql"),
              IsOk());
  auto db = Database::Open(OptionsFor(path));
  ASSERT_THAT(db, IsOk());
  EXPECT_EQ((*db)->schema_version(), 12);
  auto matches = [&](const std::string& match) {
    std::vector<int64_t> seqs;
    EXPECT_THAT((*db)->Read([&](Connection& conn) -> absl::Status {
      auto stmt = conn.Prepare(
          "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?"
          " ORDER BY rowid");
      if (!stmt.ok()) return stmt.status();
      stmt->Bind(1, match);
      while (true) {
        auto row = stmt->Step();
        if (!row.ok()) return row.status();
        if (!*row) return absl::OkStatus();
        seqs.push_back(stmt->Int(0));
      }
    }),
                IsOk());
    return seqs;
  };
  EXPECT_THAT(matches("owner:\"7\" AND body:(dinner)"),
              ::testing::ElementsAre(1));
  EXPECT_THAT(matches("owner:\"8\" AND body:(dinner)"),
              ::testing::ElementsAre(2));
  EXPECT_THAT(matches("body:(dinner OR lunch)"),
              ::testing::ElementsAre(1, 2, 3));
  ASSERT_THAT((*db)->Write([](Connection& conn) {
    return conn.Exec(
        "DELETE FROM messages WHERE seq = 1;"
        "INSERT INTO messages(seq, id, owner_id, direction, from_number,"
        " to_number, peer_number, body, status, create_time, update_time)"
        " VALUES (4, 'a3', 7, 1, '+1', '+2', '+2', 'late dinner', 3, 0, 0)");
  }),
              IsOk());
  EXPECT_THAT(matches("owner:\"7\" AND body:(dinner)"),
              ::testing::ElementsAre(4));
  EXPECT_THAT(matches("body:eight"), ::testing::IsEmpty());
}

TEST(DatabaseTest, NewerSchemaThanTheBinaryIsRefused) {
  smsgw::testing::TempDir dir;
  const std::string path = dir.File("smsgw.db");
  ASSERT_THAT(
      ExecAndClose(path, "INSERT INTO schema_migrations VALUES (999, 'future', 0)"),
      IsOk());
  EXPECT_THAT(Database::Open(OptionsFor(path)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("newer")));
}

TEST(DatabaseTest, FileThatIsNotADatabaseIsDataLoss) {
  smsgw::testing::TempDir dir;
  const std::string path = dir.File("smsgw.db");
  std::ofstream(path) << std::string(4096, 'x');
  EXPECT_THAT(Database::Open(OptionsFor(path)),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(DatabaseTest, EmptyPathIsInvalidArgument) {
  EXPECT_THAT(Database::Open(OptionsFor("")),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace smsgw::storage::sqlite
