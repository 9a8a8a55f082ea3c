#include "client/smsgw_client.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/strings/str_cat.h"

namespace smsgw::client {

absl::Status FromGrpcStatus(const ::grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

absl::StatusOr<std::unique_ptr<SmsgwClient>> SmsgwClient::Create(
    Options options) {
  if (options.target.empty()) {
    return absl::InvalidArgumentError("server address is empty");
  }
  std::shared_ptr<::grpc::ChannelCredentials> credentials;
  ::grpc::ChannelArguments args;
  if (options.use_tls) {
    ::grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.ca_cert_pem;
    credentials = ::grpc::SslCredentials(ssl);
    if (!options.tls_server_name.empty()) {
      args.SetSslTargetNameOverride(options.tls_server_name);
    }
  } else {
    credentials = ::grpc::InsecureChannelCredentials();
  }
  auto channel =
      ::grpc::CreateCustomChannel(options.target, credentials, args);
  return std::unique_ptr<SmsgwClient>(
      new SmsgwClient(std::move(options), std::move(channel)));
}

SmsgwClient::SmsgwClient(Options options,
                         std::shared_ptr<::grpc::Channel> channel)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      auth_(v1::AuthService::NewStub(channel_)),
      messaging_(v1::MessagingService::NewStub(channel_)),
      groups_(v1::GroupService::NewStub(channel_)) {}

std::unique_ptr<::grpc::ClientContext> SmsgwClient::NewContext() const {
  auto context = std::make_unique<::grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  if (!token_.empty()) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", token_));
  }
  return context;
}

template <typename Response>
absl::StatusOr<Response> SmsgwClient::Call(
    const std::function<::grpc::Status(::grpc::ClientContext*, Response*)>&
        rpc) {
  std::unique_ptr<::grpc::ClientContext> context = NewContext();
  Response response;
  absl::Status status = FromGrpcStatus(rpc(context.get(), &response));
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<v1::SignUpResponse> SmsgwClient::SignUp(
    absl::string_view username, absl::string_view password,
    absl::string_view phone_number) {
  v1::SignUpRequest request;
  request.set_username(std::string(username));
  request.set_password(std::string(password));
  request.set_phone_number(std::string(phone_number));
  return Call<v1::SignUpResponse>(
      [&](::grpc::ClientContext* c, v1::SignUpResponse* r) {
        return auth_->SignUp(c, request, r);
      });
}

absl::StatusOr<v1::LoginResponse> SmsgwClient::Login(
    absl::string_view username, absl::string_view password) {
  v1::LoginRequest request;
  request.set_username(std::string(username));
  request.set_password(std::string(password));
  return Call<v1::LoginResponse>(
      [&](::grpc::ClientContext* c, v1::LoginResponse* r) {
        return auth_->Login(c, request, r);
      });
}

absl::StatusOr<v1::GetCurrentUserResponse> SmsgwClient::GetCurrentUser() {
  v1::GetCurrentUserRequest request;
  return Call<v1::GetCurrentUserResponse>(
      [&](::grpc::ClientContext* c, v1::GetCurrentUserResponse* r) {
        return auth_->GetCurrentUser(c, request, r);
      });
}

absl::StatusOr<v1::SendMessageResponse> SmsgwClient::SendMessage(
    const v1::SendMessageRequest& request) {
  return Call<v1::SendMessageResponse>(
      [&](::grpc::ClientContext* c, v1::SendMessageResponse* r) {
        return messaging_->SendMessage(c, request, r);
      });
}

absl::StatusOr<v1::GetMessageResponse> SmsgwClient::GetMessage(
    absl::string_view id, bool include_events) {
  v1::GetMessageRequest request;
  request.set_id(std::string(id));
  request.set_include_events(include_events);
  return Call<v1::GetMessageResponse>(
      [&](::grpc::ClientContext* c, v1::GetMessageResponse* r) {
        return messaging_->GetMessage(c, request, r);
      });
}

absl::StatusOr<v1::ListMessagesResponse> SmsgwClient::ListMessages(
    const v1::ListMessagesRequest& request) {
  return Call<v1::ListMessagesResponse>(
      [&](::grpc::ClientContext* c, v1::ListMessagesResponse* r) {
        return messaging_->ListMessages(c, request, r);
      });
}

absl::StatusOr<v1::ListConversationsResponse> SmsgwClient::ListConversations(
    const v1::ListConversationsRequest& request) {
  return Call<v1::ListConversationsResponse>(
      [&](::grpc::ClientContext* c, v1::ListConversationsResponse* r) {
        return messaging_->ListConversations(c, request, r);
      });
}

absl::StatusOr<v1::DeleteMessageResponse> SmsgwClient::DeleteMessage(
    absl::string_view id) {
  v1::DeleteMessageRequest request;
  request.set_id(std::string(id));
  return Call<v1::DeleteMessageResponse>(
      [&](::grpc::ClientContext* c, v1::DeleteMessageResponse* r) {
        return messaging_->DeleteMessage(c, request, r);
      });
}

absl::StatusOr<v1::CancelMessageResponse> SmsgwClient::CancelMessage(
    absl::string_view id) {
  v1::CancelMessageRequest request;
  request.set_id(std::string(id));
  return Call<v1::CancelMessageResponse>(
      [&](::grpc::ClientContext* c, v1::CancelMessageResponse* r) {
        return messaging_->CancelMessage(c, request, r);
      });
}

absl::StatusOr<v1::DeleteMessagesResponse> SmsgwClient::DeleteMessages(
    const v1::DeleteMessagesRequest& request) {
  return Call<v1::DeleteMessagesResponse>(
      [&](::grpc::ClientContext* c, v1::DeleteMessagesResponse* r) {
        return messaging_->DeleteMessages(c, request, r);
      });
}

absl::StatusOr<v1::GetMessageStatsResponse> SmsgwClient::GetMessageStats(
    const v1::GetMessageStatsRequest& request) {
  return Call<v1::GetMessageStatsResponse>(
      [&](::grpc::ClientContext* c, v1::GetMessageStatsResponse* r) {
        return messaging_->GetMessageStats(c, request, r);
      });
}

absl::StatusOr<v1::StartPhoneVerificationResponse> SmsgwClient::StartPhoneVerification(
    absl::string_view phone_number) {
  v1::StartPhoneVerificationRequest request;
  request.set_phone_number(std::string(phone_number));
  return Call<v1::StartPhoneVerificationResponse>(
      [&](::grpc::ClientContext* c, v1::StartPhoneVerificationResponse* r) {
        return auth_->StartPhoneVerification(c, request, r);
      });
}

absl::StatusOr<v1::SetUserQuotaResponse> SmsgwClient::SetUserQuota(
    absl::string_view username, int64_t daily_segments) {
  v1::SetUserQuotaRequest request;
  request.set_username(std::string(username));
  request.set_daily_segments(daily_segments);
  return Call<v1::SetUserQuotaResponse>(
      [&](::grpc::ClientContext* c, v1::SetUserQuotaResponse* r) {
        return auth_->SetUserQuota(c, request, r);
      });
}

absl::StatusOr<v1::CreateApiKeyResponse> SmsgwClient::CreateApiKey(
    absl::string_view name, const std::vector<std::string>& scopes) {
  v1::CreateApiKeyRequest request;
  request.set_name(std::string(name));
  for (const std::string& scope : scopes) request.add_scopes(scope);
  return Call<v1::CreateApiKeyResponse>(
      [&](::grpc::ClientContext* c, v1::CreateApiKeyResponse* r) {
        return auth_->CreateApiKey(c, request, r);
      });
}

absl::StatusOr<v1::ListApiKeysResponse> SmsgwClient::ListApiKeys() {
  v1::ListApiKeysRequest request;
  return Call<v1::ListApiKeysResponse>(
      [&](::grpc::ClientContext* c, v1::ListApiKeysResponse* r) {
        return auth_->ListApiKeys(c, request, r);
      });
}

absl::StatusOr<v1::DeleteApiKeyResponse> SmsgwClient::DeleteApiKey(
    absl::string_view id) {
  v1::DeleteApiKeyRequest request;
  request.set_id(std::string(id));
  return Call<v1::DeleteApiKeyResponse>(
      [&](::grpc::ClientContext* c, v1::DeleteApiKeyResponse* r) {
        return auth_->DeleteApiKey(c, request, r);
      });
}

absl::StatusOr<v1::ConfirmPhoneVerificationResponse> SmsgwClient::ConfirmPhoneVerification(
    absl::string_view code) {
  v1::ConfirmPhoneVerificationRequest request;
  request.set_code(std::string(code));
  return Call<v1::ConfirmPhoneVerificationResponse>(
      [&](::grpc::ClientContext* c, v1::ConfirmPhoneVerificationResponse* r) {
        return auth_->ConfirmPhoneVerification(c, request, r);
      });
}

absl::StatusOr<v1::CreateGroupResponse> SmsgwClient::CreateGroup(
    absl::string_view name, absl::string_view description) {
  v1::CreateGroupRequest request;
  request.set_name(std::string(name));
  request.set_description(std::string(description));
  return Call<v1::CreateGroupResponse>(
      [&](::grpc::ClientContext* c, v1::CreateGroupResponse* r) {
        return groups_->CreateGroup(c, request, r);
      });
}

absl::StatusOr<v1::JoinGroupResponse> SmsgwClient::JoinGroup(
    absl::string_view name) {
  v1::JoinGroupRequest request;
  request.set_name(std::string(name));
  return Call<v1::JoinGroupResponse>(
      [&](::grpc::ClientContext* c, v1::JoinGroupResponse* r) {
        return groups_->JoinGroup(c, request, r);
      });
}

absl::StatusOr<v1::LeaveGroupResponse> SmsgwClient::LeaveGroup(
    absl::string_view name) {
  v1::LeaveGroupRequest request;
  request.set_name(std::string(name));
  return Call<v1::LeaveGroupResponse>(
      [&](::grpc::ClientContext* c, v1::LeaveGroupResponse* r) {
        return groups_->LeaveGroup(c, request, r);
      });
}

absl::StatusOr<v1::GetGroupResponse> SmsgwClient::GetGroup(
    absl::string_view name) {
  v1::GetGroupRequest request;
  request.set_name(std::string(name));
  return Call<v1::GetGroupResponse>(
      [&](::grpc::ClientContext* c, v1::GetGroupResponse* r) {
        return groups_->GetGroup(c, request, r);
      });
}

absl::StatusOr<v1::ListGroupsResponse> SmsgwClient::ListGroups(
    const v1::ListGroupsRequest& request) {
  return Call<v1::ListGroupsResponse>(
      [&](::grpc::ClientContext* c, v1::ListGroupsResponse* r) {
        return groups_->ListGroups(c, request, r);
      });
}

absl::StatusOr<v1::SendGroupMessageResponse> SmsgwClient::SendGroupMessage(
    const v1::SendGroupMessageRequest& request) {
  return Call<v1::SendGroupMessageResponse>(
      [&](::grpc::ClientContext* c, v1::SendGroupMessageResponse* r) {
        return groups_->SendGroupMessage(c, request, r);
      });
}

absl::StatusOr<v1::ListGroupMessagesResponse> SmsgwClient::ListGroupMessages(
    const v1::ListGroupMessagesRequest& request) {
  return Call<v1::ListGroupMessagesResponse>(
      [&](::grpc::ClientContext* c, v1::ListGroupMessagesResponse* r) {
        return groups_->ListGroupMessages(c, request, r);
      });
}

}  // namespace smsgw::client
