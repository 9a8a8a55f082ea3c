#include "server/twilio/message_json.h"

#include <array>
#include <exception>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "nlohmann/json.hpp"
#include "common/status_macros.h"

namespace smsgw::twilio {
namespace {

using Json = nlohmann::json;

constexpr std::array<absl::string_view, 7> kDayNames = {
    "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

// absl::Weekday is declared Monday first, matching kDayNames.
absl::string_view DayName(absl::Weekday day) {
  return kDayNames[static_cast<int>(day)];
}

// Parses "+hhmm" / "-hhmm" / GMT / UT / UTC into seconds east of UTC.
std::optional<int> ParseZone(absl::string_view zone) {
  if (zone == "GMT" || zone == "UT" || zone == "UTC") return 0;
  if (zone.size() != 5 || (zone[0] != '+' && zone[0] != '-')) {
    return std::nullopt;
  }
  for (size_t i = 1; i < 5; ++i) {
    if (!absl::ascii_isdigit(zone[i])) return std::nullopt;
  }
  const int hours = (zone[1] - '0') * 10 + (zone[2] - '0');
  const int minutes = (zone[3] - '0') * 10 + (zone[4] - '0');
  if (hours > 23 || minutes > 59) return std::nullopt;
  const int seconds = hours * 3600 + minutes * 60;
  return zone[0] == '-' ? -seconds : seconds;
}

absl::Status FieldError(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("Twilio message JSON: field `", field, "` ", what));
}

// Reads an optional string field: absent or null leaves `out` unchanged.
absl::Status ReadString(const Json& object, const char* field,
                        std::string* out) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_string()) return FieldError(field, "must be a string or null");
  *out = it->get<std::string>();
  return absl::OkStatus();
}

// Reads a count that Twilio sends as a decimal string ("1"); a JSON integer is
// accepted too. Absent or null gives nullopt.
absl::StatusOr<std::optional<int>> ReadCount(const Json& object,
                                             const char* field) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return std::optional<int>();
  int value = 0;
  if (it->is_number_integer()) {
    const int64_t wide = it->get<int64_t>();
    if (wide < 0 || wide > INT32_MAX) {
      return FieldError(field, "is out of range");
    }
    value = static_cast<int>(wide);
  } else if (it->is_string()) {
    const std::string text = it->get<std::string>();
    if (!absl::SimpleAtoi(text, &value) || value < 0) {
      return FieldError(field,
                        absl::StrCat("is not a non-negative integer: \"",
                                     text.substr(0, 32), "\""));
    }
  } else {
    return FieldError(field, "must be a decimal string, an integer or null");
  }
  return std::optional<int>(value);
}

absl::StatusOr<std::optional<absl::Time>> ReadDate(const Json& object,
                                                   const char* field) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) {
    return std::optional<absl::Time>();
  }
  if (!it->is_string()) return FieldError(field, "must be a string or null");
  absl::StatusOr<absl::Time> t = ParseRfc2822(it->get<std::string>());
  if (!t.ok()) return FieldError(field, t.status().message());
  return std::optional<absl::Time>(*t);
}

absl::StatusOr<ProviderMessage> MessageFromJson(const Json& object) {
  if (!object.is_object()) {
    return absl::InvalidArgumentError(
        "Twilio message JSON: expected an object");
  }
  ProviderMessage m;
  auto sid = object.find("sid");
  if (sid == object.end() || !sid->is_string() ||
      sid->get<std::string>().empty()) {
    return FieldError("sid", "must be a non-empty string");
  }
  m.sid = sid->get<std::string>();
  auto status = object.find("status");
  if (status == object.end() || !status->is_string()) {
    return FieldError("status", "must be a string");
  }
  m.status = status->get<std::string>();

  SMSGW_RETURN_IF_ERROR(ReadString(object, "direction", &m.direction));
  SMSGW_RETURN_IF_ERROR(ReadString(object, "from", &m.from));
  SMSGW_RETURN_IF_ERROR(ReadString(object, "to", &m.to));
  SMSGW_RETURN_IF_ERROR(ReadString(object, "body", &m.body));
  SMSGW_RETURN_IF_ERROR(ReadString(object, "messaging_service_sid",
                                   &m.messaging_service_sid));
  SMSGW_RETURN_IF_ERROR(ReadString(object, "price_unit", &m.price_unit));
  SMSGW_RETURN_IF_ERROR(
      ReadString(object, "error_message", &m.error_message));

  SMSGW_ASSIGN_OR_RETURN(m.num_segments, ReadCount(object, "num_segments"));
  SMSGW_ASSIGN_OR_RETURN(std::optional<int> num_media,
                         ReadCount(object, "num_media"));
  m.num_media = num_media.value_or(0);

  if (auto price = object.find("price");
      price != object.end() && !price->is_null()) {
    // Twilio sends a decimal string; keep its exact digits rather than going
    // through a double. A JSON number is tolerated and re-printed.
    if (price->is_string()) {
      const std::string text = price->get<std::string>();
      double ignored;
      if (!absl::SimpleAtod(text, &ignored)) {
        return FieldError("price", absl::StrCat("is not a decimal: \"",
                                                text.substr(0, 32), "\""));
      }
      m.price = text;
    } else if (price->is_number()) {
      m.price = price->dump();
    } else {
      return FieldError("price", "must be a decimal string or null");
    }
  }

  if (auto code = object.find("error_code");
      code != object.end() && !code->is_null()) {
    if (code->is_number_integer()) {
      const int64_t wide = code->get<int64_t>();
      if (wide < INT32_MIN || wide > INT32_MAX) {
        return FieldError("error_code", "is out of range");
      }
      m.error_code = static_cast<int>(wide);
    } else if (code->is_string()) {
      int value;
      if (!absl::SimpleAtoi(code->get<std::string>(), &value)) {
        return FieldError("error_code", "is not an integer");
      }
      m.error_code = value;
    } else {
      return FieldError("error_code", "must be an integer or null");
    }
  }

  SMSGW_ASSIGN_OR_RETURN(std::optional<absl::Time> created,
                         ReadDate(object, "date_created"));
  m.date_created = created.value_or(absl::InfinitePast());
  SMSGW_ASSIGN_OR_RETURN(m.date_sent, ReadDate(object, "date_sent"));
  SMSGW_ASSIGN_OR_RETURN(std::optional<absl::Time> updated,
                         ReadDate(object, "date_updated"));
  m.date_updated = updated.value_or(absl::InfinitePast());
  return m;
}

Json StringOrNull(absl::string_view s) {
  if (s.empty()) return nullptr;
  return std::string(s);
}

Json DateOrNull(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return nullptr;
  return FormatRfc2822(t);
}

}  // namespace

std::string FormatRfc2822(absl::Time t) {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", t,
                          absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseRfc2822(absl::string_view text) {
  const auto invalid = [text](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not an RFC 2822 date (", why, "): \"", text.substr(0, 64), "\""));
  };
  absl::string_view rest = absl::StripAsciiWhitespace(text);
  std::optional<absl::string_view> day_name;
  if (const size_t comma = rest.find(','); comma != absl::string_view::npos) {
    day_name = rest.substr(0, comma);
    rest = absl::StripLeadingAsciiWhitespace(rest.substr(comma + 1));
  }
  const size_t last_space = rest.rfind(' ');
  if (last_space == absl::string_view::npos) return invalid("no zone");
  const std::optional<int> offset = ParseZone(rest.substr(last_space + 1));
  if (!offset.has_value()) return invalid("bad zone");
  const std::string local(absl::StripTrailingAsciiWhitespace(
      rest.substr(0, last_space)));

  const absl::TimeZone zone = absl::FixedTimeZone(*offset);
  absl::Time t;
  std::string err;
  // Seconds are optional in RFC 2822 §3.3.
  if (!absl::ParseTime("%d %b %Y %H:%M:%S", local, zone, &t, &err) &&
      !absl::ParseTime("%d %b %Y %H:%M", local, zone, &t, &err)) {
    return invalid(err);
  }
  if (day_name.has_value()) {
    const absl::string_view expected =
        DayName(absl::GetWeekday(absl::ToCivilDay(t, zone)));
    if (!absl::EqualsIgnoreCase(*day_name, expected)) {
      return invalid(absl::StrCat("day of week should be ", expected));
    }
  }
  return t;
}

absl::StatusOr<ProviderMessage> ParseMessageJson(absl::string_view json) {
  try {
    const Json parsed = Json::parse(json.begin(), json.end(),
                                    /*cb=*/nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      return absl::InvalidArgumentError("Twilio message JSON: not valid JSON");
    }
    return MessageFromJson(parsed);
  } catch (const std::exception& e) {
    // The reads above check types first, so this is a safety net only.
    return absl::InvalidArgumentError(
        absl::StrCat("Twilio message JSON: ", e.what()));
  }
}

absl::StatusOr<MessagePage> ParseMessagePageJson(absl::string_view json) {
  try {
    const Json parsed = Json::parse(json.begin(), json.end(), nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      return absl::InvalidArgumentError(
          "Twilio message page JSON: not a JSON object");
    }
    auto messages = parsed.find("messages");
    if (messages == parsed.end() || !messages->is_array()) {
      return absl::InvalidArgumentError(
          "Twilio message page JSON: `messages` must be an array");
    }
    MessagePage page;
    page.messages.reserve(messages->size());
    for (size_t i = 0; i < messages->size(); ++i) {
      absl::StatusOr<ProviderMessage> m = MessageFromJson((*messages)[i]);
      if (!m.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Twilio message page JSON: messages[", i, "]: ",
            m.status().message()));
      }
      page.messages.push_back(*std::move(m));
    }
    auto next = parsed.find("next_page_uri");
    if (next != parsed.end() && !next->is_null()) {
      if (!next->is_string()) {
        return absl::InvalidArgumentError(
            "Twilio message page JSON: `next_page_uri` must be a string or "
            "null");
      }
      page.next_page_uri = next->get<std::string>();
    }
    return page;
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("Twilio message page JSON: ", e.what()));
  }
}

std::string MessageToJson(const ProviderMessage& m,
                          absl::string_view account_sid) {
  const std::string uri = absl::StrCat("/", kTwilioApiVersion, "/Accounts/",
                                       account_sid, "/Messages/", m.sid);
  // nlohmann::json's default object is a std::map, so dump() emits the keys
  // sorted, which is the order Twilio uses.
  Json j = {
      {"account_sid", std::string(account_sid)},
      {"api_version", std::string(kTwilioApiVersion)},
      {"body", m.body},
      {"date_created", DateOrNull(m.date_created)},
      {"date_sent",
       m.date_sent.has_value() ? DateOrNull(*m.date_sent) : Json(nullptr)},
      {"date_updated", DateOrNull(m.date_updated)},
      {"direction", StringOrNull(m.direction)},
      {"error_code",
       m.error_code.has_value() ? Json(*m.error_code) : Json(nullptr)},
      {"error_message", StringOrNull(m.error_message)},
      {"from", StringOrNull(m.from)},
      {"messaging_service_sid", StringOrNull(m.messaging_service_sid)},
      {"num_media", std::to_string(m.num_media)},
      {"num_segments", m.num_segments.has_value()
                           ? Json(std::to_string(*m.num_segments))
                           : Json(nullptr)},
      {"price", m.price.has_value() ? Json(*m.price) : Json(nullptr)},
      {"price_unit", StringOrNull(m.price_unit)},
      {"sid", m.sid},
      {"status", m.status},
      {"subresource_uris", {{"media", absl::StrCat(uri, "/Media.json")}}},
      {"to", m.to},
      {"uri", absl::StrCat(uri, ".json")},
  };
  // Replace invalid UTF-8 instead of throwing: a body is user text.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

absl::StatusOr<ProviderError> ParseErrorJson(int http_status,
                                             absl::string_view body) {
  try {
    const Json parsed = Json::parse(body.begin(), body.end(), nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      return absl::InvalidArgumentError(
          "Twilio error JSON: not a JSON object");
    }
    ProviderError error;
    error.http_status = http_status;
    error.retryable = IsRetryableHttpStatus(http_status);
    auto code = parsed.find("code");
    if (code == parsed.end() || !code->is_number_integer()) {
      return absl::InvalidArgumentError(
          "Twilio error JSON: `code` must be an integer");
    }
    const int64_t wide = code->get<int64_t>();
    if (wide < 0 || wide > INT32_MAX) {
      return absl::InvalidArgumentError(
          "Twilio error JSON: `code` is out of range");
    }
    error.code = static_cast<int>(wide);
    auto message = parsed.find("message");
    if (message == parsed.end() || !message->is_string()) {
      return absl::InvalidArgumentError(
          "Twilio error JSON: `message` must be a string");
    }
    error.message = message->get<std::string>();
    if (auto detail = parsed.find("detail");
        detail != parsed.end() && detail->is_string() &&
        !detail->get<std::string>().empty()) {
      absl::StrAppend(&error.message, ": ", detail->get<std::string>());
    }
    if (auto more = parsed.find("more_info");
        more != parsed.end() && more->is_string()) {
      error.more_info = more->get<std::string>();
    }
    return error;
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("Twilio error JSON: ", e.what()));
  }
}

bool IsRetryableHttpStatus(int http_status) {
  return http_status == 429 || (http_status >= 500 && http_status <= 599);
}

}  // namespace smsgw::twilio
