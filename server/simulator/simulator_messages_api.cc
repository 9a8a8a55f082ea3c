// File: simulator_messages_api.cc
//
// The simulator's 2010-04-01 Messages API (simulator.h): create, list,
// fetch, update (redact), delete. Validation follows twilio-reference.md §10
// on the shared rules: E.164 from server/domain/phone_number.h, sender IDs
// from sender_id.h, body length and segments from segments.h.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "httplib.h"
#include "server/domain/phone_number.h"
#include "server/domain/segments.h"
#include "server/domain/sender_id.h"
#include "server/simulator/simulator_internal.h"
#include "server/twilio/form_encoding.h"
#include "server/twilio/message_json.h"

namespace smsgw::twilio {
namespace {

using simulator_internal::ErrorJson;
using simulator_internal::IsHttpUrl;
using simulator_internal::kFormContentType;
using simulator_internal::kMaxMediaUrls;
using simulator_internal::kMaxRequestBytes;
using simulator_internal::MeasureBody;
using simulator_internal::NowSeconds;
using simulator_internal::SegmentsOf;
using simulator_internal::SetError;
using simulator_internal::SetJson;
using simulator_internal::SetJsonText;
using simulator_internal::SetNotFound;
using simulator_internal::ValueOr;
using Json = simulator_internal::Json;

constexpr int kMaxStatusCallbackLength = 4000;
constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 1000;

// Request bodies and list queries are parsed by the REST edge's strict form
// parser; the byte bound is the simulator's own (ReadBody), so that a long
// body gets Twilio's 21617 and not a form error.
FormLimits SimulatorFormLimits() {
  FormLimits limits;
  limits.max_total_bytes = kMaxRequestBytes;
  return limits;
}

// Parses a form body or query; on error answers 400/20001 and returns
// nullopt.
std::optional<FormParams> ParseOr400(absl::string_view text,
                                     httplib::Response& res) {
  absl::StatusOr<FormParams> params = ParseForm(text, SimulatorFormLimits());
  if (!params.ok()) {
    SetError(res, 400, 20001,
             absl::StrCat("Invalid parameter: ", params.status().message()));
    return std::nullopt;
  }
  return *std::move(params);
}

// Parses a list date filter: a day "YYYY-MM-DD" (returns the day's start and
// sets *day) or a full timestamp (ISO 8601 / RFC 3339, "YYYY-MM-DD hh:mm:ss",
// or RFC 2822).
std::optional<absl::Time> ParseDateFilter(const std::string& text, bool* day) {
  absl::Time t;
  std::string err;
  *day = false;
  if (absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &t, &err)) {
    *day = true;
    return t;
  }
  for (const char* format :
       {"%Y-%m-%d%ET%H:%M:%E*S%Ez", "%Y-%m-%d%ET%H:%M:%E*SZ",
        "%Y-%m-%d %H:%M:%E*S", "%a, %d %b %Y %H:%M:%S %z"}) {
    if (absl::ParseTime(format, text, absl::UTCTimeZone(), &t, &err)) return t;
  }
  return std::nullopt;
}

}  // namespace

std::pair<int, std::string> TwilioSimulator::Impl::ValidateCreate(
    const FormParams& params) const {
  std::string to = ValueOr(params, "To");
  std::string from = ValueOr(params, "From");
  std::string ms_sid = ValueOr(params, "MessagingServiceSid");
  std::string body = ValueOr(params, "Body");
  std::vector<std::string> media = FormValues(params, "MediaUrl");
  std::optional<std::string> callback = FormValue(params, "StatusCallback");

  if (to.empty()) {
    return {21604,
            "The destination 'To' phone number is required to send an SMS"};
  }
  if (from.empty() && ms_sid.empty()) {
    return {21603,
            "A 'From' or 'MessagingServiceSid' parameter is required to send "
            "a message"};
  }
  if (body.empty() && media.empty() && ValueOr(params, "ContentSid").empty()) {
    return {21602, "Message body is required"};
  }
  // Cannot fail after ParseForm (it insists on UTF-8).
  absl::StatusOr<simulator_internal::BodyMeasure> measure = MeasureBody(body);
  if (!measure.ok() || measure->utf16_length > domain::kMaxBodyLength) {
    return {21617,
            "The concatenated message body exceeds the 1600 character limit"};
  }
  if (media.size() > kMaxMediaUrls) {
    return {21623, "Number of media files exceeds allowed limit (10)"};
  }
  for (const std::string& url : media) {
    if (!IsHttpUrl(url)) return {21620, "Invalid media URL(s)"};
  }
  if (callback.has_value() && !callback->empty() &&
      (!IsHttpUrl(*callback) ||
       callback->size() > static_cast<size_t>(kMaxStatusCallbackLength))) {
    return {21609, "Invalid StatusCallback url"};
  }
  std::string invalid_to =
      absl::StrCat("The 'To' number ", to, " is not a valid phone number.");
  if (to == "+15005550001") return {21211, invalid_to};
  if (to == "+15005550002") {
    return {21612, "The 'To' phone number is not currently reachable via SMS"};
  }
  if (to == "+15005550003") {
    return {21408,
            "Permission to send an SMS has not been enabled for the region "
            "indicated by the 'To' number"};
  }
  if (to == "+15005550004") {
    return {21610, "Attempt to send to unsubscribed recipient"};
  }
  if (to == "+15005550009") {
    return {21614, "'To' number is not a valid mobile number"};
  }
  if (!domain::IsE164(to)) return {21211, invalid_to};
  if (!from.empty()) {
    std::string not_capable =
        "The 'From' phone number provided is not a valid message-capable "
        "Twilio phone number for this destination";
    if (from == "+15005550001") return {21212, "Invalid From Number"};
    if (from == "+15005550007") return {21606, not_capable};
    if (from == "+15005550008") {
      return {21611,
              "This 'From' number has exceeded the maximum number of queued "
              "messages"};
    }
    bool e164 = domain::IsE164(from);
    if (!e164 && !domain::ValidateAlphanumericSenderId(from).ok()) {
      return {21212, "Invalid From Number"};
    }
    if (to == from) return {21211, invalid_to};
    if (e164 && options_.enforce_owned_from && from != "+15005550006" &&
        std::find(options_.phone_numbers.begin(), options_.phone_numbers.end(),
                  from) == options_.phone_numbers.end()) {
      return {21606, not_capable};
    }
  }
  return {0, ""};
}

void TwilioSimulator::Impl::HandleCreate(const httplib::Request& req,
                                         const std::string& raw_body,
                                         httplib::Response& res) {
  if (!Authorize(req, res)) return;
  std::string content_type = req.get_header_value("Content-Type");
  if (!content_type.empty() &&
      !absl::StartsWithIgnoreCase(content_type, kFormContentType)) {
    SetJson(res, 415,
            Json{{"code", 415},
                 {"message",
                  absl::StrCat("Unsupported Media Type ", content_type,
                               ": send application/x-www-form-urlencoded")},
                 {"more_info",
                  "https://www.twilio.com/docs/usage/requests-to-twilio"},
                 {"status", 415}});
    return;
  }
  std::optional<FormParams> params = ParseOr400(raw_body, res);
  if (!params.has_value()) return;
  auto [code, message] = ValidateCreate(*params);
  if (code != 0) {
    SetError(res, 400, code, message);
    return;
  }

  StoredMessage stored;
  ProviderMessage& m = stored.message;
  stored.media_urls = FormValues(*params, "MediaUrl");
  stored.status_callback = ValueOr(*params, "StatusCallback");
  m.sid = NewSid(stored.media_urls.empty() ? "SM" : "MM");
  m.to = ValueOr(*params, "To");
  m.from = ValueOr(*params, "From");
  m.messaging_service_sid = ValueOr(*params, "MessagingServiceSid");
  m.body = ValueOr(*params, "Body");
  m.num_media = static_cast<int>(stored.media_urls.size());
  m.direction = "outbound-api";
  m.date_created = NowSeconds();
  m.date_updated = m.date_created;
  bool via_service = !m.messaging_service_sid.empty() && m.from.empty();
  {
    absl::MutexLock lock(&mu_);
    if (via_service) {
      // Twilio picks the sender when the message leaves `accepted`.
      m.status = "accepted";
      m.num_segments = 0;
      if (!options_.phone_numbers.empty()) {
        stored.from_when_queued =
            options_.phone_numbers[next_pool_pick_++ %
                                   options_.phone_numbers.size()];
      }
    } else {
      m.status = "queued";
      m.num_segments = SegmentsOf(m.body);
      stored.from_when_queued = m.from;
    }
    stored.seq = next_seq_++;
    index_[m.sid] = messages_.size();
    messages_.push_back(stored);
  }
  SMSGW_LOG(kDebug) << "twilio simulator created sid=" << m.sid
                    << " to=" << m.to << " status=" << m.status;
  SetJsonText(res, 201, MessageJson(stored));
  if (options_.advance_status) ScheduleProgress(stored);
}

TwilioSimulator::Impl::StoredMessage* TwilioSimulator::Impl::FindLive(
    const httplib::Request& req, httplib::Response& res) {
  auto it = index_.find(std::string(req.matches[2]));
  if (it == index_.end() || messages_[it->second].deleted) {
    SetNotFound(res, req.path);
    return nullptr;
  }
  return &messages_[it->second];
}

void TwilioSimulator::Impl::HandleFetch(const httplib::Request& req,
                                        httplib::Response& res) {
  if (!Authorize(req, res)) return;
  absl::MutexLock lock(&mu_);
  const StoredMessage* stored = FindLive(req, res);
  if (stored != nullptr) SetJsonText(res, 200, MessageJson(*stored));
}

void TwilioSimulator::Impl::HandleUpdate(const httplib::Request& req,
                                         const std::string& raw_body,
                                         httplib::Response& res) {
  if (!Authorize(req, res)) return;
  std::optional<FormParams> params = ParseOr400(raw_body, res);
  if (!params.has_value()) return;
  absl::MutexLock lock(&mu_);
  StoredMessage* found = FindLive(req, res);
  if (found == nullptr) return;
  StoredMessage& stored = *found;
  std::optional<std::string> body = FormValue(*params, "Body");
  std::optional<std::string> status = FormValue(*params, "Status");
  if (status.has_value()) {
    // Only `scheduled` messages can be canceled; the simulator never
    // schedules, so this is always refused.
    SetError(res, 400, 20001,
             absl::StrCat("Message is not in a cancelable state: ",
                          stored.message.status));
    return;
  }
  if (body.has_value()) {
    if (!body->empty()) {
      SetError(res, 400, 20001, "Body can only be redacted to \"\"");
      return;
    }
    stored.message.body.clear();
    stored.message.date_updated = NowSeconds();
  }
  SetJsonText(res, 200, MessageJson(stored));
}

void TwilioSimulator::Impl::HandleDelete(const httplib::Request& req,
                                         httplib::Response& res) {
  if (!Authorize(req, res)) return;
  absl::MutexLock lock(&mu_);
  StoredMessage* stored = FindLive(req, res);
  if (stored == nullptr) return;
  stored->deleted = true;
  res.status = 204;
}

void TwilioSimulator::Impl::HandleList(const httplib::Request& req,
                                       httplib::Response& res) {
  if (!Authorize(req, res)) return;
  size_t q = req.target.find('?');
  std::optional<FormParams> parsed = ParseOr400(
      q == std::string::npos ? absl::string_view()
                             : absl::string_view(req.target).substr(q + 1),
      res);
  if (!parsed.has_value()) return;
  const FormParams& query = *parsed;
  auto bad = [&](absl::string_view what) {
    SetError(res, 400, 20001, absl::StrCat("Invalid parameter: ", what));
  };

  // The filters, in the order Twilio writes them back into page URIs.
  FormParams filters;
  for (const char* name :
       {"To", "From", "DateSent", "DateSent<", "DateSent>"}) {
    std::optional<std::string> value = FormValue(query, name);
    if (value.has_value()) filters.emplace_back(name, *value);
  }
  std::string to = ValueOr(query, "To");
  std::string from = ValueOr(query, "From");
  // [lower, upper) bounds on date_sent.
  std::optional<absl::Time> lower;
  std::optional<absl::Time> upper;
  for (const auto& [name, value] : filters) {
    if (!absl::StartsWith(name, "DateSent")) continue;
    bool day = false;
    std::optional<absl::Time> t = ParseDateFilter(value, &day);
    if (!t.has_value()) return bad(name);
    absl::Time end = day ? *t + absl::Hours(24) : *t + absl::Seconds(1);
    if (name == "DateSent") {
      lower = *t;
      upper = end;
    } else if (name == "DateSent<") {
      upper = end;  // on or before
    } else {
      lower = *t;  // on or after
    }
  }
  int page_size = kDefaultPageSize;
  if (std::optional<std::string> v = FormValue(query, "PageSize")) {
    if (!absl::SimpleAtoi(*v, &page_size) || page_size < 1 ||
        page_size > kMaxPageSize) {
      return bad("PageSize");
    }
  }
  int page = 0;
  if (std::optional<std::string> v = FormValue(query, "Page")) {
    if (!absl::SimpleAtoi(*v, &page) || page < 0) return bad("Page");
  }
  std::optional<std::string> token = FormValue(query, "PageToken");

  std::vector<Json> selected;
  std::vector<std::string> sids;
  {
    absl::MutexLock lock(&mu_);
    std::vector<const StoredMessage*> matching;
    for (const StoredMessage& s : messages_) {
      const ProviderMessage& m = s.message;
      if (s.deleted) continue;
      if (!to.empty() && m.to != to) continue;
      if (!from.empty() && m.from != from) continue;
      if (lower || upper) {
        if (!m.date_sent.has_value()) continue;
        if (lower && *m.date_sent < *lower) continue;
        if (upper && *m.date_sent >= *upper) continue;
      }
      matching.push_back(&s);
    }
    std::sort(matching.begin(), matching.end(),
              [](const StoredMessage* a, const StoredMessage* b) {
                if (a->message.date_created != b->message.date_created) {
                  return a->message.date_created > b->message.date_created;
                }
                return a->seq > b->seq;
              });
    for (const StoredMessage* s : matching) {
      sids.push_back(s->message.sid);
      selected.push_back(Json::parse(MessageJson(*s)));
    }
  }

  // Page tokens are cursors: "PA<sid>" = after that SID, "PB<sid>" = before.
  size_t start = static_cast<size_t>(page) * page_size;
  if (token.has_value()) {
    auto pos = token->size() > 2
                   ? std::find(sids.begin(), sids.end(), token->substr(2))
                   : sids.end();
    if (pos == sids.end() ||
        !(absl::StartsWith(*token, "PA") || absl::StartsWith(*token, "PB"))) {
      return bad("PageToken");
    }
    size_t idx = pos - sids.begin();
    start = absl::StartsWith(*token, "PA")
                ? idx + 1
                : (idx >= static_cast<size_t>(page_size) ? idx - page_size : 0);
  }
  start = std::min(start, sids.size());
  size_t stop = std::min(start + page_size, sids.size());

  std::string base = absl::StrCat("/2010-04-01/Accounts/", options_.account_sid,
                                  "/Messages.json");
  auto page_uri = [&](int page_index, const std::string& page_token) {
    FormParams p = filters;
    p.emplace_back("PageSize", absl::StrCat(page_size));
    p.emplace_back("Page", absl::StrCat(page_index));
    if (!page_token.empty()) p.emplace_back("PageToken", page_token);
    return absl::StrCat(base, "?", EncodeForm(p));
  };
  Json messages = Json::array();
  for (size_t i = start; i < stop; ++i) messages.push_back(selected[i]);
  Json body = {
      {"end",
       stop > start ? static_cast<int>(stop - 1) : static_cast<int>(start)},
      {"first_page_uri", page_uri(0, "")},
      {"messages", messages},
      {"next_page_uri", stop < sids.size()
                            ? Json(page_uri(page + 1, "PA" + sids[stop - 1]))
                            : Json(nullptr)},
      {"page", page},
      {"page_size", page_size},
      {"previous_page_uri",
       start > 0 && start < sids.size()
           ? Json(page_uri(std::max(page - 1, 0), "PB" + sids[start]))
           : Json(nullptr)},
      {"start", static_cast<int>(start)},
      {"uri", page_uri(page, token.value_or(""))},
  };
  SetJson(res, 200, body);
}

}  // namespace smsgw::twilio
