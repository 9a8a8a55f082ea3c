// File: webhook_grpc_service.h
#ifndef SMSGW_SERVER_RPC_WEBHOOK_GRPC_SERVICE_H_
#define SMSGW_SERVER_RPC_WEBHOOK_GRPC_SERVICE_H_

#include "server/events/webhook_registry.h"
#include "server/rpc/call_runner.h"
#include "smsgw/v1/webhooks.grpc.pb.h"

namespace smsgw::rpc {

// smsgw.v1.WebhookService over the callback API: the caller's outbound
// event webhook endpoints. `runner` and `registry` are not owned and must
// outlive the service. Secrets leave only in Create and RotateSecret
// answers. Thread-safe.
class WebhookGrpcService final : public v1::WebhookService::CallbackService {
 public:
  WebhookGrpcService(CallRunner* runner, events::WebhookRegistry* registry)
      : runner_(runner), registry_(registry) {}
  ::grpc::ServerUnaryReactor* CreateWebhook(
      ::grpc::CallbackServerContext* context,
      const v1::CreateWebhookRequest* request,
      v1::CreateWebhookResponse* response) override;
  ::grpc::ServerUnaryReactor* ListWebhooks(
      ::grpc::CallbackServerContext* context,
      const v1::ListWebhooksRequest* request,
      v1::ListWebhooksResponse* response) override;
  ::grpc::ServerUnaryReactor* DeleteWebhook(
      ::grpc::CallbackServerContext* context,
      const v1::DeleteWebhookRequest* request,
      v1::DeleteWebhookResponse* response) override;
  ::grpc::ServerUnaryReactor* ListWebhookDeliveries(
      ::grpc::CallbackServerContext* context,
      const v1::ListWebhookDeliveriesRequest* request,
      v1::ListWebhookDeliveriesResponse* response) override;
  ::grpc::ServerUnaryReactor* RotateWebhookSecret(
      ::grpc::CallbackServerContext* context,
      const v1::RotateWebhookSecretRequest* request,
      v1::RotateWebhookSecretResponse* response) override;
  ::grpc::ServerUnaryReactor* EnableWebhook(
      ::grpc::CallbackServerContext* context,
      const v1::EnableWebhookRequest* request,
      v1::EnableWebhookResponse* response) override;

 private:
  CallRunner* runner_;
  events::WebhookRegistry* registry_;
};

}  // namespace smsgw::rpc

#endif  // SMSGW_SERVER_RPC_WEBHOOK_GRPC_SERVICE_H_
