#include "server/rpc/webhook_grpc_service.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "server/rpc/proto_convert.h"

namespace smsgw::rpc {
namespace {

void FillWebhook(const storage::WebhookEndpoint& e, v1::Webhook* out) {
  out->set_id(absl::StrCat(e.id));
  out->set_url(e.url);
  for (const std::string& t : e.event_types) out->add_event_types(t);
  out->set_description(e.description);
  out->set_enabled(e.enabled);
  out->set_disabled_reason(e.disabled_reason);
  ToProto(e.create_time, out->mutable_create_time());
  out->set_delivered_cursor(e.delivered_cursor);
}

}  // namespace

::grpc::ServerUnaryReactor* WebhookGrpcService::CreateWebhook(
    ::grpc::CallbackServerContext* context,
    const v1::CreateWebhookRequest* request,
    v1::CreateWebhookResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kWebhooks, [this, request, response](const storage::User& user) {
        const std::vector<std::string> types(request->event_types().begin(),
                                             request->event_types().end());
        absl::StatusOr<events::CreatedWebhook> created = registry_->Create(
            user, request->url(), types, request->description());
        if (!created.ok()) return created.status();
        FillWebhook(created->endpoint, response->mutable_webhook());
        response->set_secret(created->secret);
        return absl::OkStatus();
      });
}

::grpc::ServerUnaryReactor* WebhookGrpcService::ListWebhooks(
    ::grpc::CallbackServerContext* context,
    const v1::ListWebhooksRequest* request,
    v1::ListWebhooksResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kWebhooks, [this, response](const storage::User& user) {
        absl::StatusOr<std::vector<storage::WebhookEndpoint>> list =
            registry_->List(user);
        if (!list.ok()) return list.status();
        for (const storage::WebhookEndpoint& e : *list) {
          FillWebhook(e, response->add_webhooks());
        }
        return absl::OkStatus();
      });
}

::grpc::ServerUnaryReactor* WebhookGrpcService::DeleteWebhook(
    ::grpc::CallbackServerContext* context,
    const v1::DeleteWebhookRequest* request,
    v1::DeleteWebhookResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kWebhooks, [this, request](const storage::User& user) {
        return registry_->Delete(user, request->id());
      });
}

::grpc::ServerUnaryReactor* WebhookGrpcService::ListWebhookDeliveries(
    ::grpc::CallbackServerContext* context,
    const v1::ListWebhookDeliveriesRequest* request,
    v1::ListWebhookDeliveriesResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kWebhooks, [this, request, response](const storage::User& user) {
        absl::StatusOr<std::vector<storage::WebhookDeliveryRecord>> list =
            registry_->Deliveries(user, request->id(), request->page_size());
        if (!list.ok()) return list.status();
        for (const storage::WebhookDeliveryRecord& r : *list) {
          v1::WebhookDelivery* d = response->add_deliveries();
          d->set_webhook_id(r.webhook_id);
          d->set_event_type(r.event_type);
          d->set_cursor(r.cursor);
          d->set_attempt(r.attempt);
          d->set_http_status(r.http_status);
          d->set_error(r.error);
          d->set_duration_ms(absl::ToInt64Milliseconds(r.duration));
          ToProto(r.attempt_time, d->mutable_attempt_time());
          d->set_success(r.success);
        }
        return absl::OkStatus();
      });
}

::grpc::ServerUnaryReactor* WebhookGrpcService::RotateWebhookSecret(
    ::grpc::CallbackServerContext* context,
    const v1::RotateWebhookSecretRequest* request,
    v1::RotateWebhookSecretResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kWebhooks, [this, request, response](const storage::User& user) {
        absl::StatusOr<events::CreatedWebhook> rotated =
            registry_->RotateSecret(user, request->id());
        if (!rotated.ok()) return rotated.status();
        FillWebhook(rotated->endpoint, response->mutable_webhook());
        response->set_secret(rotated->secret);
        return absl::OkStatus();
      });
}

::grpc::ServerUnaryReactor* WebhookGrpcService::EnableWebhook(
    ::grpc::CallbackServerContext* context,
    const v1::EnableWebhookRequest* request,
    v1::EnableWebhookResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kWebhooks, [this, request, response](const storage::User& user) {
        absl::StatusOr<storage::WebhookEndpoint> enabled =
            registry_->Enable(user, request->id());
        if (!enabled.ok()) return enabled.status();
        FillWebhook(*enabled, response->mutable_webhook());
        return absl::OkStatus();
      });
}

}  // namespace smsgw::rpc
