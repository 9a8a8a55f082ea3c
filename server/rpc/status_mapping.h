// File: status_mapping.h
//
// The one place where absl::Status becomes grpc::Status (STYLE.md error
// model). absl and gRPC share the google.rpc.Code numbering, so codes carry
// over unchanged; only messages are filtered.
#ifndef SMSGW_SERVER_RPC_STATUS_MAPPING_H_
#define SMSGW_SERVER_RPC_STATUS_MAPPING_H_

#include <grpcpp/support/status.h>

#include <cstddef>

#include "absl/status/status.h"

namespace smsgw::rpc {

// Longest message a client sees; longer ones are cut (as TF Serving does).
inline constexpr size_t kMaxClientMessageBytes = 1024;

// Converts `status` for a client. Internal, Unknown and DataLoss messages are
// replaced by a generic sentence (the full status goes to the server log),
// because they may carry file paths or SQL; other messages are kept, cut at
// kMaxClientMessageBytes.
::grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace smsgw::rpc

#endif  // SMSGW_SERVER_RPC_STATUS_MAPPING_H_
