#include "server/rpc/messaging_grpc_service.h"

#include "server/rpc/proto_convert.h"
#include "server/rpc/watch_reactor.h"

namespace smsgw::rpc {
namespace {

::grpc::Status NotYet(const char* rpc) {
  return ::grpc::Status(
      ::grpc::StatusCode::UNIMPLEMENTED,
      std::string(rpc) +
          " is not implemented yet (see the README section What works)");
}

}  // namespace

::grpc::ServerUnaryReactor* MessagingGrpcService::SendMessage(
    ::grpc::CallbackServerContext* context,
    const v1::SendMessageRequest* request, v1::SendMessageResponse* response) {
  const absl::Time deadline = absl::FromChrono(context->deadline());
  std::string metadata_key;
  auto it = context->client_metadata().find("idempotency-key");
  if (it != context->client_metadata().end()) {
    metadata_key.assign(it->second.data(), it->second.size());
  }
  // The provider's answer is awaited without holding an executor thread:
  // the call finishes from the dispatcher when the answer is in.
  return runner_->RunAuthenticatedAsync(
      context, domain::Scope::kMessagesSend,
      [this, request, response, deadline, metadata_key](
          const storage::User& user, std::function<void(absl::Status)> finish) {
        auto fail = [&finish](absl::Status status) { finish(status); };
        domain::SendRequest send;
        send.to = request->to();
        send.body = request->body();
        send.from = request->from();
        send.conversation_id = request->conversation_id();
        send.media_urls.assign(request->media_urls().begin(),
                               request->media_urls().end());
        send.idempotency_key = request->idempotency_key();
        if (!metadata_key.empty()) {
          if (!send.idempotency_key.empty() &&
              send.idempotency_key != metadata_key) {
            fail(absl::InvalidArgumentError(
                "idempotency_key and the idempotency-key metadata differ"));
            return;
          }
          send.idempotency_key = metadata_key;
        }
        if (request->has_send_at()) {
          absl::StatusOr<absl::Time> at =
              FromProto(request->send_at(), "send_at");
          if (!at.ok()) {
            fail(at.status());
            return;
          }
          send.send_at = *at;
        }
        absl::StatusOr<domain::SendPolicy> policy = PolicyFromProto(*request);
        if (!policy.ok()) {
          fail(policy.status());
          return;
        }
        send.policy = *std::move(policy);
        send.validate_only = request->validate_only();
        messaging_->SendAsync(
            user, send, deadline,
            [response, finish](absl::StatusOr<domain::SendResult> result) {
              if (result.ok()) {
                ToProto(result->message, response->mutable_message());
                for (const std::string& c : result->non_gsm_characters) {
                  response->add_non_gsm_characters(c);
                }
                response->set_idempotent_replay(result->replayed);
                if (result->sender_pick.has_value()) {
                  response->set_sender_choice(
                      ToProto(result->sender_pick->choice));
                  response->set_sender_shared(result->sender_pick->shared);
                }
              }
              finish(result.status());
            });
      });
}

::grpc::ServerUnaryReactor* MessagingGrpcService::CancelMessage(
    ::grpc::CallbackServerContext* context,
    const v1::CancelMessageRequest* request,
    v1::CancelMessageResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kMessagesSend,
      [this, request, response](const storage::User& user) -> absl::Status {
        absl::StatusOr<storage::Message> canceled =
            messaging_->Cancel(user, request->id());
        if (!canceled.ok()) return canceled.status();
        ToProto(*canceled, response->mutable_message());
        return absl::OkStatus();
      });
}

::grpc::ServerUnaryReactor* MessagingGrpcService::GetMessage(
    ::grpc::CallbackServerContext* context,
    const v1::GetMessageRequest* request, v1::GetMessageResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kMessagesRead,
      [this, request, response](const storage::User& user) -> absl::Status {
        absl::StatusOr<storage::Message> message =
            messaging_->Get(user, request->id());
        if (!message.ok()) return message.status();
        ToProto(*message, response->mutable_message());
        if (request->include_events()) {
          absl::StatusOr<std::vector<storage::DeliveryReport>> reports =
              messaging_->Reports(user, request->id());
          if (!reports.ok()) return reports.status();
          for (const storage::DeliveryReport& r : *reports) {
            ToProto(r, response->add_events());
          }
        }
        return absl::OkStatus();
      });
}

::grpc::ServerUnaryReactor* MessagingGrpcService::ListMessages(
    ::grpc::CallbackServerContext* context,
    const v1::ListMessagesRequest* request,
    v1::ListMessagesResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kMessagesRead,
      [this, request, response](const storage::User& user) -> absl::Status {
        if (!request->group_name().empty()) {
          return absl::UnimplementedError(
              "the group_name filter is not implemented yet; list a group's "
              "messages with GroupService.ListGroupMessages");
        }
        domain::ListRequest list;
        list.conversation_id = request->conversation_id();
        list.peer_number = request->peer_number();
        list.direction = static_cast<storage::Direction>(request->direction());
        for (int status : request->statuses()) {
          list.statuses.push_back(static_cast<storage::MessageStatus>(status));
        }
        if (request->has_start_time()) {
          absl::StatusOr<absl::Time> t =
              FromProto(request->start_time(), "start_time");
          if (!t.ok()) return t.status();
          list.start_time = *t;
        }
        if (request->has_end_time()) {
          absl::StatusOr<absl::Time> t =
              FromProto(request->end_time(), "end_time");
          if (!t.ok()) return t.status();
          list.end_time = *t;
        }
        list.query = request->query();
        list.username = request->username();
        list.unrouted = request->unrouted();
        list.page_size = request->page_size();
        list.page_token = request->page_token();
        absl::StatusOr<domain::MessagePage> page = messaging_->List(user, list);
        if (!page.ok()) return page.status();
        for (const storage::Message& m : page->messages) {
          ToProto(m, response->add_messages());
        }
        response->set_next_page_token(page->next_page_token);
        return absl::OkStatus();
      });
}

::grpc::ServerUnaryReactor* MessagingGrpcService::ListConversations(
    ::grpc::CallbackServerContext* context,
    const v1::ListConversationsRequest* request,
    v1::ListConversationsResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kMessagesRead,
      [this, request, response](const storage::User& user) -> absl::Status {
        absl::StatusOr<domain::ConversationPage> page =
            messaging_->ListConversations(user, request->page_size(),
                                          request->page_token());
        if (!page.ok()) return page.status();
        for (const storage::Conversation& c : page->conversations) {
          v1::Conversation* out = response->add_conversations();
          out->set_id(c.id);
          out->set_peer_number(c.peer_number);
          out->set_our_number(c.our_number);
          out->set_message_count(c.message_count);
          ToProto(c.update_time, out->mutable_update_time());
          if (c.last_message)
            ToProto(*c.last_message, out->mutable_last_message());
        }
        response->set_next_page_token(page->next_page_token);
        return absl::OkStatus();
      });
}

::grpc::ServerUnaryReactor* MessagingGrpcService::DeleteMessage(
    ::grpc::CallbackServerContext* context,
    const v1::DeleteMessageRequest* request,
    v1::DeleteMessageResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kMessagesDelete,
      [this, request](const storage::User& user) -> absl::Status {
        return messaging_->Delete(user, request->id());
      });
}

::grpc::ServerUnaryReactor* MessagingGrpcService::DeleteMessages(
    ::grpc::CallbackServerContext* context,
    const v1::DeleteMessagesRequest* request,
    v1::DeleteMessagesResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kMessagesDelete,
      [this, request, response](const storage::User& user) -> absl::Status {
        absl::StatusOr<int64_t> deleted = messaging_->DeleteAll(
            user, request->conversation_id(), request->username());
        if (!deleted.ok()) return deleted.status();
        response->set_deleted_count(*deleted);
        return absl::OkStatus();
      });
}

::grpc::ServerWriteReactor<v1::WatchMessagesResponse>*
MessagingGrpcService::WatchMessages(::grpc::CallbackServerContext* context,
                                    const v1::WatchMessagesRequest* request) {
  if (watch_hub_ == nullptr) {
    class Finished final
        : public ::grpc::ServerWriteReactor<v1::WatchMessagesResponse> {
     public:
      Finished() { Finish(NotYet("WatchMessages")); }
      void OnDone() override { delete this; }
    };
    return new Finished();
  }
  return WatchReactor::Start(context, *request, runner_, watch_hub_);
}

::grpc::ServerUnaryReactor* MessagingGrpcService::GetMessageStats(
    ::grpc::CallbackServerContext* context,
    const v1::GetMessageStatsRequest* request,
    v1::GetMessageStatsResponse* response) {
  return runner_->RunAuthenticated(
      context, domain::Scope::kMessagesRead,
      [this, request, response](const storage::User& user) -> absl::Status {
        std::optional<absl::Time> start;
        std::optional<absl::Time> end;
        if (request->has_start_time()) {
          absl::StatusOr<absl::Time> t =
              FromProto(request->start_time(), "start_time");
          if (!t.ok()) return t.status();
          start = *t;
        }
        if (request->has_end_time()) {
          absl::StatusOr<absl::Time> t =
              FromProto(request->end_time(), "end_time");
          if (!t.ok()) return t.status();
          end = *t;
        }
        absl::StatusOr<domain::MessageStatsReport> report =
            messaging_->Stats(user, start, end, request->username());
        if (!report.ok()) return report.status();
        auto add_counts = [](const std::vector<storage::StatusCount>& counts,
                             auto* out) {
          for (const storage::StatusCount& c : counts) {
            v1::StatusCount* sc = out->Add();
            sc->set_status(static_cast<v1::MessageStatus>(c.status));
            sc->set_count(c.count);
          }
        };
        const storage::MessageStats& counts = report->counts;
        add_counts(counts.status_counts, response->mutable_status_counts());
        for (const storage::DailyMessageStats& d : counts.days) {
          v1::DailyStats* day = response->add_days();
          day->set_date(d.date);
          add_counts(d.status_counts, day->mutable_status_counts());
          day->set_total_segments(d.total_segments);
          day->set_outbound_count(d.outbound_count);
          day->set_inbound_count(d.inbound_count);
        }
        response->set_delivery_rate(report->delivery_rate);
        response->set_total_segments(counts.total_segments);
        response->set_total_price(report->total_price);
        response->set_price_unit(report->price_unit);
        response->set_outbound_count(counts.outbound_count);
        response->set_inbound_count(counts.inbound_count);
        response->set_daily_segments_used(report->quota.used);
        response->set_daily_segments_quota(report->quota.quota);
        ToProto(report->quota.reset_time, response->mutable_quota_reset_time());
        return absl::OkStatus();
      });
}

}  // namespace smsgw::rpc
