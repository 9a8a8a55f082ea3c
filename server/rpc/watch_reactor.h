// File: watch_reactor.h
//
// MessagingService.WatchMessages on the callback API: one ServerWriteReactor
// per stream, fed by a domain::MessageWatch. No thread is held per stream:
// authentication and subscribing run once on the RPC executor, the hub's
// workers buffer events, and each completed write (OnWriteDone) pulls the
// next one, so a stream writes as fast as its client reads and never has
// more than one write in flight.
#ifndef SMSGW_SERVER_RPC_WATCH_REACTOR_H_
#define SMSGW_SERVER_RPC_WATCH_REACTOR_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/domain/message_watch_hub.h"
#include "server/rpc/call_runner.h"
#include "smsgw/v1/messaging.pb.h"

namespace smsgw::rpc {

// One WatchMessages stream. Created by Start(); keeps itself alive until
// gRPC's OnDone() and the hub have both let go of it. Thread-safe.
class WatchReactor final
    : public ::grpc::ServerWriteReactor<v1::WatchMessagesResponse>,
      public domain::WatchSink,
      public std::enable_shared_from_this<WatchReactor> {
 public:
  // Starts the stream for `request` (copied): authenticates the bearer
  // token on `runner`'s executor, then subscribes to `hub`. The stream
  // ends with UNAUTHENTICATED (bad token), the hub's Watch() errors,
  // RESOURCE_EXHAUSTED (executor queue full, too many streams, reader too
  // slow), UNAVAILABLE (server shutting down), CANCELLED (client gone) or
  // DEADLINE_EXCEEDED (gRPC, at the call's deadline). Initial metadata is
  // sent once the subscription is in place: from then on, every commit is
  // seen. `runner` and `hub` must outlive the call.
  static ::grpc::ServerWriteReactor<v1::WatchMessagesResponse>* Start(
      ::grpc::CallbackServerContext* context,
      const v1::WatchMessagesRequest& request, CallRunner* runner,
      domain::MessageWatchHub* hub);

  // domain::WatchSink
  void OnEventsAvailable() override;
  void OnWatchEnded(const absl::Status& status) override;

  // grpc::ServerWriteReactor
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // Public for std::make_shared only; use Start().
  WatchReactor(::grpc::CallbackServerContext* context,
               std::string bearer_token,
               const v1::WatchMessagesRequest& request, CallRunner* runner,
               domain::MessageWatchHub* hub);

 private:
  // Authenticates and subscribes (executor thread).
  void Begin();
  // Starts the next write if none is in flight and an event is buffered.
  void Pump();
  // Finishes once: at once when no write is in flight, else when it is done.
  void FinishWith(const ::grpc::Status& status);

  // Read on the gRPC thread: the context may be gone by the time the
  // executor runs Begin().
  // Valid until OnDone(): use only under mu_ while !finished_.
  ::grpc::CallbackServerContext* const context_;
  const std::string bearer_token_;
  const v1::WatchMessagesRequest request_;
  CallRunner* const runner_;
  domain::MessageWatchHub* const hub_;

  absl::Mutex mu_;
  // gRPC's reference, dropped in OnDone().
  std::shared_ptr<WatchReactor> self_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<domain::MessageWatch> watch_ ABSL_GUARDED_BY(mu_);
  // Written under mu_ while no write is in flight; gRPC reads it until
  // OnWriteDone().
  v1::WatchMessagesResponse response_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;  // Finish() called or due
  bool done_ ABSL_GUARDED_BY(mu_) = false;      // OnDone() ran
  // A finish waiting for the write in flight.
  std::optional<::grpc::Status> pending_finish_ ABSL_GUARDED_BY(mu_);
};

}  // namespace smsgw::rpc

#endif  // SMSGW_SERVER_RPC_WATCH_REACTOR_H_
