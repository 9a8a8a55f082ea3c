// File: outbound_store.h
//
// The OutboundStore port of the message store (issue 13). message_store.h says
// how the ports join into MessageStore and how writes that span concerns stay
// one transaction; a component takes only the ports it uses.
#ifndef SMSGW_STORAGE_OUTBOUND_STORE_H_
#define SMSGW_STORAGE_OUTBOUND_STORE_H_

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

// New outbound messages: single sends, sends on a pool number, group
// fan-outs, with their idempotency keys, conversations, quota charges and
// CREATED feed events, each call in one transaction.
// Implementations are thread-safe.
class OutboundStore {
 public:
  virtual ~OutboundStore() = default;

  // A new outbound message is stored with its idempotency key, its
  // conversation and a CREATED feed event, in one transaction.

  // In one transaction: when `key` is given and was stored for the owner
  // less than kIdempotencyKeyTtl before `message.create_time`, returns the
  // original message (replayed) if its request hash matches, or
  // AlreadyExists if not (an older key is forgotten); otherwise inserts
  // `message` (status PENDING or SCHEDULED), creates or updates its
  // conversation, stores `key`, and appends a CREATED feed event. A set
  // dispatch_started_time is stored too: the in-flight marker committed with
  // the row, for a message that goes to the provider right after (saves the
  // marker's own commit). InvalidArgument when the conversation id is already
  // used by the owner with another peer. With `charge`, also charges its
  // segments to its user's day in the same transaction (not for a replay);
  // ResourceExhausted naming the quota and its reset time, with nothing stored,
  // when they do not fit.
  virtual absl::StatusOr<CreateResult> CreateOutbound(
      const Message& message, const std::optional<IdempotencyKey>& key,
      const std::optional<QuotaCharge>& charge) = 0;
  absl::StatusOr<CreateResult> CreateOutbound(
      const Message& message, const std::optional<IdempotencyKey>& key) {
    return CreateOutbound(message, key, std::nullopt);
  }

  // CreateOutbound() for a message whose sender the pool chose because no
  // other owner was in conversation with `message.peer_number` on
  // `message.our_number`: in the same transaction, after the idempotency
  // check (a replay returns the original whatever its number), returns
  // Aborted and writes nothing when another owner has such a conversation
  // by now (two sends raced for the number; the caller chooses again).
  // Otherwise, and with the same errors, exactly CreateOutbound().
  virtual absl::StatusOr<CreateResult> CreateOutboundOnFreeNumber(
      const Message& message, const std::optional<IdempotencyKey>& key,
      const std::optional<QuotaCharge>& charge) = 0;
  absl::StatusOr<CreateResult> CreateOutboundOnFreeNumber(
      const Message& message, const std::optional<IdempotencyKey>& key) {
    return CreateOutboundOnFreeNumber(message, key, std::nullopt);
  }

  // The facts the sender pool decides on for `owner_id` writing to `peer`
  // (E.164), from one snapshot. Conversations without an owner (unrouted
  // inbound) do not count. InvalidArgument when `owner_id` < 1 or `peer` is
  // empty; an unknown owner or peer just has no conversations.
  virtual absl::StatusOr<PeerNumbers> FindPeerNumbers(
      int64_t owner_id, absl::string_view peer) = 0;

  // CreateOutbound() for many messages without idempotency keys (a group
  // fan-out) in ONE transaction: all are stored or none. Returns them as
  // stored, in order. The errors of CreateOutbound(), for the first message
  // that fails, naming its id.
  // With `charge` (the whole batch's segments), as CreateOutbound().
  virtual absl::StatusOr<std::vector<Message>> CreateOutboundBatch(
      const std::vector<Message>& messages,
      const std::optional<QuotaCharge>& charge) = 0;
  absl::StatusOr<std::vector<Message>> CreateOutboundBatch(
      const std::vector<Message>& messages) {
    return CreateOutboundBatch(messages, std::nullopt);
  }

  // The segments charged to `user_id` on the UTC day starting `day_start`,
  // and their effective quota (their own, else `default_quota`; 0 = none).
  // NotFound for an unknown user.
  virtual absl::StatusOr<QuotaUsage> GetQuotaUsage(int64_t user_id,
                                                   int64_t default_quota,
                                                   absl::Time day_start) = 0;
};

}  // namespace smsgw::storage

#endif  // SMSGW_STORAGE_OUTBOUND_STORE_H_
