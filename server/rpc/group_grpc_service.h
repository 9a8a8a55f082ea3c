// File: group_grpc_service.h
#ifndef SMSGW_SERVER_RPC_GROUP_GRPC_SERVICE_H_
#define SMSGW_SERVER_RPC_GROUP_GRPC_SERVICE_H_

#include "server/domain/group_service.h"
#include "server/rpc/call_runner.h"
#include "smsgw/v1/groups.grpc.pb.h"

namespace smsgw::rpc {

// smsgw.v1.GroupService over the callback API. `runner` and `groups` are not
// owned and must outlive the service (null `groups`: every RPC answers
// UNAVAILABLE). Thread-safe.
class GroupGrpcService final : public v1::GroupService::CallbackService {
 public:
  explicit GroupGrpcService(CallRunner* runner,
                            domain::GroupService* groups = nullptr)
      : runner_(runner), groups_(groups) {}
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
  domain::GroupService* groups_;
};

}  // namespace smsgw::rpc

#endif  // SMSGW_SERVER_RPC_GROUP_GRPC_SERVICE_H_
