// File: server_app.h
//
// ServerApp builds the whole server from a ServerConfig: opens the database
// (migrations), builds stores, domain services, the Twilio provider (REST
// client, pointed at the embedded simulator when no account is configured),
// and its edges — the gRPC server (with health and reflection), the HTTP
// server (the REST API, Twilio's webhooks) and the metrics listener — and
// owns their start-up and shutdown.
#ifndef SMSGW_SERVER_APP_SERVER_APP_H_
#define SMSGW_SERVER_APP_SERVER_APP_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/app/config.h"

namespace smsgw::app {

// A running server. Thread-safe: Shutdown() may be called from any thread,
// more than once.
class ServerApp {
 public:
  // Starts everything and returns once both listeners accept connections.
  // InvalidArgument for a bad configuration; FailedPrecondition /
  // Unavailable / DataLoss when the database cannot be opened or migrated;
  // Unavailable when a listener cannot bind. Nothing is left running on error.
  static absl::StatusOr<std::unique_ptr<ServerApp>> Start(ServerConfig config);

  virtual ~ServerApp() = default;

  // The bound addresses (host:port), with the real port when 0 was asked for.
  virtual std::string grpc_address() const = 0;
  virtual std::string http_address() const = 0;
  // GET /metrics' address; "" when SMSGW_METRICS_ADDR is empty.
  virtual std::string metrics_address() const = 0;

  // Graceful shutdown: health turns NOT_SERVING, listeners stop accepting,
  // in-flight calls get up to the configured grace period, then the rest are
  // cancelled, workers drain, and the database is closed cleanly.
  virtual void Shutdown() = 0;

  // Blocks until Shutdown() has completed.
  virtual void Wait() = 0;
};

}  // namespace smsgw::app

#endif  // SMSGW_SERVER_APP_SERVER_APP_H_
