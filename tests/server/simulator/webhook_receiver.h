// File: webhook_receiver.h
//
// A loopback HTTP server standing in for smsgw's webhook adapter in the
// simulator's tests: it records every POST (status callbacks, inbound
// webhooks) and answers `status` with kReceiverTwiml.
//
//   WebhookReceiver receiver;
//   options.inbound_webhook_url = receiver.url("/in");
//   std::vector<Received> got = receiver.WaitFor(1);
//
// The body is decoded here with httplib's own decoder, not form_encoding.h,
// so a bug in the simulator's encoder cannot hide in the decoder too.
#ifndef SMSGW_TESTS_SERVER_SIMULATOR_WEBHOOK_RECEIVER_H_
#define SMSGW_TESTS_SERVER_SIMULATOR_WEBHOOK_RECEIVER_H_

#include <algorithm>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "httplib.h"
#include "tests/testing/rendezvous.h"

namespace smsgw::twilio::simulator_testing {

using ReceivedParams = std::vector<std::pair<std::string, std::string>>;

// What the receiver answers every request with.
inline constexpr char kReceiverTwiml[] =
    R"(<?xml version="1.0" encoding="UTF-8"?>)"
    "<Response><Message>got it</Message></Response>";

// Decodes an application/x-www-form-urlencoded body ('+' is a space).
inline ReceivedParams DecodeReceivedForm(const std::string& body) {
  ReceivedParams params;
  for (absl::string_view pair : absl::StrSplit(body, '&', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    for (std::string* s : {&kv.first, &kv.second}) {
      std::replace(s->begin(), s->end(), '+', ' ');
      *s = httplib::detail::decode_url(*s, false);
    }
    params.push_back(std::move(kv));
  }
  return params;
}

// One webhook request as the receiver saw it.
struct Received {
  std::string target;     // path and query
  std::string signature;  // X-Twilio-Signature, "" when absent
  std::string content_type;
  std::string raw_body;
  ReceivedParams params;  // raw_body decoded (the query is not signed)
};

// Thread-safe. With `rendezvous` > 0, the first requests wait in the handler
// until that many are in it at once (or 10 s pass), which only concurrent
// senders achieve; `delay` holds every answer that long.
class WebhookReceiver {
 public:
  explicit WebhookReceiver(int status = 200,
                           absl::Duration delay = absl::ZeroDuration(),
                           int rendezvous = 0)
      : status_(status), delay_(delay), rendezvous_(rendezvous) {
    server_.Post(".*", [this](const httplib::Request& req,
                              httplib::Response& res) {
      Received r;
      r.target = req.target;
      r.signature = req.get_header_value("X-Twilio-Signature");
      r.content_type = req.get_header_value("Content-Type");
      r.raw_body = req.body;
      r.params = DecodeReceivedForm(req.body);
      {
        absl::MutexLock lock(&mu_);
        received_.push_back(std::move(r));
      }
      rendezvous_.Arrive();
      if (delay_ > absl::ZeroDuration()) absl::SleepFor(delay_);
      res.status = status_;
      res.set_content(kReceiverTwiml, "text/xml");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op before the accept loop runs.
    while (!server_.is_running()) absl::SleepFor(absl::Milliseconds(1));
  }
  ~WebhookReceiver() {
    server_.stop();
    thread_.join();
  }
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  // "http://127.0.0.1:<port><path_and_query>"
  std::string url(const std::string& path_and_query) const {
    return absl::StrCat("http://127.0.0.1:", port_, path_and_query);
  }
  int port() const { return port_; }

  // Waits until `n` requests arrived (or `timeout`), returns all so far.
  std::vector<Received> WaitFor(size_t n,
                                absl::Duration timeout = absl::Seconds(10)) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return received_.size() >= n;
    };
    mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
    return received_;
  }
  // Every request so far.
  std::vector<Received> received() { return WaitFor(0, absl::ZeroDuration()); }

  // The most requests that were in the handler's rendezvous at once.
  int max_inside() { return rendezvous_.max_inside(); }

 private:
  const int status_;
  const absl::Duration delay_;
  smsgw::testing::Rendezvous rendezvous_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<Received> received_ ABSL_GUARDED_BY(mu_);
};

}  // namespace smsgw::twilio::simulator_testing

#endif  // SMSGW_TESTS_SERVER_SIMULATOR_WEBHOOK_RECEIVER_H_
