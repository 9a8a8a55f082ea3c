// File: message_lifecycle.h
//
// The message lifecycle as pure functions (issue 13, part 1): given a
// message as stored and what happened to it (a provider answer, a status
// callback, a release or cancel of a scheduled send), what the message
// becomes, which fields change, whether the report counts as applied, and
// whether the event is parked. Every storage engine persists these
// decisions in one transaction of its own; none re-implements them. They
// live beside the storage contracts, not in server/domain/, because the
// engines sit below the domain layer and must call them; they do no I/O.
// The rules are DESIGN.md §5's.
#ifndef SMSGW_STORAGE_MESSAGE_LIFECYCLE_H_
#define SMSGW_STORAGE_MESSAGE_LIFECYCLE_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/message_store.h"

namespace smsgw::storage {

// What applying one StatusUpdate does to one stored message.
struct StatusDecision {
  // The status moves: StatusRank(update.status) > StatusRank(stored).
  // Equal ranks change nothing, so among terminal statuses the first wins.
  // An applied update gets a STATUS_CHANGED feed event at its event_time
  // and its report is recorded as applied.
  bool applied = false;
  // Some stored field changes (status, provider_sid, error, segments,
  // price, send/deliver time): the engine writes `next` in one UPDATE.
  // False for a repeated callback, which only adds a report.
  bool row_changed = false;
  // The message after the update. Set only when applied: status; the error
  // code and message (the update's, even if empty) for UNDELIVERED, FAILED
  // and EXPIRED; send_time (once, at event_time) for a status the provider
  // accepted in; deliver_time for DELIVERED. Set whatever the rank:
  // provider_sid when none is stored (a stored SID is never replaced),
  // num_segments when the update has it, price and price_unit when not
  // empty (the provider's figures win). update_time = max(stored,
  // event_time) when the row changes: never backwards.
  Message next;
  // The SID a new report is recorded under: the update's, else the
  // message's (after this update).
  std::string report_sid;
  // This update stored the message's first SID: status callbacks parked
  // under that SID before it was known are to be applied now, in arrival
  // order, each through DecideStatusUpdate() in turn.
  bool apply_parked_reports = false;
};

// The decision for `update` on `stored`. `update.status` must not be
// UNSPECIFIED (callers refuse it first: it has rank 0 and never moves).
StatusDecision DecideStatusUpdate(const Message& stored,
                                  const StatusUpdate& update);

// Whether the in-flight marker (dispatch_started_time) is cleared once all
// of a provider answer's updates are applied: it is set and the message is
// no longer PENDING (the provider took it, or it failed for good).
bool ClearsDispatchMarker(const Message& after);

// A status callback names its message by SID only. Found: decide with
// DecideStatusUpdate(). Not found (the create response that stores the SID
// has not committed yet): park it as a report with no message and applied
// = false, to be applied when the SID is stored.
enum class CallbackDisposition { kApply, kPark };
CallbackDisposition DisposeCallback(bool message_found);

// What leaving SCHEDULED does: release (to PENDING, due at `now`) or
// cancel (to CANCELED, never due). StatusRank is bypassed (PENDING and
// SCHEDULED share a rank); the engine must move the row only while it is
// still SCHEDULED (a conditional write), so that a release and a cancel
// racing cannot both win. The move gets an applied LOCAL report with the
// caller's note and a STATUS_CHANGED feed event at `now`.
struct ScheduledExit {
  MessageStatus to = MessageStatus::kUnspecified;
  std::optional<absl::Time> next_attempt_time;  // `now` for PENDING
  StatusUpdate report;  // status `to`, LOCAL, the note, at `now`
};

// The exit to `to` at `now` with `note`. InvalidArgument unless `to` is
// PENDING or CANCELED.
absl::StatusOr<ScheduledExit> DecideLeaveScheduled(MessageStatus to,
                                                   absl::Time now,
                                                   absl::string_view note);

}  // namespace smsgw::storage

#endif  // SMSGW_STORAGE_MESSAGE_LIFECYCLE_H_
