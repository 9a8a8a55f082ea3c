#include "server/domain/quiet_hours.h"

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace smsgw::domain {
namespace {

constexpr char kFormat[] = "expected HH:MM-HH:MM like 21:00-08:00";

// "HH:MM" -> minutes after midnight.
std::optional<int> ParseClock(absl::string_view text) {
  if (text.size() != 5 || text[2] != ':' || !absl::ascii_isdigit(text[0]) ||
      !absl::ascii_isdigit(text[1]) || !absl::ascii_isdigit(text[3]) ||
      !absl::ascii_isdigit(text[4])) {
    return std::nullopt;
  }
  int hour = 0;
  int minute = 0;
  if (!absl::SimpleAtoi(text.substr(0, 2), &hour) ||
      !absl::SimpleAtoi(text.substr(3, 2), &minute) || hour > 23 ||
      minute > 59) {
    return std::nullopt;
  }
  return hour * 60 + minute;
}

int MinuteOfDay(const absl::CivilSecond& cs) {
  return cs.hour() * 60 + cs.minute();
}

// The first instant after `t` at which `zone`'s wall clock reads the window's
// end, for a `t` inside the window.
absl::Time WindowEnd(const QuietHours& hours, absl::TimeZone zone,
                     absl::Time t) {
  const absl::CivilSecond local = zone.At(t).cs;
  absl::CivilDay day(local);
  // A wrapping window entered before midnight ends tomorrow.
  if (hours.start_minute > hours.end_minute &&
      MinuteOfDay(local) >= hours.start_minute) {
    ++day;
  }
  const absl::CivilMinute end(day.year(), day.month(), day.day(),
                              hours.end_minute / 60, hours.end_minute % 60);
  const absl::TimeZone::TimeInfo info = zone.At(end);
  switch (info.kind) {
    case absl::TimeZone::TimeInfo::SKIPPED:
      return info.trans;  // the clock jumps over the end at the transition
    case absl::TimeZone::TimeInfo::REPEATED:
      // Inside the repeated hour after its first pass, the end is still ahead.
      return info.pre > t ? info.pre : info.post;
    case absl::TimeZone::TimeInfo::UNIQUE:
      break;
  }
  return info.pre;
}

}  // namespace

absl::StatusOr<QuietHours> ParseQuietHours(absl::string_view text) {
  const size_t dash = text.find('-');
  if (dash == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text.substr(0, 32), "\": ", kFormat));
  }
  const std::optional<int> start = ParseClock(text.substr(0, dash));
  const std::optional<int> end = ParseClock(text.substr(dash + 1));
  if (!start.has_value() || !end.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text.substr(0, 32), "\": ", kFormat,
                     " (hours 00-23, minutes 00-59)"));
  }
  if (*start == *end) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text, "\": start and end are equal, so the window is empty"));
  }
  return QuietHours{*start, *end};
}

bool InQuietHours(const QuietHours& hours, absl::TimeZone zone, absl::Time t) {
  const int m = MinuteOfDay(zone.At(t).cs);
  if (hours.start_minute < hours.end_minute) {
    return m >= hours.start_minute && m < hours.end_minute;
  }
  return m >= hours.start_minute || m < hours.end_minute;
}

absl::Time NextAllowedTime(const QuietHours& hours,
                           const std::vector<absl::TimeZone>& zones,
                           absl::Time now, absl::TimeZone fallback) {
  if (zones.empty()) return NextAllowedTime(hours, {fallback}, now, fallback);
  // Every instant skipped lies inside some zone's window (the one whose end
  // was taken), so the first instant found is the earliest allowed one. If
  // the zones' allowed hours overlap at all, that happens within a day plus
  // one window.
  const absl::Time horizon = now + absl::Hours(48);
  absl::Time t = now;
  while (t < horizon) {
    absl::Time latest_end = t;
    for (const absl::TimeZone& zone : zones) {
      if (InQuietHours(hours, zone, t)) {
        latest_end = std::max(latest_end, WindowEnd(hours, zone, t));
      }
    }
    if (latest_end == t) return t;
    t = latest_end;
  }
  return NextAllowedTime(hours, {fallback}, now, fallback);
}

}  // namespace smsgw::domain
