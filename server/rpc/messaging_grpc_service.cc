#include "server/rpc/messaging_grpc_service.h"

namespace smsgw::rpc {
namespace {

::grpc::Status NotYet(const char* rpc) {
  return ::grpc::Status(::grpc::StatusCode::UNIMPLEMENTED,
                        std::string(rpc) + " is not implemented yet: messaging arrives in a later release (see the README section What works)");
}

}  // namespace

::grpc::ServerUnaryReactor* MessagingGrpcService::SendMessage(
    ::grpc::CallbackServerContext* context, const v1::SendMessageRequest* request,
    v1::SendMessageResponse* response) {
  ::grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(NotYet("SendMessage"));
  return reactor;
}

::grpc::ServerUnaryReactor* MessagingGrpcService::CancelMessage(
    ::grpc::CallbackServerContext* context, const v1::CancelMessageRequest* request,
    v1::CancelMessageResponse* response) {
  ::grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(NotYet("CancelMessage"));
  return reactor;
}

::grpc::ServerUnaryReactor* MessagingGrpcService::GetMessage(
    ::grpc::CallbackServerContext* context, const v1::GetMessageRequest* request,
    v1::GetMessageResponse* response) {
  ::grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(NotYet("GetMessage"));
  return reactor;
}

::grpc::ServerUnaryReactor* MessagingGrpcService::ListMessages(
    ::grpc::CallbackServerContext* context, const v1::ListMessagesRequest* request,
    v1::ListMessagesResponse* response) {
  ::grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(NotYet("ListMessages"));
  return reactor;
}

::grpc::ServerUnaryReactor* MessagingGrpcService::ListConversations(
    ::grpc::CallbackServerContext* context, const v1::ListConversationsRequest* request,
    v1::ListConversationsResponse* response) {
  ::grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(NotYet("ListConversations"));
  return reactor;
}

::grpc::ServerUnaryReactor* MessagingGrpcService::DeleteMessage(
    ::grpc::CallbackServerContext* context, const v1::DeleteMessageRequest* request,
    v1::DeleteMessageResponse* response) {
  ::grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(NotYet("DeleteMessage"));
  return reactor;
}

::grpc::ServerUnaryReactor* MessagingGrpcService::DeleteMessages(
    ::grpc::CallbackServerContext* context, const v1::DeleteMessagesRequest* request,
    v1::DeleteMessagesResponse* response) {
  ::grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(NotYet("DeleteMessages"));
  return reactor;
}

::grpc::ServerWriteReactor<v1::WatchMessagesResponse>* MessagingGrpcService::WatchMessages(
    ::grpc::CallbackServerContext* context, const v1::WatchMessagesRequest* request) {
  class Finished final : public ::grpc::ServerWriteReactor<v1::WatchMessagesResponse> {
   public:
    Finished() { Finish(NotYet("WatchMessages")); }
    void OnDone() override { delete this; }
  };
  return new Finished();
}

::grpc::ServerUnaryReactor* MessagingGrpcService::GetMessageStats(
    ::grpc::CallbackServerContext* context, const v1::GetMessageStatsRequest* request,
    v1::GetMessageStatsResponse* response) {
  ::grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(NotYet("GetMessageStats"));
  return reactor;
}

}  // namespace smsgw::rpc
