#include "storage/sqlite/database.h"

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/sqlite/migrations.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw::storage::sqlite {
namespace {

using ::smsgw::testing::IsOk;
using ::smsgw::testing::StatusIs;
using ::testing::HasSubstr;

Database::Options OptionsFor(const std::string& path) {
  Database::Options options;
  options.path = path;
  options.reader_connections = 2;
  return options;
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
  {
    auto db = Database::Open(OptionsFor(path));
    ASSERT_THAT(db, IsOk());
    ASSERT_THAT((*db)->Write([](Connection& conn) {
      return conn.Exec(
          "INSERT INTO users(username, password_hash, create_time, "
          "update_time) VALUES ('ann', 'x', 0, 0)");
    }),
                IsOk());
  }
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
      // ApplyMigrations manages its own transactions; leave ours first.
      (void)conn.Exec("COMMIT");
      applied = ApplyMigrations(conn, migrations);
      return conn.Exec("BEGIN");
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

TEST(DatabaseTest, NewerSchemaThanTheBinaryIsRefused) {
  smsgw::testing::TempDir dir;
  const std::string path = dir.File("smsgw.db");
  {
    auto db = Database::Open(OptionsFor(path));
    ASSERT_THAT(db, IsOk());
    ASSERT_THAT((*db)->Write([](Connection& conn) {
      return conn.Exec(
          "INSERT INTO schema_migrations VALUES (999, 'future', 0)");
    }),
                IsOk());
  }
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
