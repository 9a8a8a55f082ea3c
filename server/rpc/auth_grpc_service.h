// File: auth_grpc_service.h
#ifndef SMSGW_SERVER_RPC_AUTH_GRPC_SERVICE_H_
#define SMSGW_SERVER_RPC_AUTH_GRPC_SERVICE_H_

#include "server/domain/phone_verification.h"
#include "server/rpc/call_runner.h"
#include "smsgw/v1/auth.grpc.pb.h"

namespace smsgw::rpc {

// smsgw.v1.AuthService over the callback API: translates protos to
// domain::AuthService calls on the executor. `runner` is not owned and must
// outlive the service. Thread-safe.
class AuthGrpcService final : public v1::AuthService::CallbackService {
 public:
  // `verification` (not owned; null: the phone verification RPCs answer
  // UNAVAILABLE) must outlive the service.
  explicit AuthGrpcService(CallRunner* runner,
                           domain::PhoneVerificationService* verification =
                               nullptr)
      : runner_(runner), verification_(verification) {}

  ::grpc::ServerUnaryReactor* SignUp(::grpc::CallbackServerContext* context,
                                     const v1::SignUpRequest* request,
                                     v1::SignUpResponse* response) override;
  ::grpc::ServerUnaryReactor* Login(::grpc::CallbackServerContext* context,
                                    const v1::LoginRequest* request,
                                    v1::LoginResponse* response) override;
  ::grpc::ServerUnaryReactor* GetCurrentUser(
      ::grpc::CallbackServerContext* context,
      const v1::GetCurrentUserRequest* request,
      v1::GetCurrentUserResponse* response) override;
  ::grpc::ServerUnaryReactor* StartPhoneVerification(
      ::grpc::CallbackServerContext* context,
      const v1::StartPhoneVerificationRequest* request,
      v1::StartPhoneVerificationResponse* response) override;
  ::grpc::ServerUnaryReactor* ConfirmPhoneVerification(
      ::grpc::CallbackServerContext* context,
      const v1::ConfirmPhoneVerificationRequest* request,
      v1::ConfirmPhoneVerificationResponse* response) override;
  ::grpc::ServerUnaryReactor* SetUserQuota(
      ::grpc::CallbackServerContext* context,
      const v1::SetUserQuotaRequest* request,
      v1::SetUserQuotaResponse* response) override;
  ::grpc::ServerUnaryReactor* CreateApiKey(
      ::grpc::CallbackServerContext* context,
      const v1::CreateApiKeyRequest* request,
      v1::CreateApiKeyResponse* response) override;
  ::grpc::ServerUnaryReactor* ListApiKeys(
      ::grpc::CallbackServerContext* context,
      const v1::ListApiKeysRequest* request,
      v1::ListApiKeysResponse* response) override;
  ::grpc::ServerUnaryReactor* DeleteApiKey(
      ::grpc::CallbackServerContext* context,
      const v1::DeleteApiKeyRequest* request,
      v1::DeleteApiKeyResponse* response) override;

 private:
  CallRunner* runner_;
  domain::PhoneVerificationService* verification_;
};

}  // namespace smsgw::rpc

#endif  // SMSGW_SERVER_RPC_AUTH_GRPC_SERVICE_H_
