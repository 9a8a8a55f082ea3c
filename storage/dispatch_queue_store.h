// File: dispatch_queue_store.h
//
// The DispatchQueueStore port of the message store (issue 13). message_store.h
// says how the ports join into MessageStore and how writes that span concerns
// stay one transaction; a component takes only the ports it uses.
#ifndef SMSGW_STORAGE_DISPATCH_QUEUE_STORE_H_
#define SMSGW_STORAGE_DISPATCH_QUEUE_STORE_H_

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

// The dispatch queue: PENDING outbound messages waiting for the provider,
// their in-flight markers (crash recovery) and retries, and scheduled sends
// waiting for their time.
// Implementations are thread-safe.
class DispatchQueueStore {
 public:
  virtual ~DispatchQueueStore() = default;

  // PENDING outbound messages waiting for the provider, their in-flight
  // markers (crash recovery) and retries.

  // Outbound messages still waiting for the provider (PENDING), oldest
  // first: the dispatcher's work after a restart.
  virtual absl::StatusOr<std::vector<Message>> ListUndispatched(int limit) = 0;

  // --- Claims (issue 13 §3; docs/design/scale-out.md §4) ---
  // Several replicas may share one database; exactly one dispatcher calls
  // the provider for a PENDING message: its claimant (Message::claimed_by).

  // From now on, every PENDING message this store creates or releases from
  // SCHEDULED is claimed by `replica` (> 0), ClaimUndispatched() claims for
  // it, and MarkDispatchStarted() refuses messages claimed by anyone else.
  // 0, the default, stamps no claim and fences nothing: the one-server
  // set-up. Set it before the dispatcher takes work: a message created
  // before it is unclaimed, for ClaimUndispatched() to pick up.
  virtual void SetClaimant(int64_t replica) = 0;

  // In one transaction: claims for the claimant up to `limit` outbound
  // PENDING messages claimed by no one (created on a replica that does not
  // dispatch) or by another replica, oldest first, and returns them as
  // claimed. Another replica's claim is taken over: one replica dispatches
  // at a time (server/app/dispatch_lease.h), so the other is presumed gone,
  // and from the commit on its MarkDispatchStarted() is refused. A message
  // whose row another transaction holds (a marker being set) is skipped,
  // not waited for: the next claim sees the marker. FailedPrecondition when
  // no claimant is set; InvalidArgument when `limit` < 1.
  virtual absl::StatusOr<std::vector<Message>> ClaimUndispatched(
      int limit) = 0;

  // Records, in its own committed transaction, that a provider create call
  // for the PENDING message `id` starts now (`time`): sets
  // dispatch_started_time. Must commit before the call is made, so that a
  // crash during the call leaves the marker for reconciliation. NotFound if
  // no such message; FailedPrecondition if it is no longer PENDING, or (with
  // a claimant set) another replica has claimed it meanwhile: that replica
  // calls the provider, this one must not.
  virtual absl::Status MarkDispatchStarted(absl::string_view id,
                                           absl::Time time) = 0;

  // Clears dispatch_started_time without any other change: the provider was
  // asked (List) and does not have the message, or the dispatcher gave up
  // reconciling. NotFound if no such message.
  virtual absl::Status ClearDispatchStarted(absl::string_view id) = 0;

  // Records a failed provider call that will be retried: attempts + 1,
  // next_attempt_time, and a DISPATCH_ATTEMPT report. Clears
  // dispatch_started_time when the provider's answer proves nothing was
  // created (an HTTP 4xx answer, 429 included); keeps it when the outcome is
  // unknown (no HTTP answer: http_status 0, or 5xx), so the retry reconciles
  // first. NotFound if none.
  virtual absl::Status RecordRetry(absl::string_view id,
                                   const StatusUpdate& attempt,
                                   absl::Time next_attempt_time) = 0;

  // Sum of num_segments (at least 1 per message) of the outbound PENDING
  // messages sent from `our_number`: the backlog the dispatcher still has to
  // pace out for that sender.
  virtual absl::StatusOr<int64_t> PendingSegments(
      absl::string_view our_number) = 0;

  // --- Scheduled sends (issue "Durable dispatch") ---
  // A SCHEDULED message keeps its due time in both scheduled_time and
  // next_attempt_time, so that the messages_dispatch index serves the due
  // query.

  // Outbound SCHEDULED messages due at `now` (next_attempt_time <= now),
  // earliest first, at most `limit`. InvalidArgument when `limit` < 1.
  virtual absl::StatusOr<std::vector<Message>> ListDueScheduled(absl::Time now,
                                                                int limit) = 0;

  // In one transaction, only if `id` is still SCHEDULED: moves it to PENDING
  // (next_attempt_time = now; claimed by the claimant, if set), records a LOCAL report and a STATUS_CHANGED
  // feed event, and returns it. nullopt when it is no longer SCHEDULED
  // (canceled meanwhile, or already released). NotFound if no such message.
  virtual absl::StatusOr<std::optional<Message>> ReleaseScheduled(
      absl::string_view id, absl::Time now) = 0;

  // In one transaction, only if `id` is still SCHEDULED (a conditional
  // UPDATE, so it cannot race the release): moves it to CANCELED, records a
  // LOCAL report and a STATUS_CHANGED feed event, and returns it.
  // FailedPrecondition naming the status when it is not SCHEDULED (already
  // handed to the dispatcher, sent, or canceled); NotFound if none.
  virtual absl::StatusOr<Message> CancelScheduled(absl::string_view id,
                                                  absl::Time now) = 0;
};

}  // namespace smsgw::storage

#endif  // SMSGW_STORAGE_DISPATCH_QUEUE_STORE_H_
