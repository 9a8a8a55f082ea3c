// File: twilio_rest_client.h
//
// `TwilioRestClient`: the libcurl implementation of the `SmsProvider` port,
// speaking Twilio's 2010-04-01 REST API (twilio-reference.md §1).
//
//   TwilioRestClient::Options options;
//   options.account_sid = "AC…";
//   options.auth_token = "…";
//   absl::StatusOr<std::unique_ptr<TwilioRestClient>> client =
//       TwilioRestClient::Create(options);
//   (*client)->SendAsync(sms, [](SendResult r) { … });  // on the I/O thread
//
// Threads. The client owns ONE I/O thread that drives a curl multi handle
// through epoll and curl_multi_socket_action(), so a wake-up costs the
// sockets that are ready, not every transfer on the wire: SendAsync() only
// queues the request and wakes that thread (an eventfd), so it never blocks
// on the network. The multi handle
// keeps its connection cache for the client's lifetime, so sends reuse
// keep-alive connections (and HTTP/2 when TLS negotiates it). At most
// `max_in_flight` sends are on the wire; later ones wait in a FIFO queue, and
// their `total_timeout` starts only when they leave it.
//
// Fetch() and List() are blocking and run on the caller's thread with their
// own easy handle (List() reuses it across pages). They do not go through the
// I/O thread on purpose: a SendAsync() callback may call them without
// deadlocking the thread that would have to serve them.
//
// Outcomes that are NOT known. A `SendResult` with `accepted == false` and
// `error.http_status` in 200..299 means Twilio answered success but the body
// was not a Message resource: the message may exist at Twilio.
// `retryable` is false for it, because a blind retry may send the SMS twice;
// the dispatcher must treat it as "unknown outcome" and reconcile with List()
// (by To/From and date_sent) before sending again. The same caveat holds,
// weaker, for timeouts (`http_status == 0`, retryable): the request may have
// reached Twilio before the timer fired. Connection failures before the
// request was written (refused, DNS) are safe to retry. And libcurl itself
// resends a request once when a reused keep-alive connection closes before
// any response byte (tested), so Twilio can, rarely, see one send twice;
// the client narrows that window (no reuse of connections idle > 50 s) but
// Twilio's create has no idempotency key to close it.
#ifndef SMSGW_SERVER_TWILIO_TWILIO_REST_CLIENT_H_
#define SMSGW_SERVER_TWILIO_TWILIO_REST_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/twilio/sms_provider.h"

namespace smsgw::twilio {

// Sends SMS/MMS through Twilio's REST API. Thread-safe: every public method
// may be called from any thread, including from a SendAsync() callback —
// except the destructor, which must not run on the I/O thread (i.e. not from
// inside a callback).
class TwilioRestClient final : public SmsProvider {
 public:
  struct Options {
    // Scheme, host and optional port, without a trailing path:
    // "https://api.twilio.com" or, in tests, "http://127.0.0.1:PORT".
    std::string api_base = "https://api.twilio.com";
    // "AC" + 32 hex; always the account in the URL path.
    std::string account_sid;
    // Basic-auth password when no API key is set (username = account_sid).
    std::string auth_token;
    // Optional API key ("SK…") and its secret; when both are set they are
    // the Basic-auth credentials instead of account_sid/auth_token.
    std::string api_key_sid;
    std::string api_key_secret;
    // TCP (+TLS) connect budget, and the whole-request budget including it.
    absl::Duration connect_timeout = absl::Seconds(5);
    absl::Duration total_timeout = absl::Seconds(15);
    // Sends on the wire at once; further SendAsync() calls wait in a queue.
    int max_in_flight = 64;
  };

  // Validates `options` and starts the I/O thread. Returns InvalidArgument
  // when api_base is not an http(s) URL, account_sid is empty, there are no
  // credentials (auth_token, or api_key_sid + api_key_secret), a timeout is
  // not positive or max_in_flight < 1; Internal when libcurl cannot be set
  // up.
  static absl::StatusOr<std::unique_ptr<TwilioRestClient>> Create(
      Options options);

  // Stops the I/O thread. Every send not yet completed — on the wire or
  // queued — gets exactly one callback (on the I/O thread, before the
  // destructor returns) with a retryable error "client shut down",
  // http_status 0.
  ~TwilioRestClient() override;

  TwilioRestClient(const TwilioRestClient&) = delete;
  TwilioRestClient& operator=(const TwilioRestClient&) = delete;

  // POSTs {api_base}/2010-04-01/Accounts/{account_sid}/Messages.json with
  // the form fields To, From and/or MessagingServiceSid, Body, one MediaUrl
  // per URL, StatusCallback and ValidityPeriod (the last two only when set).
  // `done` runs exactly once on the I/O thread:
  //  - 201 (any 2xx) with a Message resource: accepted, `message` parsed;
  //  - 4xx: not retryable, with Twilio's code/message/more_info (401 is our
  //    credentials: code 20003); 429 and 5xx: retryable. A non-JSON error
  //    body keeps the HTTP status, code 0 and the start of the body;
  //  - no HTTP answer (timeout, refused, reset): http_status 0, retryable,
  //    curl's description in `message`;
  //  - 2xx with an unparsable body: not retryable, unknown outcome (see the
  //    file comment).
  void SendAsync(OutboundSms sms, SendCallback done) override;

  // GETs …/Messages/{sid}.json on the caller's thread. Returns NotFound for
  // 404 (Twilio 20404); Internal for 401/403 (our credentials, 20003);
  // InvalidArgument for other 4xx; ResourceExhausted for 429; Unavailable
  // for 5xx and connection errors; DeadlineExceeded when total_timeout
  // passes; DataLoss when a 2xx body is not a Message resource;
  // InvalidArgument for an empty `sid` (no request is made).
  absl::StatusOr<ProviderMessage> Fetch(absl::string_view sid) override;

  // GETs …/Messages.json?To=&From=&DateSent>=&DateSent<=&PageSize= on the
  // caller's thread and follows `next_page_uri` until `max_results`
  // messages are collected or the list ends. The dates are sent as
  // ISO 8601 UTC ("2023-08-24T05:01:45Z"), as twilio-python does; since Twilio
  // documents only day granularity for these filters, the client also drops
  // messages whose date_sent lies outside [date_sent_after,
  // date_sent_before], both ends inclusive as in Twilio's `DateSent>` /
  // `DateSent<` (messages without date_sent are kept). Same errors as
  // Fetch(); InvalidArgument when max_results < 1 or page_size is not in
  // 1..1000, DataLoss when a page is not a Twilio list page.
  absl::StatusOr<std::vector<ProviderMessage>> List(const ListFilter& filter,
                                                    int max_results) override;

  // The URL that SendAsync() posts to, for logs and tests.
  std::string MessagesUrl() const;

 private:
  class Impl;
  explicit TwilioRestClient(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace smsgw::twilio

#endif  // SMSGW_SERVER_TWILIO_TWILIO_REST_CLIENT_H_
