// File: simulator_inbound.cc
//
// Inbound injection (TwilioSimulator::InjectInbound, simulator.h): an SMS or
// MMS "arrives", is stored and is POSTed, signed, to the inbound webhook with
// the parameters of twilio-reference.md §4; and the stores' views (Outbox,
// Inbox).
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "httplib.h"
#include "server/simulator/simulator_internal.h"
#include "server/twilio/message_json.h"

namespace smsgw::twilio {
namespace {

using simulator_internal::MeasureBody;
using simulator_internal::NowSeconds;
using simulator_internal::SplitWebhookUrl;
using simulator_internal::WebhookTarget;

// MediaContentTypeN from the URL's extension (the simulator fetches nothing).
std::string GuessMediaContentType(absl::string_view url) {
  std::string lower = absl::AsciiStrToLower(url.substr(0, url.find('?')));
  if (absl::EndsWith(lower, ".png")) return "image/png";
  if (absl::EndsWith(lower, ".jpg") || absl::EndsWith(lower, ".jpeg")) {
    return "image/jpeg";
  }
  if (absl::EndsWith(lower, ".gif")) return "image/gif";
  return "application/octet-stream";
}

// The webhook's FromCountry/ToCountry: only NANP numbers are placed.
std::string CountryOf(absl::string_view number) {
  return absl::StartsWith(number, "+1") ? "US" : "";
}

}  // namespace

std::vector<ProviderMessage> TwilioSimulator::Impl::Messages(
    bool inbound) const {
  absl::MutexLock lock(&mu_);
  std::vector<ProviderMessage> out;
  for (auto it = messages_.rbegin(); it != messages_.rend(); ++it) {
    if ((it->message.direction == "inbound") == inbound) {
      out.push_back(it->message);
    }
  }
  return out;
}

absl::StatusOr<TwilioSimulator::InboundResult>
TwilioSimulator::Impl::InjectInbound(
    absl::string_view from, absl::string_view to, absl::string_view body,
    const std::vector<std::string>& media_urls) {
  absl::StatusOr<InboundAttempt> attempt =
      DeliverInbound(from, to, body, media_urls);
  if (!attempt.ok()) return attempt.status();
  if (!attempt->delivery.ok()) return attempt->delivery;
  const InboundResult& result = attempt->result;
  if (result.http_status < 200 || result.http_status > 299) {
    return absl::UnknownError(absl::StrCat("inbound webhook answered HTTP ",
                                           result.http_status, ": ",
                                           result.body));
  }
  return std::move(attempt->result);
}

absl::StatusOr<TwilioSimulator::Impl::InboundAttempt>
TwilioSimulator::Impl::DeliverInbound(
    absl::string_view from, absl::string_view to, absl::string_view body,
    const std::vector<std::string>& media_urls) {
  if (!running_) {
    return absl::FailedPreconditionError("simulator is not running");
  }
  if (options_.inbound_webhook_url.empty()) {
    return absl::FailedPreconditionError("no inbound_webhook_url configured");
  }
  absl::StatusOr<WebhookTarget> target =
      SplitWebhookUrl(options_.inbound_webhook_url);
  if (!target.ok()) return target.status();
  absl::StatusOr<simulator_internal::BodyMeasure> measure = MeasureBody(body);
  if (!measure.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("inbound body: ", measure.status().message()));
  }

  InboundAttempt attempt;
  InboundResult& result = attempt.result;
  ProviderMessage& m = result.message;
  m.sid = NewSid(media_urls.empty() ? "SM" : "MM");
  m.status = "received";
  m.direction = "inbound";
  m.from = std::string(from);
  m.to = std::string(to);
  m.body = std::string(body);
  m.num_segments = measure->segments;
  m.num_media = static_cast<int>(media_urls.size());
  m.date_created = NowSeconds();
  m.date_sent = m.date_created;
  m.date_updated = m.date_created;
  {
    absl::MutexLock lock(&mu_);
    StoredMessage stored;
    stored.message = m;
    stored.media_urls = media_urls;
    stored.seq = next_seq_++;
    index_[m.sid] = messages_.size();
    messages_.push_back(std::move(stored));
  }

  // The key order of a real inbound webhook (twilio-php#458).
  result.params = {
      {"ToCountry", CountryOf(to)},
      {"ToState", ""},
      {"SmsMessageSid", m.sid},
      {"NumMedia", absl::StrCat(m.num_media)},
      {"ToCity", ""},
      {"FromZip", ""},
      {"SmsSid", m.sid},
      {"FromState", ""},
      {"SmsStatus", "received"},
      {"FromCity", ""},
      {"Body", m.body},
      {"FromCountry", CountryOf(from)},
      {"To", m.to},
      {"ToZip", ""},
      {"NumSegments", absl::StrCat(*m.num_segments)},
      {"MessageSid", m.sid},
      {"AccountSid", options_.account_sid},
      {"From", m.from},
      {"ApiVersion", std::string(kTwilioApiVersion)},
  };
  for (size_t i = 0; i < media_urls.size(); ++i) {
    result.params.emplace_back(absl::StrCat("MediaContentType", i),
                               GuessMediaContentType(media_urls[i]));
    result.params.emplace_back(absl::StrCat("MediaUrl", i), media_urls[i]);
  }

  httplib::Client client(target->origin);
  ConfigureClient(client);
  absl::StatusOr<httplib::Response> answer =
      PostWebhook(client, *target, result.params);
  if (!answer.ok()) {
    attempt.delivery = answer.status();
    return attempt;
  }
  result.http_status = answer->status;
  result.content_type = answer->get_header_value("Content-Type");
  result.body = answer->body;
  return attempt;
}

}  // namespace smsgw::twilio
