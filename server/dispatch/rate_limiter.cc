#include "server/dispatch/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace smsgw::dispatch {
namespace {

constexpr double kMaxRate = 10000;

bool AllDigits(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c));
  });
}

}  // namespace

double DefaultSenderRate(absl::string_view sender) {
  if (absl::StartsWith(sender, "+")) {
    absl::string_view digits = sender.substr(1);
    if (absl::StartsWith(digits, "1") && digits.size() == 11) {
      const absl::string_view npa = digits.substr(1, 3);
      for (absl::string_view toll_free :
           {"800", "833", "844", "855", "866", "877", "888"}) {
        if (npa == toll_free) return 3;
      }
    }
    return 1;
  }
  if (AllDigits(sender) && sender.size() >= 5 && sender.size() <= 6) {
    return 100;
  }
  if (absl::StartsWith(sender, "MG")) return 1;
  return 10;  // alphanumeric sender ID
}

absl::StatusOr<std::map<std::string, double>> ParseSenderRates(
    absl::string_view spec) {
  std::map<std::string, double> rates;
  if (absl::StripAsciiWhitespace(spec).empty()) return rates;
  for (absl::string_view item : absl::StrSplit(spec, ',')) {
    item = absl::StripAsciiWhitespace(item);
    const size_t eq = item.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "SMSGW_SENDER_RATES: \"", item, "\" is not sender=rate"));
    }
    const std::string sender(absl::StripAsciiWhitespace(item.substr(0, eq)));
    const absl::string_view rate_text =
        absl::StripAsciiWhitespace(item.substr(eq + 1));
    if (sender.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "SMSGW_SENDER_RATES: \"", item, "\" has no sender"));
    }
    double rate = 0;
    if (!absl::SimpleAtod(rate_text, &rate) || !std::isfinite(rate) ||
        rate <= 0 || rate > kMaxRate) {
      return absl::InvalidArgumentError(absl::StrCat(
          "SMSGW_SENDER_RATES: rate of ", sender, " must be a number of "
          "segments per second above 0 and at most 10000, not \"",
          rate_text, "\""));
    }
    if (!rates.emplace(sender, rate).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "SMSGW_SENDER_RATES: ", sender, " is given twice"));
    }
  }
  return rates;
}

RateLimiter::RateLimiter(Clock* clock, Options options)
    : clock_(clock), options_(std::move(options)) {}

double RateLimiter::RateFor(absl::string_view sender) const {
  auto it = options_.sender_rates.find(std::string(sender));
  return it != options_.sender_rates.end() ? it->second
                                           : DefaultSenderRate(sender);
}

absl::Time RateLimiter::Book(absl::Time* tat, double rate, double tokens,
                             absl::Time not_before) const {
  const absl::Duration interval = absl::Seconds(1) / rate;
  // The bucket holds burst × rate tokens, and at least one.
  const absl::Duration tolerance =
      std::max(options_.burst, interval);
  // An emptied bucket's arrival time is at least a full bucket ahead of the
  // instant it was emptied: its tokens come back at `rate` from there.
  // (Never emptied: InfinitePast() + tolerance stays InfinitePast().)
  const absl::Time start =
      std::max({*tat, not_before, emptied_at_ + tolerance});
  *tat = start + interval * tokens;
  return std::max(not_before, *tat - tolerance);
}

absl::Time RateLimiter::BookLocked(absl::string_view sender, double tokens,
                                   absl::Time now, absl::Time* sender_tat,
                                   absl::Time* global_tat) {
  absl::Time at = Book(sender_tat, RateFor(sender), tokens, now);
  if (options_.global_rate > 0) {
    const absl::Time global_at =
        Book(global_tat, options_.global_rate, tokens, at);
    if (global_at > at) {
      // The sender waits for the global bucket: its own schedule moves too,
      // so its next message cannot overtake this one.
      *sender_tat += global_at - at;
      at = global_at;
    }
  }
  return at;
}

absl::Time RateLimiter::Reserve(absl::string_view sender, int segments) {
  const double tokens = std::max(segments, 1);
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  auto [it, inserted] =
      sender_tat_.try_emplace(std::string(sender), absl::InfinitePast());
  return BookLocked(sender, tokens, now, &it->second, &global_tat_);
}

absl::Time RateLimiter::BookOnCopiesLocked(absl::string_view sender,
                                           int segments, absl::Time now,
                                           absl::Time* sender_tat,
                                           absl::Time* global_tat) {
  auto it = sender_tat_.find(sender);
  *sender_tat = it != sender_tat_.end() ? it->second : absl::InfinitePast();
  *global_tat = global_tat_;
  return BookLocked(sender, std::max(segments, 1), now, sender_tat,
                    global_tat);
}

bool RateLimiter::TryReserveNow(absl::string_view sender, int segments) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  absl::Time sender_tat, global_tat;
  if (BookOnCopiesLocked(sender, segments, now, &sender_tat, &global_tat) >
      now) {
    return false;
  }
  sender_tat_.insert_or_assign(std::string(sender), sender_tat);
  global_tat_ = global_tat;
  return true;
}

absl::Time RateLimiter::EarliestAt(absl::string_view sender, int segments) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  absl::Time sender_tat, global_tat;
  return BookOnCopiesLocked(sender, segments, now, &sender_tat, &global_tat);
}

void RateLimiter::EmptyBuckets() {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  emptied_at_ = now;
}

}  // namespace smsgw::dispatch
