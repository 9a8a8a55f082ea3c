// File: message_store.h
//
// Messages, their status history (delivery reports), conversations,
// idempotency keys, opt-outs and the watch feed: everything MessagingService
// stores, as one interface that joins the focused ports (issue 13). An
// engine implements MessageStore; components take the ports they use:
//
//   OutboundStore       outbound_store.h        new sends, idempotency, quota
//   StatusStore         status_store.h          provider answers, callbacks,
//                                               status checks
//   DispatchQueueStore  dispatch_queue_store.h  pending, in-flight, retries,
//                                               scheduled sends
//   InboundStore        inbound_store.h         replies and their routing
//   OptOutStore         opt_out_store.h         STOP per number pair
//   HistoryStore        history_store.h         reads, search, deletes
//   FeedStore           feed_store.h            the watch feed
//   StatsStore          stats_store.h           GetMessageStats
//
// Cross-port atomicity stays inside one method: each method is one
// transaction of the engine, and a write that spans concerns (a message,
// its idempotency key, its conversation, its feed event) is one method of
// the port of its main concern. No transaction handle crosses the ports.
// The value types are in message_types.h; the lifecycle decisions the
// engines persist in message_lifecycle.h.
#ifndef SMSGW_STORAGE_MESSAGE_STORE_H_
#define SMSGW_STORAGE_MESSAGE_STORE_H_

#include "storage/dispatch_queue_store.h"
#include "storage/feed_store.h"
#include "storage/history_store.h"
#include "storage/inbound_store.h"
#include "storage/message_stats.h"
#include "storage/message_types.h"
#include "storage/opt_out_store.h"
#include "storage/outbound_store.h"
#include "storage/stats_store.h"
#include "storage/status_store.h"

namespace smsgw::storage {

// Every port of the message store on one engine. Implementations are
// thread-safe.
class MessageStore : public OutboundStore,
                     public StatusStore,
                     public DispatchQueueStore,
                     public InboundStore,
                     public OptOutStore,
                     public HistoryStore,
                     public FeedStore,
                     public StatsStore {
 public:
  ~MessageStore() override = default;
};

}  // namespace smsgw::storage

#endif  // SMSGW_STORAGE_MESSAGE_STORE_H_
