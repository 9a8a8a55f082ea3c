// File: gateway_metadata.h
//
// What the REST gateway (server/gateway/) and the gRPC services tell each
// other through call metadata, and the client address a service should
// believe for a call.
#ifndef SMSGW_SERVER_RPC_GATEWAY_METADATA_H_
#define SMSGW_SERVER_RPC_GATEWAY_METADATA_H_

#include <string>

namespace grpc {
class ServerContextBase;
}  // namespace grpc

namespace smsgw::rpc {

// Metadata the gateway adds to each call: the HTTP client's address as a
// gRPC peer string ("ipv4:203.0.113.7:51234"), so that per-client limits
// (sign-up, login throttle) see the real client rather than the gateway.
inline constexpr char kRestPeerMetadata[] = "smsgw-rest-peer";

// Initial metadata a server-streaming RPC sends once its stream is in place
// (value "1"). The gateway answers 200 and starts the event stream only
// after seeing it; a call refused before that gets its HTTP error status.
inline constexpr char kStreamReadyMetadata[] = "smsgw-stream-ready";

// The peer string of the call's client: context.peer(), except on the
// server's in-process channel (the gateway's calls), where it is the
// kRestPeerMetadata value. A remote gRPC client cannot pose as another
// address by sending that metadata: its calls are never in-process.
std::string ClientPeer(const ::grpc::ServerContextBase& context);

}  // namespace smsgw::rpc

#endif  // SMSGW_SERVER_RPC_GATEWAY_METADATA_H_
