// File: group_grpc_service.h
#ifndef SMSGW_SERVER_RPC_GROUP_GRPC_SERVICE_H_
#define SMSGW_SERVER_RPC_GROUP_GRPC_SERVICE_H_

#include "server/rpc/call_runner.h"
#include "smsgw/v1/groups.grpc.pb.h"

namespace smsgw::rpc {

// smsgw.v1.GroupService over the callback API. `runner` is not owned and must
// outlive the service. Thread-safe.
class GroupGrpcService final : public v1::GroupService::CallbackService {
 public:
  explicit GroupGrpcService(CallRunner* runner) : runner_(runner) {}
  ::grpc::ServerUnaryReactor* CreateGroup(
      ::grpc::CallbackServerContext* context,
      const v1::CreateGroupRequest* request, v1::CreateGroupResponse* response) override;
  ::grpc::ServerUnaryReactor* JoinGroup(
      ::grpc::CallbackServerContext* context,
      const v1::JoinGroupRequest* request, v1::JoinGroupResponse* response) override;
  ::grpc::ServerUnaryReactor* LeaveGroup(
      ::grpc::CallbackServerContext* context,
      const v1::LeaveGroupRequest* request, v1::LeaveGroupResponse* response) override;
  ::grpc::ServerUnaryReactor* GetGroup(
      ::grpc::CallbackServerContext* context,
      const v1::GetGroupRequest* request, v1::GetGroupResponse* response) override;
  ::grpc::ServerUnaryReactor* ListGroups(
      ::grpc::CallbackServerContext* context,
      const v1::ListGroupsRequest* request, v1::ListGroupsResponse* response) override;
  ::grpc::ServerUnaryReactor* SendGroupMessage(
      ::grpc::CallbackServerContext* context,
      const v1::SendGroupMessageRequest* request, v1::SendGroupMessageResponse* response) override;
  ::grpc::ServerUnaryReactor* ListGroupMessages(
      ::grpc::CallbackServerContext* context,
      const v1::ListGroupMessagesRequest* request, v1::ListGroupMessagesResponse* response) override;

 private:
  CallRunner* runner_;
};

}  // namespace smsgw::rpc

#endif  // SMSGW_SERVER_RPC_GROUP_GRPC_SERVICE_H_
