// The rules of geo permissions (issue 18, item 1), in process: parsing
// SMSGW_ALLOWED_COUNTRIES and placing numbers in countries.
#include "server/domain/geo_permissions.h"

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/domain/phone_number.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::domain {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(ParseAllowedCountriesTest, ReadsCodesInAnyCaseAndSpacing) {
  auto parsed = ParseAllowedCountries(" us, ca ,GB");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_THAT(*parsed, ElementsAre("CA", "GB", "US"));
}

TEST(ParseAllowedCountriesTest, EmptyMeansEveryCountry) {
  auto parsed = ParseAllowedCountries("  ");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_THAT(*parsed, IsEmpty());
}

TEST(ParseAllowedCountriesTest, RefusesWhatIsNotACountryCode) {
  for (const char* bad : {"UK", "USA", "U", "1A", "XX", "US,,CA", "US,",
                          "U\xC3\xA9", "US;CA"}) {
    EXPECT_THAT(ParseAllowedCountries(bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("SMSGW_ALLOWED_COUNTRIES")))
        << bad;
  }
  EXPECT_THAT(ParseAllowedCountries("US,UK"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the United Kingdom is GB")));
}

TEST(PhoneNumberRegionTest, PlacesNumbersInTheirCountry) {
  const PhoneNumberParser phones("US");
  EXPECT_EQ(*phones.RegionOf("+14155550100"), "US");
  EXPECT_EQ(*phones.RegionOf("+16135550123"), "CA");
  EXPECT_EQ(*phones.RegionOf("+447400900001"), "GB");
  EXPECT_EQ(*phones.RegionOf("+33612345678"), "FR");
  // Fictional and test ranges fall back to their calling code's country.
  EXPECT_EQ(*phones.RegionOf("+15005550006"), "US");
  EXPECT_EQ(*phones.RegionOf("+447700900123"), "GB");
  EXPECT_THAT(phones.RegionOf("+80012345678"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no country")));
  EXPECT_THAT(phones.RegionOf("4155550100"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(GeoPermissionsTest, AllowsListedCountriesOnly) {
  const PhoneNumberParser phones("US");
  const GeoPermissions geo({"CA", "US"}, &phones);
  std::string country;
  EXPECT_THAT(geo.CheckDestination("+14155550100", &country), IsOk());
  EXPECT_EQ(country, "");
  EXPECT_THAT(geo.CheckDestination("+16135550123", nullptr), IsOk());
  absl::Status refused = geo.CheckDestination("+447400900001", &country);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kFailedPrecondition,
                                HasSubstr("is in GB, which "
                                          "SMSGW_ALLOWED_COUNTRIES (CA,US) "
                                          "does not allow")));
  EXPECT_EQ(country, "GB");
  // The number itself is masked in the message.
  EXPECT_THAT(std::string(refused.message()),
              ::testing::Not(HasSubstr("+447400900001")));
  // A number in no country is refused whenever a list is set.
  EXPECT_THAT(geo.CheckDestination("+80012345678", &country),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("in no country")));
  EXPECT_EQ(country, "");
}

TEST(GeoPermissionsTest, EmptyListAllowsEverywhere) {
  const PhoneNumberParser phones("US");
  const GeoPermissions geo({}, &phones);
  EXPECT_TRUE(geo.allows_all());
  EXPECT_THAT(geo.CheckDestination("+447400900001", nullptr), IsOk());
  EXPECT_THAT(geo.CheckDestination("+80012345678", nullptr), IsOk());
}

TEST(PhoneNumberTypeTest, NamesTheKindsPumpingUses) {
  const PhoneNumberParser phones("US");
  EXPECT_EQ(*phones.TypeOf("+447400900001"), NumberType::kMobile);
  EXPECT_EQ(*phones.TypeOf("+14155550100"), NumberType::kMobile);
  EXPECT_EQ(*phones.TypeOf("+19005550100"), NumberType::kPremiumRate);
  EXPECT_EQ(*phones.TypeOf("+449090901234"), NumberType::kPremiumRate);
  EXPECT_EQ(*phones.TypeOf("+33884012345"), NumberType::kSharedCost);
  EXPECT_EQ(*phones.TypeOf("+18005550100"), NumberType::kTollFree);
  EXPECT_EQ(*phones.TypeOf("+447700900123"), NumberType::kUnknown);
  EXPECT_EQ(NumberTypeName(NumberType::kPremiumRate), "premium-rate");
  EXPECT_THAT(phones.TypeOf("+1"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace smsgw::domain
