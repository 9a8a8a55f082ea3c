// File: webhook_worker.h
//
// Delivers each enabled endpoint's events: its owner's message feed rows
// above the endpoint's delivered_cursor (storage/message_store.h ListFeed:
// durable, commit-ordered, never pruned, so the feed is the queue), strictly
// in cursor order, one request in flight per endpoint, a small pool of
// threads across endpoints. delivered_cursor moves only after a 2xx
// answered within `timeout`, so a crash (kill -9) redelivers the head event
// with the same `webhook-id`: at least once. Failures are retried with
// full-jitter exponential backoff until the head event has failed for
// `retry_window`; then the endpoint is disabled with the last error and
// keeps its cursor.
//
// Each attempt resolves the host itself, refuses non-public addresses
// (webhook_url.h) and pins libcurl to the addresses it checked
// (CURLOPT_RESOLVE), then checks the address actually connected
// (CURLINFO_PRIMARY_IP): DNS rebinding cannot reach a private address. No
// redirects, no proxies from the environment, answers read up to 64 KiB.
#ifndef SMSGW_SERVER_EVENTS_WEBHOOK_WORKER_H_
#define SMSGW_SERVER_EVENTS_WEBHOOK_WORKER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/metrics.h"
#include "server/events/webhook_rules.h"
#include "storage/message_store.h"
#include "storage/webhook_store.h"

namespace smsgw::events {

// Not owned: `store`, `messages` and `clock` must outlive the worker.
// Start() once, Shutdown() (or the destructor) once. Thread-safe.
class WebhookWorker {
 public:
  struct Options {
    // SMSGW_WEBHOOK_ALLOW_PRIVATE: http and non-public addresses allowed.
    bool allow_private = false;
    // SMSGW_WEBHOOK_RETRY_WINDOW: how long the head event is retried.
    absl::Duration retry_window = absl::Hours(24);
    Backoff backoff;
    // A 2xx must arrive within this (connect included).
    absl::Duration timeout = absl::Seconds(10);
    // Deliveries in flight at once, across endpoints.
    int threads = 4;
    // Answer bytes read at most; the log keeps a 200-byte excerpt.
    size_t max_response_bytes = 64 * 1024;
    // How often the endpoints are looked at without a wake-up.
    absl::Duration poll_interval = absl::Seconds(5);
    // The message as the API shows it (smsgw.v1.Message JSON). Required.
    std::function<absl::StatusOr<std::string>(const storage::Message&)>
        message_json;
    // smsgw_webhook_deliveries_total{result}; may be null.
    metrics::CounterFamily* deliveries = nullptr;
    // smsgw_webhook_endpoints_disabled_total; may be null.
    metrics::CounterFamily* disabled = nullptr;
  };

  WebhookWorker(storage::WebhookStore* store, storage::MessageStore* messages,
                Clock* clock, Options options);
  ~WebhookWorker();
  WebhookWorker(const WebhookWorker&) = delete;
  WebhookWorker& operator=(const WebhookWorker&) = delete;

  // Listens to the feed and starts the scheduling thread.
  absl::Status Start();
  // Makes the scheduler look at every endpoint now (non-blocking).
  void Wake();
  // Stops scheduling, aborts transfers in progress (their events stay
  // undelivered and are retried at the next start) and joins the threads.
  void Shutdown();

 private:
  struct Attempt {
    int http_status = 0;
    std::string error;  // empty on success
    std::string result;  // the metric label
    absl::Duration duration;
  };

  void Loop();
  // One look at every enabled endpoint; returns when to look again.
  absl::Time Pass();
  void Deliver(storage::WebhookEndpoint endpoint, storage::FeedEvent row,
               std::vector<std::string> types);
  Attempt Post(const storage::WebhookEndpoint& endpoint,
               const std::string& webhook_id, const std::string& body);

  storage::WebhookStore* const store_;
  storage::MessageStore* const messages_;
  Clock* const clock_;
  const Options options_;
  std::unique_ptr<Executor> pool_;
  int listener_ = 0;
  std::atomic<bool> stopping_{false};

  absl::Mutex mu_;
  bool woken_ ABSL_GUARDED_BY(mu_) = true;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::set<int64_t> in_flight_ ABSL_GUARDED_BY(mu_);
  absl::BitGen random_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace smsgw::events

#endif  // SMSGW_SERVER_EVENTS_WEBHOOK_WORKER_H_
