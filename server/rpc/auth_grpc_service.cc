#include "server/rpc/auth_grpc_service.h"

#include "server/rpc/proto_convert.h"

namespace smsgw::rpc {
namespace {

template <typename Response>
void FillSession(const domain::Session& session, Response* response) {
  ToProto(session.user, response->mutable_user());
  response->set_access_token(session.access_token);
  ToProto(session.expire_time, response->mutable_expire_time());
}


}  // namespace

::grpc::ServerUnaryReactor* AuthGrpcService::SignUp(
    ::grpc::CallbackServerContext* context, const v1::SignUpRequest* request,
    v1::SignUpResponse* response) {
  return runner_->Run(context, [this, request, response]() -> absl::Status {
    absl::StatusOr<domain::Session> session = runner_->auth()->SignUp(
        request->username(), request->password(), request->phone_number());
    if (!session.ok()) return session.status();
    FillSession(*session, response);
    return absl::OkStatus();
  });
}

::grpc::ServerUnaryReactor* AuthGrpcService::Login(
    ::grpc::CallbackServerContext* context, const v1::LoginRequest* request,
    v1::LoginResponse* response) {
  return runner_->Run(context, [this, request, response]() -> absl::Status {
    if (request->username().empty() || request->password().empty()) {
      return absl::InvalidArgumentError(
          request->username().empty() ? "username is required"
                                      : "password is required");
    }
    absl::StatusOr<domain::Session> session =
        runner_->auth()->Login(request->username(), request->password());
    if (!session.ok()) return session.status();
    FillSession(*session, response);
    return absl::OkStatus();
  });
}

::grpc::ServerUnaryReactor* AuthGrpcService::GetCurrentUser(
    ::grpc::CallbackServerContext* context,
    const v1::GetCurrentUserRequest* request,
    v1::GetCurrentUserResponse* response) {
  return runner_->RunAuthenticated(
      context, [response](const storage::User& user) -> absl::Status {
        ToProto(user, response->mutable_user());
        return absl::OkStatus();
      });
}

::grpc::ServerUnaryReactor* AuthGrpcService::StartPhoneVerification(
    ::grpc::CallbackServerContext* context,
    const v1::StartPhoneVerificationRequest* request,
    v1::StartPhoneVerificationResponse* response) {
  const absl::Time deadline = absl::FromChrono(context->deadline());
  return runner_->RunAuthenticated(
      context,
      [this, request, response, deadline](const storage::User& user)
          -> absl::Status {
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
      context,
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
