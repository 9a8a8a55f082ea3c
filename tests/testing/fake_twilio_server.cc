#include "tests/testing/fake_twilio_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"

namespace smsgw::testing {
namespace {

using Json = nlohmann::json;
using Params = std::vector<std::pair<std::string, std::string>>;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string FormDecode(absl::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out.push_back(' ');
    } else if (in[i] == '%' && i + 2 < in.size() &&
               HexValue(in[i + 1]) >= 0 && HexValue(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(in[i + 1]) * 16 +
                                      HexValue(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

std::string FormEncode(absl::string_view in) {
  std::string out;
  for (unsigned char c : in) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

Params ParseForm(absl::string_view text) {
  Params out;
  if (text.empty()) return out;
  for (absl::string_view pair : absl::StrSplit(text, '&')) {
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    if (eq == absl::string_view::npos) {
      out.emplace_back(FormDecode(pair), "");
    } else {
      out.emplace_back(FormDecode(pair.substr(0, eq)),
                       FormDecode(pair.substr(eq + 1)));
    }
  }
  return out;
}

std::string First(const Params& params, absl::string_view name) {
  for (const auto& [key, value] : params) {
    if (key == name) return value;
  }
  return "";
}

bool Has(const Params& params, absl::string_view name) {
  return std::any_of(params.begin(), params.end(),
                     [name](const auto& p) { return p.first == name; });
}

std::string Rfc2822Now() {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", absl::Now(),
                          absl::UTCTimeZone());
}

std::string ErrorBody(int status, int code, absl::string_view message) {
  return Json{{"code", code},
              {"message", std::string(message)},
              {"more_info",
               absl::StrCat("https://www.twilio.com/docs/errors/", code)},
              {"status", status}}
      .dump();
}

Json NullIfEmpty(const std::string& s) {
  return s.empty() ? Json(nullptr) : Json(s);
}

// Makes the peer see the connection close without a response: httplib 0.11
// offers no way to abort a connection from a handler, so find the server-side
// socket of this request (local port = ours, peer port = the client's) and
// shut it down. httplib still owns and later closes the descriptor.
bool ShutDownConnection(int server_port, int remote_port) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return false;
  bool done = false;
  while (dirent* entry = readdir(dir)) {
    int fd;
    if (!absl::SimpleAtoi(entry->d_name, &fd)) continue;
    sockaddr_in peer{};
    sockaddr_in local{};
    socklen_t peer_len = sizeof(peer);
    socklen_t local_len = sizeof(local);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) !=
            0 ||
        peer.sin_family != AF_INET) {
      continue;
    }
    if (ntohs(peer.sin_port) == remote_port &&
        ntohs(local.sin_port) == server_port) {
      ::shutdown(fd, SHUT_RDWR);
      done = true;
      break;
    }
  }
  closedir(dir);
  return done;
}

// httplib 0.11 listens with a backlog of 5 (compiled into libcpp-httplib), so
// a burst of connects overflows it and the dropped SYNs cost the client a 1 s
// retransmit. Re-listening on the bound socket raises the backlog (Linux).
class BurstServer : public httplib::Server {
 public:
  void RaiseBacklog() { ::listen(svr_sock_, 1024); }
};

}  // namespace

std::string RecordedRequest::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

std::vector<std::string> RecordedRequest::FormValues(
    absl::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : form) {
    if (key == name) out.push_back(value);
  }
  return out;
}

std::string RecordedRequest::FormValue(absl::string_view name) const {
  return First(form, name);
}

bool RecordedRequest::HasForm(absl::string_view name) const {
  return Has(form, name);
}

std::string RecordedRequest::QueryValue(absl::string_view name) const {
  return First(query_params, name);
}

bool RecordedRequest::HasQuery(absl::string_view name) const {
  return Has(query_params, name);
}

ScriptedResponse ScriptedResponse::Json(int status, std::string body) {
  ScriptedResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

ScriptedResponse ScriptedResponse::TwilioError(int status, int code,
                                               absl::string_view message) {
  return Json(status, ErrorBody(status, code, message));
}

ScriptedResponse ScriptedResponse::Drop() {
  ScriptedResponse r;
  r.drop_connection = true;
  return r;
}

ScriptedResponse ScriptedResponse::Delayed(absl::Duration delay,
                                           ScriptedResponse then) {
  then.delay = delay;
  return then;
}

struct FakeTwilioServer::Answer {
  ScriptedResponse response;
};

FakeTwilioServer::FakeTwilioServer() : FakeTwilioServer(Options()) {}

FakeTwilioServer::FakeTwilioServer(Options options)
    : options_(std::move(options)),
      server_(std::make_unique<BurstServer>()) {
  const int threads = options_.threads;
  server_->new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  server_->set_keep_alive_max_count(1000);
  // httplib writes headers and body separately; without this, Nagle plus the
  // client's delayed ACK adds ~40 ms to every keep-alive response.
  server_->set_tcp_nodelay(true);
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    RecordedRequest recorded;
    recorded.method = req.method;
    const size_t question = req.target.find('?');
    recorded.path = req.target.substr(0, question);
    if (question != std::string::npos) {
      recorded.query = req.target.substr(question + 1);
    }
    recorded.query_params = ParseForm(recorded.query);
    for (const auto& [key, value] : req.headers) {
      recorded.headers.emplace_back(key, value);
    }
    recorded.body = req.body;
    if (absl::StartsWith(req.get_header_value("Content-Type"),
                         "application/x-www-form-urlencoded")) {
      recorded.form = ParseForm(req.body);
    }
    recorded.remote_port = req.remote_port;

    const ScriptedResponse answer = Handle(recorded).response;
    if (answer.delay > absl::ZeroDuration()) {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), answer.delay);
    }
    if (answer.drop_connection) {
      ShutDownConnection(port_, req.remote_port);
      res.status = 500;  // never reaches the client
      return;
    }
    res.status = answer.status;
    res.set_content(answer.body, answer.content_type.c_str());
  };
  server_->Get(".*", handler);
  server_->Post(".*", handler);
  server_->Put(".*", handler);
  server_->Delete(".*", handler);

  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) {
    fprintf(stderr, "FakeTwilioServer: cannot bind 127.0.0.1\n");
    std::abort();
  }
  static_cast<BurstServer*>(server_.get())->RaiseBacklog();
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!server_->is_running() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
}

FakeTwilioServer::~FakeTwilioServer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string FakeTwilioServer::base_url() const {
  return absl::StrCat("http://127.0.0.1:", port_);
}

void FakeTwilioServer::Enqueue(ScriptedResponse response) {
  absl::MutexLock lock(&mu_);
  script_.push_back(std::move(response));
}

void FakeTwilioServer::AddMessage(std::string message_json) {
  absl::MutexLock lock(&mu_);
  messages_.push_back(std::move(message_json));
}

bool FakeTwilioServer::SetMessageStatus(absl::string_view sid,
                                        absl::string_view status) {
  absl::MutexLock lock(&mu_);
  for (std::string& text : messages_) {
    Json m = Json::parse(text, nullptr, false);
    if (!m.is_object() || m.value("sid", "") != sid) continue;
    m["status"] = std::string(status);
    m["date_updated"] = Rfc2822Now();
    text = m.dump();
    return true;
  }
  return false;
}

std::vector<RecordedRequest> FakeTwilioServer::requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

size_t FakeTwilioServer::request_count() const {
  absl::MutexLock lock(&mu_);
  return requests_.size();
}

size_t FakeTwilioServer::connection_count() const {
  absl::MutexLock lock(&mu_);
  return remote_ports_.size();
}

bool FakeTwilioServer::WaitForRequests(size_t n,
                                       absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return requests_.size() >= n;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

FakeTwilioServer::Answer FakeTwilioServer::Handle(
    const RecordedRequest& request) {
  absl::MutexLock lock(&mu_);
  requests_.push_back(request);
  remote_ports_.insert(request.remote_port);
  if (!script_.empty()) {
    Answer answer{std::move(script_.front())};
    script_.pop_front();
    return answer;
  }
  return DefaultAnswer(request);
}

FakeTwilioServer::Answer FakeTwilioServer::DefaultAnswer(
    const RecordedRequest& request) {
  if (!options_.expected_user.empty() || !options_.expected_password.empty()) {
    const std::string expected =
        "Basic " + absl::Base64Escape(absl::StrCat(
                       options_.expected_user, ":", options_.expected_password));
    if (request.Header("Authorization") != expected) {
      Json body = {{"code", 20003},
                   {"detail", "Your AccountSid or AuthToken was incorrect."},
                   {"message", "Authenticate"},
                   {"more_info", "https://www.twilio.com/docs/errors/20003"},
                   {"status", 401}};
      return {ScriptedResponse::Json(401, body.dump())};
    }
  }
  const std::string account = absl::StrCat(
      "/2010-04-01/Accounts/", options_.account_sid);
  const std::string list_path = account + "/Messages.json";
  const std::string item_prefix = account + "/Messages/";

  if (request.method == "POST" && request.path == list_path) {
    const std::string sid = absl::StrFormat("SM%032x", next_sid_++);
    const std::string uri = absl::StrCat(item_prefix, sid);
    const std::string now = Rfc2822Now();
    const std::string service = request.FormValue("MessagingServiceSid");
    const size_t num_media = request.FormValues("MediaUrl").size();
    Json message = {
        {"account_sid", options_.account_sid},
        {"api_version", "2010-04-01"},
        {"body", request.FormValue("Body")},
        {"date_created", now},
        {"date_sent", nullptr},
        {"date_updated", now},
        {"direction", "outbound-api"},
        {"error_code", nullptr},
        {"error_message", nullptr},
        {"from", NullIfEmpty(request.FormValue("From"))},
        {"messaging_service_sid", NullIfEmpty(service)},
        {"num_media", std::to_string(num_media)},
        {"num_segments", "1"},
        {"price", nullptr},
        {"price_unit", "USD"},
        {"sid", sid},
        {"status", service.empty() ? "queued" : "accepted"},
        {"subresource_uris", {{"media", uri + "/Media.json"}}},
        {"to", request.FormValue("To")},
        {"uri", uri + ".json"},
    };
    std::string text = message.dump();
    messages_.push_back(text);
    return {ScriptedResponse::Json(201, std::move(text))};
  }

  if (request.method == "GET" && absl::StartsWith(request.path, item_prefix) &&
      absl::EndsWith(request.path, ".json")) {
    std::string sid = request.path.substr(item_prefix.size());
    sid.resize(sid.size() - 5);
    for (const std::string& text : messages_) {
      const Json m = Json::parse(text, nullptr, false);
      if (m.is_object() && m.value("sid", "") == sid) {
        return {ScriptedResponse::Json(200, text)};
      }
    }
  }

  if (request.method == "GET" && request.path == list_path) {
    int page_size = 50;
    int page = 0;
    if (request.HasQuery("PageSize") &&
        !absl::SimpleAtoi(request.QueryValue("PageSize"), &page_size)) {
      page_size = 50;
    }
    if (request.HasQuery("Page") &&
        !absl::SimpleAtoi(request.QueryValue("Page"), &page)) {
      page = 0;
    }
    page_size = std::clamp(page_size, 1, 1000);
    page = std::max(page, 0);
    const std::string to = request.QueryValue("To");
    const std::string from = request.QueryValue("From");
    std::vector<Json> matching;
    for (auto it = messages_.rbegin(); it != messages_.rend(); ++it) {
      Json m = Json::parse(*it, nullptr, false);
      if (!m.is_object()) continue;
      if (!to.empty() && m.value("to", "") != to) continue;
      if (!from.empty() && (!m["from"].is_string() || m["from"] != from)) {
        continue;
      }
      matching.push_back(std::move(m));
    }
    const size_t start = static_cast<size_t>(page) * page_size;
    Json items = Json::array();
    for (size_t i = start; i < matching.size() && i < start + page_size; ++i) {
      items.push_back(matching[i]);
    }
    // Rebuild the query without paging, as Twilio does in its page URIs.
    std::string base_query;
    for (const auto& [key, value] : request.query_params) {
      if (key == "Page" || key == "PageToken" || key == "PageSize") continue;
      absl::StrAppend(&base_query, FormEncode(key), "=", FormEncode(value),
                      "&");
    }
    auto page_uri = [&](int p) {
      std::string uri = absl::StrCat(list_path, "?", base_query,
                                     "PageSize=", page_size, "&Page=", p);
      if (p > 0) absl::StrAppend(&uri, "&PageToken=PASM", p);
      return uri;
    };
    const bool more = start + page_size < matching.size();
    Json body = {
        {"end", start + items.size() == 0 ? 0 : start + items.size() - 1},
        {"first_page_uri", page_uri(0)},
        {"messages", items},
        {"next_page_uri", more ? Json(page_uri(page + 1)) : Json(nullptr)},
        {"page", page},
        {"page_size", page_size},
        {"previous_page_uri",
         page > 0 ? Json(page_uri(page - 1)) : Json(nullptr)},
        {"start", start},
        {"uri", page_uri(page)},
    };
    return {ScriptedResponse::Json(200, body.dump())};
  }

  return {ScriptedResponse::TwilioError(
      404, 20404,
      absl::StrCat("The requested resource ", request.path,
                   " was not found"))};
}

}  // namespace smsgw::testing
