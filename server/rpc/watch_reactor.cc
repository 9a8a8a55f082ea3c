#include "server/rpc/watch_reactor.h"

#include <string>
#include <utility>

#include "server/rpc/gateway_metadata.h"
#include "server/rpc/proto_convert.h"
#include "server/rpc/status_mapping.h"

namespace smsgw::rpc {

::grpc::ServerWriteReactor<v1::WatchMessagesResponse>* WatchReactor::Start(
    ::grpc::CallbackServerContext* context,
    const v1::WatchMessagesRequest& request, CallRunner* runner,
    domain::MessageWatchHub* hub) {
  auto reactor = std::make_shared<WatchReactor>(context, BearerToken(*context),
                                                request, runner, hub);
  {
    absl::MutexLock lock(&reactor->mu_);
    reactor->self_ = reactor;
  }
  std::weak_ptr<WatchReactor> weak = reactor;
  const bool queued = runner->executor()->TrySchedule([weak] {
    if (std::shared_ptr<WatchReactor> self = weak.lock()) self->Begin();
  });
  if (!queued) {
    reactor->FinishWith(
        ::grpc::Status(::grpc::StatusCode::RESOURCE_EXHAUSTED,
                       "server is busy (work queue full); retry with backoff"));
  }
  return reactor.get();
}

WatchReactor::WatchReactor(::grpc::CallbackServerContext* context,
                           std::string bearer_token,
                           const v1::WatchMessagesRequest& request,
                           CallRunner* runner, domain::MessageWatchHub* hub)
    : context_(context),
      bearer_token_(std::move(bearer_token)),
      request_(request),
      runner_(runner),
      hub_(hub) {}

void WatchReactor::Begin() {
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;  // cancelled while queued
  }
  absl::StatusOr<storage::User> user = runner_->auth()->Authenticate(
      bearer_token_, domain::Scope::kMessagesRead);
  if (!user.ok()) {
    FinishWith(ToGrpcStatus(user.status()));
    return;
  }
  domain::WatchRequest watch_request;
  watch_request.conversation_id = request_.conversation_id();
  watch_request.after_cursor = request_.after_cursor();
  absl::StatusOr<std::shared_ptr<domain::MessageWatch>> watch =
      hub_->Watch(*user, watch_request, shared_from_this());
  if (!watch.ok()) {
    FinishWith(ToGrpcStatus(watch.status()));
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    if (!finished_) {
      // Headers tell the client that the subscription is in place. Sent
      // before any write can start (Pump() needs watch_), and under the
      // lock so that Finish() cannot come first; its reaction is a no-op.
      // The marker tells the REST gateway the same (a refused call's
      // Finish() sends initial metadata too, without it).
      context_->AddInitialMetadata(kStreamReadyMetadata, "1");
      StartSendInitialMetadata();
      watch_ = *std::move(watch);
    }
  }
  if (watch.ok() && *watch != nullptr) {  // the call ended meanwhile
    (*watch)->Close();
    return;
  }
  Pump();
}

void WatchReactor::Pump() {
  {
    absl::MutexLock lock(&mu_);
    if (writing_ || finished_ || watch_ == nullptr) return;
    std::optional<domain::WatchEvent> event = watch_->Next();
    if (!event.has_value()) return;
    response_.Clear();
    v1::MessageEvent* out = response_.mutable_event();
    out->set_cursor(domain::FormatWatchCursor(event->cursor));
    out->set_type(static_cast<v1::MessageEventType>(event->type));
    ToProto(event->message, out->mutable_message());
    ToProto(event->event_time, out->mutable_event_time());
    writing_ = true;
  }
  // Outside the lock: gRPC may run OnWriteDone() inline.
  StartWrite(&response_);
}

void WatchReactor::FinishWith(const ::grpc::Status& status) {
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    finished_ = true;
    if (writing_) {
      pending_finish_ = status;
      return;
    }
  }
  Finish(status);
}

void WatchReactor::OnEventsAvailable() { Pump(); }

void WatchReactor::OnWatchEnded(const absl::Status& status) {
  FinishWith(ToGrpcStatus(status));
}

void WatchReactor::OnWriteDone(bool ok) {
  std::optional<::grpc::Status> finish;
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (pending_finish_.has_value()) {
      finish = std::move(pending_finish_);
      pending_finish_.reset();
    } else if (!ok && !finished_) {
      // The stream broke (client gone or call cancelled).
      finished_ = true;
      finish = ::grpc::Status(::grpc::StatusCode::CANCELLED,
                              "stream closed by the client");
    }
  }
  if (finish.has_value()) {
    Finish(*finish);
    return;
  }
  Pump();
}

void WatchReactor::OnCancel() {
  FinishWith(::grpc::Status(::grpc::StatusCode::CANCELLED, "call cancelled"));
}

void WatchReactor::OnDone() {
  std::shared_ptr<WatchReactor> self;
  std::shared_ptr<domain::MessageWatch> watch;
  {
    absl::MutexLock lock(&mu_);
    done_ = true;
    self = std::move(self_);
    watch = std::move(watch_);
  }
  if (watch != nullptr) watch->Close();
  // `self` may be the last reference: nothing may touch members after this.
}

}  // namespace smsgw::rpc
