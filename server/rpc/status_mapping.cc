#include "server/rpc/status_mapping.h"

#include <string>

#include "common/logging.h"

namespace smsgw::rpc {

::grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return ::grpc::Status::OK;
  const auto code = static_cast<::grpc::StatusCode>(status.code());
  switch (status.code()) {
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
      SMSGW_LOG(kError) << "internal error returned to client: " << status;
      return ::grpc::Status(
          code, "internal error; the server log has the details");
    default: {
      absl::string_view message = status.message();
      if (message.size() > kMaxClientMessageBytes) {
        message = message.substr(0, kMaxClientMessageBytes);
      }
      return ::grpc::Status(code, std::string(message));
    }
  }
}

}  // namespace smsgw::rpc
