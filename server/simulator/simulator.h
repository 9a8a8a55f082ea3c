// File: simulator.h
//
// `TwilioSimulator` is smsgw's built-in stand-in for Twilio: a real HTTP
// server on a loopback port that speaks Twilio's 2010-04-01 Messages API
// (twilio-reference.md §1, §2, §3, §4, §10), so that smsgw's real REST client
// runs against it unchanged, and that later posts signed status callbacks and
// injected inbound messages to smsgw's webhook adapter (DESIGN.md §7).
//
//   TwilioSimulator::Options options;
//   options.signer = [token = options.auth_token](const std::string& url,
//                                                 const Params& params) {
//     return ComputeTwilioSignature(token, url, params);  // X-Twilio-Signature
//   };
//   options.inbound_webhook_url = "http://127.0.0.1:8080/twilio/sms/inbound";
//   TwilioSimulator sim(options);
//   SMSGW_RETURN_IF_ERROR(sim.Start());
//   // point the REST client at sim.base_url(), sim.account_sid(), ...
//
// Endpoints, all under `/2010-04-01/Accounts/{AccountSid}/` and all answering
// JSON (application/json):
//   POST   Messages.json         create (201, Message resource) or 400 error
//   GET    Messages.json         list: To, From, DateSent, DateSent<, DateSent>
//                                (YYYY-MM-DD days or full timestamps),
//                                PageSize 1..1000 (default 50), Page, PageToken
//   GET    Messages/{Sid}.json   fetch (200) or 404/20404
//   POST   Messages/{Sid}.json   Body="" redacts (200); Status=canceled is
//                                refused 400/20001 (nothing is ever scheduled)
//   DELETE Messages/{Sid}.json   delete (204) or 404/20404
// Anything else answers 404/20404.
//
// Control API (simulator-only, outside Twilio's URL space, for `smsgw sim`
// and tests in other processes). Same HTTP Basic credentials as the Messages
// API; wrong or missing ones -> 401. Every answer is JSON; errors are
// `{"error": "<one line>"}` (outside input is C-escaped, never a newline).
//   POST /sim/v1/inbound   InjectInbound() over HTTP. Body either
//       application/json  {"from": "+14155550100", "to": "+15005550006",
//                          "body": "hi", "media_urls": ["https://..."]}
//       or application/x-www-form-urlencoded with the same names
//       (`media_urls` repeated). `body` and `media_urls` are optional but
//       not both.
//     200 {"message_sid", "webhook_url", "webhook_status" (the webhook's
//         HTTP status, any value, e.g. 403), "webhook_content_type",
//         "webhook_body"}: the message is stored and the webhook answered.
//     400 bad input: malformed JSON/form, unknown field, wrong type, `from`
//         not E.164 / short code (3-8 digits) / alphanumeric sender ID, `to`
//         not E.164 or not one of `phone_numbers`, neither body nor media,
//         body over 1600 UTF-16 units, over 10 media URLs, a media URL not
//         http(s). Nothing is stored.
//     409 no usable `inbound_webhook_url` configured. Nothing is stored.
//     415 another Content-Type. 413 a body over 1 MiB.
//     502 {"error", "message_sid", "webhook_url"}: the webhook gave no HTTP
//         answer (refused, timeout); the message stays stored.
//   GET /sim/v1/outbox     {"messages": [Message resource, ...]}: outbound
//   GET /sim/v1/inbox      / inbound messages, newest first, deleted ones
//                          left out; each item as the Messages API shows it.
//
// Behaviour that Twilio does not document and the simulator chose:
//   * Wrong or missing HTTP Basic credentials -> 401/20003 (with `detail`).
//     Correct credentials but another AccountSid in the path -> 404/20404
//     (the resource is not visible to this account). API keys are not
//     supported: the user name must be the account SID.
//   * A POST whose Content-Type is not application/x-www-form-urlencoded
//     (e.g. JSON) -> 415 `{"code":415,...,"status":415}`, like Prism; the real
//     API would ignore the body. An absent Content-Type reads as an empty form.
//   * Invalid list parameters (PageSize outside 1..1000, unparsable dates,
//     unknown PageToken) -> 400/20001. Page tokens are cursors:
//     "PA<sid>" continues after that SID, "PB<sid>" ends before it.
//   * Date filters: `DateSent=D` the UTC day D, `DateSent<=D` on or before,
//     `DateSent>=D` on or after (a full timestamp compares to the second);
//     messages never sent do not match any date filter.
//   * Request bodies over 1 MiB -> 413.
//   * `From` must be one of `phone_numbers` (or Twilio's magic valid test
//     number +15005550006) unless `enforce_owned_from` is false; otherwise
//     21606. Alphanumeric sender IDs are accepted without that check.
//   * `To` in `undeliverable_numbers` (default +15005550010, a simulator-only
//     choice outside Twilio's magic table) is accepted, then ends
//     `undelivered` with error 30003 (Unreachable destination handset).
//   * Price is "-0.00790" USD per segment, set when the message reaches `sent`.
//   * Segments are counted by the domain's counter (server/domain/segments.h,
//     as Twilio's calculator counts them); a body without text counts 0
//     segments, and such a message is priced as one segment.
//   * A create, update or list whose form is malformed (a '%' without two hex
//     digits, not UTF-8, a NUL; form_encoding.h ParseForm) -> 400/20001.
//
// Create validation order (twilio-reference.md §10), each a 400 with
// `{"code","message","more_info","status"}`: To missing 21604 -> From and
// MessagingServiceSid missing 21603 -> Body and MediaUrl missing 21602 ->
// Body over 1600 UTF-16 code units 21617 -> more than 10 MediaUrl 21623 ->
// a MediaUrl not http(s) 21620 -> StatusCallback not http(s) or over 4000
// chars 21609 -> magic To numbers (+15005550001 21211, ...02 21612, ...03
// 21408, ...04 21610, ...09 21614) -> To not E.164 21211 -> magic From numbers
// (+15005550001 21212, ...07 21606, ...08 21611) -> From neither E.164 nor an
// alphanumeric sender ID 21212 -> To == From 21211 -> From not owned 21606.
//
// Status progression after a 201 (one step every `callback_delay`):
//   queued -> sending -> sent -> delivered | undelivered (30003)
//   with a MessagingServiceSid: accepted -> queued -> ... (From is picked from
//   `phone_numbers` at `queued`; the 201 shows `from` null, num_segments "0").
// The stored message follows the steps (fetch/list show them). When the
// create request had a StatusCallback and `send_status_callbacks` is on, each
// step after the initial one is POSTed to it (form-encoded, signed, no
// callback for the initial status, twilio-reference.md §2, §3). Callbacks
// are posted by `callback_posters` threads; each message's callbacks all go
// through the one poster its SID hashes to, so they leave in order (unless
// shuffled) while other messages' callbacks are in flight beside them. A
// poster keeps its connection alive while it has work and closes it after
// 500 ms idle. A failed callback (no answer or non-2xx) is logged and
// retried once.
//
// Connections: every API connection is served on a thread of its own, so up
// to `max_connections` kept-alive connections are served at once (threads
// start as connections arrive); further ones wait for one of those to close.
// Answers are written with TCP_NODELAY (no Nagle wait on the second write).
//
// Thread-safe. Not copyable.
#ifndef SMSGW_SERVER_SIMULATOR_SIMULATOR_H_
#define SMSGW_SERVER_SIMULATOR_SIMULATOR_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/twilio/sms_provider.h"

namespace smsgw::twilio {

class TwilioSimulator {
 public:
  // Decoded form parameters in the order they are sent; names may repeat.
  using Params = std::vector<std::pair<std::string, std::string>>;

  // Computes the X-Twilio-Signature value for a webhook request: `url` is the
  // exact URL requested (fragment removed), `params` the decoded POST
  // parameters (twilio-reference.md §5). Usually HMAC-SHA1 with the auth
  // token; injected so the simulator does not depend on the signer's code.
  using Signer =
      std::function<std::string(const std::string& url, const Params& params)>;

  // Connections the simulator serves beyond the REST client's
  // `max_in_flight` (server_app.cc passes their sum as `max_connections`):
  // the client's blocking Fetch()/List() calls, the control API, and
  // connections a client has dropped before the simulator has seen them
  // close.
  static constexpr int kSpareConnections = 64;

  struct Options {
    // The simulated account; the REST client authenticates as
    // account_sid:auth_token (HTTP Basic).
    std::string account_sid = "AC5ea7c0de5ea7c0de5ea7c0de5ea7c0de";
    std::string auth_token = "5ea7c0de5ea7c0de5ea7c0de5ea7c0de";
    // Listen address; port 0 picks an ephemeral port (see port()).
    std::string host = "127.0.0.1";
    int port = 0;
    // The account's "owned" numbers (E.164): valid `From` values and the
    // pool a Messaging Service picks from.
    std::vector<std::string> phone_numbers = {"+15005550006", "+15005550020",
                                              "+15005550021"};
    // When true, an E.164 `From` outside `phone_numbers` (and not the magic
    // +15005550006) fails with 21606 like Twilio does for foreign numbers.
    bool enforce_owned_from = true;
    // `To` numbers whose messages end `undelivered` with ErrorCode 30003.
    std::vector<std::string> undeliverable_numbers = {"+15005550010"};
    // Where InjectInbound() posts ("A message comes in" webhook URL).
    std::string inbound_webhook_url;
    // Whether stored messages advance past their initial status at all.
    bool advance_status = true;
    // Whether the status steps are POSTed to the message's StatusCallback.
    bool send_status_callbacks = true;
    // Time between two status steps (and between create and the first).
    absl::Duration callback_delay = absl::Milliseconds(200);
    // Sends a message's callbacks in a random order (Twilio does not
    // guarantee order, twilio-reference.md §2).
    bool shuffle_callbacks = false;
    // Sends each callback this many times (>= 1) to exercise dedupe.
    int repeat_callbacks = 1;
    // Sets X-Twilio-Signature on callbacks and inbound webhooks; empty means
    // the header is not sent.
    Signer signer;
    // Kept-alive API connections served at once (one thread each, started
    // on demand); the default covers TwilioRestClient's default
    // max_in_flight (64) plus kSpareConnections.
    int max_connections = 64 + kSpareConnections;
    // Threads posting status callbacks (see the file comment). Several let
    // the webhook receiver work on more than one at a time (smsgw commits
    // concurrent callbacks together). Each waits for smsgw's commit, so this
    // bounds the callback rate: with 8, the three callbacks per message fell
    // behind SendMessage at 64 calls in flight (bench send_message_default);
    // 16 kept up and stays within smsgw's 32 webhook threads.
    int callback_posters = 16;
    // Connect/read timeout of one webhook POST. A failed callback POST is
    // retried once after `callback_delay`.
    absl::Duration webhook_timeout = absl::Seconds(5);
  };

  // What InjectInbound() produced.
  struct InboundResult {
    ProviderMessage message;   // the stored inbound message (status received)
    Params params;             // the form parameters that were posted
    int http_status = 0;       // the webhook's answer
    std::string content_type;  // of the webhook's answer, e.g. "text/xml"
    std::string body;          // the webhook's answer (TwiML)
  };

  explicit TwilioSimulator(Options options);
  ~TwilioSimulator();  // Stop()s.
  TwilioSimulator(const TwilioSimulator&) = delete;
  TwilioSimulator& operator=(const TwilioSimulator&) = delete;

  // Binds the HTTP server and starts serving and the callback threads.
  // Returns InvalidArgument for a port outside 0..65535, an account SID not
  // shaped ^AC[0-9a-fA-F]{32}$, an empty auth token, or repeat_callbacks,
  // max_connections or callback_posters < 1;
  // Unavailable when the address cannot be bound; FailedPrecondition when
  // already started (a stopped simulator cannot be restarted).
  absl::Status Start();

  // Stops the HTTP server and the callback threads; pending callbacks are
  // dropped and in-flight callback POSTs are aborted. Idempotent; returns
  // promptly (does not wait for callback delays).
  void Stop();

  // The bound port (valid after a successful Start()), e.g. 40123.
  int port() const;
  // "http://<host>:<port>", the REST client's api_base.
  std::string base_url() const;
  const std::string& account_sid() const { return options_.account_sid; }
  const std::string& auth_token() const { return options_.auth_token; }

  // Every outbound message created through the API, newest first, with its
  // current status.
  std::vector<ProviderMessage> Outbox() const;
  // Every message injected with InjectInbound(), newest first.
  std::vector<ProviderMessage> Inbox() const;

  // Simulates an SMS/MMS arriving from `from` (any sender) at `to` (one of
  // the owned numbers, E.164): stores an inbound message (new SM… SID, MM…
  // with media) and POSTs the signed inbound webhook synchronously with the
  // parameters of twilio-reference.md §4 (MessageSid, SmsSid, SmsMessageSid,
  // AccountSid, From, To, Body, NumMedia, NumSegments, SmsStatus=received,
  // ApiVersion, MediaUrlN/MediaContentTypeN, From*/To* geo fields).
  // Returns FailedPrecondition when no inbound_webhook_url is set or the
  // simulator is not running, InvalidArgument when the URL is not http(s)
  // or `body` is not UTF-8 (nothing is stored then),
  // Unavailable when the webhook gave no HTTP answer, Unknown (with the HTTP
  // status and body in the message) for a non-2xx answer. The message stays
  // stored either way, as at Twilio.
  absl::StatusOr<InboundResult> InjectInbound(
      absl::string_view from, absl::string_view to, absl::string_view body,
      const std::vector<std::string>& media_urls = {});

 private:
  class Impl;
  Options options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smsgw::twilio

#endif  // SMSGW_SERVER_SIMULATOR_SIMULATOR_H_
