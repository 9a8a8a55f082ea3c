// fake_twilio: a stand-alone fake of Twilio's Messages API, run as its own
// process so that it outlives the smsgw-server that the crash harness kills.
//
//   fake_twilio --port_file=PATH --store=PATH [--account_sid=AC…]
//               [--create_delay_ms=N]
//
// Listens on 127.0.0.1 and an ephemeral port, written to --port_file once
// serving. Every accepted create is appended (one JSON line, flushed) to
// --store and reloaded at start, so the fake's memory survives restarts too.
//
//   POST /2010-04-01/Accounts/{AC}/Messages.json -> 201 Message (queued); the
//        answer is delayed by a random 0..create_delay_ms to widen the window
//        in which a kill finds the call in flight
//   GET  /2010-04-01/Accounts/{AC}/Messages.json -> page of messages, newest
//        first, filtered by To and From, paged by PageSize/Page
//   POST /control/outage?ms=N -> for N ms every Twilio call answers 503
//   GET  /control/messages    -> JSON array of every accepted message
//   GET  /control/refused     -> {"refused": N}: Twilio calls answered 503
//
// It does not use production JSON code (message_json.h) so a bug there
// cannot hide in both the client and its fake.
//
// Why not `smsgw sim serve` (server/simulator), which also outlives the
// server: the harness needs the random create delay (the crash window), the
// 503 outages and their count, and a store that survives the fake's own
// restarts; those are faults the simulator should not offer.
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace {

using Json = nlohmann::json;

std::string Flag(int argc, char** argv, const std::string& name,
                 const std::string& fallback) {
  const std::string prefix = "--" + name + "=";
  for (int i = 1; i < argc; ++i) {
    if (absl::StartsWith(argv[i], prefix)) return argv[i] + prefix.size();
  }
  return fallback;
}

std::string Rfc2822(absl::Time t) {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", t,
                          absl::UTCTimeZone());
}

// Percent-encodes everything but unreserved characters (RFC 3986).
std::string Escape(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += absl::StrFormat("%%%02X", c);
    }
  }
  return out;
}

Json TwilioError(int status, int code, const std::string& message) {
  return {{"code", code},
          {"message", message},
          {"more_info", absl::StrCat("https://www.twilio.com/docs/errors/",
                                     code)},
          {"status", status}};
}

class FakeTwilio {
 public:
  FakeTwilio(std::string account_sid, std::string store_path, int delay_ms)
      : account_sid_(std::move(account_sid)),
        store_path_(std::move(store_path)),
        delay_ms_(delay_ms) {
    std::ifstream in(store_path_);
    std::string line;
    while (std::getline(in, line)) {
      Json m = Json::parse(line, nullptr, false);
      if (m.is_object()) messages_.push_back(std::move(m));
    }
    next_sid_ = messages_.size() + 1;
    out_ = std::fopen(store_path_.c_str(), "a");
  }

  void Register(httplib::Server& server) {
    const std::string list_path =
        absl::StrCat("/2010-04-01/Accounts/", account_sid_, "/Messages.json");
    server.Post(list_path, [this](const httplib::Request& req,
                                  httplib::Response& res) { Create(req, res); });
    server.Get(list_path, [this, list_path](const httplib::Request& req,
                                            httplib::Response& res) {
      List(list_path, req, res);
    });
    server.Post("/control/outage", [this](const httplib::Request& req,
                                          httplib::Response& res) {
      int ms = 0;
      (void)absl::SimpleAtoi(req.get_param_value("ms"), &ms);
      absl::MutexLock lock(&mu_);
      outage_until_ = absl::Now() + absl::Milliseconds(ms);
      res.set_content("{}", "application/json");
    });
    server.Get("/control/messages", [this](const httplib::Request&,
                                           httplib::Response& res) {
      absl::MutexLock lock(&mu_);
      res.set_content(Json(messages_).dump(), "application/json");
    });
    server.Get("/control/refused", [this](const httplib::Request&,
                                          httplib::Response& res) {
      absl::MutexLock lock(&mu_);
      res.set_content(Json{{"refused", refused_}}.dump(), "application/json");
    });
  }

 private:
  bool InOutage(httplib::Response& res) {
    absl::MutexLock lock(&mu_);
    if (absl::Now() >= outage_until_) return false;
    ++refused_;
    res.status = 503;
    res.set_content(TwilioError(503, 20500, "Service Unavailable").dump(),
                    "application/json");
    return true;
  }

  void Create(const httplib::Request& req, httplib::Response& res) {
    if (InOutage(res)) return;
    int delay = 0;
    {
      absl::MutexLock lock(&mu_);
      if (delay_ms_ > 0) {
        delay = std::uniform_int_distribution<int>(0, delay_ms_)(rng_);
      }
    }
    // The create is committed before the delay, as at Twilio: a client that
    // dies while waiting for the answer leaves a message it never saw.
    Json message;
    {
      absl::MutexLock lock(&mu_);
      const std::string sid = absl::StrFormat("SM%032x", next_sid_++);
      const std::string uri = absl::StrCat("/2010-04-01/Accounts/",
                                           account_sid_, "/Messages/", sid);
      const std::string now = Rfc2822(absl::Now());
      message = {{"account_sid", account_sid_},
                 {"api_version", "2010-04-01"},
                 {"body", req.get_param_value("Body")},
                 {"date_created", now},
                 {"date_sent", nullptr},
                 {"date_updated", now},
                 {"direction", "outbound-api"},
                 {"error_code", nullptr},
                 {"error_message", nullptr},
                 {"from", req.get_param_value("From")},
                 {"messaging_service_sid", nullptr},
                 {"num_media", "0"},
                 {"num_segments", "1"},
                 {"price", nullptr},
                 {"price_unit", "USD"},
                 {"sid", sid},
                 {"status", "queued"},
                 {"to", req.get_param_value("To")},
                 {"uri", uri + ".json"}};
      messages_.push_back(message);
      if (out_ != nullptr) {
        std::fputs((message.dump() + "\n").c_str(), out_);
        std::fflush(out_);
      }
    }
    if (delay > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    res.status = 201;
    res.set_content(message.dump(), "application/json");
  }

  void List(const std::string& list_path, const httplib::Request& req,
            httplib::Response& res) {
    if (InOutage(res)) return;
    int page_size = 50;
    int page = 0;
    (void)absl::SimpleAtoi(req.get_param_value("PageSize"), &page_size);
    (void)absl::SimpleAtoi(req.get_param_value("Page"), &page);
    page_size = std::clamp(page_size, 1, 1000);
    page = std::max(page, 0);
    const std::string to = req.get_param_value("To");
    const std::string from = req.get_param_value("From");
    std::vector<Json> matching;
    {
      absl::MutexLock lock(&mu_);
      for (auto it = messages_.rbegin(); it != messages_.rend(); ++it) {
        if (!to.empty() && (*it)["to"] != to) continue;
        if (!from.empty() && (*it)["from"] != from) continue;
        matching.push_back(*it);
      }
    }
    const size_t start = static_cast<size_t>(page) * page_size;
    Json items = Json::array();
    for (size_t i = start; i < matching.size() && i < start + page_size; ++i) {
      items.push_back(matching[i]);
    }
    auto page_uri = [&](int p) {
      return absl::StrCat(list_path, "?To=", Escape(to),
                          "&From=", Escape(from),
                          "&PageSize=", page_size, "&Page=", p);
    };
    const bool more = start + page_size < matching.size();
    Json body = {{"first_page_uri", page_uri(0)},
                 {"messages", items},
                 {"next_page_uri", more ? Json(page_uri(page + 1)) : Json()},
                 {"page", page},
                 {"page_size", page_size},
                 {"previous_page_uri", Json()},
                 {"start", start},
                 {"uri", page_uri(page)}};
    res.status = 200;
    res.set_content(body.dump(), "application/json");
  }

  const std::string account_sid_;
  const std::string store_path_;
  const int delay_ms_;
  absl::Mutex mu_;
  std::vector<Json> messages_;  // oldest first
  uint64_t next_sid_ = 1;
  std::FILE* out_ = nullptr;
  absl::Time outage_until_ = absl::InfinitePast();
  int64_t refused_ = 0;  // calls answered 503 during outages
  std::mt19937 rng_{std::random_device{}()};
};

}  // namespace

int main(int argc, char** argv) {
  const std::string port_file = Flag(argc, argv, "port_file", "");
  const std::string store = Flag(argc, argv, "store", "");
  if (port_file.empty() || store.empty()) {
    std::cerr << "usage: fake_twilio --port_file=PATH --store=PATH"
                 " [--account_sid=AC…] [--create_delay_ms=N]\n";
    return 2;
  }
  int delay_ms = 0;
  (void)absl::SimpleAtoi(Flag(argc, argv, "create_delay_ms", "0"), &delay_ms);
  FakeTwilio fake(
      Flag(argc, argv, "account_sid", "AC00000000000000000000000000000001"),
      store, delay_ms);
  httplib::Server server;
  server.new_task_queue = [] { return new httplib::ThreadPool(64); };
  fake.Register(server);
  const int port = server.bind_to_any_port("127.0.0.1");
  if (port <= 0) {
    std::cerr << "fake_twilio: cannot bind\n";
    return 1;
  }
  {
    const std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << port << "\n";
    std::rename(tmp.c_str(), port_file.c_str());
  }
  server.listen_after_bind();
  return 0;
}
