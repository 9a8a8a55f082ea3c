#include "server/twilio/twilio_rest_client.h"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "server/twilio/message_json.h"

namespace smsgw::twilio {
namespace {

constexpr char kUserAgent[] = "smsgw/0.1";
// A list page of 1000 messages is about 1 MB; anything far larger is not
// Twilio talking.
constexpr size_t kMaxResponseBytes = 16 << 20;
constexpr size_t kMaxErrorSnippet = 200;

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// application/x-www-form-urlencoded and query encoding: unreserved characters
// (RFC 3986 §2.3) pass, everything else is %XX. Twilio decodes both %20 and
// '+' as a space, so %20 is fine.
std::string UrlEncode(absl::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size() * 3);
  for (unsigned char c : in) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

void AppendParam(std::string* out, absl::string_view name,
                 absl::string_view value) {
  if (!out->empty()) out->push_back('&');
  absl::StrAppend(out, UrlEncode(name), "=", UrlEncode(value));
}

std::string FormatIso8601(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// What one HTTP exchange produced; also the write target of libcurl.
struct HttpExchange {
  // The POST body being uploaded and how much of it libcurl has read.
  const std::string* upload = nullptr;
  size_t upload_offset = 0;
  std::string body;
  bool body_too_large = false;
  char curl_error[CURL_ERROR_SIZE] = {0};
  CURLcode curl_code = CURLE_OK;
  long http_status = 0;
};

size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<HttpExchange*>(user);
  const size_t n = size * count;
  if (exchange->body.size() + n > kMaxResponseBytes) {
    exchange->body_too_large = true;
    return 0;  // makes libcurl fail the transfer with CURLE_WRITE_ERROR
  }
  exchange->body.append(data, n);
  return n;
}

// Feeds the POST body to libcurl. There is deliberately no
// CURLOPT_SEEKFUNCTION: see Configure().
size_t ReadUpload(char* buffer, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<HttpExchange*>(user);
  const size_t n = std::min(size * count,
                            exchange->upload->size() - exchange->upload_offset);
  std::memcpy(buffer, exchange->upload->data() + exchange->upload_offset, n);
  exchange->upload_offset += n;
  return n;
}

std::string CurlMessage(const HttpExchange& exchange) {
  if (exchange.body_too_large) {
    return absl::StrCat("response body larger than ", kMaxResponseBytes,
                        " bytes");
  }
  const char* detail = exchange.curl_error[0] != '\0'
                           ? exchange.curl_error
                           : curl_easy_strerror(exchange.curl_code);
  return absl::StrCat("curl error ", static_cast<int>(exchange.curl_code),
                      ": ", detail);
}

// Errors that come from our own configuration or from a response we refused
// to read; repeating the request cannot help.
bool IsPermanentCurlError(const HttpExchange& exchange) {
  if (exchange.body_too_large) return true;
  switch (exchange.curl_code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
      return true;
    default:
      return false;
  }
}

std::string Snippet(absl::string_view body) {
  body = absl::StripAsciiWhitespace(body);
  if (body.size() <= kMaxErrorSnippet) return std::string(body);
  return absl::StrCat(body.substr(0, kMaxErrorSnippet), "…");
}

// The error for a non-2xx answer.
ProviderError HttpError(const HttpExchange& exchange) {
  const int status = static_cast<int>(exchange.http_status);
  absl::StatusOr<ProviderError> parsed = ParseErrorJson(status, exchange.body);
  if (parsed.ok()) return *std::move(parsed);
  // Not Twilio's JSON (a proxy's HTML page, an empty body): keep what we know.
  ProviderError error;
  error.http_status = status;
  error.code = status == 401 ? 20003 : 0;  // Twilio's code for bad creds
  error.message = absl::StrCat("HTTP ", status, " from Twilio: ",
                               Snippet(exchange.body));
  error.retryable = IsRetryableHttpStatus(status);
  return error;
}

SendResult ToSendResult(const HttpExchange& exchange) {
  SendResult result;
  if (exchange.curl_code != CURLE_OK) {
    result.error.http_status = 0;
    result.error.message = CurlMessage(exchange);
    result.error.retryable = !IsPermanentCurlError(exchange);
    if (exchange.body_too_large) {
      result.error.http_status = static_cast<int>(exchange.http_status);
    }
    return result;
  }
  const int status = static_cast<int>(exchange.http_status);
  if (status >= 200 && status <= 299) {
    absl::StatusOr<ProviderMessage> message = ParseMessageJson(exchange.body);
    if (message.ok()) {
      result.accepted = true;
      result.message = *std::move(message);
      return result;
    }
    // Not retryable on purpose: Twilio said yes, so the message probably
    // exists and a retry could send it twice (see the header).
    result.error.http_status = status;
    result.error.message = absl::StrCat(
        "unknown outcome: Twilio answered HTTP ", status,
        " but the body is not a Message resource (", message.status().message(),
        "); the message may have been created");
    result.error.retryable = false;
    return result;
  }
  result.error = HttpError(exchange);
  return result;
}

// Maps an exchange of Fetch()/List() to a status (STYLE.md, Twilio mapping).
absl::Status ToStatus(const HttpExchange& exchange, absl::string_view what) {
  if (exchange.curl_code != CURLE_OK) {
    const std::string message =
        absl::StrCat(what, ": ", CurlMessage(exchange));
    if (exchange.curl_code == CURLE_OPERATION_TIMEDOUT) {
      return absl::DeadlineExceededError(message);
    }
    if (IsPermanentCurlError(exchange)) return absl::InternalError(message);
    return absl::UnavailableError(message);
  }
  const int status = static_cast<int>(exchange.http_status);
  if (status >= 200 && status <= 299) return absl::OkStatus();
  const ProviderError error = HttpError(exchange);
  std::string message = absl::StrCat(what, ": HTTP ", status);
  if (error.code != 0) absl::StrAppend(&message, ", Twilio ", error.code);
  absl::StrAppend(&message, ": ", error.message);
  if (status == 404) return absl::NotFoundError(message);
  if (status == 401 || status == 403) return absl::InternalError(message);
  if (status == 429) return absl::ResourceExhaustedError(message);
  if (status >= 500 && status <= 599) return absl::UnavailableError(message);
  if (status >= 400 && status <= 499) {
    return absl::InvalidArgumentError(message);
  }
  return absl::UnknownError(message);
}

using EasyPtr = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;

}  // namespace

// All state of the client. The public class only forwards, so that libcurl's
// types stay out of the header.
class TwilioRestClient::Impl {
 public:
  explicit Impl(Options options) : options_(std::move(options)) {
    messages_url_ = absl::StrCat(options_.api_base, "/", kTwilioApiVersion,
                                 "/Accounts/", UrlEncode(options_.account_sid),
                                 "/Messages");
    const bool use_key =
        !options_.api_key_sid.empty() && !options_.api_key_secret.empty();
    user_ = use_key ? options_.api_key_sid : options_.account_sid;
    password_ = use_key ? options_.api_key_secret : options_.auth_token;
  }

  ~Impl() {
    if (io_thread_.joinable()) {
      {
        absl::MutexLock lock(&mu_);
        stopping_ = true;
      }
      Wake();
      io_thread_.join();
    }
    for (CURL* easy : idle_easies_) curl_easy_cleanup(easy);
    // Before the epoll set closes: cleanup tells OnSocket about the sockets
    // of the connection cache it closes.
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
    if (wake_fd_ >= 0) close(wake_fd_);
    if (epoll_fd_ >= 0) close(epoll_fd_);
    if (headers_ != nullptr) curl_slist_free_all(headers_);
  }

  absl::Status Start() {
    GlobalInitOnce();
    // "Expect:" turns off 100-continue, which costs a round trip (or a 1 s
    // wait) on bodies over 1 KiB.
    for (const char* header : {"Accept: application/json",
                               "Accept-Charset: utf-8", "Expect:"}) {
      curl_slist* next = curl_slist_append(headers_, header);
      if (next == nullptr) return absl::InternalError("curl_slist_append");
      headers_ = next;
    }
    multi_ = curl_multi_init();
    if (multi_ == nullptr) return absl::InternalError("curl_multi_init failed");
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (epoll_fd_ < 0 || wake_fd_ < 0) {
      return absl::InternalError(
          absl::StrCat("epoll/eventfd: ", std::strerror(errno)));
    }
    epoll_event wake{};
    wake.events = EPOLLIN;
    wake.data.fd = wake_fd_;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake) != 0) {
      return absl::InternalError(
          absl::StrCat("epoll_ctl: ", std::strerror(errno)));
    }
    // libcurl says which sockets to watch and when its next timeout is due;
    // the I/O thread then tells it about ready sockets one by one
    // (curl_multi_socket_action), so a wake-up costs the sockets that are
    // ready, not every transfer on the wire as curl_multi_perform() and
    // curl_multi_poll() do (issue 14: with 2000 sends at 200 ms that loop
    // kept one core busy).
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Impl::OnSocket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Impl::OnTimer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    io_thread_ = std::thread([this] { IoLoop(); });
    return absl::OkStatus();
  }

  const std::string& messages_url() const { return messages_url_; }

  void SendAsync(OutboundSms sms, SendCallback done) {
    if (!done) done = [](SendResult) {};
    auto transfer = std::make_unique<Transfer>();
    transfer->done = std::move(done);
    std::string& form = transfer->request_body;
    AppendParam(&form, "To", sms.to);
    if (!sms.from.empty()) AppendParam(&form, "From", sms.from);
    if (!sms.messaging_service_sid.empty()) {
      AppendParam(&form, "MessagingServiceSid", sms.messaging_service_sid);
    }
    if (!sms.body.empty()) AppendParam(&form, "Body", sms.body);
    for (const std::string& url : sms.media_urls) {
      AppendParam(&form, "MediaUrl", url);
    }
    if (!sms.status_callback.empty()) {
      AppendParam(&form, "StatusCallback", sms.status_callback);
    }
    if (sms.validity_period_s > 0) {
      AppendParam(&form, "ValidityPeriod",
                  std::to_string(sms.validity_period_s));
    }
    {
      absl::MutexLock lock(&mu_);
      if (!drained_) {
        queue_.push_back(std::move(transfer));
        transfer = nullptr;
      }
    }
    if (transfer != nullptr) {
      // Only reachable when a caller races the destructor.
      transfer->done(ShutDownResult());
      return;
    }
    Wake();
  }

  absl::StatusOr<ProviderMessage> Fetch(absl::string_view sid) {
    if (sid.empty()) return absl::InvalidArgumentError("empty message SID");
    EasyPtr easy(curl_easy_init(), &curl_easy_cleanup);
    if (easy == nullptr) return absl::InternalError("curl_easy_init failed");
    HttpExchange exchange;
    Get(easy.get(), absl::StrCat(messages_url_, "/", UrlEncode(sid), ".json"),
        &exchange);
    const std::string what = absl::StrCat("fetch message ", sid);
    if (absl::Status status = ToStatus(exchange, what); !status.ok()) {
      return status;
    }
    absl::StatusOr<ProviderMessage> message = ParseMessageJson(exchange.body);
    if (!message.ok()) {
      return absl::DataLossError(
          absl::StrCat(what, ": ", message.status().message()));
    }
    return message;
  }

  absl::StatusOr<std::vector<ProviderMessage>> List(const ListFilter& filter,
                                                    int max_results) {
    if (max_results < 1) {
      return absl::InvalidArgumentError("max_results must be at least 1");
    }
    if (filter.page_size < 1 || filter.page_size > 1000) {
      return absl::InvalidArgumentError("page_size must be in 1..1000");
    }
    std::string query;
    if (!filter.to.empty()) AppendParam(&query, "To", filter.to);
    if (!filter.from.empty()) AppendParam(&query, "From", filter.from);
    // Twilio's parameter names really end in '>' / '<' (OpenAPI spec); they
    // mean "on or after" / "on or before".
    if (filter.date_sent_after.has_value()) {
      AppendParam(&query, "DateSent>", FormatIso8601(*filter.date_sent_after));
    }
    if (filter.date_sent_before.has_value()) {
      AppendParam(&query, "DateSent<",
                  FormatIso8601(*filter.date_sent_before));
    }
    AppendParam(&query, "PageSize",
                std::to_string(std::min(filter.page_size, max_results)));

    EasyPtr easy(curl_easy_init(), &curl_easy_cleanup);
    if (easy == nullptr) return absl::InternalError("curl_easy_init failed");
    std::vector<ProviderMessage> out;
    std::string url = absl::StrCat(messages_url_, ".json?", query);
    while (static_cast<int>(out.size()) < max_results) {
      HttpExchange exchange;
      Get(easy.get(), url, &exchange);
      if (absl::Status status = ToStatus(exchange, "list messages");
          !status.ok()) {
        return status;
      }
      absl::StatusOr<MessagePage> page = ParseMessagePageJson(exchange.body);
      if (!page.ok()) {
        return absl::DataLossError(
            absl::StrCat("list messages: ", page.status().message()));
      }
      for (ProviderMessage& m : page->messages) {
        if (static_cast<int>(out.size()) >= max_results) break;
        if (m.date_sent.has_value() &&
            ((filter.date_sent_after.has_value() &&
              *m.date_sent < *filter.date_sent_after) ||
             (filter.date_sent_before.has_value() &&
              *m.date_sent > *filter.date_sent_before))) {
          continue;
        }
        out.push_back(std::move(m));
      }
      // An empty page ends the walk even with a next link, so a server that
      // loops cannot keep us here.
      if (page->next_page_uri.empty() || page->messages.empty()) break;
      // Only follow paths on our own api_base: the credentials go with it.
      if (!absl::StartsWith(page->next_page_uri, "/")) {
        return absl::DataLossError(absl::StrCat(
            "list messages: next_page_uri is not a path: ",
            Snippet(page->next_page_uri)));
      }
      url = absl::StrCat(options_.api_base, page->next_page_uri);
    }
    return out;
  }

 private:
  // One SendAsync() call, from the queue to its callback.
  struct Transfer {
    std::string request_body;
    SendCallback done;
    HttpExchange exchange;
    CURL* easy = nullptr;
  };

  static SendResult ShutDownResult() {
    SendResult result;
    result.error.http_status = 0;
    result.error.message = "client shut down";
    result.error.retryable = true;
    return result;
  }

  // Options shared by sends and blocking calls. `post_body` must outlive the
  // transfer (libcurl does not copy it); null means GET.
  void Configure(CURL* easy, const std::string& url,
                 const std::string* post_body, HttpExchange* exchange) const {
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    // Signals and threads do not mix; timeouts work without them since
    // libcurl uses the threaded resolver on Debian.
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(easy, CURLOPT_USERNAME, user_.c_str());
    curl_easy_setopt(easy, CURLOPT_PASSWORD, password_.c_str());
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, kUserAgent);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(
                         absl::ToInt64Milliseconds(options_.connect_timeout)));
    curl_easy_setopt(
        easy, CURLOPT_TIMEOUT_MS,
        static_cast<long>(absl::ToInt64Milliseconds(options_.total_timeout)));
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    // Connections idle longer than typical load balancer idle timeouts
    // (60 s) are not reused: a reused connection that the server already
    // closed is what makes libcurl retry on its own (below).
    curl_easy_setopt(easy, CURLOPT_MAXAGE_CONN, 50L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &WriteBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, exchange);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, exchange->curl_error);
    if (post_body != nullptr) {
      // No silent duplicate creates. libcurl (7.88, lib/transfer.c
      // Curl_retry_request) resends a request by itself when a REUSED
      // connection dies before any response byte, POSTs included; the
      // server may have processed the first copy. No option turns that off
      // short of CURLOPT_FRESH_CONNECT / FORBID_REUSE (a TCP+TLS handshake
      // per message). But when body bytes were already written, libcurl must
      // rewind the body before resending, and with a read callback and no
      // CURLOPT_SEEKFUNCTION the rewind fails: the transfer ends with
      // CURLE_SEND_FAIL_REWIND, which we report as a retryable failure
      // without HTTP answer ("outcome unknown"), and the dispatcher
      // reconciles with Twilio before sending again. When no body byte was
      // written yet, Twilio cannot have acted on the request and libcurl's
      // resend is harmless. (CURLOPT_POSTFIELDS would let libcurl resend
      // from memory, silently.)
      exchange->upload = post_body;
      exchange->upload_offset = 0;
      curl_easy_setopt(easy, CURLOPT_POST, 1L);
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(post_body->size()));
      curl_easy_setopt(easy, CURLOPT_READFUNCTION, &ReadUpload);
      curl_easy_setopt(easy, CURLOPT_READDATA, exchange);
    } else {
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    }
  }

  void Get(CURL* easy, const std::string& url, HttpExchange* exchange) const {
    Configure(easy, url, nullptr, exchange);
    exchange->curl_code = curl_easy_perform(easy);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &exchange->http_status);
    // The error buffer lives in `exchange`; do not leave a dangling pointer
    // in a handle List() reuses.
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, nullptr);
  }

  CURL* AcquireEasy() {
    if (!idle_easies_.empty()) {
      CURL* easy = idle_easies_.back();
      idle_easies_.pop_back();
      return easy;
    }
    return curl_easy_init();
  }

  void ReleaseEasy(CURL* easy) {
    curl_easy_reset(easy);
    if (static_cast<int>(idle_easies_.size()) < options_.max_in_flight) {
      idle_easies_.push_back(easy);
    } else {
      curl_easy_cleanup(easy);
    }
  }

  // Moves queued sends onto the wire while there is room. Returns false when
  // the client is stopping.
  bool StartQueued() {
    std::vector<std::unique_ptr<Transfer>> starting;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return false;
      while (!queue_.empty() &&
             static_cast<int>(active_.size() + starting.size()) <
                 options_.max_in_flight) {
        starting.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    for (std::unique_ptr<Transfer>& transfer : starting) {
      CURL* easy = AcquireEasy();
      if (easy == nullptr) {
        transfer->exchange.curl_code = CURLE_OUT_OF_MEMORY;
        Complete(std::move(transfer));
        continue;
      }
      transfer->easy = easy;
      Configure(easy, messages_url_ + ".json", &transfer->request_body,
                &transfer->exchange);
      const CURLMcode added = curl_multi_add_handle(multi_, easy);
      if (added != CURLM_OK) {
        SMSGW_LOG(kError) << "curl_multi_add_handle failed: "
                          << curl_multi_strerror(added);
        transfer->exchange.curl_code = CURLE_FAILED_INIT;
        transfer->easy = nullptr;
        ReleaseEasy(easy);
        Complete(std::move(transfer));
        continue;
      }
      active_.emplace(easy, std::move(transfer));
    }
    return true;
  }

  void Complete(std::unique_ptr<Transfer> transfer) {
    SendResult result = ToSendResult(transfer->exchange);
    if (!result.accepted) {
      SMSGW_LOG(kWarning) << "twilio send failed http_status="
                          << result.error.http_status
                          << " code=" << result.error.code
                          << " retryable=" << result.error.retryable
                          << " message=\"" << result.error.message << "\"";
    }
    transfer->done(std::move(result));
  }

  // Returns true when at least one transfer finished.
  bool CollectFinished() {
    bool any = false;
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      const CURLcode code = msg->data.result;  // `msg` dies on remove
      curl_multi_remove_handle(multi_, easy);
      auto it = active_.find(easy);
      if (it == active_.end()) continue;
      std::unique_ptr<Transfer> transfer = std::move(it->second);
      active_.erase(it);
      transfer->exchange.curl_code = code;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE,
                        &transfer->exchange.http_status);
      transfer->easy = nullptr;
      ReleaseEasy(easy);
      Complete(std::move(transfer));
      any = true;
    }
    return any;
  }

  // Wakes the I/O thread (new send, shutdown). Any thread.
  void Wake() {
    const uint64_t one = 1;
    // A full counter (EAGAIN) still wakes it; nothing else can fail here.
    (void)!write(wake_fd_, &one, sizeof(one));
  }

  // CURLMOPT_SOCKETFUNCTION, on the I/O thread (or in curl_multi_cleanup):
  // keeps the epoll set in step with what libcurl wants to hear about.
  // `socketp` is non-null once the socket is in the set (curl_multi_assign).
  static int OnSocket(CURL* /*easy*/, curl_socket_t fd, int what, void* userp,
                      void* socketp) {
    auto* self = static_cast<Impl*>(userp);
    if (what == CURL_POLL_REMOVE) {
      // EBADF/ENOENT: libcurl closed it first, which took it out already.
      epoll_ctl(self->epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
      return 0;
    }
    epoll_event event{};
    event.events = ((what & CURL_POLL_IN) != 0 ? EPOLLIN : 0u) |
                   ((what & CURL_POLL_OUT) != 0 ? EPOLLOUT : 0u);
    event.data.fd = fd;
    // A descriptor number can come back for a new socket after the old one
    // closed unseen, so either operation may need the other.
    const int first = socketp == nullptr ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    const int second = socketp == nullptr ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(self->epoll_fd_, first, fd, &event) != 0 &&
        epoll_ctl(self->epoll_fd_, second, fd, &event) != 0) {
      SMSGW_LOG(kError) << "epoll_ctl fd=" << fd << ": "
                        << std::strerror(errno);
      return -1;  // libcurl fails the transfers of this socket
    }
    if (socketp == nullptr) curl_multi_assign(self->multi_, fd, self);
    return 0;
  }

  // CURLMOPT_TIMERFUNCTION: when libcurl next wants
  // curl_multi_socket_action(CURL_SOCKET_TIMEOUT); -1 cancels.
  static int OnTimer(CURLM* /*multi*/, long timeout_ms, void* userp) {
    auto* self = static_cast<Impl*>(userp);
    self->timer_armed_ = timeout_ms >= 0;
    if (timeout_ms >= 0) {
      self->timer_due_ = std::chrono::steady_clock::now() +
                         std::chrono::milliseconds(timeout_ms);
    }
    return 0;
  }

  // Milliseconds until libcurl's timer is due: 0 when due, at most 1000
  // (a safety net; every real event wakes the thread earlier).
  int TimerWaitMs() const {
    if (!timer_armed_) return 1000;
    const auto left = timer_due_ - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return 0;
    const int64_t ms =
        std::chrono::ceil<std::chrono::milliseconds>(left).count();
    return static_cast<int>(std::min<int64_t>(ms, 1000));
  }

  void SocketAction(curl_socket_t fd, int flags) {
    int running = 0;
    const CURLMcode code = curl_multi_socket_action(multi_, fd, flags, &running);
    // BAD_SOCKET: an event for a socket libcurl already let go of.
    if (code != CURLM_OK && code != CURLM_BAD_SOCKET) {
      SMSGW_LOG(kError) << "curl_multi_socket_action: "
                        << curl_multi_strerror(code);
    }
  }

  void IoLoop() {
    std::array<epoll_event, 256> events;
    while (StartQueued()) {
      // Finished sends free slots: refill before sleeping.
      if (CollectFinished()) continue;
      const int ready =
          epoll_wait(epoll_fd_, events.data(), events.size(), TimerWaitMs());
      if (ready < 0 && errno != EINTR) {
        SMSGW_LOG(kError) << "epoll_wait: " << std::strerror(errno);
      }
      for (int i = 0; i < ready; ++i) {
        const int fd = events[i].data.fd;
        if (fd == wake_fd_) {
          uint64_t count = 0;
          (void)!read(wake_fd_, &count, sizeof(count));
          continue;
        }
        const uint32_t got = events[i].events;
        int flags = 0;
        if ((got & EPOLLIN) != 0) flags |= CURL_CSELECT_IN;
        if ((got & EPOLLOUT) != 0) flags |= CURL_CSELECT_OUT;
        if ((got & (EPOLLERR | EPOLLHUP)) != 0) flags |= CURL_CSELECT_ERR;
        SocketAction(fd, flags);
      }
      if (timer_armed_ && TimerWaitMs() == 0) {
        // One-shot: OnTimer re-arms it from inside the call when needed.
        timer_armed_ = false;
        SocketAction(CURL_SOCKET_TIMEOUT, 0);
      }
    }
    for (auto& [easy, transfer] : active_) {
      curl_multi_remove_handle(multi_, easy);
      curl_easy_cleanup(easy);
      transfer->done(ShutDownResult());
    }
    active_.clear();
    // Callbacks above may have queued more sends; fail them too, until the
    // queue stays empty.
    while (true) {
      std::deque<std::unique_ptr<Transfer>> queued;
      {
        absl::MutexLock lock(&mu_);
        if (queue_.empty()) {
          drained_ = true;
          break;
        }
        queued.swap(queue_);
      }
      for (std::unique_ptr<Transfer>& transfer : queued) {
        transfer->done(ShutDownResult());
      }
    }
  }

  const Options options_;
  std::string messages_url_;  // …/Accounts/{sid}/Messages, no ".json"
  std::string user_;
  std::string password_;
  curl_slist* headers_ = nullptr;
  CURLM* multi_ = nullptr;
  int epoll_fd_ = -1;  // the sockets libcurl watches, and wake_fd_
  int wake_fd_ = -1;   // eventfd: Wake() -> the I/O thread
  std::thread io_thread_;

  absl::Mutex mu_;
  std::deque<std::unique_ptr<Transfer>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Set by the I/O thread once nothing can be queued any more.
  bool drained_ ABSL_GUARDED_BY(mu_) = false;

  // Touched only by the I/O thread.
  bool timer_armed_ = false;
  std::chrono::steady_clock::time_point timer_due_;
  absl::flat_hash_map<CURL*, std::unique_ptr<Transfer>> active_;
  std::vector<CURL*> idle_easies_;
};

absl::StatusOr<std::unique_ptr<TwilioRestClient>> TwilioRestClient::Create(
    Options options) {
  absl::string_view base = options.api_base;
  if (!absl::StartsWith(base, "http://") &&
      !absl::StartsWith(base, "https://")) {
    return absl::InvalidArgumentError(
        "api_base must start with http:// or https://");
  }
  while (absl::ConsumeSuffix(&base, "/")) {
  }
  options.api_base = std::string(base);
  if (options.account_sid.empty()) {
    return absl::InvalidArgumentError("account_sid is required");
  }
  const bool has_key =
      !options.api_key_sid.empty() && !options.api_key_secret.empty();
  if (!has_key && options.auth_token.empty()) {
    return absl::InvalidArgumentError(
        "credentials required: auth_token, or api_key_sid and "
        "api_key_secret");
  }
  if (options.connect_timeout <= absl::ZeroDuration() ||
      options.total_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("timeouts must be positive");
  }
  if (options.max_in_flight < 1) {
    return absl::InvalidArgumentError("max_in_flight must be at least 1");
  }
  auto impl = std::make_unique<Impl>(std::move(options));
  if (absl::Status started = impl->Start(); !started.ok()) return started;
  return std::unique_ptr<TwilioRestClient>(
      new TwilioRestClient(std::move(impl)));
}

TwilioRestClient::TwilioRestClient(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

TwilioRestClient::~TwilioRestClient() = default;

void TwilioRestClient::SendAsync(OutboundSms sms, SendCallback done) {
  impl_->SendAsync(std::move(sms), std::move(done));
}

absl::StatusOr<ProviderMessage> TwilioRestClient::Fetch(absl::string_view sid) {
  return impl_->Fetch(sid);
}

absl::StatusOr<std::vector<ProviderMessage>> TwilioRestClient::List(
    const ListFilter& filter, int max_results) {
  return impl_->List(filter, max_results);
}

std::string TwilioRestClient::MessagesUrl() const {
  return impl_->messages_url() + ".json";
}

}  // namespace smsgw::twilio
