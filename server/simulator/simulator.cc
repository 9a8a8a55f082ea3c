// File: simulator.cc
//
// See simulator.h. The facade, the lifecycle (Start/Stop), credentials and
// routing; each job of the simulator has a file of its own (see
// simulator_internal.h).
#include "server/simulator/simulator.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "httplib.h"
#include "server/simulator/simulator_connections.h"
#include "server/simulator/simulator_internal.h"
#include "server/simulator/simulator_scheduler.h"
#include "server/twilio/message_json.h"

namespace smsgw::twilio {
namespace {

using simulator_internal::ErrorJson;
using simulator_internal::ReadBody;
using simulator_internal::SetControlError;
using simulator_internal::SetJson;
using simulator_internal::SetNotFound;

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

}  // namespace

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
  Route();

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
  scheduler_ = std::make_unique<SimulatorScheduler>();
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

void TwilioSimulator::Impl::Route() {
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

std::string TwilioSimulator::Impl::NewSid(absl::string_view prefix) {
  absl::MutexLock lock(&mu_);
  std::string sid(prefix);
  for (int i = 0; i < 32; ++i) {
    sid.push_back("0123456789abcdef"[absl::Uniform(bitgen_, 0, 16)]);
  }
  return sid;
}

std::string TwilioSimulator::Impl::MessageJson(
    const StoredMessage& stored) const {
  return MessageToJson(stored.message, options_.account_sid);
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
