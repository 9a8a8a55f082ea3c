// The fast fake Twilio of smsgw-bench. Unlike tests/fake_twilio it keeps
// nothing (no store, no list): a create costs one small JSON answer, so the
// fake is not what limits SendMessage throughput.
#include <httplib.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/serve_modes.h"
#include "server/twilio/message_json.h"
#include "nlohmann/json.hpp"

namespace smsgw::bench {

int RunFakeTwilio(const std::string& port_file, const std::string& account_sid,
                  int latency_ms, int threads) {
  httplib::Server server;
  server.set_tcp_nodelay(true);  // as Twilio: no Nagle delay on answers
  // One thread per connection being served (httplib keeps a keep-alive
  // connection on its thread, by default for 5 requests): enough for every
  // connection smsgw-server's client opens, so that waiting creates never
  // queue behind each other. Twilio keeps connections open.
  server.new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  server.set_keep_alive_max_count(1000000);
  std::atomic<uint64_t> creates{0};
  const std::string list_path =
      absl::StrCat("/2010-04-01/Accounts/", account_sid, "/Messages.json");
  server.Post(list_path, [&](const httplib::Request& req,
                             httplib::Response& res) {
    if (latency_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(latency_ms));
    }
    const uint64_t n = creates.fetch_add(1, std::memory_order_relaxed) + 1;
    const std::string sid = absl::StrFormat("SM%032x", n);
    // The Message resource as Twilio writes it (server/twilio/message_json).
    twilio::ProviderMessage message;
    message.sid = sid;
    message.status = "queued";
    message.direction = "outbound-api";
    message.from = req.get_param_value("From");
    message.to = req.get_param_value("To");
    message.body = req.get_param_value("Body");
    message.num_segments = 1;
    message.price_unit = "USD";
    message.date_created = message.date_updated = absl::Now();
    res.status = 201;
    res.set_content(twilio::MessageToJson(message, account_sid),
                    "application/json");
  });
  server.Get(list_path, [&](const httplib::Request&, httplib::Response& res) {
    nlohmann::json page = {{"messages", nlohmann::json::array()},
                           {"next_page_uri", nullptr},
                           {"page", 0},
                           {"page_size", 50},
                           {"uri", list_path}};
    res.set_content(page.dump(), "application/json");
  });
  server.Get("/count", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::to_string(creates.load()), "text/plain");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  if (port <= 0) return 1;
  WritePortFile(port_file, port);
  return server.listen_after_bind() ? 0 : 1;
}

}  // namespace smsgw::bench
