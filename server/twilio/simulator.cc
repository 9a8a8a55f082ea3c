// File: simulator.cc
//
// See simulator.h. Everything Twilio-shaped lives here on purpose (JSON
// rendering, form encoding, RFC 2822 dates, a rough segment count): the
// shared helpers of server/twilio are written in parallel and will replace
// these private copies when merged.
#include "server/twilio/simulator.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "common/logging.h"
#include "server/twilio/form_encoding.h"
#include "server/twilio/simulator_connections.h"

namespace smsgw::twilio {
namespace {

using Params = TwilioSimulator::Params;
using Json = nlohmann::json;

constexpr char kApiVersion[] = "2010-04-01";
constexpr char kFormContentType[] = "application/x-www-form-urlencoded";
constexpr int kMaxBodyUtf16Units = 1600;
constexpr int kMaxMediaUrls = 10;
constexpr int kMaxStatusCallbackLength = 4000;
constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 1000;
// Twilio's list price for a US SMS segment at the time of writing.
constexpr double kPricePerSegmentUsd = 0.0079;
constexpr char kMessagesPattern[] =
    R"(/2010-04-01/Accounts/([^/]+)/Messages\.json)";
constexpr char kMessagePattern[] =
    R"(/2010-04-01/Accounts/([^/]+)/Messages/([^/]+)\.json)";
constexpr char kControlInboundPath[] = "/sim/v1/inbound";
constexpr char kControlOutboxPath[] = "/sim/v1/outbox";
constexpr char kControlInboxPath[] = "/sim/v1/inbox";
// Requests on one kept-alive API connection before the simulator closes it.
// Reconnecting costs a handshake and a trip through the accept thread, so
// it is rare; finite so that connections beyond max_connections get a
// thread at some point even from a client that never idles.
constexpr size_t kKeepAliveMaxRequests = 1000;
// A callback poster closes its kept-alive connection after this long
// without work: sooner than smsgw's webhook server drops an idle one (1 s),
// so a POST does not race the server's close, and an idle simulator does
// not hold threads of a thread-per-connection receiver.
constexpr absl::Duration kPosterIdleClose = absl::Milliseconds(500);

// ---------------------------------------------------------------------------
// Wire helpers.

std::string FormatRfc2822(absl::Time t) {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", t,
                          absl::UTCTimeZone());
}

// Twilio's timestamps have whole seconds.
absl::Time NowSeconds() {
  return absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
}

bool IsUnreserved(unsigned char c) {
  return absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

std::string FormEncodeComponent(absl::string_view in) {
  std::string out;
  for (unsigned char c : in) {
    if (IsUnreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

std::string FormEncode(const Params& params) {
  std::vector<std::string> pairs;
  pairs.reserve(params.size());
  for (const auto& [name, value] : params) {
    pairs.push_back(absl::StrCat(FormEncodeComponent(name), "=",
                                 FormEncodeComponent(value)));
  }
  return absl::StrJoin(pairs, "&");
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes one form component: '+' is a space, %XX a byte; a '%' not followed
// by two hex digits is kept literally (lenient, like most servers).
std::string FormDecodeComponent(absl::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 &&
               HexValue(in[i + 2]) >= 0) {
      out.push_back(
          static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Params FormDecode(absl::string_view text) {
  Params params;
  for (absl::string_view piece : absl::StrSplit(text, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(piece, absl::MaxSplits('=', 1));
    std::string name = FormDecodeComponent(kv.first);
    if (name.empty()) continue;
    params.emplace_back(std::move(name), FormDecodeComponent(kv.second));
  }
  return params;
}

// The first value of `name`, or nullopt when absent.
std::optional<std::string> Param(const Params& params, absl::string_view name) {
  for (const auto& [n, v] : params) {
    if (n == name) return v;
  }
  return std::nullopt;
}

std::string ParamOr(const Params& params, absl::string_view name) {
  return Param(params, name).value_or("");
}

std::vector<std::string> ParamValues(const Params& params,
                                     absl::string_view name) {
  std::vector<std::string> values;
  for (const auto& [n, v] : params) {
    if (n == name) values.push_back(v);
  }
  return values;
}

// Decodes UTF-8 into code points; a malformed byte becomes U+FFFD.
std::vector<char32_t> DecodeUtf8(absl::string_view s) {
  std::vector<char32_t> out;
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    int len = c < 0x80           ? 1
              : (c >> 5) == 0x6  ? 2
              : (c >> 4) == 0xE  ? 3
              : (c >> 3) == 0x1E ? 4
                                 : 0;
    if (len == 0 || i + len > s.size()) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    char32_t cp = len == 1 ? c : c & (0xFF >> (len + 1));
    bool ok = true;
    for (int k = 1; k < len; ++k) {
      unsigned char cc = s[i + k];
      if ((cc & 0xC0) != 0x80) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (!ok) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

// Twilio counts Body length in UTF-16 code units (twilio-reference.md §7).
int Utf16Length(absl::string_view s) {
  int n = 0;
  for (char32_t cp : DecodeUtf8(s)) n += cp > 0xFFFF ? 2 : 1;
  return n;
}

const absl::flat_hash_set<char32_t>& GsmSet(bool extension) {
  static const auto* const basic = [] {
    auto* set = new absl::flat_hash_set<char32_t>();
    for (char32_t cp : DecodeUtf8("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ "
                                  "!\"#¤%&'()*+,-./0123456789:;<=>?"
                                  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijk"
                                  "lmnopqrstuvwxyzäöñüà")) {
      set->insert(cp);
    }
    return set;
  }();
  static const auto* const ext = [] {
    auto* set = new absl::flat_hash_set<char32_t>();
    for (char32_t cp : DecodeUtf8("\f^{}\\[~]|€")) set->insert(cp);
    return set;
  }();
  return extension ? *ext : *basic;
}

// A simple segment count (GSM-7 160/153 septets, else UCS-2 70/67 units);
// the domain layer owns the exact counter (escape pairs never split, etc.).
int CountSegments(absl::string_view body) {
  std::vector<char32_t> cps = DecodeUtf8(body);
  if (cps.empty()) return 1;
  int septets = 0;
  bool gsm = true;
  for (char32_t cp : cps) {
    if (GsmSet(false).contains(cp)) {
      septets += 1;
    } else if (GsmSet(true).contains(cp)) {
      septets += 2;
    } else {
      gsm = false;
      break;
    }
  }
  if (gsm) return septets <= 160 ? 1 : (septets + 152) / 153;
  int units = Utf16Length(body);
  return units <= 70 ? 1 : (units + 66) / 67;
}

bool IsE164(absl::string_view s) {
  if (s.size() < 3 || s.size() > 16 || s[0] != '+' || s[1] == '0') {
    return false;
  }
  for (char c : s.substr(1)) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

// Alphanumeric sender IDs: 1..11 of [A-Za-z0-9 ], at least one letter.
bool IsAlphanumericSenderId(absl::string_view s) {
  if (s.empty() || s.size() > 11) return false;
  bool letter = false;
  for (char c : s) {
    if (absl::ascii_isalpha(c)) {
      letter = true;
    } else if (!absl::ascii_isdigit(c) && c != ' ') {
      return false;
    }
  }
  return letter;
}

bool IsHttpUrl(absl::string_view s) {
  absl::string_view rest;
  if (absl::StartsWithIgnoreCase(s, "http://")) {
    rest = s.substr(7);
  } else if (absl::StartsWithIgnoreCase(s, "https://")) {
    rest = s.substr(8);
  } else {
    return false;
  }
  if (rest.empty() || rest[0] == '/' || rest[0] == '?' || rest[0] == '#') {
    return false;
  }
  for (char c : s) {
    if (static_cast<unsigned char>(c) <= ' ') return false;
  }
  return true;
}

// A webhook URL split for httplib: the client's "scheme://host:port", the
// request target, and the URL that is signed (fragment removed, §5).
struct WebhookTarget {
  std::string origin;
  std::string path;
  std::string signed_url;
};

absl::StatusOr<WebhookTarget> SplitWebhookUrl(absl::string_view url) {
  if (!IsHttpUrl(url)) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an http(s) URL: \"", url, "\""));
  }
  absl::string_view no_fragment = url.substr(0, url.find('#'));
  size_t scheme_end = no_fragment.find("://") + 3;
  size_t authority_end = no_fragment.find_first_of("/?", scheme_end);
  if (authority_end == absl::string_view::npos) {
    authority_end = no_fragment.size();
  }
  WebhookTarget target;
  target.origin = std::string(no_fragment.substr(0, authority_end));
  target.path = std::string(no_fragment.substr(authority_end));
  if (target.path.empty() || target.path[0] == '?') {
    target.path.insert(0, "/");
  }
  target.signed_url = std::string(no_fragment);
  return target;
}

// ---------------------------------------------------------------------------
// Twilio error bodies.

Json ErrorJson(int code, absl::string_view message, int http_status) {
  return Json{
      {"code", code},
      {"message", std::string(message)},
      {"more_info", absl::StrCat("https://www.twilio.com/docs/errors/", code)},
      {"status", http_status}};
}

void SetJson(httplib::Response& res, int http_status, const Json& body) {
  res.status = http_status;
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace),
                  "application/json");
}

void SetError(httplib::Response& res, int http_status, int code,
              absl::string_view message) {
  SetJson(res, http_status, ErrorJson(code, message, http_status));
}

void SetNotFound(httplib::Response& res, absl::string_view path) {
  SetError(res, 404, 20404,
           absl::StrCat("The requested resource ", path, " was not found"));
}

// Control API errors: `{"error": "<one line>"}`. The reason never holds a
// line break (callers quote outside input with CHexEscape), so a CLI can
// print it as one line.
void SetControlError(httplib::Response& res, int http_status,
                     absl::string_view reason) {
  SetJson(res, http_status, Json{{"error", std::string(reason)}});
}

// Reads a request body of at most kMaxRequestBytes; on overflow answers 413
// and returns nullopt.
constexpr size_t kMaxRequestBytes = 1 << 20;

std::optional<std::string> ReadBody(const httplib::ContentReader& reader,
                                    httplib::Response& res) {
  std::string body;
  bool ok = reader([&body](const char* data, size_t length) {
    body.append(data, length);
    return body.size() <= kMaxRequestBytes;
  });
  if (!ok) {
    SetJson(res, 413,
            Json{{"code", 413},
                 {"message", "Request body too large"},
                 {"more_info",
                  "https://www.twilio.com/docs/usage/requests-to-twilio"},
                 {"status", 413}});
    return std::nullopt;
  }
  return body;
}

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

// One thread running tasks at their due times, in (time, enqueue) order.
class Scheduler {
 public:
  Scheduler() : thread_([this] { Run(); }) {}
  ~Scheduler() { Stop(); }

  void At(absl::Time when, std::function<void()> fn) {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    tasks_.emplace(std::make_pair(when, next_seq_++), std::move(fn));
    cv_.Signal();
  }

  // Drops pending tasks, lets the running task (if any) finish and joins.
  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      tasks_.clear();
      cv_.Signal();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    absl::MutexLock lock(&mu_);
    while (!stopping_) {
      if (tasks_.empty()) {
        cv_.Wait(&mu_);
        continue;
      }
      absl::Time when = tasks_.begin()->first.first;
      if (absl::Now() < when) {
        cv_.WaitWithDeadline(&mu_, when);
        continue;
      }
      std::function<void()> fn = std::move(tasks_.begin()->second);
      tasks_.erase(tasks_.begin());
      mu_.Unlock();
      fn();
      mu_.Lock();
    }
  }

  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::pair<absl::Time, uint64_t>, std::function<void()>> tasks_
      ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

std::string GuessMediaContentType(absl::string_view url) {
  std::string lower = absl::AsciiStrToLower(url.substr(0, url.find('?')));
  if (absl::EndsWith(lower, ".png")) return "image/png";
  if (absl::EndsWith(lower, ".jpg") || absl::EndsWith(lower, ".jpeg")) {
    return "image/jpeg";
  }
  if (absl::EndsWith(lower, ".gif")) return "image/gif";
  return "application/octet-stream";
}

std::string CountryOf(absl::string_view number) {
  return absl::StartsWith(number, "+1") ? "US" : "";
}

// Parses a list date filter: a day "YYYY-MM-DD" (returns the day's start and
// sets *day) or a full timestamp (ISO 8601 / RFC 3339, "YYYY-MM-DD hh:mm:ss",
// or RFC 2822).
std::optional<absl::Time> ParseDateFilter(const std::string& text, bool* day) {
  absl::Time t;
  std::string err;
  *day = false;
  if (absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &t, &err)) {
    *day = true;
    return t;
  }
  for (const char* format :
       {"%Y-%m-%d%ET%H:%M:%E*S%Ez", "%Y-%m-%d%ET%H:%M:%E*SZ",
        "%Y-%m-%d %H:%M:%E*S", "%a, %d %b %Y %H:%M:%S %z"}) {
    if (absl::ParseTime(format, text, absl::UTCTimeZone(), &t, &err)) return t;
  }
  return std::nullopt;
}

}  // namespace

// ---------------------------------------------------------------------------

class TwilioSimulator::Impl {
 public:
  explicit Impl(const Options& options) : options_(options) {}

  absl::Status Start();
  void Stop();
  int port() const { return port_; }

  std::vector<ProviderMessage> Messages(bool inbound) const;
  absl::StatusOr<InboundResult> InjectInbound(
      absl::string_view from, absl::string_view to, absl::string_view body,
      const std::vector<std::string>& media_urls);

 private:
  // Request handling. Each returns after filling `res`.
  bool Authorize(const httplib::Request& req, httplib::Response& res);
  void HandleCreate(const httplib::Request& req, const std::string& body,
                    httplib::Response& res);
  void HandleList(const httplib::Request& req, httplib::Response& res);
  void HandleFetch(const httplib::Request& req, httplib::Response& res);
  void HandleUpdate(const httplib::Request& req, const std::string& body,
                    httplib::Response& res);
  void HandleDelete(const httplib::Request& req, httplib::Response& res);

  // The control API (/sim/v1/...), see simulator.h.
  bool CredentialsOk(const httplib::Request& req) const;
  bool AuthorizeControl(const httplib::Request& req, httplib::Response& res);
  void HandleControlInbound(const httplib::Request& req,
                            const std::string& body, httplib::Response& res);
  void HandleControlList(const httplib::Request& req, httplib::Response& res,
                         bool inbound);

  // One inbound injection: `delivery` is the webhook POST's transport error
  // (Unavailable) or OK when an HTTP answer (any status) arrived.
  struct InboundAttempt {
    InboundResult result;
    absl::Status delivery;
  };
  // Stores the inbound message and posts the webhook. Errors only for the
  // preconditions of InjectInbound (not running, no or bad webhook URL),
  // before anything is stored.
  absl::StatusOr<InboundAttempt> DeliverInbound(
      absl::string_view from, absl::string_view to, absl::string_view body,
      const std::vector<std::string>& media_urls);

  // Returns the 400 code and message for a create request, or 0.
  std::pair<int, std::string> ValidateCreate(const Params& params) const;

  Json MessageJson(const StoredMessage& stored) const;
  std::string MessageUri(absl::string_view sid) const;
  std::string NewSid(absl::string_view prefix);

  // Status steps, run on the scheduler thread.
  void ScheduleProgress(const StoredMessage& stored);
  void ApplyStep(const std::string& sid, const std::string& status);
  Params CallbackParams(const ProviderMessage& m, const std::string& status,
                        const std::string& from);
  // Hands a callback to the poster that owns its MessageSid.
  void QueueCallback(const std::string& url, const Params& params,
                     bool is_retry);
  // Posts one callback on poster `shard`'s thread.
  void SendCallback(int shard, const std::string& url, const Params& params,
                    bool is_retry);
  // Aborts every callback POST in flight (Stop()).
  void AbortPosts();
  // Posts `params` to `url` with `client`; returns the answer or an error.
  absl::StatusOr<httplib::Response> PostWebhook(httplib::Client& client,
                                                const WebhookTarget& target,
                                                const Params& params);
  void ConfigureClient(httplib::Client& client) const;

  // One callback poster's connections, by webhook origin. Only the poster's
  // own thread touches `clients`; Stop() aborts `in_flight` from another.
  struct Poster {
    absl::flat_hash_map<std::string, std::unique_ptr<httplib::Client>>
        clients;
    absl::Mutex mu;
    httplib::Client* in_flight ABSL_GUARDED_BY(mu) = nullptr;
  };

  const Options options_;
  std::unique_ptr<BackloggedServer> server_;
  std::thread listen_thread_;
  std::unique_ptr<Scheduler> scheduler_;
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

absl::Status TwilioSimulator::Impl::Start() {
  if (started_) {
    return absl::FailedPreconditionError("simulator already started");
  }
  if (options_.port < 0 || options_.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("port out of range: ", options_.port));
  }
  const std::string& sid = options_.account_sid;
  if (sid.size() != 34 || !absl::StartsWith(sid, "AC") ||
      !std::all_of(sid.begin() + 2, sid.end(),
                   [](char c) { return absl::ascii_isxdigit(c); })) {
    return absl::InvalidArgumentError(
        absl::StrCat("account_sid must match ^AC[0-9a-fA-F]{32}$: ", sid));
  }
  if (options_.auth_token.empty()) {
    return absl::InvalidArgumentError("auth_token is empty");
  }
  if (options_.repeat_callbacks < 1) {
    return absl::InvalidArgumentError("repeat_callbacks must be >= 1");
  }
  if (options_.max_connections < 1 || options_.callback_posters < 1) {
    return absl::InvalidArgumentError(
        "max_connections and callback_posters must be >= 1");
  }
  started_ = true;

  server_ = std::make_unique<BackloggedServer>();
  // httplib answers in two writes (headers, body): without this, Nagle holds
  // the second until the client's delayed ACK, ~40 ms per request. Accepted
  // sockets inherit it from the listener.
  server_->set_tcp_nodelay(true);
  // httplib's default pool (max(8, cores - 1) threads) would leave all but
  // eight of the REST client's kept-alive connections unserved.
  server_->new_task_queue = [n = options_.max_connections] {
    return new ConnectionThreads(static_cast<size_t>(n));
  };
  server_->set_keep_alive_max_count(kKeepAliveMaxRequests);
  // POST bodies are read through a content reader: httplib's own form
  // parsing refuses bodies over 8 KB with 413, while a 1600-character
  // emoji body is ~19 KB form-encoded and Twilio accepts it.
  server_->Post(kMessagesPattern,
                [this](const httplib::Request& req, httplib::Response& res,
                       const httplib::ContentReader& reader) {
                  std::optional<std::string> body = ReadBody(reader, res);
                  if (body.has_value()) HandleCreate(req, *body, res);
                });
  server_->Get(kMessagesPattern,
               [this](const httplib::Request& req, httplib::Response& res) {
                 HandleList(req, res);
               });
  server_->Get(kMessagePattern,
               [this](const httplib::Request& req, httplib::Response& res) {
                 HandleFetch(req, res);
               });
  server_->Post(kMessagePattern,
                [this](const httplib::Request& req, httplib::Response& res,
                       const httplib::ContentReader& reader) {
                  std::optional<std::string> body = ReadBody(reader, res);
                  if (body.has_value()) HandleUpdate(req, *body, res);
                });
  server_->Delete(kMessagePattern,
                  [this](const httplib::Request& req, httplib::Response& res) {
                    HandleDelete(req, res);
                  });
  server_->Post(kControlInboundPath,
                [this](const httplib::Request& req, httplib::Response& res,
                       const httplib::ContentReader& reader) {
                  std::optional<std::string> body = ReadBody(reader, res);
                  if (!body.has_value()) {
                    SetControlError(res, 413, "request body over 1 MiB");
                    return;
                  }
                  HandleControlInbound(req, *body, res);
                });
  server_->Get(kControlOutboxPath,
               [this](const httplib::Request& req, httplib::Response& res) {
                 HandleControlList(req, res, /*inbound=*/false);
               });
  server_->Get(kControlInboxPath,
               [this](const httplib::Request& req, httplib::Response& res) {
                 HandleControlList(req, res, /*inbound=*/true);
               });
  // Unrouted paths answer Twilio's 404 JSON; our own error bodies stay.
  server_->set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        if (res.status == 404) {
          SetNotFound(res, req.path);
          return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
      }));

  // httplib's default socket options add SO_REUSEPORT, which would let two
  // servers share a port silently; keep only SO_REUSEADDR.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host);
  } else {
    port_ = server_->bind_to_port(options_.host, options_.port) ? options_.port
                                                                : -1;
  }
  if (port_ <= 0) {
    server_.reset();
    return absl::UnavailableError(
        absl::StrCat("cannot bind ", options_.host, ":", options_.port));
  }
  // A client opening all its connections at once (the REST client does, at
  // its first burst of sends) must find room in the accept queue.
  if (!server_->SetListenBacklog(SOMAXCONN)) {
    SMSGW_LOG(kWarning) << "twilio simulator cannot raise the listen backlog"
                        << " port=" << port_;
  }
  for (int i = 0; i < options_.callback_posters; ++i) {
    posters_.push_back(std::make_unique<Poster>());
  }
  poster_threads_ = std::make_unique<KeyedWorkers>(
      options_.callback_posters, kPosterIdleClose,
      [this](int shard) { posters_[shard]->clients.clear(); });
  scheduler_ = std::make_unique<Scheduler>();
  listen_thread_ = std::thread([this] { server_->listen_after_bind(); });
  // httplib's stop() is a no-op until the accept loop runs, so a Stop()
  // right after Start() would hang the join: wait for the loop.
  for (int i = 0; i < 5000 && !server_->is_running(); ++i) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  running_ = true;
  SMSGW_LOG(kInfo) << "twilio simulator listening addr=" << options_.host << ":"
                   << port_ << " account_sid=" << options_.account_sid;
  return absl::OkStatus();
}

void TwilioSimulator::Impl::Stop() {
  if (!running_.exchange(false)) return;
  server_->stop();
  if (listen_thread_.joinable()) listen_thread_.join();
  // The scheduler's tasks only update the store and queue posts: its join
  // is prompt, and no post is queued after it.
  scheduler_->Stop();
  // A callback POST may be blocked on a slow webhook: abort it (repeatedly,
  // since it may not have opened its socket at the first try).
  poster_threads_->RequestStop();
  while (!poster_threads_->WaitStopped(absl::Milliseconds(20))) AbortPosts();
  poster_threads_->Stop();
  SMSGW_LOG(kInfo) << "twilio simulator stopped port=" << port_;
}

bool TwilioSimulator::Impl::CredentialsOk(const httplib::Request& req) const {
  std::string header = req.get_header_value("Authorization");
  std::string decoded;
  if (!absl::StartsWithIgnoreCase(header, "Basic ") ||
      !absl::Base64Unescape(
          absl::StripAsciiWhitespace(absl::string_view(header).substr(6)),
          &decoded)) {
    return false;
  }
  size_t colon = decoded.find(':');
  return colon != std::string::npos &&
         decoded.substr(0, colon) == options_.account_sid &&
         decoded.substr(colon + 1) == options_.auth_token;
}

bool TwilioSimulator::Impl::Authorize(const httplib::Request& req,
                                      httplib::Response& res) {
  if (!CredentialsOk(req)) {
    Json body = ErrorJson(20003, "Authenticate", 401);
    body["detail"] = "Your AccountSid or AuthToken was incorrect.";
    SetJson(res, 401, body);
    res.set_header("WWW-Authenticate", "Basic realm=\"Twilio API\"");
    return false;
  }
  // Credentials are right but the path names another account.
  if (req.matches.size() < 2 || req.matches[1] != options_.account_sid) {
    SetNotFound(res, req.path);
    return false;
  }
  return true;
}

std::string TwilioSimulator::Impl::MessageUri(absl::string_view sid) const {
  return absl::StrCat("/2010-04-01/Accounts/", options_.account_sid,
                      "/Messages/", sid, ".json");
}

std::string TwilioSimulator::Impl::NewSid(absl::string_view prefix) {
  absl::MutexLock lock(&mu_);
  std::string sid(prefix);
  for (int i = 0; i < 32; ++i) {
    sid.push_back("0123456789abcdef"[absl::Uniform(bitgen_, 0, 16)]);
  }
  return sid;
}

Json TwilioSimulator::Impl::MessageJson(const StoredMessage& stored) const {
  const ProviderMessage& m = stored.message;
  auto nullable = [](const std::string& s) {
    return s.empty() ? Json(nullptr) : Json(s);
  };
  std::string uri = MessageUri(m.sid);
  return Json{
      {"account_sid", options_.account_sid},
      {"api_version", kApiVersion},
      {"body", m.body},
      {"date_created", FormatRfc2822(m.date_created)},
      {"date_sent",
       m.date_sent ? Json(FormatRfc2822(*m.date_sent)) : Json(nullptr)},
      {"date_updated", FormatRfc2822(m.date_updated)},
      {"direction", m.direction},
      {"error_code", m.error_code ? Json(*m.error_code) : Json(nullptr)},
      {"error_message", nullable(m.error_message)},
      {"from", nullable(m.from)},
      {"messaging_service_sid", nullable(m.messaging_service_sid)},
      {"num_media", absl::StrCat(m.num_media)},
      {"num_segments", absl::StrCat(m.num_segments.value_or(0))},
      {"price", m.price ? Json(*m.price) : Json(nullptr)},
      {"price_unit", nullable(m.price_unit)},
      {"sid", m.sid},
      {"status", m.status},
      {"subresource_uris",
       Json{{"media",
             absl::StrCat(uri.substr(0, uri.size() - 5), "/Media.json")}}},
      {"to", m.to},
      {"uri", uri},
  };
}

std::pair<int, std::string> TwilioSimulator::Impl::ValidateCreate(
    const Params& params) const {
  std::string to = ParamOr(params, "To");
  std::string from = ParamOr(params, "From");
  std::string ms_sid = ParamOr(params, "MessagingServiceSid");
  std::string body = ParamOr(params, "Body");
  std::vector<std::string> media = ParamValues(params, "MediaUrl");
  std::optional<std::string> callback = Param(params, "StatusCallback");

  if (to.empty()) {
    return {21604,
            "The destination 'To' phone number is required to send an SMS"};
  }
  if (from.empty() && ms_sid.empty()) {
    return {21603,
            "A 'From' or 'MessagingServiceSid' parameter is required to send "
            "a message"};
  }
  if (body.empty() && media.empty() && ParamOr(params, "ContentSid").empty()) {
    return {21602, "Message body is required"};
  }
  if (Utf16Length(body) > kMaxBodyUtf16Units) {
    return {21617,
            "The concatenated message body exceeds the 1600 character limit"};
  }
  if (media.size() > kMaxMediaUrls) {
    return {21623, "Number of media files exceeds allowed limit (10)"};
  }
  for (const std::string& url : media) {
    if (!IsHttpUrl(url)) return {21620, "Invalid media URL(s)"};
  }
  if (callback.has_value() && !callback->empty() &&
      (!IsHttpUrl(*callback) ||
       callback->size() > static_cast<size_t>(kMaxStatusCallbackLength))) {
    return {21609, "Invalid StatusCallback url"};
  }
  std::string invalid_to =
      absl::StrCat("The 'To' number ", to, " is not a valid phone number.");
  if (to == "+15005550001") return {21211, invalid_to};
  if (to == "+15005550002") {
    return {21612, "The 'To' phone number is not currently reachable via SMS"};
  }
  if (to == "+15005550003") {
    return {21408,
            "Permission to send an SMS has not been enabled for the region "
            "indicated by the 'To' number"};
  }
  if (to == "+15005550004") {
    return {21610, "Attempt to send to unsubscribed recipient"};
  }
  if (to == "+15005550009") {
    return {21614, "'To' number is not a valid mobile number"};
  }
  if (!IsE164(to)) return {21211, invalid_to};
  if (!from.empty()) {
    std::string not_capable =
        "The 'From' phone number provided is not a valid message-capable "
        "Twilio phone number for this destination";
    if (from == "+15005550001") return {21212, "Invalid From Number"};
    if (from == "+15005550007") return {21606, not_capable};
    if (from == "+15005550008") {
      return {21611,
              "This 'From' number has exceeded the maximum number of queued "
              "messages"};
    }
    bool e164 = IsE164(from);
    if (!e164 && !IsAlphanumericSenderId(from)) {
      return {21212, "Invalid From Number"};
    }
    if (to == from) return {21211, invalid_to};
    if (e164 && options_.enforce_owned_from && from != "+15005550006" &&
        std::find(options_.phone_numbers.begin(), options_.phone_numbers.end(),
                  from) == options_.phone_numbers.end()) {
      return {21606, not_capable};
    }
  }
  return {0, ""};
}

void TwilioSimulator::Impl::HandleCreate(const httplib::Request& req,
                                         const std::string& raw_body,
                                         httplib::Response& res) {
  if (!Authorize(req, res)) return;
  std::string content_type = req.get_header_value("Content-Type");
  if (!content_type.empty() &&
      !absl::StartsWithIgnoreCase(content_type, kFormContentType)) {
    SetJson(res, 415,
            Json{{"code", 415},
                 {"message",
                  absl::StrCat("Unsupported Media Type ", content_type,
                               ": send application/x-www-form-urlencoded")},
                 {"more_info",
                  "https://www.twilio.com/docs/usage/requests-to-twilio"},
                 {"status", 415}});
    return;
  }
  Params params = FormDecode(raw_body);
  auto [code, message] = ValidateCreate(params);
  if (code != 0) {
    SetError(res, 400, code, message);
    return;
  }

  StoredMessage stored;
  ProviderMessage& m = stored.message;
  stored.media_urls = ParamValues(params, "MediaUrl");
  stored.status_callback = ParamOr(params, "StatusCallback");
  m.sid = NewSid(stored.media_urls.empty() ? "SM" : "MM");
  m.to = ParamOr(params, "To");
  m.from = ParamOr(params, "From");
  m.messaging_service_sid = ParamOr(params, "MessagingServiceSid");
  m.body = ParamOr(params, "Body");
  m.num_media = static_cast<int>(stored.media_urls.size());
  m.direction = "outbound-api";
  m.date_created = NowSeconds();
  m.date_updated = m.date_created;
  bool via_service = !m.messaging_service_sid.empty() && m.from.empty();
  {
    absl::MutexLock lock(&mu_);
    if (via_service) {
      // Twilio picks the sender when the message leaves `accepted`.
      m.status = "accepted";
      m.num_segments = 0;
      if (!options_.phone_numbers.empty()) {
        stored.from_when_queued =
            options_.phone_numbers[next_pool_pick_++ %
                                   options_.phone_numbers.size()];
      }
    } else {
      m.status = "queued";
      m.num_segments = CountSegments(m.body);
      stored.from_when_queued = m.from;
    }
    stored.seq = next_seq_++;
    index_[m.sid] = messages_.size();
    messages_.push_back(stored);
  }
  SMSGW_LOG(kDebug) << "twilio simulator created sid=" << m.sid
                    << " to=" << m.to << " status=" << m.status;
  SetJson(res, 201, MessageJson(stored));
  if (options_.advance_status) ScheduleProgress(stored);
}

void TwilioSimulator::Impl::ScheduleProgress(const StoredMessage& stored) {
  const ProviderMessage& m = stored.message;
  std::vector<std::string> steps;
  if (m.status == "accepted") steps.push_back("queued");
  steps.push_back("sending");
  steps.push_back("sent");
  bool undeliverable = std::find(options_.undeliverable_numbers.begin(),
                                 options_.undeliverable_numbers.end(),
                                 m.to) != options_.undeliverable_numbers.end();
  steps.push_back(undeliverable ? "undelivered" : "delivered");

  absl::Time now = absl::Now();
  auto slot_time = [&](size_t i) {
    return now + options_.callback_delay * static_cast<double>(i + 1);
  };
  for (size_t i = 0; i < steps.size(); ++i) {
    scheduler_->At(slot_time(i), [this, sid = m.sid, status = steps[i]] {
      ApplyStep(sid, status);
    });
  }
  if (!options_.send_status_callbacks || stored.status_callback.empty()) return;

  // Callback k goes out in the slot of step k / repeat, so without shuffle
  // each step's callbacks follow its store update; with shuffle only the
  // contents are permuted.
  std::vector<size_t> order;
  for (size_t i = 0; i < steps.size(); ++i) {
    for (int r = 0; r < options_.repeat_callbacks; ++r) order.push_back(i);
  }
  if (options_.shuffle_callbacks) {
    absl::MutexLock lock(&mu_);
    std::shuffle(order.begin(), order.end(), bitgen_);
  }
  for (size_t k = 0; k < order.size(); ++k) {
    size_t slot = k / options_.repeat_callbacks;
    Params params = CallbackParams(m, steps[order[k]], stored.from_when_queued);
    scheduler_->At(slot_time(slot), [this, url = stored.status_callback,
                                     params = std::move(params)] {
      QueueCallback(url, params, /*is_retry=*/false);
    });
  }
}

Params TwilioSimulator::Impl::CallbackParams(const ProviderMessage& m,
                                             const std::string& status,
                                             const std::string& from) {
  Params params = {{"SmsSid", m.sid},
                   {"SmsStatus", status},
                   {"MessageStatus", status},
                   {"To", m.to},
                   {"MessageSid", m.sid},
                   {"AccountSid", options_.account_sid},
                   {"From", from},
                   {"ApiVersion", kApiVersion}};
  if (!m.messaging_service_sid.empty()) {
    params.emplace_back("MessagingServiceSid", m.messaging_service_sid);
  }
  if (status == "undelivered" || status == "failed") {
    params.emplace_back("ErrorCode", "30003");
  }
  if (status == "delivered" || status == "undelivered") {
    params.emplace_back(
        "RawDlrDoneDate",
        absl::FormatTime("%y%m%d%H%M", absl::Now(), absl::UTCTimeZone()));
  }
  return params;
}

void TwilioSimulator::Impl::ApplyStep(const std::string& sid,
                                      const std::string& status) {
  absl::MutexLock lock(&mu_);
  auto it = index_.find(sid);
  if (it == index_.end()) return;
  StoredMessage& stored = messages_[it->second];
  if (stored.deleted) return;
  ProviderMessage& m = stored.message;
  absl::Time now = NowSeconds();
  m.status = status;
  m.date_updated = now;
  if (status == "queued") {
    m.from = stored.from_when_queued;
    m.num_segments = CountSegments(m.body);
  } else if (status == "sent") {
    m.date_sent = now;
    m.price = absl::StrFormat(
        "%.5f", -kPricePerSegmentUsd * m.num_segments.value_or(1));
    m.price_unit = "USD";
  } else if (status == "undelivered") {
    m.error_code = 30003;
    m.error_message = "Unreachable destination handset";
  }
}

void TwilioSimulator::Impl::ConfigureClient(httplib::Client& client) const {
  auto timeout = absl::ToChronoMicroseconds(options_.webhook_timeout);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  client.set_keep_alive(false);
  // A POST leaves in two writes (headers, body); see Start().
  client.set_tcp_nodelay(true);
  // Send the target byte-for-byte: the signature covers the URL as configured.
  client.set_url_encode(false);
}

absl::StatusOr<httplib::Response> TwilioSimulator::Impl::PostWebhook(
    httplib::Client& client, const WebhookTarget& target,
    const Params& params) {
  httplib::Headers headers = {{"User-Agent", "TwilioProxy/1.1"},
                              {"Accept", "*/*"}};
  if (options_.signer) {
    headers.emplace("X-Twilio-Signature",
                    options_.signer(target.signed_url, params));
  }
  httplib::Result result =
      client.Post(target.path, headers, FormEncode(params), kFormContentType);
  if (!result) {
    return absl::UnavailableError(
        absl::StrCat("no answer from ", target.signed_url, ": ",
                     httplib::to_string(result.error())));
  }
  return result.value();
}

void TwilioSimulator::Impl::QueueCallback(const std::string& url,
                                          const Params& params,
                                          bool is_retry) {
  poster_threads_->Run(ParamOr(params, "MessageSid"),
                       [this, url, params, is_retry](int shard) {
                         SendCallback(shard, url, params, is_retry);
                       });
}

void TwilioSimulator::Impl::AbortPosts() {
  for (const std::unique_ptr<Poster>& poster : posters_) {
    absl::MutexLock lock(&poster->mu);
    if (poster->in_flight != nullptr) poster->in_flight->stop();
  }
}

void TwilioSimulator::Impl::SendCallback(int shard, const std::string& url,
                                         const Params& params, bool is_retry) {
  absl::StatusOr<WebhookTarget> target = SplitWebhookUrl(url);
  if (!target.ok()) {
    SMSGW_LOG(kWarning) << "twilio simulator bad StatusCallback url=" << url;
    return;
  }
  Poster& poster = *posters_[shard];
  std::unique_ptr<httplib::Client>& client = poster.clients[target->origin];
  if (client == nullptr) {
    client = std::make_unique<httplib::Client>(target->origin);
    ConfigureClient(*client);
    // Callbacks to one receiver come in runs under load: one connection
    // for the run (the poster closes it when idle, see kPosterIdleClose).
    client->set_keep_alive(true);
  }
  {
    absl::MutexLock lock(&poster.mu);
    if (poster_threads_->stopping()) return;
    poster.in_flight = client.get();
  }
  absl::StatusOr<httplib::Response> answer =
      PostWebhook(*client, *target, params);
  {
    absl::MutexLock lock(&poster.mu);
    poster.in_flight = nullptr;
  }
  std::string failure;
  if (!answer.ok()) {
    failure = std::string(answer.status().message());
  } else if (answer->status < 200 || answer->status > 299) {
    failure = absl::StrCat("HTTP ", answer->status);
  }
  if (failure.empty()) return;
  SMSGW_LOG(kWarning) << "twilio simulator status callback failed url=" << url
                      << " sid=" << ParamOr(params, "MessageSid")
                      << " status=" << ParamOr(params, "MessageStatus")
                      << " retry=" << (is_retry ? "no" : "yes")
                      << " error=" << failure;
  if (!is_retry) {
    scheduler_->At(absl::Now() + options_.callback_delay,
                   [this, url, params] { QueueCallback(url, params, true); });
  }
}

void TwilioSimulator::Impl::HandleFetch(const httplib::Request& req,
                                        httplib::Response& res) {
  if (!Authorize(req, res)) return;
  absl::MutexLock lock(&mu_);
  auto it = index_.find(std::string(req.matches[2]));
  if (it == index_.end() || messages_[it->second].deleted) {
    SetNotFound(res, req.path);
    return;
  }
  SetJson(res, 200, MessageJson(messages_[it->second]));
}

void TwilioSimulator::Impl::HandleUpdate(const httplib::Request& req,
                                         const std::string& raw_body,
                                         httplib::Response& res) {
  if (!Authorize(req, res)) return;
  Params params = FormDecode(raw_body);
  absl::MutexLock lock(&mu_);
  auto it = index_.find(std::string(req.matches[2]));
  if (it == index_.end() || messages_[it->second].deleted) {
    SetNotFound(res, req.path);
    return;
  }
  StoredMessage& stored = messages_[it->second];
  std::optional<std::string> body = Param(params, "Body");
  std::optional<std::string> status = Param(params, "Status");
  if (status.has_value()) {
    // Only `scheduled` messages can be canceled; the simulator never
    // schedules, so this is always refused.
    SetError(res, 400, 20001,
             absl::StrCat("Message is not in a cancelable state: ",
                          stored.message.status));
    return;
  }
  if (body.has_value()) {
    if (!body->empty()) {
      SetError(res, 400, 20001, "Body can only be redacted to \"\"");
      return;
    }
    stored.message.body.clear();
    stored.message.date_updated = NowSeconds();
  }
  SetJson(res, 200, MessageJson(stored));
}

void TwilioSimulator::Impl::HandleDelete(const httplib::Request& req,
                                         httplib::Response& res) {
  if (!Authorize(req, res)) return;
  absl::MutexLock lock(&mu_);
  auto it = index_.find(std::string(req.matches[2]));
  if (it == index_.end() || messages_[it->second].deleted) {
    SetNotFound(res, req.path);
    return;
  }
  messages_[it->second].deleted = true;
  res.status = 204;
}

void TwilioSimulator::Impl::HandleList(const httplib::Request& req,
                                       httplib::Response& res) {
  if (!Authorize(req, res)) return;
  size_t q = req.target.find('?');
  Params query = FormDecode(q == std::string::npos
                                ? absl::string_view()
                                : absl::string_view(req.target).substr(q + 1));
  auto bad = [&](absl::string_view what) {
    SetError(res, 400, 20001, absl::StrCat("Invalid parameter: ", what));
  };

  // The filters, in the order Twilio writes them back into page URIs.
  Params filters;
  for (const char* name :
       {"To", "From", "DateSent", "DateSent<", "DateSent>"}) {
    std::optional<std::string> value = Param(query, name);
    if (value.has_value()) filters.emplace_back(name, *value);
  }
  std::string to = ParamOr(query, "To");
  std::string from = ParamOr(query, "From");
  // [lower, upper) bounds on date_sent.
  std::optional<absl::Time> lower;
  std::optional<absl::Time> upper;
  for (const auto& [name, value] : filters) {
    if (!absl::StartsWith(name, "DateSent")) continue;
    bool day = false;
    std::optional<absl::Time> t = ParseDateFilter(value, &day);
    if (!t.has_value()) return bad(name);
    absl::Time end = day ? *t + absl::Hours(24) : *t + absl::Seconds(1);
    if (name == "DateSent") {
      lower = *t;
      upper = end;
    } else if (name == "DateSent<") {
      upper = end;  // on or before
    } else {
      lower = *t;  // on or after
    }
  }
  int page_size = kDefaultPageSize;
  if (std::optional<std::string> v = Param(query, "PageSize")) {
    if (!absl::SimpleAtoi(*v, &page_size) || page_size < 1 ||
        page_size > kMaxPageSize) {
      return bad("PageSize");
    }
  }
  int page = 0;
  if (std::optional<std::string> v = Param(query, "Page")) {
    if (!absl::SimpleAtoi(*v, &page) || page < 0) return bad("Page");
  }
  std::optional<std::string> token = Param(query, "PageToken");

  std::vector<Json> selected;
  std::vector<std::string> sids;
  {
    absl::MutexLock lock(&mu_);
    std::vector<const StoredMessage*> matching;
    for (const StoredMessage& s : messages_) {
      const ProviderMessage& m = s.message;
      if (s.deleted) continue;
      if (!to.empty() && m.to != to) continue;
      if (!from.empty() && m.from != from) continue;
      if (lower || upper) {
        if (!m.date_sent.has_value()) continue;
        if (lower && *m.date_sent < *lower) continue;
        if (upper && *m.date_sent >= *upper) continue;
      }
      matching.push_back(&s);
    }
    std::sort(matching.begin(), matching.end(),
              [](const StoredMessage* a, const StoredMessage* b) {
                if (a->message.date_created != b->message.date_created) {
                  return a->message.date_created > b->message.date_created;
                }
                return a->seq > b->seq;
              });
    for (const StoredMessage* s : matching) {
      sids.push_back(s->message.sid);
      selected.push_back(MessageJson(*s));
    }
  }

  // Page tokens are cursors: "PA<sid>" = after that SID, "PB<sid>" = before.
  size_t start = static_cast<size_t>(page) * page_size;
  if (token.has_value()) {
    auto pos = token->size() > 2
                   ? std::find(sids.begin(), sids.end(), token->substr(2))
                   : sids.end();
    if (pos == sids.end() ||
        !(absl::StartsWith(*token, "PA") || absl::StartsWith(*token, "PB"))) {
      return bad("PageToken");
    }
    size_t idx = pos - sids.begin();
    start = absl::StartsWith(*token, "PA")
                ? idx + 1
                : (idx >= static_cast<size_t>(page_size) ? idx - page_size : 0);
  }
  start = std::min(start, sids.size());
  size_t stop = std::min(start + page_size, sids.size());

  std::string base = absl::StrCat("/2010-04-01/Accounts/", options_.account_sid,
                                  "/Messages.json");
  auto page_uri = [&](int page_index, const std::string& page_token) {
    Params p = filters;
    p.emplace_back("PageSize", absl::StrCat(page_size));
    p.emplace_back("Page", absl::StrCat(page_index));
    if (!page_token.empty()) p.emplace_back("PageToken", page_token);
    return absl::StrCat(base, "?", FormEncode(p));
  };
  Json messages = Json::array();
  for (size_t i = start; i < stop; ++i) messages.push_back(selected[i]);
  Json body = {
      {"end",
       stop > start ? static_cast<int>(stop - 1) : static_cast<int>(start)},
      {"first_page_uri", page_uri(0, "")},
      {"messages", messages},
      {"next_page_uri", stop < sids.size()
                            ? Json(page_uri(page + 1, "PA" + sids[stop - 1]))
                            : Json(nullptr)},
      {"page", page},
      {"page_size", page_size},
      {"previous_page_uri",
       start > 0 && start < sids.size()
           ? Json(page_uri(std::max(page - 1, 0), "PB" + sids[start]))
           : Json(nullptr)},
      {"start", static_cast<int>(start)},
      {"uri", page_uri(page, token.value_or(""))},
  };
  SetJson(res, 200, body);
}

// ---------------------------------------------------------------------------
// Control API.

namespace {

// A control inbound request, decoded from JSON or a form.
struct ControlInbound {
  std::optional<std::string> from;
  std::optional<std::string> to;
  std::string body;
  std::vector<std::string> media_urls;
};

std::string Quoted(absl::string_view s) {
  return absl::StrCat("\"", absl::CHexEscape(s), "\"");
}

// Decodes the JSON object {from, to, body, media_urls}; the error is the
// one-line reason.
absl::StatusOr<ControlInbound> DecodeControlJson(const std::string& text) {
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return absl::InvalidArgumentError("body is not valid JSON");
  }
  if (!json.is_object()) {
    return absl::InvalidArgumentError("body must be a JSON object");
  }
  ControlInbound in;
  for (const auto& [key, value] : json.items()) {
    if (key == "from" || key == "to" || key == "body") {
      if (!value.is_string()) {
        return absl::InvalidArgumentError(
            absl::StrCat("\"", key, "\" must be a string"));
      }
      std::string text = value.get<std::string>();
      if (key == "from") {
        in.from = std::move(text);
      } else if (key == "to") {
        in.to = std::move(text);
      } else {
        in.body = std::move(text);
      }
    } else if (key == "media_urls") {
      if (!value.is_array()) {
        return absl::InvalidArgumentError(
            "\"media_urls\" must be an array of strings");
      }
      for (const Json& url : value) {
        if (!url.is_string()) {
          return absl::InvalidArgumentError(
              "\"media_urls\" must be an array of strings");
        }
        in.media_urls.push_back(url.get<std::string>());
      }
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown field ", Quoted(key),
                       " (expected from, to, body, media_urls)"));
    }
  }
  return in;
}

// Decodes the form from=..&to=..&body=..&media_urls=..(repeatable).
absl::StatusOr<ControlInbound> DecodeControlForm(const std::string& text) {
  absl::StatusOr<FormParams> params = ParseForm(text, FormLimits{});
  if (!params.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad form body: ", params.status().message()));
  }
  ControlInbound in;
  for (auto& [name, value] : *params) {
    if (name == "from" || name == "to") {
      std::optional<std::string>& field = name == "from" ? in.from : in.to;
      if (field.has_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat("\"", name, "\" given twice"));
      }
      field = std::move(value);
    } else if (name == "body") {
      in.body = std::move(value);
    } else if (name == "media_urls") {
      in.media_urls.push_back(std::move(value));
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown field ", Quoted(name),
                       " (expected from, to, body, media_urls)"));
    }
  }
  return in;
}

// The rules of a real inbound message: a sender Twilio could relay, one of
// the account's numbers as recipient, and the Messages API's body and media
// limits (twilio-reference.md §10).
absl::Status ValidateControlInbound(
    const ControlInbound& in, const std::vector<std::string>& owned_numbers) {
  if (!in.from.has_value() || in.from->empty()) {
    return absl::InvalidArgumentError("\"from\" is required");
  }
  const std::string& from = *in.from;
  const bool short_code = from.size() >= 3 && from.size() <= 8 &&
                          std::all_of(from.begin(), from.end(), [](char c) {
                            return absl::ascii_isdigit(c);
                          });
  if (!IsE164(from) && !short_code && !IsAlphanumericSenderId(from)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"from\" must be an E.164 number, a short code or an alphanumeric "
        "sender ID, got ",
        Quoted(from)));
  }
  if (!in.to.has_value() || in.to->empty()) {
    return absl::InvalidArgumentError("\"to\" is required");
  }
  if (!IsE164(*in.to)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"to\" must be an E.164 number, got ", Quoted(*in.to)));
  }
  if (std::find(owned_numbers.begin(), owned_numbers.end(), *in.to) ==
      owned_numbers.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"to\" ", *in.to, " is not one of the simulator's numbers (",
        absl::StrJoin(owned_numbers, ", "), ")"));
  }
  if (in.body.empty() && in.media_urls.empty()) {
    return absl::InvalidArgumentError("\"body\" or \"media_urls\" is required");
  }
  if (Utf16Length(in.body) > kMaxBodyUtf16Units) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"body\" is over ", kMaxBodyUtf16Units, " characters"));
  }
  if (in.media_urls.size() > static_cast<size_t>(kMaxMediaUrls)) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", kMaxMediaUrls, " \"media_urls\""));
  }
  for (const std::string& url : in.media_urls) {
    if (!IsHttpUrl(url)) {
      return absl::InvalidArgumentError(
          absl::StrCat("media URL ", Quoted(url), " is not an http(s) URL"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool TwilioSimulator::Impl::AuthorizeControl(const httplib::Request& req,
                                             httplib::Response& res) {
  if (CredentialsOk(req)) return true;
  SetControlError(res, 401,
                  "wrong or missing credentials: use HTTP Basic with the "
                  "simulator's account SID and auth token");
  res.set_header("WWW-Authenticate", "Basic realm=\"smsgw simulator\"");
  return false;
}

void TwilioSimulator::Impl::HandleControlInbound(const httplib::Request& req,
                                                 const std::string& raw_body,
                                                 httplib::Response& res) {
  if (!AuthorizeControl(req, res)) return;
  std::string content_type = absl::AsciiStrToLower(
      absl::StripAsciiWhitespace(req.get_header_value("Content-Type")));
  content_type = content_type.substr(0, content_type.find(';'));
  absl::StatusOr<ControlInbound> in;
  if (content_type == "application/json") {
    in = DecodeControlJson(raw_body);
  } else if (content_type == kFormContentType) {
    in = DecodeControlForm(raw_body);
  } else {
    SetControlError(res, 415,
                    "Content-Type must be application/json or "
                    "application/x-www-form-urlencoded");
    return;
  }
  absl::Status valid = in.ok()
                           ? ValidateControlInbound(*in, options_.phone_numbers)
                           : in.status();
  if (!valid.ok()) {
    SetControlError(res, 400, valid.message());
    return;
  }
  absl::StatusOr<InboundAttempt> attempt =
      DeliverInbound(*in->from, *in->to, in->body, in->media_urls);
  if (!attempt.ok()) {
    // Not running, or no usable webhook URL: the simulator's configuration,
    // not the request, is at fault.
    SetControlError(
        res, 409,
        absl::StrCat(
            "cannot deliver inbound messages: ", attempt.status().message(),
            " (inbound_webhook_url=", Quoted(options_.inbound_webhook_url),
            ")"));
    return;
  }
  const InboundResult& result = attempt->result;
  if (!attempt->delivery.ok()) {
    SetJson(res, 502,
            Json{{"error", std::string(attempt->delivery.message())},
                 {"message_sid", result.message.sid},
                 {"webhook_url", options_.inbound_webhook_url}});
    return;
  }
  SetJson(res, 200,
          Json{{"message_sid", result.message.sid},
               {"webhook_url", options_.inbound_webhook_url},
               {"webhook_status", result.http_status},
               {"webhook_content_type", result.content_type},
               {"webhook_body", result.body}});
}

void TwilioSimulator::Impl::HandleControlList(const httplib::Request& req,
                                              httplib::Response& res,
                                              bool inbound) {
  if (!AuthorizeControl(req, res)) return;
  Json messages = Json::array();
  {
    absl::MutexLock lock(&mu_);
    for (auto it = messages_.rbegin(); it != messages_.rend(); ++it) {
      if (it->deleted || (it->message.direction == "inbound") != inbound) {
        continue;
      }
      messages.push_back(MessageJson(*it));
    }
  }
  SetJson(res, 200, Json{{"messages", std::move(messages)}});
}

std::vector<ProviderMessage> TwilioSimulator::Impl::Messages(
    bool inbound) const {
  absl::MutexLock lock(&mu_);
  std::vector<ProviderMessage> out;
  for (auto it = messages_.rbegin(); it != messages_.rend(); ++it) {
    if ((it->message.direction == "inbound") == inbound) {
      out.push_back(it->message);
    }
  }
  return out;
}

absl::StatusOr<TwilioSimulator::InboundResult>
TwilioSimulator::Impl::InjectInbound(
    absl::string_view from, absl::string_view to, absl::string_view body,
    const std::vector<std::string>& media_urls) {
  absl::StatusOr<InboundAttempt> attempt =
      DeliverInbound(from, to, body, media_urls);
  if (!attempt.ok()) return attempt.status();
  if (!attempt->delivery.ok()) return attempt->delivery;
  const InboundResult& result = attempt->result;
  if (result.http_status < 200 || result.http_status > 299) {
    return absl::UnknownError(absl::StrCat("inbound webhook answered HTTP ",
                                           result.http_status, ": ",
                                           result.body));
  }
  return std::move(attempt->result);
}

absl::StatusOr<TwilioSimulator::Impl::InboundAttempt>
TwilioSimulator::Impl::DeliverInbound(
    absl::string_view from, absl::string_view to, absl::string_view body,
    const std::vector<std::string>& media_urls) {
  if (!running_) {
    return absl::FailedPreconditionError("simulator is not running");
  }
  if (options_.inbound_webhook_url.empty()) {
    return absl::FailedPreconditionError("no inbound_webhook_url configured");
  }
  absl::StatusOr<WebhookTarget> target =
      SplitWebhookUrl(options_.inbound_webhook_url);
  if (!target.ok()) return target.status();

  InboundAttempt attempt;
  InboundResult& result = attempt.result;
  ProviderMessage& m = result.message;
  m.sid = NewSid(media_urls.empty() ? "SM" : "MM");
  m.status = "received";
  m.direction = "inbound";
  m.from = std::string(from);
  m.to = std::string(to);
  m.body = std::string(body);
  m.num_segments = CountSegments(body);
  m.num_media = static_cast<int>(media_urls.size());
  m.date_created = NowSeconds();
  m.date_sent = m.date_created;
  m.date_updated = m.date_created;
  {
    absl::MutexLock lock(&mu_);
    StoredMessage stored;
    stored.message = m;
    stored.media_urls = media_urls;
    stored.seq = next_seq_++;
    index_[m.sid] = messages_.size();
    messages_.push_back(std::move(stored));
  }

  // The key order of a real inbound webhook (twilio-php#458).
  result.params = {
      {"ToCountry", CountryOf(to)},
      {"ToState", ""},
      {"SmsMessageSid", m.sid},
      {"NumMedia", absl::StrCat(m.num_media)},
      {"ToCity", ""},
      {"FromZip", ""},
      {"SmsSid", m.sid},
      {"FromState", ""},
      {"SmsStatus", "received"},
      {"FromCity", ""},
      {"Body", m.body},
      {"FromCountry", CountryOf(from)},
      {"To", m.to},
      {"ToZip", ""},
      {"NumSegments", absl::StrCat(*m.num_segments)},
      {"MessageSid", m.sid},
      {"AccountSid", options_.account_sid},
      {"From", m.from},
      {"ApiVersion", kApiVersion},
  };
  for (size_t i = 0; i < media_urls.size(); ++i) {
    result.params.emplace_back(absl::StrCat("MediaContentType", i),
                               GuessMediaContentType(media_urls[i]));
    result.params.emplace_back(absl::StrCat("MediaUrl", i), media_urls[i]);
  }

  httplib::Client client(target->origin);
  ConfigureClient(client);
  absl::StatusOr<httplib::Response> answer =
      PostWebhook(client, *target, result.params);
  if (!answer.ok()) {
    attempt.delivery = answer.status();
    return attempt;
  }
  result.http_status = answer->status;
  result.content_type = answer->get_header_value("Content-Type");
  result.body = answer->body;
  return attempt;
}

// ---------------------------------------------------------------------------

TwilioSimulator::TwilioSimulator(Options options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(options_)) {}

TwilioSimulator::~TwilioSimulator() { Stop(); }

absl::Status TwilioSimulator::Start() { return impl_->Start(); }

void TwilioSimulator::Stop() { impl_->Stop(); }

int TwilioSimulator::port() const { return impl_->port(); }

std::string TwilioSimulator::base_url() const {
  return absl::StrCat("http://", options_.host, ":", impl_->port());
}

std::vector<ProviderMessage> TwilioSimulator::Outbox() const {
  return impl_->Messages(/*inbound=*/false);
}

std::vector<ProviderMessage> TwilioSimulator::Inbox() const {
  return impl_->Messages(/*inbound=*/true);
}

absl::StatusOr<TwilioSimulator::InboundResult> TwilioSimulator::InjectInbound(
    absl::string_view from, absl::string_view to, absl::string_view body,
    const std::vector<std::string>& media_urls) {
  return impl_->InjectInbound(from, to, body, media_urls);
}

}  // namespace smsgw::twilio
