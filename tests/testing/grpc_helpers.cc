#include "tests/testing/grpc_helpers.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <sqlite3.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"

namespace smsgw::testing {

absl::StatusOr<int> HealthCheck(const std::shared_ptr<::grpc::Channel>& channel,
                                const std::string& service) {
  // HealthCheckRequest { string service = 1; }
  std::string request;
  if (!service.empty()) {
    request.push_back(0x0a);
    request.push_back(static_cast<char>(service.size()));
    request += service;
  }
  ::grpc::Slice slice(request);
  ::grpc::ByteBuffer request_buffer(&slice, 1);
  ::grpc::GenericStub stub(channel);
  ::grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  ::grpc::ByteBuffer response_buffer;
  ::grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check",
                 ::grpc::StubOptions(), &request_buffer, &response_buffer,
                 [&](::grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  std::vector<::grpc::Slice> slices;
  (void)response_buffer.Dump(&slices);
  std::string bytes;
  for (const auto& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  // HealthCheckResponse { ServingStatus status = 1; } -> 0x08 <varint>.
  if (bytes.size() == 2 && bytes[0] == 0x08) return bytes[1];
  if (bytes.empty()) return 0;  // UNKNOWN (default value, not serialized)
  return absl::DataLossError("unexpected health response");
}

absl::StatusOr<int64_t> CountRows(const std::string& path,
                                  const std::string& table) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) !=
      SQLITE_OK) {
    sqlite3_close(db);
    return absl::UnavailableError("cannot open " + path);
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* stmt = nullptr;
  const std::string sql = absl::StrCat("SELECT COUNT(*) FROM ", table);
  int64_t count = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    count = sqlite3_column_int64(stmt, 0);
  }
  std::string error = sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  if (count < 0) return absl::InternalError(error);
  return count;
}

}  // namespace smsgw::testing
