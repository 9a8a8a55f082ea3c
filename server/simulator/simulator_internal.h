// File: simulator_internal.h
//
// What the files of `TwilioSimulator` (simulator.h) share and nobody else
// includes: its stored state, `TwilioSimulator::Impl`, and the wire helpers
// of simulator_wire.cc. Each job of the simulator is one file:
//   simulator.cc              the facade, Start/Stop, credentials, routing
//   simulator_wire.cc         JSON answers, URLs, bodies, segments
//   simulator_messages_api.cc the 2010-04-01 Messages API
//   simulator_callbacks.cc    status steps and callback posting
//   simulator_control_api.cc  /sim/v1/... (inbound, outbox, inbox)
//   simulator_inbound.cc      inbound injection and the stores' views
#ifndef SMSGW_SERVER_SIMULATOR_SIMULATOR_INTERNAL_H_
#define SMSGW_SERVER_SIMULATOR_SIMULATOR_INTERNAL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "server/simulator/simulator.h"
#include "server/simulator/simulator_connections.h"
#include "server/simulator/simulator_scheduler.h"
#include "server/twilio/form_encoding.h"
#include "server/twilio/sms_provider.h"

namespace smsgw::twilio {
namespace simulator_internal {

using Json = nlohmann::json;

inline constexpr char kFormContentType[] = "application/x-www-form-urlencoded";
inline constexpr int kMaxMediaUrls = 10;
// The largest request body read; a larger one answers 413.
inline constexpr size_t kMaxRequestBytes = 1 << 20;

// ---------------------------------------------------------------------------
// Wire helpers (simulator_wire.cc).

// Now, truncated to whole seconds as Twilio's timestamps are.
absl::Time NowSeconds();

// True for an absolute http:// or https:// URL with a host and no control
// characters or spaces.
bool IsHttpUrl(absl::string_view s);

// A webhook URL split for httplib: the client's "scheme://host:port", the
// request target, and the URL that is signed (fragment removed, §5).
struct WebhookTarget {
  std::string origin;
  std::string path;
  std::string signed_url;
};
// InvalidArgument when `url` is not http(s) (IsHttpUrl).
absl::StatusOr<WebhookTarget> SplitWebhookUrl(absl::string_view url);

// The length of `body` in UTF-16 code units and its SMS segment count, by
// the domain's counter (server/domain/segments.h; 0 segments when empty).
// InvalidArgument when `body` is not UTF-8.
struct BodyMeasure {
  int utf16_length = 0;
  int segments = 0;
};
absl::StatusOr<BodyMeasure> MeasureBody(absl::string_view body);
// MeasureBody(body).segments, or 0 when `body` is not UTF-8 (bodies that
// came through ParseForm or a JSON parser always are).
int SegmentsOf(absl::string_view body);

// Twilio's error body {"code","message","more_info","status"}.
Json ErrorJson(int code, absl::string_view message, int http_status);
// Sets `res` to `http_status` with `body` as application/json.
void SetJson(httplib::Response& res, int http_status, const Json& body);
// Sets `res` to `http_status` with a JSON text already rendered.
void SetJsonText(httplib::Response& res, int http_status, std::string body);
// Sets `res` to Twilio's error body.
void SetError(httplib::Response& res, int http_status, int code,
              absl::string_view message);
// Twilio's 404/20404 for `path`.
void SetNotFound(httplib::Response& res, absl::string_view path);
// Control API errors: `{"error": "<one line>"}`. The reason never holds a
// line break (callers quote outside input with Quoted()), so a CLI can print
// it as one line.
void SetControlError(httplib::Response& res, int http_status,
                     absl::string_view reason);
// `s` C-escaped in double quotes, for outside input in one-line errors.
std::string Quoted(absl::string_view s);

// The first value of `name` in `params` (form_encoding.h), or "" when
// absent.
std::string ValueOr(const FormParams& params, absl::string_view name);

// Reads a request body of at most kMaxRequestBytes; on overflow answers
// Twilio's 413 and returns nullopt.
std::optional<std::string> ReadBody(const httplib::ContentReader& reader,
                                    httplib::Response& res);

// ---------------------------------------------------------------------------
// Stored state.

struct StoredMessage {
  ProviderMessage message;
  uint64_t seq = 0;  // creation order, the list's tie-breaker
  std::vector<std::string> media_urls;
  std::string status_callback;
  std::string from_when_queued;  // Messaging Service: the pool pick
  bool deleted = false;
};

}  // namespace simulator_internal

class TwilioSimulator::Impl {
 public:
  using StoredMessage = simulator_internal::StoredMessage;
  using WebhookTarget = simulator_internal::WebhookTarget;
  using Json = simulator_internal::Json;

  explicit Impl(const Options& options) : options_(options) {}

  absl::Status Start();
  void Stop();
  int port() const { return port_; }

  std::vector<ProviderMessage> Messages(bool inbound) const;
  absl::StatusOr<InboundResult> InjectInbound(
      absl::string_view from, absl::string_view to, absl::string_view body,
      const std::vector<std::string>& media_urls);

 private:
  // Routes (simulator.cc).
  void Route();
  bool CredentialsOk(const httplib::Request& req) const;
  bool Authorize(const httplib::Request& req, httplib::Response& res);
  std::string NewSid(absl::string_view prefix);
  // The stored message as Twilio's Message resource (message_json.h).
  std::string MessageJson(const StoredMessage& stored) const;

  // The Messages API (simulator_messages_api.cc). Each returns after
  // filling `res`.
  void HandleCreate(const httplib::Request& req, const std::string& body,
                    httplib::Response& res);
  void HandleList(const httplib::Request& req, httplib::Response& res);
  void HandleFetch(const httplib::Request& req, httplib::Response& res);
  void HandleUpdate(const httplib::Request& req, const std::string& body,
                    httplib::Response& res);
  void HandleDelete(const httplib::Request& req, httplib::Response& res);
  // The message the path's {Sid} names, or nullptr (after answering 404)
  // when there is none or it was deleted.
  StoredMessage* FindLive(const httplib::Request& req, httplib::Response& res)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Returns the 400 code and message for a create request, or 0.
  std::pair<int, std::string> ValidateCreate(const FormParams& params) const;

  // The control API (/sim/v1/..., simulator_control_api.cc), see
  // simulator.h.
  bool AuthorizeControl(const httplib::Request& req, httplib::Response& res);
  void HandleControlInbound(const httplib::Request& req,
                            const std::string& body, httplib::Response& res);
  void HandleControlList(const httplib::Request& req, httplib::Response& res,
                         bool inbound);

  // Inbound injection (simulator_inbound.cc). `delivery` is the webhook
  // POST's transport error (Unavailable) or OK when an HTTP answer (any
  // status) arrived.
  struct InboundAttempt {
    InboundResult result;
    absl::Status delivery;
  };
  // Stores the inbound message and posts the webhook. Errors only for the
  // preconditions of InjectInbound (not running, no or bad webhook URL, a
  // body that is not UTF-8), before anything is stored.
  absl::StatusOr<InboundAttempt> DeliverInbound(
      absl::string_view from, absl::string_view to, absl::string_view body,
      const std::vector<std::string>& media_urls);

  // Status steps and callbacks (simulator_callbacks.cc); the steps run on
  // the scheduler thread, the POSTs on the posters'.
  void ScheduleProgress(const StoredMessage& stored);
  void ApplyStep(const std::string& sid, const std::string& status);
  FormParams CallbackParams(const ProviderMessage& m, const std::string& status,
                            const std::string& from);
  // Hands a callback to the poster that owns its MessageSid.
  void QueueCallback(const std::string& url, const FormParams& params,
                     bool is_retry);
  // Posts one callback on poster `shard`'s thread.
  void SendCallback(int shard, const std::string& url, const FormParams& params,
                    bool is_retry);
  // Aborts every callback POST in flight (Stop()).
  void AbortPosts();
  // Posts `params` to `target` with `client`; returns the answer or
  // Unavailable when none came.
  absl::StatusOr<httplib::Response> PostWebhook(httplib::Client& client,
                                                const WebhookTarget& target,
                                                const FormParams& params);
  void ConfigureClient(httplib::Client& client) const;

  // One callback poster's connections, by webhook origin. Only the poster's
  // own thread touches `clients`; Stop() aborts `in_flight` from another.
  struct Poster {
    absl::flat_hash_map<std::string, std::unique_ptr<httplib::Client>> clients;
    absl::Mutex mu;
    httplib::Client* in_flight ABSL_GUARDED_BY(mu) = nullptr;
  };

  const Options options_;
  std::unique_ptr<BackloggedServer> server_;
  std::thread listen_thread_;
  std::unique_ptr<SimulatorScheduler> scheduler_;
  std::vector<std::unique_ptr<Poster>> posters_;  // index = shard
  std::unique_ptr<KeyedWorkers> poster_threads_;
  int port_ = 0;
  std::atomic<bool> running_{false};
  bool started_ = false;  // guarded by the owner's single-threaded Start/Stop

  mutable absl::Mutex mu_;
  absl::BitGen bitgen_ ABSL_GUARDED_BY(mu_);
  std::vector<StoredMessage> messages_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, size_t> index_ ABSL_GUARDED_BY(mu_);
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  size_t next_pool_pick_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace smsgw::twilio

#endif  // SMSGW_SERVER_SIMULATOR_SIMULATOR_INTERNAL_H_
