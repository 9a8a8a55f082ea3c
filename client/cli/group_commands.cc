// Groups: create, join, leave, list, show, send and messages.
#include "client/cli/command_support.h"

namespace smsgw::cli {
namespace {

void PrintGroupLine(Context& ctx, const v1::Group& g) {
  ctx.out << g.name() << "  " << g.member_count() << " member(s)"
          << "  your number " << (g.proxy_number().empty() ? "-" : g.proxy_number())
          << "\n";
}

void PrintGroup(Context& ctx, const v1::Group& g) {
  ctx.out << "group: " << g.name() << "\n";
  if (!g.description().empty()) {
    ctx.out << "description: " << g.description() << "\n";
  }
  ctx.out << "created: " << FormatTime(g.create_time()) << "\n"
          << "your number: "
          << (g.proxy_number().empty() ? "-" : g.proxy_number())
          << "  (text it from your verified phone to post to the group)\n"
          << "members (" << g.member_count() << "):\n";
  for (const v1::GroupMember& m : g.members()) {
    ctx.out << "  " << m.username() << "  " << m.masked_phone() << "  joined "
            << FormatTime(m.join_time()) << "\n";
  }
}

}  // namespace

// `smsgw groups create|join|leave|list|show|send|messages`.
int Groups(Context& ctx) {
  const std::vector<std::string>& a = ctx.args;
  const std::string sub = a.size() >= 2 ? a[1] : "list";
  constexpr absl::string_view kUsage =
      "groups create NAME [--description D] | join NAME | leave NAME | list | "
      "show NAME | send NAME --body TEXT | messages NAME";
  const bool named = sub == "create" || sub == "join" || sub == "leave" ||
                     sub == "show" || sub == "send" || sub == "messages";
  if (sub == "list" ? a.size() > 2 : (!named || a.size() != 3)) {
    return UsageError(ctx, kUsage);
  }
  if (sub == "send" && ctx.options.body.empty()) {
    return UsageError(ctx, "groups send NAME needs --body");
  }
  const std::string name = named ? a[2] : "";
  auto client = Connect(ctx.options, /*with_token=*/true);
  if (!client.ok()) return Refused(ctx, client.status());
  client::SmsgwClient& c = **client;
  const bool json = ctx.options.json;

  if (sub == "create" || sub == "join") {
    v1::Group group;
    std::string proxy;
    if (sub == "create") {
      auto r = c.CreateGroup(name, ctx.options.description);
      if (!r.ok()) return Refused(ctx, r.status());
      if (json) return PrintJson(ctx, *r);
      group = r->group();
      proxy = group.proxy_number();
    } else {
      auto r = c.JoinGroup(name);
      if (!r.ok()) return Refused(ctx, r.status());
      if (json) return PrintJson(ctx, *r);
      group = r->membership().group();
      proxy = r->membership().proxy_number();
    }
    ctx.out << (sub == "create" ? "created" : "joined") << " group "
            << group.name() << " (" << group.member_count()
            << " member(s)); your number for it: " << proxy
            << "\ntext " << proxy
            << " from your verified phone to post to the group\n";
    return 0;
  }
  if (sub == "leave") {
    auto r = c.LeaveGroup(name);
    if (!r.ok()) return Refused(ctx, r.status());
    if (json) return PrintJson(ctx, *r);
    ctx.out << "left group " << name << "\n";
    return 0;
  }
  if (sub == "list") {
    v1::ListGroupsRequest request;
    request.set_page_size(ctx.options.limit);
    auto r = c.ListGroups(request);
    if (!r.ok()) return Refused(ctx, r.status());
    if (json) return PrintJson(ctx, *r);
    if (r->groups().empty()) ctx.out << "you are in no group\n";
    for (const v1::Group& g : r->groups()) PrintGroupLine(ctx, g);
    return 0;
  }
  if (sub == "show") {
    auto r = c.GetGroup(name);
    if (!r.ok()) return Refused(ctx, r.status());
    if (json) return PrintJson(ctx, *r);
    PrintGroup(ctx, r->group());
    return 0;
  }
  if (sub == "send") {
    v1::SendGroupMessageRequest request;
    request.set_name(name);
    request.set_body(ctx.options.body);
    request.set_idempotency_key(ctx.options.idempotency_key);
    if (ctx.options.ignore_quiet_hours) request.set_respect_quiet_hours(false);
    auto r = c.SendGroupMessage(request);
    if (!r.ok()) return Refused(ctx, r.status());
    if (json) return PrintJson(ctx, *r);
    ctx.out << "posted " << r->message().id() << " to " << r->message().group_name()
            << "\n";
    if (r->deliveries().empty()) ctx.out << "  (no other members)\n";
    for (const v1::GroupDelivery& d : r->deliveries()) {
      ctx.out << "  " << d.username() << "  ";
      if (d.skipped()) {
        ctx.out << "skipped: " << d.skip_reason() << "\n";
      } else {
        ctx.out << StatusText(d.message().status()) << "  "
                << d.message().from() << " -> " << d.message().to() << "\n";
      }
    }
    return 0;
  }
  // messages
  v1::ListGroupMessagesRequest request;
  request.set_name(name);
  request.set_page_size(ctx.options.limit);
  auto r = c.ListGroupMessages(request);
  if (!r.ok()) return Refused(ctx, r.status());
  if (json) return PrintJson(ctx, *r);
  if (r->messages().empty()) ctx.out << "no messages\n";
  for (const v1::Message& m : r->messages()) {
    ctx.out << FormatTime(m.create_time()) << "  " << m.owner_username()
            << (m.direction() == v1::MESSAGE_DIRECTION_INBOUND ? " (sms)"
                                                               : " (app)")
            << ": " << m.body() << "\n";
  }
  return 0;
}

}  // namespace smsgw::cli
