// File: grpc_helpers.h
//
// Small helpers for tests that talk to a real server: the standard health
// check over a generic stub (no generated health client ships with Debian's
// gRPC), and raw SQLite row counts on a server's database file.
#ifndef SMSGW_TESTS_TESTING_GRPC_HELPERS_H_
#define SMSGW_TESTS_TESTING_GRPC_HELPERS_H_

#include <grpcpp/channel.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace smsgw::testing {

// Calls grpc.health.v1.Health/Check for `service` ("" = the whole server).
// Returns the ServingStatus number (1 = SERVING, 2 = NOT_SERVING) or the
// call's error.
absl::StatusOr<int> HealthCheck(const std::shared_ptr<::grpc::Channel>& channel,
                                const std::string& service = "");

// SELECT COUNT(*) FROM `table` on the database file at `path`, opened
// read-only beside the running server (WAL allows it).
absl::StatusOr<int64_t> CountRows(const std::string& path,
                                  const std::string& table);

}  // namespace smsgw::testing

#endif  // SMSGW_TESTS_TESTING_GRPC_HELPERS_H_
