// File: simulator_wire.cc
//
// The simulator's wire helpers (simulator_internal.h): JSON answers, webhook
// URLs, request bodies. Form encoding, the Message resource and RFC 2822
// dates are server/twilio's (form_encoding.h, message_json.h); segments are
// the domain's (segments.h).
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "httplib.h"
#include "server/domain/segments.h"
#include "server/simulator/simulator_internal.h"

namespace smsgw::twilio::simulator_internal {

absl::Time NowSeconds() {
  return absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
}

bool IsHttpUrl(absl::string_view s) {
  absl::string_view rest;
  if (absl::StartsWithIgnoreCase(s, "http://")) {
    rest = s.substr(7);
  } else if (absl::StartsWithIgnoreCase(s, "https://")) {
    rest = s.substr(8);
  } else {
    return false;
  }
  if (rest.empty() || rest[0] == '/' || rest[0] == '?' || rest[0] == '#') {
    return false;
  }
  for (char c : s) {
    if (static_cast<unsigned char>(c) <= ' ') return false;
  }
  return true;
}

absl::StatusOr<WebhookTarget> SplitWebhookUrl(absl::string_view url) {
  if (!IsHttpUrl(url)) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an http(s) URL: \"", url, "\""));
  }
  absl::string_view no_fragment = url.substr(0, url.find('#'));
  size_t scheme_end = no_fragment.find("://") + 3;
  size_t authority_end = no_fragment.find_first_of("/?", scheme_end);
  if (authority_end == absl::string_view::npos) {
    authority_end = no_fragment.size();
  }
  WebhookTarget target;
  target.origin = std::string(no_fragment.substr(0, authority_end));
  target.path = std::string(no_fragment.substr(authority_end));
  if (target.path.empty() || target.path[0] == '?') {
    target.path = absl::StrCat("/", target.path);
  }
  target.signed_url = std::string(no_fragment);
  return target;
}

absl::StatusOr<BodyMeasure> MeasureBody(absl::string_view body) {
  absl::StatusOr<domain::SegmentInfo> info = domain::CountSegments(body);
  if (!info.ok()) return info.status();
  return BodyMeasure{static_cast<int>(info->length),
                     static_cast<int>(info->segments)};
}

int SegmentsOf(absl::string_view body) {
  absl::StatusOr<BodyMeasure> measure = MeasureBody(body);
  return measure.ok() ? measure->segments : 0;
}

Json ErrorJson(int code, absl::string_view message, int http_status) {
  return Json{
      {"code", code},
      {"message", std::string(message)},
      {"more_info", absl::StrCat("https://www.twilio.com/docs/errors/", code)},
      {"status", http_status}};
}

void SetJson(httplib::Response& res, int http_status, const Json& body) {
  SetJsonText(res, http_status,
              body.dump(-1, ' ', false, Json::error_handler_t::replace));
}

void SetJsonText(httplib::Response& res, int http_status, std::string body) {
  res.status = http_status;
  res.set_content(std::move(body), "application/json");
}

void SetError(httplib::Response& res, int http_status, int code,
              absl::string_view message) {
  SetJson(res, http_status, ErrorJson(code, message, http_status));
}

void SetNotFound(httplib::Response& res, absl::string_view path) {
  SetError(res, 404, 20404,
           absl::StrCat("The requested resource ", path, " was not found"));
}

void SetControlError(httplib::Response& res, int http_status,
                     absl::string_view reason) {
  SetJson(res, http_status, Json{{"error", std::string(reason)}});
}

std::string Quoted(absl::string_view s) {
  return absl::StrCat("\"", absl::CHexEscape(s), "\"");
}

std::string ValueOr(const FormParams& params, absl::string_view name) {
  return FormValue(params, name).value_or("");
}

std::optional<std::string> ReadBody(const httplib::ContentReader& reader,
                                    httplib::Response& res) {
  std::string body;
  bool ok = reader([&body](const char* data, size_t length) {
    body.append(data, length);
    return body.size() <= kMaxRequestBytes;
  });
  if (!ok) {
    SetJson(res, 413,
            Json{{"code", 413},
                 {"message", "Request body too large"},
                 {"more_info",
                  "https://www.twilio.com/docs/usage/requests-to-twilio"},
                 {"status", 413}});
    return std::nullopt;
  }
  return body;
}

}  // namespace smsgw::twilio::simulator_internal
