// File: first_answer_waiters.h
//
// SendMessage answers with the provider's first word on the message when it
// comes quickly (OutboundQueue::AwaitFirstAnswer / NotifyOnFirstAnswer).
// This unit keeps who waits for which message's first answer: the ids whose
// first answer is still awaited, the blocking waiters, and the callbacks with
// their deadlines. The dispatcher reports answers (Answered()); a callback
// whose deadline passes first is called with no message.
//
// Deadlines are real (gRPC) times whatever clock the dispatcher runs on, so
// the callbacks' deadlines are kept on a Timer of the real clock.
#ifndef SMSGW_SERVER_DISPATCH_FIRST_ANSWER_WAITERS_H_
#define SMSGW_SERVER_DISPATCH_FIRST_ANSWER_WAITERS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/timer.h"
#include "server/domain/outbound_queue.h"
#include "storage/message_store.h"

namespace smsgw::dispatch {

// Thread-safe. Callbacks run on the caller's thread of Answered() or
// Shutdown(), or on the unit's timer thread at their deadline; never under
// the unit's lock.
class FirstAnswerWaiters {
 public:
  using AnswerCallback = domain::OutboundQueue::AnswerCallback;

  FirstAnswerWaiters();
  ~FirstAnswerWaiters();  // Shutdown()
  FirstAnswerWaiters(const FirstAnswerWaiters&) = delete;
  FirstAnswerWaiters& operator=(const FirstAnswerWaiters&) = delete;

  // Notes that `id`'s first answer is awaited (the message was handed to
  // the dispatcher by a caller that may wait for it).
  void Expect(const std::string& id);

  // `id`'s first answer is there (`answered`: the message as stored, when at
  // hand), or it will not come soon: ends the wait and calls `id`'s
  // callbacks with `answered`.
  void Answered(const std::string& id,
                const storage::Message* answered = nullptr);

  // Calls `done` once, with the answered message, when Answered(id) comes
  // before `deadline` (real time), else with null at the deadline. Returns
  // false, without keeping `done`, when nothing is awaited for `id`, the
  // deadline has passed, or the unit shut down: the caller calls it.
  bool Notify(absl::string_view id, absl::Time deadline, AnswerCallback done);

  // Blocks until `id`'s first answer is there or `deadline` (real time).
  void Await(absl::string_view id, absl::Time deadline);

  // Calls every waiting callback with null (callers get the message as it
  // stands) and refuses new ones. Idempotent.
  void Shutdown();

 private:
  struct Waiter {
    uint64_t seq = 0;
    Timer::Id timer = Timer::kNoTimer;
    AnswerCallback done;
  };
  // The deadline of waiter `seq` of `id` passed.
  void Expired(const std::string& id, uint64_t seq);

  absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  // Messages whose first provider answer has not come yet.
  absl::flat_hash_set<std::string> awaiting_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::vector<Waiter>> waiters_
      ABSL_GUARDED_BY(mu_);
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  // Last, so that its thread stops before the maps go.
  Timer deadlines_;
};

}  // namespace smsgw::dispatch

#endif  // SMSGW_SERVER_DISPATCH_FIRST_ANSWER_WAITERS_H_
