// File: db_generator.h
//
// The 1 M-message database of issue 8's scenario (3) and of the scenarios run
// on it (webhook ingest, watch streams, group fan-out). The file is created
// with the server's real schema (storage/sqlite Database, i.e. every
// migration), then filled by plain SQL in large transactions (synchronous
// off, big page cache): users, conversations, messages (whose FTS trigger
// fills messages_fts as the server's own inserts do) and one group.
//
// What it holds (all deterministic for a given seed):
// - `users` users "user0000".."user0999", every one with the same Argon2id
//   hash (the real PasswordHasher, default cost) of `password`, so any of
//   them can log in; phone "+14152000000"+i, verified.
// - `messages` messages spread over the last 365 days in seq order, owner
//   uniform over the users, each user with `conversations_per_user` peers
//   (skewed: a few conversations carry most messages); 60 % outbound
//   (70 % DELIVERED, 20 % SENT, 5 % UNDELIVERED, 5 % FAILED), 40 % inbound
//   RECEIVED; every one with a provider SID "SMbe4c"+28 hex digits (the
//   fast fake Twilio's are "SM"+zero-padded counter); bodies of
//   3-30 words drawn from an English word list with a Zipf law (for FTS).
//   No message is PENDING/SCHEDULED/QUEUED/SENDING, so the dispatcher finds
//   no work at start-up. SENT messages older than 72 h are past the status
//   reconciler's horizon (status_checks set, no next check), younger ones
//   are due for a check, as on a server that ran all year. No
//   message_events / message_feed history rows.
// - one group "bench-group" whose members are the first `group_members`
//   users, all on proxy number `pool_number`.
#ifndef SMSGW_BENCH_DB_GENERATOR_H_
#define SMSGW_BENCH_DB_GENERATOR_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace smsgw::bench {

// Bumped whenever what the generator writes changes (part of the cache key).
inline constexpr int kGeneratorVersion = 3;

// A word the generated bodies contain in a few percent of messages: the
// search scenario's query.
inline constexpr char kSearchWord[] = "dinner";

struct GeneratorOptions {
  int users = 1000;
  int64_t messages = 1000000;
  int conversations_per_user = 20;
  std::string password = "bench-password";
  int group_members = 500;
  std::string group_name = "bench-group";
  std::string pool_number = "+15005550006";
  uint64_t seed = 42;
};

// The username of user number `i` (0-based): "user0042".
std::string BenchUsername(int i);

// The schema version this binary's migrations produce.
int BenchSchemaVersion();

// Creates `path` (which must not exist) and fills it as described above.
// Returns the storage error (Unavailable, DataLoss, FailedPrecondition from
// Database::Open; Internal from SQLite) if any step fails.
absl::Status GenerateBenchDb(const std::string& path,
                             const GeneratorOptions& options);

// Returns the cached database for `options` under `data_dir`, named after the
// schema version, kGeneratorVersion and the sizes
// ("smsgw-m1000000-u1000-s3-g1.db"), generating it first (into a temporary
// name, renamed when complete) when absent. Logs progress to stderr.
absl::StatusOr<std::string> EnsureBenchDb(const std::string& data_dir,
                                          const GeneratorOptions& options);

}  // namespace smsgw::bench

#endif  // SMSGW_BENCH_DB_GENERATOR_H_
