#include "server/rpc/gateway_metadata.h"

#include <grpcpp/server_context.h>

#include "absl/strings/match.h"

namespace smsgw::rpc {

std::string ClientPeer(const ::grpc::ServerContextBase& context) {
  std::string peer = context.peer();
  // gRPC names the in-process transport's peer "inproc".
  if (!absl::StartsWith(peer, "inproc")) return peer;
  const auto& metadata = context.client_metadata();
  auto forwarded = metadata.find(kRestPeerMetadata);
  if (forwarded == metadata.end()) return peer;
  return std::string(forwarded->second.data(), forwarded->second.size());
}

}  // namespace smsgw::rpc
