// File: messaging_grpc_service.h
#ifndef SMSGW_SERVER_RPC_MESSAGING_GRPC_SERVICE_H_
#define SMSGW_SERVER_RPC_MESSAGING_GRPC_SERVICE_H_

#include "server/domain/message_watch_hub.h"
#include "server/domain/messaging_service.h"
#include "server/rpc/call_runner.h"
#include "smsgw/v1/messaging.grpc.pb.h"

namespace smsgw::rpc {

// smsgw.v1.MessagingService over the callback API: translates protos to
// domain::MessagingService calls on the executor. `runner`, `messaging` and
// `watch_hub` are not owned and must outlive the service; without a hub,
// WatchMessages answers UNIMPLEMENTED. Thread-safe.
class MessagingGrpcService final : public v1::MessagingService::CallbackService {
 public:
  MessagingGrpcService(CallRunner* runner, domain::MessagingService* messaging,
                       domain::MessageWatchHub* watch_hub = nullptr)
      : runner_(runner), messaging_(messaging), watch_hub_(watch_hub) {}
  ::grpc::ServerUnaryReactor* SendMessage(
      ::grpc::CallbackServerContext* context,
      const v1::SendMessageRequest* request, v1::SendMessageResponse* response) override;
  ::grpc::ServerUnaryReactor* CancelMessage(
      ::grpc::CallbackServerContext* context,
      const v1::CancelMessageRequest* request, v1::CancelMessageResponse* response) override;
  ::grpc::ServerUnaryReactor* GetMessage(
      ::grpc::CallbackServerContext* context,
      const v1::GetMessageRequest* request, v1::GetMessageResponse* response) override;
  ::grpc::ServerUnaryReactor* ListMessages(
      ::grpc::CallbackServerContext* context,
      const v1::ListMessagesRequest* request, v1::ListMessagesResponse* response) override;
  ::grpc::ServerUnaryReactor* ListConversations(
      ::grpc::CallbackServerContext* context,
      const v1::ListConversationsRequest* request, v1::ListConversationsResponse* response) override;
  ::grpc::ServerUnaryReactor* DeleteMessage(
      ::grpc::CallbackServerContext* context,
      const v1::DeleteMessageRequest* request, v1::DeleteMessageResponse* response) override;
  ::grpc::ServerUnaryReactor* DeleteMessages(
      ::grpc::CallbackServerContext* context,
      const v1::DeleteMessagesRequest* request, v1::DeleteMessagesResponse* response) override;
  ::grpc::ServerWriteReactor<v1::WatchMessagesResponse>* WatchMessages(
      ::grpc::CallbackServerContext* context,
      const v1::WatchMessagesRequest* request) override;
  ::grpc::ServerUnaryReactor* GetMessageStats(
      ::grpc::CallbackServerContext* context,
      const v1::GetMessageStatsRequest* request, v1::GetMessageStatsResponse* response) override;

 private:
  CallRunner* runner_;
  domain::MessagingService* messaging_;
  domain::MessageWatchHub* watch_hub_;
};

}  // namespace smsgw::rpc

#endif  // SMSGW_SERVER_RPC_MESSAGING_GRPC_SERVICE_H_
