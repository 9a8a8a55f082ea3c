#include "tests/testing/postgres_server.h"

#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/testing/run_command.h"

namespace smsgw::testing {
namespace {

constexpr char kPgBin[] = "/usr/lib/postgresql/15/bin";
constexpr char kRunuser[] = "/usr/sbin/runuser";

// argv run as the postgres user when we are root (initdb refuses root).
std::vector<std::string> AsPostgres(std::vector<std::string> argv) {
  if (::geteuid() != 0) return argv;
  std::vector<std::string> wrapped = {kRunuser, "-u", "postgres", "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

}  // namespace

bool PostgresRequired() {
  const char* v = std::getenv("SMSGW_REQUIRE_PG");
  return v != nullptr && std::string(v) == "1";
}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start(
    bool durable, bool track_statements) {
  const std::string initdb = absl::StrCat(kPgBin, "/initdb");
  if (::access(initdb.c_str(), X_OK) != 0) {
    return absl::UnavailableError(absl::StrCat(
        initdb, " is missing: install postgresql-15 (scripts/install-deps.sh "
                "test)"));
  }
  char dir_template[] = "/tmp/smsgw-pg.XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) {
    return absl::InternalError("cannot create a temp dir for PostgreSQL");
  }
  std::unique_ptr<PostgresServer> server(new PostgresServer(dir_template));
  if (::geteuid() == 0) {
    const struct passwd* pg = ::getpwnam("postgres");
    if (pg == nullptr) {
      return absl::UnavailableError(
          "no postgres user (the postgresql-15 package creates it)");
    }
    if (::chown(dir_template, pg->pw_uid, pg->pw_gid) != 0) {
      return absl::InternalError("cannot chown the PostgreSQL temp dir");
    }
  }
  CommandResult init = RunCommand(AsPostgres(
      {initdb, "-D", server->dir_ + "/data", "-U", "smsgw", "--auth=trust",
       "--encoding=UTF8", "--locale=C", "-N"}));
  if (init.exit_code != 0) {
    return absl::UnavailableError(
        absl::StrCat("initdb failed: ", init.err, init.out));
  }
  absl::Status started = server->PgCtl(
      {"-w", "-t", "30", "-o",
       absl::StrCat("-c listen_addresses='' -c unix_socket_directories='",
                    server->dir_,
                    "'",
                    durable ? " -c fsync=on -c synchronous_commit=on"
                              " -c full_page_writes=on"
                            : " -c fsync=off -c synchronous_commit=off"
                              " -c full_page_writes=off",
                    track_statements
                        ? " -c shared_preload_libraries=pg_stat_statements"
                        : "",
                    " -c max_connections=100"),
       "start"});
  if (!started.ok()) return started;
  return server;
}

absl::Status PostgresServer::PgCtl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {absl::StrCat(kPgBin, "/pg_ctl"), "-D",
                                   dir_ + "/data", "-l", dir_ + "/server.log"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = RunCommand(AsPostgres(argv));
  if (r.exit_code != 0) {
    return absl::UnavailableError(absl::StrCat(
        "pg_ctl ", args.back(), " failed: ", r.err, r.out, "\nserver log:\n",
        ReadFileOrEmpty(dir_ + "/server.log")));
  }
  return absl::OkStatus();
}

PostgresServer::~PostgresServer() {
  if (std::filesystem::exists(dir_ + "/data/postmaster.pid")) {
    (void)PgCtl({"-m", "immediate", "stop"});
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string PostgresServer::conninfo(const std::string& dbname) const {
  return absl::StrCat("host=", dir_, " user=smsgw dbname=", dbname);
}

absl::Status PostgresServer::Restart() {
  return PgCtl({"-w", "-t", "30", "-m", "fast", "restart"});
}

}  // namespace smsgw::testing
