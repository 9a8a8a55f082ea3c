#include "server/domain/quiet_hours.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/domain/number_time_zones.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::domain {
namespace {

using ::testing::ElementsAre;

absl::TimeZone Zone(const char* name) {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone(name, &zone)) << name;
  return zone;
}

absl::Time Utc(int y, int mo, int d, int h, int mi) {
  return absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi),
                         absl::UTCTimeZone());
}

std::string Rfc(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
}

TEST(QuietHoursTest, ParsesWindows) {
  const struct {
    const char* text;
    int start;
    int end;
  } cases[] = {
      {"21:00-08:00", 21 * 60, 8 * 60},
      {"00:00-06:30", 0, 6 * 60 + 30},
      {"12:15-13:45", 12 * 60 + 15, 13 * 60 + 45},
      {"23:59-00:00", 23 * 60 + 59, 0},
  };
  for (const auto& c : cases) {
    absl::StatusOr<QuietHours> hours = ParseQuietHours(c.text);
    ASSERT_THAT(hours, testing::IsOk()) << c.text;
    EXPECT_EQ(hours->start_minute, c.start) << c.text;
    EXPECT_EQ(hours->end_minute, c.end) << c.text;
  }
}

TEST(QuietHoursTest, RefusesMalformedWindows) {
  const struct {
    const char* text;
    const char* why;
  } cases[] = {
      {"", "HH:MM-HH:MM"},
      {"21:00", "HH:MM-HH:MM"},
      {"21:00-", "HH:MM-HH:MM"},
      {"-08:00", "HH:MM-HH:MM"},
      {"9:00-17:00", "HH:MM-HH:MM"},
      {"21:00 - 08:00", "HH:MM-HH:MM"},
      {"24:00-08:00", "hours 00-23"},
      {"21:60-08:00", "minutes 00-59"},
      {"21:00-08:00-09:00", "HH:MM-HH:MM"},
      {"ab:cd-08:00", "HH:MM-HH:MM"},
      {"+1:00-08:00", "HH:MM-HH:MM"},
      {"2100-0800", "HH:MM-HH:MM"},
      {"08:00-08:00", "window is empty"},
  };
  for (const auto& c : cases) {
    EXPECT_THAT(ParseQuietHours(c.text),
                testing::StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr(c.why)))
        << '"' << c.text << '"';
  }
}

TEST(QuietHoursTest, NumberPrefixesMapToTheirZones) {
  EXPECT_THAT(TimeZoneNamesForNumber("+14155550100"),
              ElementsAre("America/Los_Angeles"));
  EXPECT_THAT(TimeZoneNamesForNumber("+12125550100"),
              ElementsAre("America/New_York"));
  // Idaho's 208 2 block spans Mountain and Pacific time.
  EXPECT_THAT(TimeZoneNamesForNumber("+12082123456"),
              ElementsAre("America/Boise", "America/Los_Angeles"));
  // The longer prefix 1208201 wins over 12082.
  EXPECT_THAT(TimeZoneNamesForNumber("+12082015678"),
              ElementsAre("America/Denver"));
  EXPECT_THAT(TimeZoneNamesForNumber("+447700900123"),
              ElementsAre("Europe/Guernsey", "Europe/Isle_of_Man",
                          "Europe/London"));
  EXPECT_TRUE(TimeZoneNamesForNumber("+999123").empty());
  EXPECT_TRUE(TimeZoneNamesForNumber("").empty());
  EXPECT_EQ(TimeZonesForNumber("+12082123456").size(), 2u);
}

struct NextCase {
  const char* what;
  std::vector<const char*> zones;  // empty: an unknown number
  absl::Time now;
  absl::Time want;
};

TEST(QuietHoursTest, NextAllowedTimeIsTheLatestWindowEndAmongQuietZones) {
  const QuietHours night = *ParseQuietHours("21:00-08:00");
  // The server's zone for unknown numbers in these cases.
  const absl::TimeZone server = Zone("Europe/Berlin");
  const NextCase cases[] = {
      // Los Angeles is UTC-8 in January.
      {"afternoon in LA is allowed", {"America/Los_Angeles"},
       Utc(2026, 1, 15, 22, 0), Utc(2026, 1, 15, 22, 0)},
      {"23:00 in LA waits for 08:00 the next day", {"America/Los_Angeles"},
       Utc(2026, 1, 16, 7, 0), Utc(2026, 1, 16, 16, 0)},
      {"02:00 in LA, after midnight, waits for 08:00 the same day",
       {"America/Los_Angeles"}, Utc(2026, 1, 16, 10, 0),
       Utc(2026, 1, 16, 16, 0)},
      {"21:00 sharp is quiet", {"America/Los_Angeles"},
       Utc(2026, 1, 16, 5, 0), Utc(2026, 1, 16, 16, 0)},
      {"08:00 sharp is allowed", {"America/Los_Angeles"},
       Utc(2026, 1, 16, 16, 0), Utc(2026, 1, 16, 16, 0)},
      {"New York, one zone", {"America/New_York"}, Utc(2026, 1, 16, 3, 0),
       Utc(2026, 1, 16, 13, 0)},
      // 21:30 in Denver (UTC-7) is quiet, 20:30 in LA is not; but LA's
      // quiet hours start before Denver's end (08:00 Denver = 07:00 LA), so
      // the message waits for 08:00 LA: the latest end, found on a second
      // pass.
      {"two zones, quiet starting in the second before the first ends",
       {"America/Denver", "America/Los_Angeles"}, Utc(2026, 1, 16, 4, 30),
       Utc(2026, 1, 16, 16, 0)},
      // 08:30 in Denver is allowed, 07:30 in LA is not.
      {"two zones, only the western one quiet",
       {"America/Denver", "America/Los_Angeles"}, Utc(2026, 1, 16, 15, 30),
       Utc(2026, 1, 16, 16, 0)},
      // 07:30 in New York (UTC-5) is quiet until 08:00 there, but LA is
      // 04:30 and quiet until 08:00 LA = 16:00Z: the later end wins.
      {"two zones, the western end is later",
       {"America/New_York", "America/Los_Angeles"}, Utc(2026, 1, 16, 12, 30),
       Utc(2026, 1, 16, 16, 0)},
      // Listed the other way round, the answer is the same.
      {"zone order does not matter",
       {"America/Los_Angeles", "America/New_York"}, Utc(2026, 1, 16, 12, 30),
       Utc(2026, 1, 16, 16, 0)},
      // 20:30 in New York, 17:30 in LA.
      {"two zones, neither quiet", {"America/New_York", "America/Los_Angeles"},
       Utc(2026, 1, 16, 1, 30), Utc(2026, 1, 16, 1, 30)},
      // Berlin is UTC+1 in January: 23:00 there.
      {"unknown number uses the server's zone", {}, Utc(2026, 1, 15, 22, 0),
       Utc(2026, 1, 16, 7, 0)},
      // US DST starts 2026-03-08 at 02:00 local: 08:00 that morning is
      // UTC-4, nine hours after 23:00 UTC-5, not ten.
      {"spring-forward night is an hour shorter", {"America/New_York"},
       Utc(2026, 3, 8, 4, 0), Utc(2026, 3, 8, 12, 0)},
      // DST ends 2026-11-01 at 02:00 local: 08:00 is UTC-5 again.
      {"fall-back night is an hour longer", {"America/New_York"},
       Utc(2026, 11, 1, 3, 0), Utc(2026, 11, 1, 13, 0)},
  };
  for (const NextCase& c : cases) {
    std::vector<absl::TimeZone> zones;
    for (const char* name : c.zones) zones.push_back(Zone(name));
    EXPECT_EQ(Rfc(NextAllowedTime(night, zones, c.now, server)), Rfc(c.want))
        << c.what;
  }
}

TEST(QuietHoursTest, ZonesThatAreNeverAllAwakeFallBackToTheServerZone) {
  // 14 quiet hours leave 10 awake; Kolkata (UTC+5:30) and Los Angeles
  // (UTC-8 in January) are 10.5 hours apart on the clock, so their awake
  // hours never overlap.
  const QuietHours long_night = *ParseQuietHours("20:00-10:00");
  const std::vector<absl::TimeZone> zones = {Zone("Asia/Kolkata"),
                                             Zone("America/Los_Angeles")};
  // 10:00 in Berlin (UTC+1) is awake.
  EXPECT_EQ(Rfc(NextAllowedTime(long_night, zones, Utc(2026, 1, 15, 9, 0),
                                Zone("Europe/Berlin"))),
            Rfc(Utc(2026, 1, 15, 9, 0)));
  // 21:00 in Berlin waits for 10:00 there.
  EXPECT_EQ(Rfc(NextAllowedTime(long_night, zones, Utc(2026, 1, 15, 20, 0),
                                Zone("Europe/Berlin"))),
            Rfc(Utc(2026, 1, 16, 9, 0)));
}

TEST(QuietHoursTest, WindowEndsOnDaylightSavingTransitions) {
  const absl::TimeZone ny = Zone("America/New_York");
  // 02:30 does not exist on 2026-03-08 in New York: the window ends when
  // the clock jumps from 02:00 EST to 03:00 EDT (07:00Z).
  const QuietHours to_skipped = *ParseQuietHours("00:00-02:30");
  EXPECT_EQ(Rfc(NextAllowedTime(to_skipped, {ny}, Utc(2026, 3, 8, 6, 0), ny)),
            Rfc(Utc(2026, 3, 8, 7, 0)));
  // 01:30 happens twice on 2026-11-01: inside the first 01:00-01:30 the end
  // is the first 01:30 (05:30Z); inside the repeated hour it is the second
  // one (06:30Z).
  const QuietHours to_repeated = *ParseQuietHours("00:00-01:30");
  EXPECT_EQ(
      Rfc(NextAllowedTime(to_repeated, {ny}, Utc(2026, 11, 1, 5, 10), ny)),
      Rfc(Utc(2026, 11, 1, 5, 30)));
  EXPECT_EQ(
      Rfc(NextAllowedTime(to_repeated, {ny}, Utc(2026, 11, 1, 6, 10), ny)),
      Rfc(Utc(2026, 11, 1, 6, 30)));
}

TEST(QuietHoursTest, DaytimeWindowDoesNotWrap) {
  const QuietHours lunch = *ParseQuietHours("12:00-13:00");
  const absl::TimeZone utc = absl::UTCTimeZone();
  EXPECT_FALSE(InQuietHours(lunch, utc, Utc(2026, 1, 1, 11, 59)));
  EXPECT_TRUE(InQuietHours(lunch, utc, Utc(2026, 1, 1, 12, 0)));
  EXPECT_FALSE(InQuietHours(lunch, utc, Utc(2026, 1, 1, 13, 0)));
  EXPECT_FALSE(InQuietHours(lunch, utc, Utc(2026, 1, 1, 23, 0)));
  EXPECT_EQ(Rfc(NextAllowedTime(lunch, {utc}, Utc(2026, 1, 1, 12, 30), utc)),
            Rfc(Utc(2026, 1, 1, 13, 0)));
}

}  // namespace
}  // namespace smsgw::domain
