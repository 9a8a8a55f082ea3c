// Observing messages: stats (counts, delivery rate, price) and watch (events
// as they happen).
#include "client/cli/command_support.h"

#include <chrono>
#include <cstdint>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "client/cli/time_window.h"

namespace smsgw::cli {
namespace {

void PrintStatusCounts(
    Context& ctx,
    const google::protobuf::RepeatedPtrField<v1::StatusCount>& counts) {
  bool first = true;
  for (const v1::StatusCount& c : counts) {
    ctx.out << (first ? "" : ", ") << StatusText(c.status()) << " "
            << c.count();
    first = false;
  }
  if (first) ctx.out << "-";
}

std::string OneLineJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, print);
  return json;
}

const char* EventTypeText(v1::MessageEventType type) {
  switch (type) {
    case v1::MESSAGE_EVENT_TYPE_CREATED:
      return "CREATED";
    case v1::MESSAGE_EVENT_TYPE_INBOUND:
      return "INBOUND";
    case v1::MESSAGE_EVENT_TYPE_STATUS_CHANGED:
      return "STATUS_CHANGED";
    case v1::MESSAGE_EVENT_TYPE_DELETED:
      return "DELETED";
    default:
      return "UNSPECIFIED";
  }
}

}  // namespace

// `smsgw stats`: counts by status and UTC day, delivery rate, segments and
// price of the caller's messages (or --username's, for admins).
int Stats(Context& ctx) {
  if (ctx.args.size() != 1) return UsageError(ctx, "stats takes no arguments");
  const CliOptions& o = ctx.options;
  if (!o.since.empty() && !o.start.empty()) {
    return UsageError(ctx, "stats: give --since or --start, not both");
  }
  v1::GetMessageStatsRequest request;
  request.set_username(o.username);
  absl::Time end = absl::Now();
  if (!o.end.empty()) {
    absl::StatusOr<absl::Time> t = ParseInstant(o.end);
    if (!t.ok()) {
      return UsageError(ctx, absl::StrCat("--end: ", t.status().message()));
    }
    end = *t;
    request.mutable_end_time()->set_seconds(absl::ToUnixSeconds(end));
  }
  if (!o.since.empty()) {
    absl::StatusOr<absl::Duration> since = ParseSince(o.since);
    if (!since.ok()) return UsageError(ctx, since.status().message());
    // Whole seconds: the server's window is [start, end).
    request.mutable_start_time()->set_seconds(
        absl::ToUnixSeconds(end - *since));
  }
  if (!o.start.empty()) {
    absl::StatusOr<absl::Time> t = ParseInstant(o.start);
    if (!t.ok()) {
      return UsageError(ctx, absl::StrCat("--start: ", t.status().message()));
    }
    request.mutable_start_time()->set_seconds(absl::ToUnixSeconds(*t));
  }
  auto client = Connect(o, /*with_token=*/true);
  if (!client.ok()) return Refused(ctx, client.status());
  auto response = (*client)->GetMessageStats(request);
  if (!response.ok()) return Refused(ctx, response.status());
  if (o.json) {
    ctx.out << ToJson(*response);
    return 0;
  }
  ctx.out << "messages: " << response->outbound_count() << " out, "
          << response->inbound_count() << " in; " << response->total_segments()
          << " segment(s) sent\n";
  ctx.out << "delivery rate: "
          << absl::StrFormat("%.1f%%", 100.0 * response->delivery_rate())
          << "\n";
  ctx.out << "price: " << response->total_price()
          << (response->price_unit().empty() ? "" : " ")
          << response->price_unit() << "\n";
  ctx.out << "by status: ";
  PrintStatusCounts(ctx, response->status_counts());
  ctx.out << "\n";
  for (const v1::DailyStats& day : response->days()) {
    ctx.out << day.date() << "  out " << day.outbound_count() << "  in "
            << day.inbound_count() << "  segments " << day.total_segments()
            << "  ";
    PrintStatusCounts(ctx, day.status_counts());
    ctx.out << "\n";
  }
  return 0;
}

// `smsgw watch`: one line per event until interrupted (or --max_events).
// A stream the server ends (too slow, shutting down) exits 1 with the
// server's message, which names the cursor to pass as --after.
int Watch(Context& ctx) {
  if (ctx.args.size() != 1) {
    return UsageError(ctx, "watch [--conversation ID] [--after CURSOR]");
  }
  if (ctx.options.max_events < 0) {
    return UsageError(ctx, "--max_events must not be negative");
  }
  auto client = Connect(ctx.options, /*with_token=*/true);
  if (!client.ok()) return Refused(ctx, client.status());
  v1::WatchMessagesRequest request;
  request.set_conversation_id(ctx.options.conversation);
  request.set_after_cursor(ctx.options.after);
  // A watch has no deadline: --timeout bounds single calls, not a stream.
  std::unique_ptr<::grpc::ClientContext> context = (*client)->NewContext();
  context->set_deadline(std::chrono::system_clock::time_point::max());
  std::unique_ptr<::grpc::ClientReader<v1::WatchMessagesResponse>> reader =
      (*client)->messaging()->WatchMessages(context.get(), request);
  v1::WatchMessagesResponse response;
  int64_t seen = 0;
  while ((ctx.options.max_events == 0 || seen < ctx.options.max_events) &&
         reader->Read(&response)) {
    ++seen;
    const v1::MessageEvent& e = response.event();
    if (ctx.options.json) {
      ctx.out << OneLineJson(e) << std::endl;
      continue;
    }
    const v1::Message& m = e.message();
    ctx.out << e.cursor() << "  " << EventTypeText(e.type()) << "  " << m.id()
            << "  " << StatusText(m.status());
    if (e.type() == v1::MESSAGE_EVENT_TYPE_DELETED) {
      ctx.out << "  conversation " << m.conversation_id();
    } else {
      ctx.out << "  " << m.from() << " -> " << m.to() << "  " << m.body();
    }
    ctx.out << std::endl;  // flushed: the output is often a pipe
  }
  if (ctx.options.max_events != 0 && seen >= ctx.options.max_events) {
    context->TryCancel();
    (void)reader->Finish();
    return 0;
  }
  absl::Status status = client::FromGrpcStatus(reader->Finish());
  if (!status.ok()) return Refused(ctx, status);
  return 0;
}

}  // namespace smsgw::cli
