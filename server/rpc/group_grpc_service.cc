#include "server/rpc/group_grpc_service.h"

#include "absl/time/time.h"
#include "server/rpc/proto_convert.h"

namespace smsgw::rpc {
namespace {

void FillGroup(const domain::GroupView& view, v1::Group* out) {
  out->set_name(view.group.name);
  out->set_description(view.group.description);
  ToProto(view.group.create_time, out->mutable_create_time());
  for (const storage::GroupMemberRecord& m : view.members) {
    v1::GroupMember* member = out->add_members();
    member->set_username(m.username);
    member->set_masked_phone(m.phone_number);  // masked by GroupService
    ToProto(m.join_time, member->mutable_join_time());
  }
  out->set_proxy_number(view.proxy_number);
  out->set_member_count(view.group.member_count);
}

absl::Status NoService() {
  return absl::UnavailableError("group messaging is not configured");
}

}  // namespace

::grpc::ServerUnaryReactor* GroupGrpcService::CreateGroup(
    ::grpc::CallbackServerContext* context,
    const v1::CreateGroupRequest* request, v1::CreateGroupResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kGroups,
      [this, request, response](const storage::User& user) {
        if (groups_ == nullptr) return NoService();
        absl::StatusOr<domain::GroupView> view =
            groups_->Create(user, request->name(), request->description());
        if (!view.ok()) return view.status();
        FillGroup(*view, response->mutable_group());
        return absl::OkStatus();
      });
}

::grpc::ServerUnaryReactor* GroupGrpcService::JoinGroup(
    ::grpc::CallbackServerContext* context, const v1::JoinGroupRequest* request,
    v1::JoinGroupResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kGroups,
      [this, request, response](const storage::User& user) {
        if (groups_ == nullptr) return NoService();
        absl::StatusOr<domain::GroupView> view =
            groups_->Join(user, request->name());
        if (!view.ok()) return view.status();
        FillGroup(*view, response->mutable_membership()->mutable_group());
        response->mutable_membership()->set_proxy_number(view->proxy_number);
        return absl::OkStatus();
      });
}

::grpc::ServerUnaryReactor* GroupGrpcService::LeaveGroup(
    ::grpc::CallbackServerContext* context,
    const v1::LeaveGroupRequest* request, v1::LeaveGroupResponse* response) {
  return runner_->RunAuthenticated(context, domain::Scope::kGroups,
                                   [this, request](const storage::User& user) {
                                     if (groups_ == nullptr) return NoService();
                                     return groups_->Leave(user,
                                                           request->name());
                                   });
}

::grpc::ServerUnaryReactor* GroupGrpcService::GetGroup(
    ::grpc::CallbackServerContext* context, const v1::GetGroupRequest* request,
    v1::GetGroupResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kGroups,
      [this, request, response](const storage::User& user) {
        if (groups_ == nullptr) return NoService();
        absl::StatusOr<domain::GroupView> view =
            groups_->Get(user, request->name());
        if (!view.ok()) return view.status();
        FillGroup(*view, response->mutable_group());
        return absl::OkStatus();
      });
}

::grpc::ServerUnaryReactor* GroupGrpcService::ListGroups(
    ::grpc::CallbackServerContext* context,
    const v1::ListGroupsRequest* request, v1::ListGroupsResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kGroups,
      [this, request, response](const storage::User& user) {
        if (groups_ == nullptr) return NoService();
        absl::StatusOr<domain::GroupPage> page =
            groups_->List(user, request->page_size(), request->page_token());
        if (!page.ok()) return page.status();
        for (const domain::GroupView& view : page->groups) {
          FillGroup(view, response->add_groups());
        }
        response->set_next_page_token(page->next_page_token);
        return absl::OkStatus();
      });
}

::grpc::ServerUnaryReactor* GroupGrpcService::SendGroupMessage(
    ::grpc::CallbackServerContext* context,
    const v1::SendGroupMessageRequest* request,
    v1::SendGroupMessageResponse* response) {
  const absl::Time deadline = absl::FromChrono(context->deadline());
  return runner_->RunAuthenticated(
      context, domain::Scope::kGroups,
      [this, request, response, deadline](const storage::User& user) {
        if (groups_ == nullptr) return NoService();
        absl::StatusOr<domain::SendPolicy> policy = PolicyFromProto(*request);
        if (!policy.ok()) return policy.status();
        absl::StatusOr<domain::GroupSendResult> sent =
            groups_->Send(user, request->name(), request->body(),
                          request->idempotency_key(), deadline, *policy);
        if (!sent.ok()) return sent.status();
        ToProto(sent->post, response->mutable_message());
        for (const domain::GroupDeliveryResult& d : sent->deliveries) {
          v1::GroupDelivery* out = response->add_deliveries();
          out->set_username(d.username);
          out->set_skipped(d.skipped);
          out->set_skip_reason(d.skip_reason);
          if (d.message.has_value())
            ToProto(*d.message, out->mutable_message());
        }
        return absl::OkStatus();
      });
}

::grpc::ServerUnaryReactor* GroupGrpcService::ListGroupMessages(
    ::grpc::CallbackServerContext* context,
    const v1::ListGroupMessagesRequest* request,
    v1::ListGroupMessagesResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kGroups,
      [this, request, response](const storage::User& user) {
        if (groups_ == nullptr) return NoService();
        absl::StatusOr<domain::MessagePage> page = groups_->ListMessages(
            user, request->name(), request->page_size(), request->page_token());
        if (!page.ok()) return page.status();
        // GroupService already masked other members' numbers.
        for (const storage::Message& m : page->messages) {
          ToProto(m, response->add_messages());
        }
        response->set_next_page_token(page->next_page_token);
        return absl::OkStatus();
      });
}

}  // namespace smsgw::rpc
