// File: simulator_control_api.cc
//
// The simulator's control API (/sim/v1/..., simulator.h): inbound messages
// injected over HTTP, and the outbox and inbox as JSON. Senders and
// recipients are checked with the shared rules (server/domain/phone_number.h,
// sender_id.h), bodies with segments.h.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "server/domain/phone_number.h"
#include "server/domain/segments.h"
#include "server/domain/sender_id.h"
#include "server/simulator/simulator_internal.h"
#include "server/twilio/form_encoding.h"

namespace smsgw::twilio {
namespace {

using simulator_internal::IsHttpUrl;
using simulator_internal::kFormContentType;
using simulator_internal::kMaxMediaUrls;
using simulator_internal::MeasureBody;
using simulator_internal::Quoted;
using simulator_internal::SetControlError;
using simulator_internal::SetJson;
using Json = simulator_internal::Json;

// A control inbound request, decoded from JSON or a form.
struct ControlInbound {
  std::optional<std::string> from;
  std::optional<std::string> to;
  std::string body;
  std::vector<std::string> media_urls;
};

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
  if (!domain::IsE164(from) && !short_code &&
      !domain::ValidateAlphanumericSenderId(from).ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"from\" must be an E.164 number, a short code or an alphanumeric "
        "sender ID, got ",
        Quoted(from)));
  }
  if (!in.to.has_value() || in.to->empty()) {
    return absl::InvalidArgumentError("\"to\" is required");
  }
  if (!domain::IsE164(*in.to)) {
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
  // Cannot fail after the JSON or form parser (both insist on UTF-8).
  absl::StatusOr<simulator_internal::BodyMeasure> measure =
      MeasureBody(in.body);
  if (!measure.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"body\" is not UTF-8: ", measure.status().message()));
  }
  if (measure->utf16_length > domain::kMaxBodyLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"body\" is over ", domain::kMaxBodyLength, " characters"));
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
      messages.push_back(Json::parse(MessageJson(*it)));
    }
  }
  SetJson(res, 200, Json{{"messages", std::move(messages)}});
}

}  // namespace smsgw::twilio
