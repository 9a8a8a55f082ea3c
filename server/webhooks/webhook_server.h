// File: webhook_server.h
//
// The HTTP listener (cpp-httplib) that Twilio calls: the glue between HTTP
// and the webhook handler. Serves `GET /healthz` (liveness) itself.
#ifndef SMSGW_SERVER_WEBHOOKS_WEBHOOK_SERVER_H_
#define SMSGW_SERVER_WEBHOOKS_WEBHOOK_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace httplib {
class Server;
}

namespace smsgw::webhooks {

// One HTTP server on its own threads (httplib's pool). Thread-safe to Stop()
// from any thread. Not copyable.
class WebhookServer {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    int port = 8080;  // 0 = any free port
    // Bodies over this are answered 413 unread (Content-Length) or cut off.
    size_t max_body_bytes = 64 * 1024;
    // Longest wait for each read or write on a connection: a client that
    // sends half a request and goes quiet is dropped after read_timeout.
    absl::Duration read_timeout = absl::Seconds(5);
    absl::Duration write_timeout = absl::Seconds(5);
    // Worker threads; each serves one connection at a time, so this many
    // slow clients can hold them all (connections beyond wait their turn).
    int threads = 32;
    // Requests per kept-alive connection, and how long an idle kept-alive
    // connection is held open waiting for the next.
    // It is also the longest wait for a new connection's first byte.
    size_t keep_alive_max_count = 20;
    absl::Duration keep_alive_timeout = absl::Seconds(1);
    // Requests with more header fields, or more header bytes (names and
    // values), are answered 431. httplib 0.11 bounds each header line
    // (8 KiB) but not their number.
    size_t max_headers = 64;
    size_t max_header_bytes = 32 * 1024;
  };

  explicit WebhookServer(Options options);
  ~WebhookServer();
  WebhookServer(const WebhookServer&) = delete;
  WebhookServer& operator=(const WebhookServer&) = delete;

  // The underlying server, to register routes on before Start().
  httplib::Server& http() { return *server_; }

  // Binds the listening socket (connections queue from then on) and sets
  // port(). Unavailable when the address cannot be bound.
  absl::Status Bind();
  // Starts serving on a background thread; register routes before this.
  void Serve();
  // Bind() then Serve().
  absl::Status Start();
  // Stops accepting and joins the serving thread. Idempotent.
  void Stop();
  // The bound port (after Start()).
  int port() const { return port_; }

 private:
  Options options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace smsgw::webhooks

#endif  // SMSGW_SERVER_WEBHOOKS_WEBHOOK_SERVER_H_
