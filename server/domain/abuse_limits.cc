#include "server/domain/abuse_limits.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace smsgw::domain {
namespace {

constexpr absl::Duration kMaxWindow = absl::Hours(24 * 31);
constexpr absl::Duration kHour = absl::Hours(1);

// How a window reads in a message: "hour" for 1h, else "30m", "2h".
std::string WindowText(absl::Duration window) {
  return window == kHour ? std::string("hour") : absl::FormatDuration(window);
}

}  // namespace

absl::Status RateLimitedError(absl::string_view what, int64_t max,
                              absl::Duration window, absl::Time retry,
                              absl::Time now) {
  const int64_t seconds =
      std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(
                               retry - now, absl::Seconds(1))));
  return absl::ResourceExhaustedError(absl::StrCat(
      what, ": at most ", max, " per ", WindowText(window), "; retry in ",
      seconds, " s (after ",
      absl::FormatTime(absl::RFC3339_sec, retry, absl::UTCTimeZone()), ")"));
}

// --- SignupThrottle ---

absl::Status SignupThrottle::Validate(const Options& options) {
  if (options.window <= absl::ZeroDuration() || options.window > kMaxWindow) {
    return absl::InvalidArgumentError(
        "SMSGW_SIGNUP_WINDOW must be a duration within (0, 744h], e.g. 1h");
  }
  if (options.per_peer < 1) {
    return absl::InvalidArgumentError(
        "SMSGW_SIGNUP_PEER_MAX must be at least 1");
  }
  if (options.total < 1) {
    return absl::InvalidArgumentError("SMSGW_SIGNUP_MAX must be at least 1");
  }
  return absl::OkStatus();
}

SignupThrottle::SignupThrottle(storage::RateLimitStore* store, Clock* clock,
                               Options options)
    : store_(store), clock_(clock), options_(std::move(options)) {}

absl::Status SignupThrottle::Admit(absl::string_view peer) {
  std::vector<storage::RateLimit> limits;
  limits.push_back({"signup/all", options_.total, options_.window});
  if (!peer.empty()) {
    limits.push_back({absl::StrCat("signup/peer/", peer.substr(0, 150)),
                      options_.per_peer, options_.window});
  }
  const absl::Time now = clock_->Now();
  SMSGW_ASSIGN_OR_RETURN(storage::Admission admission,
                         store_->Admit(limits, now));
  if (admission.admitted) return absl::OkStatus();
  const bool total = admission.limit_index == 0;
  SMSGW_LOG(kWarning) << "sign-up refused (throttled) peer=" << peer
                      << " limit=" << limits[admission.limit_index].key;
  return RateLimitedError(
      total ? "too many sign-ups on this server"
            : "too many sign-ups from your address",
      limits[admission.limit_index].max_events, options_.window,
      admission.retry_time, now);
}

// --- VerificationGuard ---

absl::Status VerificationGuard::Validate(const Options& options) {
  if (options.per_prefix < 1) {
    return absl::InvalidArgumentError(
        "SMSGW_VERIFY_MAX_PER_PREFIX_PER_HOUR must be at least 1");
  }
  if (options.per_country < 1) {
    return absl::InvalidArgumentError(
        "SMSGW_VERIFY_MAX_PER_COUNTRY_PER_HOUR must be at least 1");
  }
  if (options.total < 1) {
    return absl::InvalidArgumentError(
        "SMSGW_VERIFY_MAX_PER_HOUR must be at least 1");
  }
  if (options.prefix_digits < 1 || options.prefix_digits > 15) {
    return absl::InvalidArgumentError(
        "verification prefix length must be 1 to 15 digits");
  }
  return absl::OkStatus();
}

VerificationGuard::VerificationGuard(storage::RateLimitStore* store,
                                     const PhoneNumberParser* phones,
                                     Clock* clock, Options options)
    : store_(store),
      phones_(phones),
      clock_(clock),
      options_(std::move(options)) {}

absl::Status VerificationGuard::Admit(absl::string_view e164) {
  SMSGW_ASSIGN_OR_RETURN(NumberType type, phones_->TypeOf(e164));
  if (type == NumberType::kPremiumRate || type == NumberType::kSharedCost ||
      type == NumberType::kUnknown) {
    SMSGW_LOG(kWarning) << "verification refused: " << MaskPhoneNumber(e164)
                        << " is a " << NumberTypeName(type) << " number";
    return absl::FailedPreconditionError(absl::StrCat(
        "phone_number: ", MaskPhoneNumber(e164), " is a ",
        NumberTypeName(type),
        type == NumberType::kUnknown ? " (unallocated) number" : " number",
        "; verification codes go to mobile and fixed-line numbers only"));
  }
  // "+447400" for the first 6 digits: what pumping operators rent is a
  // range, so many numbers of one prefix in an hour is the signal.
  const std::string prefix(
      e164.substr(0, 1 + static_cast<size_t>(options_.prefix_digits)));
  absl::StatusOr<std::string> country = phones_->RegionOf(e164);
  // Each limit with the sentence that refuses it.
  std::vector<storage::RateLimit> limits = {
      {"verify/all", options_.total, kHour},
      {absl::StrCat("verify/prefix/", prefix), options_.per_prefix, kHour},
  };
  std::vector<std::string> refusals = {
      "too many verification codes on this server",
      absl::StrCat(
          "too many verification codes to numbers starting with this prefix ",
          prefix),
  };
  if (country.ok()) {
    limits.push_back(
        {absl::StrCat("verify/country/", *country), options_.per_country,
         kHour});
    refusals.push_back(absl::StrCat(
        "too many verification codes to this country (", *country, ")"));
  }
  const absl::Time now = clock_->Now();
  SMSGW_ASSIGN_OR_RETURN(storage::Admission admission,
                         store_->Admit(limits, now));
  if (admission.admitted) return absl::OkStatus();
  const storage::RateLimit& full = limits[admission.limit_index];
  SMSGW_LOG(kWarning) << "verification refused (pumping guard) prefix="
                      << prefix << " country="
                      << (country.ok() ? *country : std::string("?"))
                      << " limit=" << full.key;
  return RateLimitedError(refusals[admission.limit_index], full.max_events,
                          kHour, admission.retry_time, now);
}

}  // namespace smsgw::domain
