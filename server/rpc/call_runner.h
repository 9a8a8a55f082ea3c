// File: call_runner.h
//
// Runs the blocking part of a unary callback-API RPC on the server's bounded
// executor, never on gRPC's own threads (gRFC L67: reactions must not block),
// and authenticates the caller from `authorization: Bearer <JWT>` metadata.
#ifndef SMSGW_SERVER_RPC_CALL_RUNNER_H_
#define SMSGW_SERVER_RPC_CALL_RUNNER_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/executor.h"
#include "server/domain/auth_service.h"
#include "storage/user_store.h"

namespace smsgw::rpc {

// The bearer token of a call, or "" when there is no `authorization` metadata.
// InvalidArgument-free by design: anything that is not "Bearer <token>"
// yields a token the verifier rejects as malformed.
std::string BearerToken(const ::grpc::CallbackServerContext& context);

// Shared by the three services. Not owned: `executor` and `auth` must
// outlive it. Thread-safe.
class CallRunner {
 public:
  CallRunner(Executor* executor, domain::AuthService* auth)
      : executor_(executor), auth_(auth) {}

  // Schedules `work` on the executor and finishes the call with its status.
  // A full queue finishes at once with RESOURCE_EXHAUSTED; a call cancelled
  // while queued finishes CANCELLED without running `work`.
  ::grpc::ServerUnaryReactor* Run(::grpc::CallbackServerContext* context,
                                  std::function<absl::Status()> work);

  // Like Run(), after authenticating the caller for a call needing
  // `scope` (AuthService::Authenticate): `work` gets the user.
  // UNAUTHENTICATED when the credential is missing or invalid;
  // PERMISSION_DENIED when it is an API key without `scope`.
  ::grpc::ServerUnaryReactor* RunAuthenticated(
      ::grpc::CallbackServerContext* context, domain::Scope scope,
      std::function<absl::Status(const storage::User&)> work);

  // Like RunAuthenticated(), for work that finishes later on another
  // thread: `work` runs on the executor and must call `finish` exactly once,
  // from any thread, with the call's status (the response filled first).
  ::grpc::ServerUnaryReactor* RunAuthenticatedAsync(
      ::grpc::CallbackServerContext* context, domain::Scope scope,
      std::function<void(const storage::User&,
                         std::function<void(absl::Status)> finish)>
          work);

  domain::AuthService* auth() const { return auth_; }
  Executor* executor() const { return executor_; }

 private:
  Executor* executor_;
  domain::AuthService* auth_;
};

}  // namespace smsgw::rpc

#endif  // SMSGW_SERVER_RPC_CALL_RUNNER_H_
