// Messages: send (now or scheduled with --at), cancel, messages, conversations
// and delete.
#include "client/cli/command_support.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/time/time.h"
#include "client/cli/send_at.h"

namespace smsgw::cli {

int Send(Context& ctx) {
  if (ctx.options.to.empty() ||
      (ctx.options.body.empty() && ctx.options.media_urls.empty())) {
    return UsageError(ctx, "send needs --to and --body (or --media)");
  }
  auto client = Connect(ctx.options, /*with_token=*/true);
  if (!client.ok()) return Refused(ctx, client.status());
  v1::SendMessageRequest request;
  request.set_to(ctx.options.to);
  request.set_body(ctx.options.body);
  request.set_from(ctx.options.from);
  request.set_conversation_id(ctx.options.conversation);
  for (const std::string& url : ctx.options.media_urls) {
    request.add_media_urls(url);
  }
  request.set_idempotency_key(ctx.options.idempotency_key);
  request.set_validate_only(ctx.options.validate_only);
  if (!ctx.options.at.empty()) {
    absl::StatusOr<absl::Time> at = ParseSendAt(ctx.options.at, absl::Now());
    if (!at.ok()) return UsageError(ctx, at.status().message());
    request.mutable_send_at()->set_seconds(absl::ToUnixSeconds(*at));
  }
  if (!ctx.options.validity.empty()) {
    absl::Duration validity;
    if (!absl::ParseDuration(ctx.options.validity, &validity) ||
        validity <= absl::ZeroDuration()) {
      return UsageError(ctx, "--validity must be a duration like 30m or 2h");
    }
    request.mutable_validity_period()->set_seconds(
        absl::ToInt64Seconds(validity));
    request.mutable_validity_period()->set_nanos(static_cast<int32_t>(
        absl::ToInt64Nanoseconds(validity % absl::Seconds(1))));
  }
  if (!ctx.options.priority.empty()) {
    const std::string name = absl::AsciiStrToUpper(ctx.options.priority);
    v1::MessagePriority priority;
    if (!v1::MessagePriority_Parse("MESSAGE_PRIORITY_" + name, &priority) ||
        priority == v1::MESSAGE_PRIORITY_UNSPECIFIED) {
      return UsageError(ctx, "--priority must be bulk, normal or high");
    }
    request.set_priority(priority);
  }
  if (ctx.options.ignore_quiet_hours) request.set_respect_quiet_hours(false);
  auto response = (*client)->SendMessage(request);
  if (!response.ok()) return Refused(ctx, response.status());
  if (ctx.options.json) {
    ctx.out << ToJson(*response);
    return 0;
  }
  const v1::Message& m = response->message();
  if (ctx.options.validate_only) {
    ctx.out << "valid: to " << m.to() << ", "
            << (m.encoding() == v1::MESSAGE_ENCODING_UCS2 ? "UCS-2" : "GSM-7")
            << ", " << m.num_segments() << " segment(s)";
    if (m.has_scheduled_time()) {
      ctx.out << "; would be scheduled for " << FormatTime(m.scheduled_time());
    }
    if (response->non_gsm_characters_size() > 0) {
      ctx.out << "; UCS-2 because of:";
      for (const std::string& c : response->non_gsm_characters()) {
        ctx.out << " " << c;
      }
    }
    ctx.out << "\n";
    return 0;
  }
  if (response->idempotent_replay()) ctx.out << "(idempotent replay)\n";
  PrintMessage(ctx, m);
  return 0;
}

int Messages(Context& ctx) {
  auto client = Connect(ctx.options, /*with_token=*/true);
  if (!client.ok()) return Refused(ctx, client.status());
  if (ctx.args.size() >= 2 && ctx.args[1] == "get") {
    if (ctx.args.size() != 3) return UsageError(ctx, "messages get ID");
    auto response = (*client)->GetMessage(ctx.args[2], ctx.options.events);
    if (!response.ok()) return Refused(ctx, response.status());
    if (ctx.options.json) {
      ctx.out << ToJson(*response);
      return 0;
    }
    PrintMessage(ctx, response->message());
    for (const v1::DeliveryReport& r : response->events()) {
      ctx.out << "    " << FormatTime(r.event_time()) << "  "
              << StatusText(r.status()) << "  " << r.provider_status()
              << (r.applied() ? "" : "  (not applied)");
      if (r.error_code() != 0) ctx.out << "  error " << r.error_code();
      ctx.out << "\n";
    }
    return 0;
  }
  if (ctx.args.size() >= 2 && ctx.args[1] != "list") {
    return UsageError(ctx, "messages [list|get ID]");
  }
  v1::ListMessagesRequest request;
  request.set_conversation_id(ctx.options.conversation);
  request.set_peer_number(ctx.options.peer);
  request.set_query(ctx.options.query);
  request.set_page_size(ctx.options.limit);
  auto response = (*client)->ListMessages(request);
  if (!response.ok()) return Refused(ctx, response.status());
  if (ctx.options.json) {
    ctx.out << ToJson(*response);
    return 0;
  }
  if (response->messages().empty()) ctx.out << "no messages\n";
  for (const v1::Message& m : response->messages()) PrintMessage(ctx, m);
  return 0;
}

int Conversations(Context& ctx) {
  auto client = Connect(ctx.options, /*with_token=*/true);
  if (!client.ok()) return Refused(ctx, client.status());
  v1::ListConversationsRequest request;
  request.set_page_size(ctx.options.limit);
  auto response = (*client)->ListConversations(request);
  if (!response.ok()) return Refused(ctx, response.status());
  if (ctx.options.json) {
    ctx.out << ToJson(*response);
    return 0;
  }
  if (response->conversations().empty()) ctx.out << "no conversations\n";
  for (const v1::Conversation& c : response->conversations()) {
    ctx.out << c.id() << "  peer " << c.peer_number() << "  "
            << c.message_count() << " message(s), last "
            << FormatTime(c.update_time()) << ": "
            << c.last_message().body().substr(0, 60) << "\n";
  }
  return 0;
}

// `smsgw cancel ID`: stops a scheduled send.
int Cancel(Context& ctx) {
  if (ctx.args.size() != 2) return UsageError(ctx, "cancel ID");
  auto client = Connect(ctx.options, /*with_token=*/true);
  if (!client.ok()) return Refused(ctx, client.status());
  auto response = (*client)->CancelMessage(ctx.args[1]);
  if (!response.ok()) return Refused(ctx, response.status());
  if (ctx.options.json) {
    ctx.out << ToJson(*response);
    return 0;
  }
  PrintMessage(ctx, response->message());
  return 0;
}

int Delete(Context& ctx) {
  auto client = Connect(ctx.options, /*with_token=*/true);
  if (!client.ok()) return Refused(ctx, client.status());
  if (ctx.args.size() == 2) {
    absl::Status deleted = (*client)->DeleteMessage(ctx.args[1]).status();
    if (!deleted.ok()) return Refused(ctx, deleted);
    ctx.out << "deleted 1 message\n";
    return 0;
  }
  if (ctx.args.size() != 1 || ctx.options.conversation.empty()) {
    return UsageError(ctx, "delete ID, or delete --conversation ID");
  }
  v1::DeleteMessagesRequest request;
  request.set_conversation_id(ctx.options.conversation);
  auto response = (*client)->DeleteMessages(request);
  if (!response.ok()) return Refused(ctx, response.status());
  ctx.out << "deleted " << response->deleted_count() << " message(s)\n";
  return 0;
}

}  // namespace smsgw::cli
