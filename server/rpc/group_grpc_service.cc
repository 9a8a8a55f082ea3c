#include "server/rpc/group_grpc_service.h"

namespace smsgw::rpc {
namespace {

::grpc::Status NotYet(const char* rpc) {
  return ::grpc::Status(::grpc::StatusCode::UNIMPLEMENTED,
                        std::string(rpc) + " is not implemented yet: group messaging arrives in a later release (see the README section What works)");
}

}  // namespace

::grpc::ServerUnaryReactor* GroupGrpcService::CreateGroup(
    ::grpc::CallbackServerContext* context, const v1::CreateGroupRequest* request,
    v1::CreateGroupResponse* response) {
  ::grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(NotYet("CreateGroup"));
  return reactor;
}

::grpc::ServerUnaryReactor* GroupGrpcService::JoinGroup(
    ::grpc::CallbackServerContext* context, const v1::JoinGroupRequest* request,
    v1::JoinGroupResponse* response) {
  ::grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(NotYet("JoinGroup"));
  return reactor;
}

::grpc::ServerUnaryReactor* GroupGrpcService::LeaveGroup(
    ::grpc::CallbackServerContext* context, const v1::LeaveGroupRequest* request,
    v1::LeaveGroupResponse* response) {
  ::grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(NotYet("LeaveGroup"));
  return reactor;
}

::grpc::ServerUnaryReactor* GroupGrpcService::GetGroup(
    ::grpc::CallbackServerContext* context, const v1::GetGroupRequest* request,
    v1::GetGroupResponse* response) {
  ::grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(NotYet("GetGroup"));
  return reactor;
}

::grpc::ServerUnaryReactor* GroupGrpcService::ListGroups(
    ::grpc::CallbackServerContext* context, const v1::ListGroupsRequest* request,
    v1::ListGroupsResponse* response) {
  ::grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(NotYet("ListGroups"));
  return reactor;
}

::grpc::ServerUnaryReactor* GroupGrpcService::SendGroupMessage(
    ::grpc::CallbackServerContext* context, const v1::SendGroupMessageRequest* request,
    v1::SendGroupMessageResponse* response) {
  ::grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(NotYet("SendGroupMessage"));
  return reactor;
}

::grpc::ServerUnaryReactor* GroupGrpcService::ListGroupMessages(
    ::grpc::CallbackServerContext* context, const v1::ListGroupMessagesRequest* request,
    v1::ListGroupMessagesResponse* response) {
  ::grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(NotYet("ListGroupMessages"));
  return reactor;
}

}  // namespace smsgw::rpc
