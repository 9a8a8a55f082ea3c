// File: status_store.h
//
// The StatusStore port of the message store (issue 13). message_store.h says
// how the ports join into MessageStore and how writes that span concerns stay
// one transaction; a component takes only the ports it uses.
#ifndef SMSGW_STORAGE_STATUS_STORE_H_
#define SMSGW_STORAGE_STATUS_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/message_types.h"

namespace smsgw::storage {

// Provider answers and status callbacks, with a delivery report for every
// update, and the schedule of status checks for lost callbacks. What each
// update does is decided by storage/message_lifecycle.h
// (DecideStatusUpdate, ClearsDispatchMarker, DisposeCallback); an engine
// persists that decision in one transaction and decides nothing itself.
// Implementations are thread-safe.
class StatusStore {
 public:
  virtual ~StatusStore() = default;

  // Applies `update` to the message with `id`: always records a delivery
  // report; moves the status only forward (StatusRank); sets provider_sid,
  // error, segments, price and send/deliver times as given; appends a
  // STATUS_CHANGED feed event when the status moved. Returns the message as
  // it stands afterwards. Clears dispatch_started_time once the message is
  // no longer PENDING. NotFound if no such message; AlreadyExists if
  // `provider_sid` belongs to another message.
  virtual absl::StatusOr<Message> ApplyStatus(absl::string_view id,
                                              const StatusUpdate& update) = 0;

  // Applies a status callback to the message whose provider SID is
  // `provider_sid`, as ApplyStatus() does, and returns it. When no message has
  // that SID yet (the callback overtook the create response), the report is
  // parked and nullopt returned; ApplyStatus() applies parked reports, in
  // arrival order, in the transaction that first stores the SID.
  virtual absl::StatusOr<std::optional<Message>> ApplyStatusBySid(
      absl::string_view provider_sid, const StatusUpdate& update) = 0;

  // --- Status checks (issue 17: lost status callbacks) ---
  // Twilio does not retry a status callback that failed, so the status of
  // an outbound message that stays short of final is fetched from the
  // provider on a schedule kept here, which survives restarts.

  // Outbound messages with a provider SID whose status is QUEUED, SENDING or
  // SENT and whose status check is due at `now`: those never checked whose
  // accepted time (send_time) is at or before `now - first_check_after`, and
  // those whose next check, set by RecordStatusCheck(), is at or before
  // `now`. Earliest due first, at most `limit`. A message leaves the list
  // for good when its status becomes final or its checks are stopped.
  // InvalidArgument when `limit` < 1 or `first_check_after` is negative.
  virtual absl::StatusOr<std::vector<StatusCheck>> ListDueStatusChecks(
      absl::Time now, absl::Duration first_check_after, int limit) = 0;

  // Records one status check of message `id` (its result is stored apart,
  // through ApplyStatus()): checks + 1, and the next check due at
  // `next_check_time`, or none ever again when it is nullopt. Changes
  // nothing else about the message (no report, no feed event). NotFound if
  // no such message.
  virtual absl::Status RecordStatusCheck(
      absl::string_view id, std::optional<absl::Time> next_check_time) = 0;
};

}  // namespace smsgw::storage

#endif  // SMSGW_STORAGE_STATUS_STORE_H_
