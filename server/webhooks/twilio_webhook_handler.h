// File: twilio_webhook_handler.h
//
// The thin HTTP adapter Twilio calls (DESIGN.md §7; twilio-reference.md
// §3–§5):
//   POST /twilio/sms/status   status callbacks          -> 204
//   POST /twilio/sms/inbound  "a message comes in"      -> 200 empty TwiML
//   GET  /twilio/sms/inbound  the same, params in the query string
// Each request: size limit, strict form parse, X-Twilio-Signature over the
// public URL + path + query (403 when wrong, and nothing changes), then one
// domain call; the domain's status becomes the HTTP answer (ToHttpStatus).
#ifndef SMSGW_SERVER_WEBHOOKS_TWILIO_WEBHOOK_HANDLER_H_
#define SMSGW_SERVER_WEBHOOKS_TWILIO_WEBHOOK_HANDLER_H_

#include <cstddef>
#include <string>

#include "server/domain/delivery_service.h"

namespace httplib {
class Server;
}

namespace smsgw::webhooks {

// The parts of an HTTP request the handler reads.
struct WebhookRequest {
  std::string method;        // "POST" or "GET"
  std::string target;        // path and raw query, e.g. "/twilio/sms/status?a=1"
  std::string content_type;  // of the body
  std::string body;          // raw, form-encoded
  std::string signature;     // X-Twilio-Signature, or "" when absent
};

struct WebhookResponse {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;
};

// The empty TwiML answer to an inbound message (twilio-node
// MessagingResponse().toString()).
inline constexpr char kEmptyTwiml[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

// Thread-safe. `delivery` is not owned and must outlive the handler.
class TwilioWebhookHandler {
 public:
  struct Options {
    // SMSGW_PUBLIC_URL, no trailing '/': what Twilio was told to call, so
    // what it signed.
    std::string public_url;
    // The Twilio auth token the signatures are made with.
    std::string auth_token;
    // Larger bodies answer 413 (Twilio's own limit keeps real ones far
    // below; 1600 emoji percent-encode to about 20 KB).
    size_t max_body_bytes = 64 * 1024;
  };

  TwilioWebhookHandler(domain::DeliveryService* delivery, Options options);

  // Status callback: 204 when applied or kept; 400 for a malformed form,
  // missing parameters or a repeated one that is read (custom parameters
  // may repeat); 403 for a missing or wrong signature; 413 too large; 415
  // not form-encoded; 5xx when storage failed (Twilio retries).
  WebhookResponse HandleStatus(const WebhookRequest& request);

  // Inbound message: 200 text/xml empty TwiML when stored (also for a
  // repeated MessageSid); errors as HandleStatus().
  WebhookResponse HandleInbound(const WebhookRequest& request);

  // Registers the routes above on `server` (before it starts listening).
  void Register(httplib::Server& server);

  size_t max_body_bytes() const { return options_.max_body_bytes; }

 private:
  // Checks size, type and signature; parses the params into `params`.
  // Returns a response to send when the request is refused.
  std::optional<WebhookResponse> Admit(
      const WebhookRequest& request,
      std::vector<std::pair<std::string, std::string>>* params);

  domain::DeliveryService* delivery_;
  const Options options_;
};

}  // namespace smsgw::webhooks

#endif  // SMSGW_SERVER_WEBHOOKS_TWILIO_WEBHOOK_HANDLER_H_
