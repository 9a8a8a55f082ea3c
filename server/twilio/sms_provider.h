// File: sms_provider.h
//
// The port through which smsgw sends SMS/MMS: the domain and the dispatcher
// depend on this interface only; `TwilioRestClient` (libcurl) implements it.
// Header-only on purpose, so that depending on the port links no HTTP code.
//
// The shapes follow Twilio's Message resource (twilio-reference.md §1).
#ifndef SMSGW_SERVER_TWILIO_SMS_PROVIDER_H_
#define SMSGW_SERVER_TWILIO_SMS_PROVIDER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace smsgw::twilio {

// One message to hand to the provider.
struct OutboundSms {
  std::string to;    // E.164, e.g. "+14155550100"
  std::string from;  // E.164 number or alphanumeric sender ID; empty when
                     // `messaging_service_sid` is set
  std::string messaging_service_sid;  // "MG…" or empty
  std::string body;                   // UTF-8, at most 1600 characters
  std::vector<std::string> media_urls;  // http(s) URLs, at most 10
  std::string status_callback;          // absolute URL, or empty for none
  // Twilio's ValidityPeriod in seconds; 0 = provider default.
  int validity_period_s = 0;
};

// The fields of Twilio's Message resource that smsgw keeps.
struct ProviderMessage {
  std::string sid;        // "SM" + 32 lowercase hex (or "MM…")
  std::string status;     // Twilio's lowercase status: queued, accepted, sent…
  std::string direction;  // inbound | outbound-api | outbound-reply | …
  std::string from;
  std::string to;
  std::string body;
  std::string messaging_service_sid;
  std::optional<int> num_segments;
  int num_media = 0;
  std::optional<std::string> price;  // decimal string, negative when billed
  std::string price_unit;            // ISO 4217, e.g. "USD"
  std::optional<int> error_code;     // Twilio error code, e.g. 30003
  std::string error_message;
  absl::Time date_created = absl::InfinitePast();
  std::optional<absl::Time> date_sent;
  absl::Time date_updated = absl::InfinitePast();
};

// Why a call did not produce a message.
struct ProviderError {
  int http_status = 0;  // 0 when no HTTP answer arrived (timeout, refused)
  int code = 0;         // Twilio error code from the JSON body, 0 if none
  std::string message;  // Twilio's message, or curl's description
  std::string more_info;
  // True for failures that may succeed when repeated unchanged: HTTP 429 /
  // 20429 ("safe to retry"), 5xx, timeouts and connection errors. False for
  // the 4xx class (e.g. 21211, 21610, 21614) and for 401 (our credentials).
  bool retryable = false;
};

// The answer to one create-message call.
struct SendResult {
  bool accepted = false;
  ProviderMessage message;  // when accepted
  ProviderError error;      // when not accepted
};

// Filters for List(), as Twilio's `GET …/Messages.json` takes them.
struct ListFilter {
  std::string to;    // exact E.164, or empty
  std::string from;  // exact, or empty
  // Only messages whose date_sent is on or after / before these instants.
  std::optional<absl::Time> date_sent_after;
  std::optional<absl::Time> date_sent_before;
  int page_size = 50;  // 1..1000
};

// Sends messages through an SMS provider. Implementations are thread-safe.
class SmsProvider {
 public:
  using SendCallback = std::function<void(SendResult)>;

  virtual ~SmsProvider() = default;

  // Creates the message at the provider. Never blocks on the network: `done`
  // runs exactly once, on a provider-owned thread, with the provider's answer.
  // `done` must not block for long.
  virtual void SendAsync(OutboundSms sms, SendCallback done) = 0;

  // Blocking form of SendAsync(), for callers that own a thread to spare.
  SendResult Send(OutboundSms sms);

  // Fetches one message by SID. Returns NotFound (Twilio 20404) when the
  // provider does not know it, Unavailable / DeadlineExceeded when the
  // provider could not be reached, Internal for bad credentials (20003).
  virtual absl::StatusOr<ProviderMessage> Fetch(absl::string_view sid) = 0;

  // Lists messages matching `filter`, newest first, following pages until
  // `max_results` messages are collected or the list ends. Same errors as
  // Fetch(). Used to reconcile sends that were in flight during a crash.
  virtual absl::StatusOr<std::vector<ProviderMessage>> List(
      const ListFilter& filter, int max_results) = 0;
};

inline SendResult SmsProvider::Send(OutboundSms sms) {
  // A promise would do, but <future> pulls in exceptions; a mutex is enough.
  struct Waiter {
    absl::Mutex mu;
    bool done = false;
    SendResult result;
  };
  auto waiter = std::make_shared<Waiter>();
  SendAsync(std::move(sms), [waiter](SendResult result) {
    absl::MutexLock lock(&waiter->mu);
    waiter->result = std::move(result);
    waiter->done = true;
  });
  absl::MutexLock lock(&waiter->mu);
  waiter->mu.Await(absl::Condition(&waiter->done));
  return std::move(waiter->result);
}

}  // namespace smsgw::twilio

#endif  // SMSGW_SERVER_TWILIO_SMS_PROVIDER_H_
