// File: outbound_queue.h
//
// The port through which the domain hands stored messages to the dispatcher
// (server/dispatch), which owns every provider call: retries, backoff and
// recovery after a restart live there, not in the domain.
#ifndef SMSGW_SERVER_DOMAIN_OUTBOUND_QUEUE_H_
#define SMSGW_SERVER_DOMAIN_OUTBOUND_QUEUE_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/message_store.h"

namespace smsgw::domain {

// Implementations are thread-safe.
class OutboundQueue {
 public:
  virtual ~OutboundQueue() = default;

  // Hands over `message`, already stored as PENDING. Never blocks on the
  // provider; the outcome is written to the MessageStore. A message carrying
  // an in-flight marker (dispatch_started_time) is reconciled with the
  // provider before any call: it may have been sent before a crash.
  virtual void Enqueue(const storage::Message& message) = 0;

  // Hands over `message`, just stored PENDING with dispatch_started_time set
  // after ReserveImmediate() answered true for it: the provider call starts
  // at once, without another write and without reconciling.
  virtual void EnqueueReserved(const storage::Message& message) {
    Enqueue(message);
  }

  // For `message`, not stored yet and about to be stored PENDING: books its
  // sender's rate tokens if they are available right now and returns true;
  // false (nothing booked) when it would have to wait, the dispatcher is
  // stopping, or the implementation does not support it. After true, the
  // caller stores the message with dispatch_started_time set (the in-flight
  // marker committed with the row: one commit instead of two) and passes it
  // to EnqueueReserved(). Why: a send then costs one fsync fewer (issue
  // "Performance"); after a crash such a message is reconciled with the
  // provider before any resend, like any marked one.
  virtual bool ReserveImmediate(const storage::Message& message) {
    return false;
  }

  // Blocks until the provider's first answer (accepted, refused, or a
  // retryable failure) for message `id` has been stored, or until
  // `deadline`. Returns at once when the answer is already in.
  virtual void AwaitFirstAnswer(absl::string_view id, absl::Time deadline) = 0;

  // The non-blocking form of AwaitFirstAnswer(): runs `done` exactly once,
  // when the first answer for message `id` is stored or at `deadline`
  // (whichever is first; at once when the answer is already in), on a
  // dispatcher thread. `done` gets the message as the answer left it when
  // the dispatcher has it at hand (saves the caller a read), else nullptr
  // (deadline, shutdown, a retry scheduled): then read it from the store.
  // `done` must not block for long. No caller thread is held while the
  // provider answers.
  using AnswerCallback = std::function<void(const storage::Message* answered)>;
  virtual void NotifyOnFirstAnswer(absl::string_view id, absl::Time deadline,
                                   AnswerCallback done) = 0;

  // Asks the provider, in the background, for the final figures of the
  // message with provider SID `provider_sid` (price and segment count: Twilio
  // reports them on the Message resource, never in status callbacks).
  virtual void RefreshFromProvider(absl::string_view provider_sid) = 0;

  // Whether the dispatcher can take `message` (not stored yet) without its
  // sender's backlog going past the configured bound. ResourceExhausted,
  // saying how much is queued and for how long, when it cannot; OK by
  // default (no bound).
  virtual absl::Status CheckBacklog(const storage::Message& message) {
    return absl::OkStatus();
  }

  // How long `sender` needs, at its rate, for the segments already waiting
  // on it (the sender pool's "least backlog" rule). Zero by default (no
  // pacing). Unavailable when the backlog cannot be counted.
  virtual absl::StatusOr<absl::Duration> Backlog(absl::string_view sender) {
    return absl::ZeroDuration();
  }
};

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_OUTBOUND_QUEUE_H_
