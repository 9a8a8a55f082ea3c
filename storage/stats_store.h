// File: stats_store.h
//
// The StatsStore port of the message store (issue 13). message_store.h says how
// the ports join into MessageStore and how writes that span concerns stay
// one transaction; a component takes only the ports it uses.
#ifndef SMSGW_STORAGE_STATS_STORE_H_
#define SMSGW_STORAGE_STATS_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/message_stats.h"
#include "storage/message_types.h"

namespace smsgw::storage {

// Per-owner message statistics (GetMessageStats).
// Implementations are thread-safe.
class StatsStore {
 public:
  virtual ~StatsStore() = default;

  // `owner_id`'s messages (both directions) with create_time in
  // [start, end), counted by current status, by UTC day of create_time and
  // by direction, with the outbound messages' segments and the provider's
  // prices summed per price_unit (messages without a price are left out of
  // the sums). All figures come from one consistent snapshot, so they agree
  // with each other even while status callbacks are being applied.
  // absl::InfinitePast() / InfiniteFuture() are open bounds.
  // InvalidArgument when start > end; an empty window (start == end) counts
  // nothing.
  virtual absl::StatusOr<MessageStats> Stats(int64_t owner_id, absl::Time start,
                                             absl::Time end) = 0;
};

}  // namespace smsgw::storage

#endif  // SMSGW_STORAGE_STATS_STORE_H_
