// File: inbound_store.h
//
// The InboundStore port of the message store (issue 13). message_store.h says
// how the ports join into MessageStore and how writes that span concerns stay
// one transaction; a component takes only the ports it uses.
#ifndef SMSGW_STORAGE_INBOUND_STORE_H_
#define SMSGW_STORAGE_INBOUND_STORE_H_

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

// Replies from peers and the conversation they are routed to.
// Implementations are thread-safe.
class InboundStore {
 public:
  virtual ~InboundStore() = default;

  // Stores an inbound message (owner 0 = unrouted), its conversation, a
  // RECEIVED report and an INBOUND feed event, in one transaction. Idempotent
  // on provider_sid: when the SID is already stored, returns that message
  // with `replayed` true and writes nothing (Twilio retries webhooks).
  virtual absl::StatusOr<CreateResult> InsertInbound(
      const Message& message) = 0;

  // The most recently updated conversation with `peer` on `our_number`, of
  // any owner; nullopt when there is none (DESIGN.md §6 rule 2).
  virtual absl::StatusOr<std::optional<ConversationRef>> FindLatestConversation(
      absl::string_view peer, absl::string_view our_number) = 0;
};

}  // namespace smsgw::storage

#endif  // SMSGW_STORAGE_INBOUND_STORE_H_
