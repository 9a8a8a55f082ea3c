// File: rate_limiter.h
//
// Per-sender pacing of provider calls (issue "Durable dispatch"). Carriers
// and Twilio accept only so many segments per second per sender: a US long
// code 1 segment/s, toll-free 3/s, a short code 100/s (twilio-reference.md
// §8). Twilio queues the excess for up to 10 hours and then fails it (30001);
// pacing here keeps that queue in our store, where it survives, can be
// watched and canceled, and where a backlog bound can refuse work early.
//
// The limiter is a token bucket per sender, implemented as GCRA (a
// "theoretical arrival time" per bucket): Reserve() never blocks, it answers
// the earliest instant at which the caller may send, and books the tokens.
// Reservations are granted in call order, so messages of one sender that are
// reserved in order also go out in order.
#ifndef SMSGW_SERVER_DISPATCH_RATE_LIMITER_H_
#define SMSGW_SERVER_DISPATCH_RATE_LIMITER_H_

#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace smsgw::dispatch {

// The default rate, in segments per second, of a sender by its kind
// (twilio-reference.md §8): US/CA toll-free (+1 800/833/844/855/866/877/888)
// 3; other E.164 numbers (long codes) 1; short codes (5-6 digits) 100;
// alphanumeric sender IDs 10; Messaging Service SIDs ("MG…", whose pool is
// unknown to us) 1, the safe long-code figure.
double DefaultSenderRate(absl::string_view sender);

// Parses SMSGW_SENDER_RATES: comma-separated `sender=rate` pairs, e.g.
// "+15005550006=1,+18005550100=3"; spaces around items are ignored; an empty
// string is an empty map. Rates are segments per second, > 0 and ≤ 10000.
// InvalidArgument naming the bad item (missing '=', empty sender, a rate that
// is not a positive number, a sender given twice).
absl::StatusOr<std::map<std::string, double>> ParseSenderRates(
    absl::string_view spec);

// Thread-safe. `clock` is not owned and must outlive the limiter.
class RateLimiter {
 public:
  struct Options {
    // Rates that override DefaultSenderRate(), by sender (E.164, short code,
    // sender ID or MG SID exactly as stored in Message::our_number).
    std::map<std::string, double> sender_rates;
    // SMSGW_GLOBAL_RATE: segments per second over all senders (the account's
    // own cap); 0 = none.
    double global_rate = 0;
    // How long a bucket fills up when idle: an idle sender may send
    // burst × rate segments at once (at least one segment).
    absl::Duration burst = absl::Seconds(1);
  };

  RateLimiter(Clock* clock, Options options);

  // Segments per second allowed for `sender`.
  double RateFor(absl::string_view sender) const;

  // Books `segments` tokens (values < 1 count as 1: an MMS is still a
  // request) of `sender` and of the global bucket, and returns when they may
  // be spent: Now() when tokens are available, a later instant otherwise.
  // The booking is made at once, so the next call queues behind it.
  absl::Time Reserve(absl::string_view sender, int segments);

  // Books like Reserve() only when the tokens are available now (the sender's
  // and the global bucket's); returns whether it booked. Nothing changes when
  // it returns false.
  bool TryReserveNow(absl::string_view sender, int segments);

  // When `segments` tokens of `sender` (and of the global bucket) would be
  // available, without booking them: Now() or a later instant.
  absl::Time EarliestAt(absl::string_view sender, int segments);

  // Empties every bucket, those not seen yet included, as of Now(): they
  // refill at their rate from here. A replica that takes over the dispatch
  // lease calls it before its first send (Dispatcher::Start with claims): it
  // cannot know what the last holder sent in its final second, and full
  // buckets would add a burst on top of that (issue 13: pacing holds across
  // the cluster). The cost is one interval (1 s at a long code's 1
  // segment/s) before each sender's first send after the takeover.
  void EmptyBuckets();

 private:
  // GCRA: books `tokens` on a bucket of `rate` whose theoretical arrival
  // time is `*tat`, no earlier than `not_before`; returns the send instant.
  absl::Time Book(absl::Time* tat, double rate, double tokens,
                  absl::Time not_before) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reserve()'s booking on copies of the buckets: the send instant and the
  // buckets' new states, for the caller to keep or drop.
  absl::Time BookLocked(absl::string_view sender, double tokens,
                        absl::Time now, absl::Time* sender_tat,
                        absl::Time* global_tat) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // BookLocked() of `segments` (at least 1) on copies of the buckets,
  // loaded into `*sender_tat` and `*global_tat`: nothing is kept until the
  // caller stores them back.
  absl::Time BookOnCopiesLocked(absl::string_view sender, int segments,
                                absl::Time now, absl::Time* sender_tat,
                                absl::Time* global_tat)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock* clock_;
  const Options options_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, absl::Time> sender_tat_ ABSL_GUARDED_BY(mu_);
  absl::Time global_tat_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Set by EmptyBuckets(): no bucket holds tokens booked before this instant.
  absl::Time emptied_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace smsgw::dispatch

#endif  // SMSGW_SERVER_DISPATCH_RATE_LIMITER_H_
