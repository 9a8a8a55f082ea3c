#include "server/webhooks/webhook_server.h"

#include <httplib.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace smsgw::webhooks {

WebhookServer::WebhookServer(Options options)
    : options_(std::move(options)), server_(std::make_unique<httplib::Server>()) {
  // Answers leave in more than one write (headers, body): without this,
  // Nagle holds the second until the peer's delayed ACK, about 40 ms.
  server_->set_tcp_nodelay(true);
  server_->set_payload_max_length(options_.max_body_bytes);
  server_->set_read_timeout(
      std::chrono::microseconds(absl::ToInt64Microseconds(options_.read_timeout)));
  server_->set_write_timeout(std::chrono::microseconds(
      absl::ToInt64Microseconds(options_.write_timeout)));
  server_->set_keep_alive_max_count(options_.keep_alive_max_count);
  server_->set_keep_alive_timeout(std::max<time_t>(
      1, absl::ToInt64Seconds(options_.keep_alive_timeout)));
  // httplib's default pool is max(8, cores - 1) threads: eight silent
  // connections would stop all webhooks.
  const size_t threads = static_cast<size_t>(std::max(1, options_.threads));
  server_->new_task_queue = [threads] {
    return new httplib::ThreadPool(threads);
  };
  server_->set_pre_routing_handler(
      [max_headers = options_.max_headers,
       max_bytes = options_.max_header_bytes](const httplib::Request& req,
                                              httplib::Response& res) {
        size_t bytes = 0;
        for (const auto& [name, value] : req.headers) {
          bytes += name.size() + value.size();
        }
        if (req.headers.size() > max_headers || bytes > max_bytes) {
          res.status = 431;
          res.set_content("request header fields too large\n", "text/plain");
          res.set_header("Connection", "close");
          return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
      });
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
}

WebhookServer::~WebhookServer() { Stop(); }

absl::Status WebhookServer::Start() {
  absl::Status bound = Bind();
  if (bound.ok()) Serve();
  return bound;
}

absl::Status WebhookServer::Bind() {
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host.c_str());
  } else {
    port_ = server_->bind_to_port(options_.host.c_str(), options_.port)
                ? options_.port
                : -1;
  }
  if (port_ <= 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen for HTTP on ", options_.host, ":", options_.port,
        " (address in use or not available); set SMSGW_HTTP_ADDR"));
  }
  return absl::OkStatus();
}

void WebhookServer::Serve() {
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // httplib's stop() does nothing until the accept loop runs, so a Stop()
  // right after Start() would hang: wait for the loop (bounded).
  for (int i = 0; i < 500 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void WebhookServer::Stop() {
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace smsgw::webhooks
