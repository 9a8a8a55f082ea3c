#include "server/rpc/call_runner.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "server/rpc/status_mapping.h"

namespace smsgw::rpc {

std::string BearerToken(const ::grpc::CallbackServerContext& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return "";
  absl::string_view value(it->second.data(), it->second.size());
  value = absl::StripAsciiWhitespace(value);
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() > kScheme.size() &&
      absl::StartsWithIgnoreCase(value, kScheme)) {
    return std::string(
        absl::StripAsciiWhitespace(value.substr(kScheme.size())));
  }
  // Present but not a bearer token: hand it on so it fails as malformed
  // rather than as missing.
  return std::string(value.empty() ? "-" : value);
}

::grpc::ServerUnaryReactor* CallRunner::Run(
    ::grpc::CallbackServerContext* context,
    std::function<absl::Status()> work) {
  ::grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const bool queued =
      executor_->TrySchedule([context, reactor, work = std::move(work)] {
        if (context->IsCancelled()) {
          reactor->Finish(::grpc::Status(::grpc::StatusCode::CANCELLED,
                                         "call cancelled before it started"));
          return;
        }
        reactor->Finish(ToGrpcStatus(work()));
      });
  if (!queued) {
    reactor->Finish(
        ::grpc::Status(::grpc::StatusCode::RESOURCE_EXHAUSTED,
                       "server is busy (work queue full); retry with backoff"));
  }
  return reactor;
}

::grpc::ServerUnaryReactor* CallRunner::RunAuthenticated(
    ::grpc::CallbackServerContext* context, domain::Scope scope,
    std::function<absl::Status(const storage::User&)> work) {
  std::string token = BearerToken(*context);
  return Run(context,
             [this, scope, token = std::move(token),
              work = std::move(work)]() -> absl::Status {
               absl::StatusOr<storage::User> user =
                   auth_->Authenticate(token, scope);
               if (!user.ok()) return user.status();
               return work(*user);
             });
}

::grpc::ServerUnaryReactor* CallRunner::RunAuthenticatedAsync(
    ::grpc::CallbackServerContext* context, domain::Scope scope,
    std::function<void(const storage::User&,
                       std::function<void(absl::Status)> finish)>
        work) {
  ::grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::string token = BearerToken(*context);
  auto finish = [reactor](absl::Status status) {
    reactor->Finish(ToGrpcStatus(status));
  };
  const bool queued = executor_->TrySchedule([this, context, finish, scope,
                                              token = std::move(token),
                                              work = std::move(work)] {
    if (context->IsCancelled()) {
      finish(absl::CancelledError("call cancelled before it started"));
      return;
    }
    absl::StatusOr<storage::User> user = auth_->Authenticate(token, scope);
    if (!user.ok()) {
      finish(user.status());
      return;
    }
    work(*user, finish);
  });
  if (!queued) {
    reactor->Finish(
        ::grpc::Status(::grpc::StatusCode::RESOURCE_EXHAUSTED,
                       "server is busy (work queue full); retry with backoff"));
  }
  return reactor;
}

}  // namespace smsgw::rpc
