// File: smsgw_client.h
//
// A typed C++ client for the smsgw gRPC API: one method per RPC, returning
// absl::StatusOr of the response proto (gRPC status codes map 1:1 onto
// absl::StatusCode). Every call carries a deadline and, once set, the bearer
// token.
//
//   SMSGW_ASSIGN_OR_RETURN(auto client, SmsgwClient::Create({.target = addr}));
//   SMSGW_ASSIGN_OR_RETURN(v1::LoginResponse login, client->Login("ann", pw));
//   client->set_access_token(login.access_token());
#ifndef SMSGW_CLIENT_SMSGW_CLIENT_H_
#define SMSGW_CLIENT_SMSGW_CLIENT_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "smsgw/v1/auth.grpc.pb.h"
#include "smsgw/v1/groups.grpc.pb.h"
#include "smsgw/v1/messaging.grpc.pb.h"

namespace smsgw::client {

// Converts a gRPC status to absl::Status (same code numbering).
absl::Status FromGrpcStatus(const ::grpc::Status& status);

// Thread-safe for concurrent calls; set_access_token() must not race calls.
class SmsgwClient {
 public:
  struct Options {
    std::string target = "127.0.0.1:50051";  // host:port
    bool use_tls = false;
    std::string ca_cert_pem;  // with use_tls: trust roots; empty = system
    std::string tls_server_name;  // override the name checked in the cert
    absl::Duration timeout = absl::Seconds(30);  // per-call deadline
  };

  // Builds a channel to `options.target`. InvalidArgument for an empty
  // target. Does not connect until the first call.
  static absl::StatusOr<std::unique_ptr<SmsgwClient>> Create(Options options);

  void set_access_token(std::string token) { token_ = std::move(token); }
  const std::string& access_token() const { return token_; }

  absl::StatusOr<v1::SignUpResponse> SignUp(absl::string_view username,
                                            absl::string_view password,
                                            absl::string_view phone_number);
  absl::StatusOr<v1::LoginResponse> Login(absl::string_view username,
                                          absl::string_view password);
  absl::StatusOr<v1::GetCurrentUserResponse> GetCurrentUser();

  absl::StatusOr<v1::SendMessageResponse> SendMessage(
      const v1::SendMessageRequest& request);
  absl::StatusOr<v1::GetMessageResponse> GetMessage(absl::string_view id,
                                                    bool include_events);
  absl::StatusOr<v1::ListMessagesResponse> ListMessages(
      const v1::ListMessagesRequest& request);
  absl::StatusOr<v1::ListConversationsResponse> ListConversations(
      const v1::ListConversationsRequest& request);
  absl::StatusOr<v1::DeleteMessageResponse> DeleteMessage(absl::string_view id);
  // Cancels the SCHEDULED message `id`; FAILED_PRECONDITION once it has been
  // handed to the provider.
  absl::StatusOr<v1::CancelMessageResponse> CancelMessage(absl::string_view id);
  absl::StatusOr<v1::DeleteMessagesResponse> DeleteMessages(
      const v1::DeleteMessagesRequest& request);

  // GetMessageStats: counts by status and UTC day, delivery rate, segments
  // and price of the caller's (or, for admins, `username`'s) messages.
  absl::StatusOr<v1::GetMessageStatsResponse> GetMessageStats(
      const v1::GetMessageStatsRequest& request);

  // Phone verification (AuthService): StartPhoneVerification sends a 6-digit
  // code by SMS to `phone_number` (E.164 or national; empty = the caller's
  // current number); ConfirmPhoneVerification checks it. Status codes as the
  // RPCs document them in auth.proto.
  absl::StatusOr<v1::StartPhoneVerificationResponse> StartPhoneVerification(
      absl::string_view phone_number);
  absl::StatusOr<v1::ConfirmPhoneVerificationResponse>
  ConfirmPhoneVerification(absl::string_view code);
  // Admins only: sets `username`'s daily segment quota (0 = the server's
  // default). Status codes as auth.proto documents SetUserQuota.
  absl::StatusOr<v1::SetUserQuotaResponse> SetUserQuota(
      absl::string_view username, int64_t daily_segments);
  // API keys of the logged-in user (a login token, not a key, must be set).
  // Status codes as auth.proto documents CreateApiKey, ListApiKeys and
  // DeleteApiKey; CreateApiKey's answer holds the secret, shown only there.
  absl::StatusOr<v1::CreateApiKeyResponse> CreateApiKey(
      absl::string_view name, const std::vector<std::string>& scopes);
  absl::StatusOr<v1::ListApiKeysResponse> ListApiKeys();
  absl::StatusOr<v1::DeleteApiKeyResponse> DeleteApiKey(absl::string_view id);

  // GroupService, one wrapper per RPC; `name` is a group name (any case).
  // Status codes as documented in groups.proto.
  absl::StatusOr<v1::CreateGroupResponse> CreateGroup(
      absl::string_view name, absl::string_view description);
  absl::StatusOr<v1::JoinGroupResponse> JoinGroup(absl::string_view name);
  absl::StatusOr<v1::LeaveGroupResponse> LeaveGroup(absl::string_view name);
  absl::StatusOr<v1::GetGroupResponse> GetGroup(absl::string_view name);
  absl::StatusOr<v1::ListGroupsResponse> ListGroups(
      const v1::ListGroupsRequest& request);
  absl::StatusOr<v1::SendGroupMessageResponse> SendGroupMessage(
      const v1::SendGroupMessageRequest& request);
  absl::StatusOr<v1::ListGroupMessagesResponse> ListGroupMessages(
      const v1::ListGroupMessagesRequest& request);

  // The raw stubs, for RPCs without a wrapper yet (streams).
  v1::AuthService::Stub* auth() { return auth_.get(); }
  v1::MessagingService::Stub* messaging() { return messaging_.get(); }
  v1::GroupService::Stub* groups() { return groups_.get(); }

  // A context with this client's deadline and token.
  std::unique_ptr<::grpc::ClientContext> NewContext() const;

 private:
  explicit SmsgwClient(Options options,
                       std::shared_ptr<::grpc::Channel> channel);

  template <typename Response>
  absl::StatusOr<Response> Call(
      const std::function<::grpc::Status(::grpc::ClientContext*, Response*)>&
          rpc);

  Options options_;
  std::shared_ptr<::grpc::Channel> channel_;
  std::unique_ptr<v1::AuthService::Stub> auth_;
  std::unique_ptr<v1::MessagingService::Stub> messaging_;
  std::unique_ptr<v1::GroupService::Stub> groups_;
  std::string token_;
};

}  // namespace smsgw::client

#endif  // SMSGW_CLIENT_SMSGW_CLIENT_H_
