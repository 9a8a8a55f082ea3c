#include "server/rpc/auth_grpc_service.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/timer.h"
#include "server/domain/login_throttle.h"
#include "server/rpc/gateway_metadata.h"
#include "server/rpc/proto_convert.h"
#include "server/rpc/status_mapping.h"

namespace smsgw::rpc {
namespace {

template <typename Response>
void FillSession(const domain::Session& session, Response* response) {
  ToProto(session.user, response->mutable_user());
  response->set_access_token(session.access_token);
  ToProto(session.expire_time, response->mutable_expire_time());
}

// Finishes calls after a delay without holding an RPC worker meanwhile: the
// slowed answers of throttled logins. One timer thread for the process,
// leaked on purpose so that answers still pending at shutdown are sent
// (gRPC waits for them).
Timer& DelayedFinishes() {
  static Timer* timer = new Timer("login-delay", Clock::Real());
  return *timer;
}

}  // namespace

::grpc::ServerUnaryReactor* AuthGrpcService::SignUp(
    ::grpc::CallbackServerContext* context, const v1::SignUpRequest* request,
    v1::SignUpResponse* response) {
  std::string peer = domain::PeerAddress(ClientPeer(*context));
  return runner_->Run(
      context,
      [this, request, response, peer = std::move(peer)]() -> absl::Status {
        absl::StatusOr<domain::Session> session =
            runner_->auth()->SignUp(request->username(), request->password(),
                                    request->phone_number(), peer);
        if (!session.ok()) return session.status();
        FillSession(*session, response);
        return absl::OkStatus();
      });
}

// Not through CallRunner::Run: a failed login may have to be answered
// later (login throttling), and the wait must not hold a worker.
::grpc::ServerUnaryReactor* AuthGrpcService::Login(
    ::grpc::CallbackServerContext* context, const v1::LoginRequest* request,
    v1::LoginResponse* response) {
  ::grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::string peer = domain::PeerAddress(ClientPeer(*context));
  const bool queued = runner_->executor()->TrySchedule(
      [this, context, reactor, request, response, peer = std::move(peer)] {
        if (context->IsCancelled()) {
          reactor->Finish(::grpc::Status(::grpc::StatusCode::CANCELLED,
                                         "call cancelled before it started"));
          return;
        }
        if (request->username().empty() || request->password().empty()) {
          reactor->Finish(ToGrpcStatus(absl::InvalidArgumentError(
              request->username().empty() ? "username is required"
                                          : "password is required")));
          return;
        }
        absl::Duration delay = absl::ZeroDuration();
        absl::StatusOr<domain::Session> session = runner_->auth()->Login(
            request->username(), request->password(), peer, &delay);
        if (!session.ok()) {
          if (delay > absl::ZeroDuration()) {
            DelayedFinishes().RunAt(
                absl::Now() + delay,
                [reactor, status = ToGrpcStatus(session.status())] {
                  reactor->Finish(status);
                });
          } else {
            reactor->Finish(ToGrpcStatus(session.status()));
          }
          return;
        }
        FillSession(*session, response);
        reactor->Finish(::grpc::Status::OK);
      });
  if (!queued) {
    reactor->Finish(
        ::grpc::Status(::grpc::StatusCode::RESOURCE_EXHAUSTED,
                       "server is busy (work queue full); retry with backoff"));
  }
  return reactor;
}

::grpc::ServerUnaryReactor* AuthGrpcService::GetCurrentUser(
    ::grpc::CallbackServerContext* context,
    const v1::GetCurrentUserRequest* request,
    v1::GetCurrentUserResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kAnyCredential,
      [response](const storage::User& user) -> absl::Status {
        ToProto(user, response->mutable_user());
        return absl::OkStatus();
      });
}

::grpc::ServerUnaryReactor* AuthGrpcService::SetUserQuota(
    ::grpc::CallbackServerContext* context,
    const v1::SetUserQuotaRequest* request,
    v1::SetUserQuotaResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kLoginOnly,
      [this, request, response](const storage::User& user) -> absl::Status {
        absl::StatusOr<storage::User> updated = runner_->auth()->SetUserQuota(
            user, request->username(), request->daily_segments());
        if (!updated.ok()) return updated.status();
        ToProto(*updated, response->mutable_user());
        return absl::OkStatus();
      });
}

::grpc::ServerUnaryReactor* AuthGrpcService::CreateApiKey(
    ::grpc::CallbackServerContext* context,
    const v1::CreateApiKeyRequest* request,
    v1::CreateApiKeyResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kLoginOnly,
      [this, request, response](const storage::User& user) -> absl::Status {
        absl::StatusOr<domain::CreatedApiKey> created =
            runner_->auth()->CreateApiKey(
                user, request->name(),
                std::vector<std::string>(request->scopes().begin(),
                                         request->scopes().end()));
        if (!created.ok()) return created.status();
        ToProto(created->key, response->mutable_api_key());
        response->set_secret(std::move(created->secret));
        return absl::OkStatus();
      });
}

::grpc::ServerUnaryReactor* AuthGrpcService::ListApiKeys(
    ::grpc::CallbackServerContext* context,
    const v1::ListApiKeysRequest* request, v1::ListApiKeysResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kLoginOnly,
      [this, response](const storage::User& user) -> absl::Status {
        absl::StatusOr<std::vector<storage::ApiKey>> keys =
            runner_->auth()->ListApiKeys(user);
        if (!keys.ok()) return keys.status();
        for (const storage::ApiKey& key : *keys) {
          ToProto(key, response->add_api_keys());
        }
        return absl::OkStatus();
      });
}

::grpc::ServerUnaryReactor* AuthGrpcService::DeleteApiKey(
    ::grpc::CallbackServerContext* context,
    const v1::DeleteApiKeyRequest* request,
    v1::DeleteApiKeyResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kLoginOnly,
      [this, request](const storage::User& user) -> absl::Status {
        return runner_->auth()->DeleteApiKey(user, request->id());
      });
}

::grpc::ServerUnaryReactor* AuthGrpcService::StartPhoneVerification(
    ::grpc::CallbackServerContext* context,
    const v1::StartPhoneVerificationRequest* request,
    v1::StartPhoneVerificationResponse* response) {
  const absl::Time deadline = absl::FromChrono(context->deadline());
  return runner_->RunAuthenticated(
      context, domain::Scope::kLoginOnly,
      [this, request, response,
       deadline](const storage::User& user) -> absl::Status {
        if (verification_ == nullptr) {
          return absl::UnavailableError("phone verification is not configured");
        }
        absl::StatusOr<domain::VerificationStarted> started =
            verification_->Start(user, request->phone_number(), deadline);
        if (!started.ok()) return started.status();
        response->set_phone_number(started->phone_number);
        ToProto(started->expire_time, response->mutable_expire_time());
        return absl::OkStatus();
      });
}

::grpc::ServerUnaryReactor* AuthGrpcService::ConfirmPhoneVerification(
    ::grpc::CallbackServerContext* context,
    const v1::ConfirmPhoneVerificationRequest* request,
    v1::ConfirmPhoneVerificationResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kLoginOnly,
      [this, request, response](const storage::User& user) -> absl::Status {
        if (verification_ == nullptr) {
          return absl::UnavailableError("phone verification is not configured");
        }
        absl::StatusOr<storage::User> updated =
            verification_->Confirm(user, request->code());
        if (!updated.ok()) return updated.status();
        storage::User shown = *std::move(updated);
        shown.admin = user.admin;
        ToProto(shown, response->mutable_user());
        return absl::OkStatus();
      });
}

}  // namespace smsgw::rpc
