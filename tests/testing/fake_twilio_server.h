// File: fake_twilio_server.h
//
// A real HTTP server (cpp-httplib) on 127.0.0.1 and an ephemeral port that
// plays Twilio's Messages API for client tests. It records every request and
// answers from a scripted FIFO of responses; when the script is empty it
// behaves like a tiny Twilio:
//
//   POST /2010-04-01/Accounts/{AC}/Messages.json      -> 201, a Message echoing
//        To/From/MessagingServiceSid/Body with a fresh "SM…" SID (stored)
//   GET  /2010-04-01/Accounts/{AC}/Messages/{SM}.json -> 200 stored / 404 20404
//   GET  /2010-04-01/Accounts/{AC}/Messages.json      -> list page of stored
//        messages, newest first, filtered by To/From, paged by PageSize/Page
//        with next_page_uri
//   anything else                                      -> 404 20404
//
// It never sends status callbacks: a test that needs a message to move on
// at "Twilio" without smsgw hearing of it (a lost callback) calls
// SetMessageStatus().
//
//   FakeTwilioServer twilio;
//   twilio.Enqueue(ScriptedResponse::TwilioError(400, 21211, "Invalid 'To'"));
//   client options.api_base = twilio.base_url();
//
// It deliberately does not use the production JSON code (message_json.h), so
// a bug there cannot hide in both the client and its test server.
//
// Why not the simulator (server/simulator/simulator.h): the simulator renders
// its answers with message_json.h, so it cannot be the REST client's
// independent oracle, and it has no scripted answers, dropped connections,
// delays or request recording, which are faults and probes a stand-in for
// Twilio itself should not offer.
// Thread-safe; the destructor stops the server and wakes delayed handlers.
#ifndef SMSGW_TESTS_TESTING_FAKE_TWILIO_SERVER_H_
#define SMSGW_TESTS_TESTING_FAKE_TWILIO_SERVER_H_

#include <deque>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace smsgw::testing {

// One request as the fake saw it. Names and values are URL-decoded ('+' is a
// space); repeated keys keep every value in arrival order.
struct RecordedRequest {
  std::string method;  // "POST", "GET", …
  std::string path;    // without the query, e.g. "/2010-04-01/Accounts/AC…"
  std::string query;   // raw, without '?'
  std::vector<std::pair<std::string, std::string>> query_params;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::pair<std::string, std::string>> form;  // from the body
  std::string body;
  int remote_port = 0;  // identifies the TCP connection

  // First value of header `name` (case-insensitive), or "".
  std::string Header(absl::string_view name) const;
  // Every value of form field `name`, in order.
  std::vector<std::string> FormValues(absl::string_view name) const;
  // First value of form field `name`, or "".
  std::string FormValue(absl::string_view name) const;
  bool HasForm(absl::string_view name) const;
  // First value of query parameter `name`, or "".
  std::string QueryValue(absl::string_view name) const;
  bool HasQuery(absl::string_view name) const;
};

// One canned answer, used by the next request whatever it is.
struct ScriptedResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  // Wait this long before answering (interrupted when the server stops).
  absl::Duration delay = absl::ZeroDuration();
  // Close the TCP connection without sending a single byte (after `delay`).
  bool drop_connection = false;

  static ScriptedResponse Json(int status, std::string body);
  // Twilio's error body: {"code","message","more_info","status"}.
  static ScriptedResponse TwilioError(int status, int code,
                                      absl::string_view message);
  static ScriptedResponse Drop();
  static ScriptedResponse Delayed(absl::Duration delay, ScriptedResponse then);
};

class FakeTwilioServer {
 public:
  struct Options {
    std::string account_sid = "AC00000000000000000000000000000001";
    // When both are set, requests with other Basic credentials get
    // 401 / 20003 (after scripted responses, which win).
    std::string expected_user;
    std::string expected_password;
    // Worker threads: each keep-alive connection holds one while open.
    int threads = 128;
  };

  FakeTwilioServer();
  explicit FakeTwilioServer(Options options);
  ~FakeTwilioServer();

  FakeTwilioServer(const FakeTwilioServer&) = delete;
  FakeTwilioServer& operator=(const FakeTwilioServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:PORT"
  std::string base_url() const;
  const std::string& account_sid() const { return options_.account_sid; }

  // Appends to the script.
  void Enqueue(ScriptedResponse response);

  // Stores a Message resource (a JSON object text) for the GET endpoints, as
  // if created before the test; it lists as the newest so far.
  void AddMessage(std::string message_json);

  // Sets the "status" (Twilio's word, e.g. "delivered") of the stored
  // message `sid`, as Twilio's GET then reports it. False when no message
  // with that SID is stored.
  bool SetMessageStatus(absl::string_view sid, absl::string_view status);

  std::vector<RecordedRequest> requests() const;
  size_t request_count() const;
  // Distinct client TCP connections seen (by remote port).
  size_t connection_count() const;
  // Waits until at least `n` requests have arrived; false on timeout.
  bool WaitForRequests(size_t n, absl::Duration timeout) const;

 private:
  struct Answer;
  Answer Handle(const RecordedRequest& request);
  Answer DefaultAnswer(const RecordedRequest& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<ScriptedResponse> script_ ABSL_GUARDED_BY(mu_);
  std::vector<RecordedRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::set<int> remote_ports_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> messages_ ABSL_GUARDED_BY(mu_);  // oldest first
  uint64_t next_sid_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace smsgw::testing

#endif  // SMSGW_TESTS_TESTING_FAKE_TWILIO_SERVER_H_
