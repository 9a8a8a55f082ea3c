#include "server/webhooks/twilio_webhook_handler.h"

#include <httplib.h>

#include <initializer_list>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "server/twilio/form_encoding.h"
#include "server/twilio/twilio_signature.h"
#include "common/http_status.h"

namespace smsgw::webhooks {
namespace {

using Params = twilio::FormParams;

WebhookResponse Plain(int status, absl::string_view reason) {
  WebhookResponse response;
  response.status = status;
  response.body = absl::StrCat(reason, "\n");
  return response;
}

WebhookResponse FromStatus(const absl::Status& status) {
  const int http = ToHttpStatus(status);
  if (http >= 500) {
    SMSGW_LOG(kError) << "webhook failed: " << status;
    return Plain(http, "internal error; retry later");
  }
  return Plain(http, status.message());
}

std::string Value(const Params& params, absl::string_view name) {
  return twilio::FormValue(params, name).value_or("");
}

absl::StatusOr<std::optional<int>> IntValue(const Params& params,
                                            absl::string_view name) {
  std::optional<std::string> text = twilio::FormValue(params, name);
  if (!text.has_value() || text->empty()) return std::optional<int>();
  int value = 0;
  if (!absl::SimpleAtoi(*text, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " must be a whole number"));
  }
  return std::optional<int>(value);
}

// Twilio sends each of its parameters once. When one we read repeats, which
// value the sender meant is ambiguous (FormValue would silently take the
// first), so the request is refused; repeats of names we do not read are
// signed like any other parameter and ignored.
absl::Status CheckNotRepeated(const Params& params,
                              std::initializer_list<absl::string_view> names) {
  for (absl::string_view name : names) {
    if (twilio::FormValues(params, name).size() > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " appears more than once"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

TwilioWebhookHandler::TwilioWebhookHandler(domain::DeliveryService* delivery,
                                           Options options)
    : delivery_(delivery), options_(std::move(options)) {}

std::optional<WebhookResponse> TwilioWebhookHandler::Admit(
    const WebhookRequest& request, Params* params) {
  if (request.body.size() > options_.max_body_bytes) {
    return Plain(413, "request body too large");
  }
  absl::string_view query;
  if (const size_t q = request.target.find('?'); q != std::string::npos) {
    query = absl::string_view(request.target).substr(q + 1);
  }
  twilio::FormLimits limits;
  limits.max_total_bytes = options_.max_body_bytes;
  Params signed_params;
  if (request.method == "GET") {
    // Twilio signs a GET's URL only; the params are in the query.
    absl::StatusOr<Params> parsed = twilio::ParseForm(query, limits);
    if (!parsed.ok()) return Plain(400, parsed.status().message());
    *params = *std::move(parsed);
  } else {
    const absl::string_view type = absl::StripAsciiWhitespace(
        absl::string_view(request.content_type)
            .substr(0, request.content_type.find(';')));
    if (!absl::EqualsIgnoreCase(type, "application/x-www-form-urlencoded")) {
      return Plain(415, "expected application/x-www-form-urlencoded");
    }
    absl::StatusOr<Params> parsed = twilio::ParseForm(request.body, limits);
    if (!parsed.ok()) return Plain(400, parsed.status().message());
    *params = *std::move(parsed);
    signed_params = *params;
  }
  if (request.signature.empty()) {
    return Plain(403, "missing X-Twilio-Signature");
  }
  const std::string url = options_.public_url + request.target;
  if (!twilio::ValidateTwilioSignature(options_.auth_token, url, signed_params,
                                       request.signature)) {
    SMSGW_LOG(kWarning) << "webhook signature rejected target="
                        << request.target.substr(0, 128);
    return Plain(403, "invalid X-Twilio-Signature");
  }
  return std::nullopt;
}

WebhookResponse TwilioWebhookHandler::HandleStatus(
    const WebhookRequest& request) {
  Params params;
  if (std::optional<WebhookResponse> refused = Admit(request, &params)) {
    return *refused;
  }
  if (absl::Status single = CheckNotRepeated(
          params, {"AccountSid", "MessageSid", "SmsSid", "MessageStatus",
                   "SmsStatus", "ErrorCode", "ErrorMessage", "RawDlrDoneDate",
                   "From", "To"});
      !single.ok()) {
    return FromStatus(single);
  }
  domain::StatusCallback callback;
  callback.account_sid = Value(params, "AccountSid");
  callback.message_sid = Value(params, "MessageSid");
  if (callback.message_sid.empty()) callback.message_sid = Value(params, "SmsSid");
  callback.message_status = Value(params, "MessageStatus");
  if (callback.message_status.empty()) {
    callback.message_status = Value(params, "SmsStatus");
  }
  absl::StatusOr<std::optional<int>> error_code = IntValue(params, "ErrorCode");
  if (!error_code.ok()) return FromStatus(error_code.status());
  callback.error_code = *error_code;
  callback.error_message = Value(params, "ErrorMessage");
  callback.raw_dlr_done_date = Value(params, "RawDlrDoneDate");
  callback.from = Value(params, "From");
  callback.to = Value(params, "To");
  absl::Status applied = delivery_->ApplyStatusCallback(callback);
  if (!applied.ok()) return FromStatus(applied);
  WebhookResponse response;
  response.status = 204;
  return response;
}

WebhookResponse TwilioWebhookHandler::HandleInbound(
    const WebhookRequest& request) {
  Params params;
  if (std::optional<WebhookResponse> refused = Admit(request, &params)) {
    return *refused;
  }
  if (absl::Status single = CheckNotRepeated(
          params, {"AccountSid", "MessageSid", "SmsMessageSid",
                   "MessagingServiceSid", "From", "To", "Body", "NumMedia",
                   "NumSegments"});
      !single.ok()) {
    return FromStatus(single);
  }
  domain::InboundSms sms;
  sms.account_sid = Value(params, "AccountSid");
  sms.message_sid = Value(params, "MessageSid");
  if (sms.message_sid.empty()) sms.message_sid = Value(params, "SmsMessageSid");
  sms.messaging_service_sid = Value(params, "MessagingServiceSid");
  sms.from = Value(params, "From");
  sms.to = Value(params, "To");
  sms.body = Value(params, "Body");
  absl::StatusOr<std::optional<int>> num_media = IntValue(params, "NumMedia");
  if (!num_media.ok()) return FromStatus(num_media.status());
  const int media = num_media->value_or(0);
  if (media < 0 || media > 10) {
    return Plain(400, "NumMedia must be between 0 and 10");
  }
  for (int i = 0; i < media; ++i) {
    if (absl::Status single = CheckNotRepeated(
            params, {absl::StrCat("MediaUrl", i),
                     absl::StrCat("MediaContentType", i)});
        !single.ok()) {
      return FromStatus(single);
    }
    std::string url = Value(params, absl::StrCat("MediaUrl", i));
    if (url.empty()) {
      return Plain(400, absl::StrCat("MediaUrl", i, " is missing"));
    }
    sms.media_urls.push_back(std::move(url));
    sms.media_content_types.push_back(
        Value(params, absl::StrCat("MediaContentType", i)));
  }
  absl::StatusOr<std::optional<int>> segments = IntValue(params, "NumSegments");
  if (!segments.ok()) return FromStatus(segments.status());
  if (segments->has_value() && **segments < 0) {
    return Plain(400, "NumSegments must not be negative");
  }
  sms.num_segments = *segments;
  absl::StatusOr<domain::InboundOutcome> outcome =
      delivery_->ReceiveInbound(sms);
  if (!outcome.ok()) return FromStatus(outcome.status());
  WebhookResponse response;
  response.status = 200;
  response.content_type = "text/xml";
  response.body = kEmptyTwiml;
  return response;
}

void TwilioWebhookHandler::Register(httplib::Server& server) {
  // Bodies are read through a ContentReader: httplib's own form parsing
  // would refuse anything over 8 KB with 413 before we could see it.
  auto adapt = [this](WebhookResponse (TwilioWebhookHandler::*handle)(
                          const WebhookRequest&)) {
    return [this, handle](const httplib::Request& req, httplib::Response& res,
                          const httplib::ContentReader& reader) {
      WebhookRequest request;
      request.method = req.method;
      request.target = req.target;
      request.content_type = req.get_header_value("Content-Type");
      request.signature = req.get_header_value("X-Twilio-Signature");
      bool too_large = false;
      const bool read = reader([&](const char* data, size_t length) {
        if (request.body.size() + length > options_.max_body_bytes) {
          too_large = true;
          return false;
        }
        request.body.append(data, length);
        return true;
      });
      // httplib refuses a Content-Length over its payload limit itself
      // (res.status 413) without calling us, and a cut-off body also fails
      // the read: never hand a partial body to the handler.
      WebhookResponse response =
          too_large || (!read && res.status == 413)
              ? Plain(413, "request body too large")
          : !read ? Plain(400, "could not read the request body")
                  : (this->*handle)(request);
      res.status = response.status;
      if (!response.body.empty()) {
        res.set_content(response.body, response.content_type);
      }
    };
  };
  server.Post("/twilio/sms/status", adapt(&TwilioWebhookHandler::HandleStatus));
  server.Post("/twilio/sms/inbound",
              adapt(&TwilioWebhookHandler::HandleInbound));
  server.Get("/twilio/sms/inbound",
             [this](const httplib::Request& req, httplib::Response& res) {
               WebhookRequest request;
               request.method = "GET";
               request.target = req.target;
               request.signature = req.get_header_value("X-Twilio-Signature");
               WebhookResponse response = HandleInbound(request);
               res.status = response.status;
               res.set_content(response.body, response.content_type);
             });
}

}  // namespace smsgw::webhooks
