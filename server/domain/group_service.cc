#include "server/domain/group_service.h"

#include "server/domain/phone_number.h"


#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/logging.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "server/domain/page_token.h"
#include "server/domain/segments.h"

namespace smsgw::domain {
namespace {

// What members see of each other: phone numbers masked (MaskPhoneNumber),
// never the digits. Applied wherever a view leaves GroupService.
GroupView Presented(GroupView view) {
  for (storage::GroupMemberRecord& m : view.members) {
    m.phone_number = MaskPhoneNumber(m.phone_number);
  }
  return view;
}

// Another member's message as the caller may see it: the member's number
// (the message's peer) masked wherever it appears, no conversation id.
storage::Message WithPeerMasked(storage::Message m) {
  const std::string masked = MaskPhoneNumber(m.peer_number);
  if (m.from == m.peer_number) m.from = masked;
  if (m.to == m.peer_number) m.to = masked;
  m.peer_number = masked;
  m.conversation_id.clear();
  return m;
}

constexpr size_t kMaxGroupName = 64;
constexpr size_t kMaxDescription = 512;

// Counts UTF-8 code points (continuation bytes do not start one).
size_t CodePoints(absl::string_view s) {
  return std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  });
}

absl::Status NotFoundGroup(absl::string_view name) {
  return absl::NotFoundError(absl::StrCat("no group named \"", name, "\""));
}

absl::Status RequireName(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("name is required");
  return absl::OkStatus();
}

absl::Status RequireVerified(const storage::User& caller) {
  if (caller.phone_number.empty() || !caller.phone_verified) {
    return absl::FailedPreconditionError(
        "your phone number is not verified: call StartPhoneVerification and "
        "ConfirmPhoneVerification (smsgw verify start|confirm) first");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateGroupName(absl::string_view name) {
  const size_t length = CodePoints(name);
  if (length < 1 || length > kMaxGroupName) {
    return absl::InvalidArgumentError(
        absl::StrCat("name must be 1 to 64 characters long, got ", length));
  }
  for (char c : name) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return absl::InvalidArgumentError(
          "name must not contain control characters");
    }
  }
  if (name.front() == ' ' || name.back() == ' ') {
    return absl::InvalidArgumentError(
        "name must not start or end with a space");
  }
  return absl::OkStatus();
}

GroupService::GroupService(storage::GroupStore* groups,
                           storage::MessageStore* messages,
                           MessagingService* messaging, Clock* clock,
                           Options options)
    : groups_(groups),
      messages_(messages),
      messaging_(messaging),
      clock_(clock),
      options_(std::move(options)) {}

absl::StatusOr<GroupView> GroupService::Create(const storage::User& caller,
                                               absl::string_view name,
                                               absl::string_view description) {
  SMSGW_RETURN_IF_ERROR(ValidateGroupName(name));
  if (CodePoints(description) > kMaxDescription) {
    return absl::InvalidArgumentError(
        "description must be at most 512 characters long");
  }
  SMSGW_RETURN_IF_ERROR(RequireVerified(caller));
  SMSGW_ASSIGN_OR_RETURN(
      storage::Membership m,
      groups_->CreateWithMember(name, description, caller.id, options_.pool,
                                clock_->Now()));
  SMSGW_LOG(kInfo) << "group created id=" << m.group.id
                   << " by user_id=" << caller.id;
  SMSGW_ASSIGN_OR_RETURN(GroupView view, View(caller, m.group.name, false));
  return Presented(std::move(view));
}

absl::StatusOr<GroupView> GroupService::Join(const storage::User& caller,
                                             absl::string_view name) {
  SMSGW_RETURN_IF_ERROR(RequireName(name));
  SMSGW_RETURN_IF_ERROR(RequireVerified(caller));
  absl::StatusOr<storage::Membership> joined =
      groups_->Join(name, caller.id, options_.pool, clock_->Now());
  if (absl::IsAlreadyExists(joined.status())) {
    // Joining twice is harmless: answer with the membership the caller has
    // (issue "Groups"), e.g. when a client retries a join whose answer it lost.
    absl::StatusOr<GroupView> view = View(caller, name, false);
    if (view.ok()) return Presented(*std::move(view));
  }
  SMSGW_RETURN_IF_ERROR(joined.status());
  const storage::Membership& m = *joined;
  SMSGW_LOG(kInfo) << "group joined id=" << m.group.id
                   << " user_id=" << caller.id;
  SMSGW_ASSIGN_OR_RETURN(GroupView view, View(caller, m.group.name, false));
  return Presented(std::move(view));
}

absl::Status GroupService::Leave(const storage::User& caller,
                                 absl::string_view name) {
  SMSGW_RETURN_IF_ERROR(RequireName(name));
  SMSGW_ASSIGN_OR_RETURN(bool deleted, groups_->Leave(name, caller.id));
  SMSGW_LOG(kInfo) << "group left user_id=" << caller.id
                   << (deleted ? " (last member: group deleted)" : "");
  return absl::OkStatus();
}

absl::StatusOr<GroupView> GroupService::View(const storage::User& caller,
                                             absl::string_view name,
                                             bool allow_admin) {
  SMSGW_RETURN_IF_ERROR(RequireName(name));
  GroupView view;
  SMSGW_ASSIGN_OR_RETURN(view.group, groups_->FindByName(name));
  SMSGW_ASSIGN_OR_RETURN(view.members, groups_->ListMembers(view.group.id));
  bool member = false;
  for (const storage::GroupMemberRecord& m : view.members) {
    if (m.user_id == caller.id) {
      member = true;
      view.proxy_number = m.proxy_number;
    }
  }
  // Non-members learn nothing, not even that the group exists.
  if (!member && !(allow_admin && caller.admin)) return NotFoundGroup(name);
  view.group.member_count = static_cast<int>(view.members.size());
  return view;
}

absl::StatusOr<GroupView> GroupService::Get(const storage::User& caller,
                                            absl::string_view name) {
  SMSGW_ASSIGN_OR_RETURN(GroupView view, View(caller, name, true));
  return Presented(std::move(view));
}

absl::StatusOr<GroupPage> GroupService::List(const storage::User& caller,
                                             int page_size,
                                             absl::string_view page_token) {
  SMSGW_ASSIGN_OR_RETURN(int limit, PageSize(page_size));
  std::string after;
  if (!page_token.empty()) {
    // "<name of the last group on the previous page>"
    SMSGW_ASSIGN_OR_RETURN(after, DecodePageToken(page_token, "g1"));
  }
  SMSGW_ASSIGN_OR_RETURN(std::vector<storage::Membership> rows,
                         groups_->ListForUser(caller.id, after, limit + 1));
  GroupPage page;
  const bool more = rows.size() > static_cast<size_t>(limit);
  if (more) rows.resize(limit);
  for (storage::Membership& row : rows) {
    GroupView v;
    v.group = std::move(row.group);
    v.proxy_number = std::move(row.proxy_number);
    page.groups.push_back(std::move(v));
  }
  if (more) {
    page.next_page_token =
        EncodePageToken("g1", page.groups.back().group.name);
  }
  return page;
}

std::vector<GroupDeliveryResult> GroupService::FanOut(
    const storage::GroupRecord& group, int64_t sender_id,
    absl::string_view sender_username, absl::string_view body,
    const SendPolicy& policy, std::vector<std::string>* sent_ids) {
  std::vector<GroupDeliveryResult> out;
  absl::StatusOr<std::vector<storage::GroupMemberRecord>> members =
      groups_->ListMembers(group.id);
  if (!members.ok()) {
    SMSGW_LOG(kError) << "group fan-out: cannot list members group_id="
                      << group.id << ": " << members.status();
    return out;
  }
  const std::string text = absl::StrCat(sender_username, ": ", body);
  // Every delivery is stored in one transaction (issue "Performance": a
  // 500-member group in well under a second), then dispatched.
  std::vector<SystemSendRequest> sends;
  std::vector<const storage::GroupMemberRecord*> recipients;
  for (const storage::GroupMemberRecord& m : *members) {
    if (m.user_id == sender_id) continue;
    GroupDeliveryResult d;
    d.username = m.username;
    if (m.phone_number.empty() || !m.phone_verified) {
      d.skipped = true;
      d.skip_reason = "recipient's phone number is not verified";
      out.push_back(std::move(d));
      continue;
    }
    SystemSendRequest send;
    send.owner_id = m.user_id;
    send.owner_username = m.username;
    send.to = m.phone_number;
    send.from = m.proxy_number;
    send.body = text;
    send.conversation_id = GroupConversationId(group.id, m.phone_number);
    send.group_name = group.name;
    send.policy = policy;
    sends.push_back(std::move(send));
    recipients.push_back(&m);
  }
  std::vector<absl::StatusOr<storage::Message>> sent =
      messaging_->SendSystemBatch(sends);
  for (size_t i = 0; i < sent.size(); ++i) {
    const storage::GroupMemberRecord& m = *recipients[i];
    GroupDeliveryResult d;
    d.username = m.username;
    if (sent[i].ok()) {
      sent_ids->push_back(sent[i]->id);
      d.message = *std::move(sent[i]);
    } else {
      d.skipped = true;
      absl::StatusOr<bool> opted = messages_->IsOptedOut(m.phone_number,
                                                         m.proxy_number);
      d.skip_reason = (opted.ok() && *opted)
                          ? "recipient opted out with STOP"
                          : std::string(sent[i].status().message());
    }
    SMSGW_LOG(kInfo) << "group delivery group_id=" << group.id
                     << " to user_id=" << m.user_id
                     << (d.skipped ? " skipped: " + d.skip_reason : " stored");
    out.push_back(std::move(d));
  }
  return out;
}

absl::StatusOr<GroupSendResult> GroupService::Send(
    const storage::User& caller, absl::string_view name, absl::string_view body,
    absl::string_view idempotency_key, absl::Time deadline,
    const SendPolicy& policy) {
  SMSGW_RETURN_IF_ERROR(RequireName(name));
  SMSGW_RETURN_IF_ERROR(ValidateSendPolicy(policy));
  if (body.empty()) return absl::InvalidArgumentError("body is required");
  absl::StatusOr<SegmentInfo> segments =
      CountSegments(absl::StrCat(caller.username, ": ", body));
  if (!segments.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("body: ", segments.status().message()));
  }
  if (segments->length > kMaxBodyLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "body with the \"", caller.username, ": \" prefix is ",
        segments->length, " characters long; the limit is 1600"));
  }
  if (idempotency_key.size() > 255) {
    return absl::InvalidArgumentError(
        "idempotency_key must be at most 255 characters long");
  }
  for (char c : idempotency_key) {
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(
          "idempotency_key may contain only printable ASCII without spaces");
    }
  }
  SMSGW_ASSIGN_OR_RETURN(GroupView view, View(caller, name, false));

  storage::Message post;
  post.id = NewUuid();
  post.owner_id = caller.id;
  post.owner_username = caller.username;
  post.group_id = view.group.id;
  post.group_name = view.group.name;
  post.direction = storage::Direction::kOutbound;
  post.from = view.proxy_number;
  post.to = caller.phone_number;
  post.peer_number = caller.phone_number;
  post.our_number = view.proxy_number;
  post.conversation_id = GroupConversationId(view.group.id, caller.phone_number);
  post.body = std::string(body);
  post.status = storage::MessageStatus::kPending;
  post.idempotency_key = std::string(idempotency_key);
  post.create_time = post.update_time = clock_->Now();
  std::optional<storage::IdempotencyKey> key;
  if (!idempotency_key.empty()) {
    key = storage::IdempotencyKey{
        std::string(idempotency_key),
        Sha256Hex(absl::StrCat("group|", view.group.id, "|", body))};
  }
  // The sender's daily quota pays for the fan-out, charged with the group
  // message itself: one transaction with its idempotency key, so a replay
  // is not charged again and a send that does not fit stores nothing.
  // Every member with a verified phone counts (those then skipped for an
  // opt-out or a country too: what was accepted is what is charged).
  int64_t recipients = 0;
  for (const storage::GroupMemberRecord& m : view.members) {
    if (m.user_id != caller.id && !m.phone_number.empty() && m.phone_verified) {
      ++recipients;
    }
  }
  absl::StatusOr<storage::CreateResult> created = messages_->CreateOutbound(
      post, key,
      messaging_->ChargeNow(caller.id,
                            recipients * static_cast<int64_t>(
                                             segments->segments)));
  if (absl::IsAlreadyExists(created.status())) {
    return absl::AlreadyExistsError(absl::StrCat(
        "idempotency_key \"", idempotency_key,
        "\" was already used for a different request; use a new key"));
  }
  SMSGW_RETURN_IF_ERROR(created.status());
  GroupSendResult result;
  result.replayed = created->replayed;
  if (created->replayed) {
    result.post = created->message;
    return result;
  }
  // The post itself is not an SMS: it is complete once stored, which also
  // keeps the dispatcher from ever sending it.
  storage::StatusUpdate posted;
  posted.status = storage::MessageStatus::kDelivered;
  posted.provider_status = "posted";
  posted.source = storage::ReportSource::kLocal;
  posted.event_time = clock_->Now();
  SMSGW_ASSIGN_OR_RETURN(result.post,
                         messages_->ApplyStatus(created->message.id, posted));

  std::vector<std::string> ids;
  result.deliveries =
      FanOut(view.group, caller.id, caller.username, body, policy, &ids);
  std::vector<storage::Message> now = messaging_->AwaitAll(ids, deadline);
  for (GroupDeliveryResult& d : result.deliveries) {
    if (!d.message.has_value()) continue;
    for (storage::Message& m : now) {
      if (m.id == d.message->id) d.message = m;
    }
    // The sender sees the delivery, not the member's phone number.
    d.message = WithPeerMasked(*std::move(d.message));
  }
  return result;
}

absl::StatusOr<MessagePage> GroupService::ListMessages(
    const storage::User& caller, absl::string_view name, int page_size,
    absl::string_view page_token) {
  SMSGW_ASSIGN_OR_RETURN(int limit, PageSize(page_size));
  SMSGW_ASSIGN_OR_RETURN(GroupView view, View(caller, name, true));
  storage::MessageQuery query;
  query.group_id = view.group.id;
  query.limit = limit + 1;
  if (!page_token.empty()) {
    SMSGW_ASSIGN_OR_RETURN(std::string cursor,
                           DecodePageToken(page_token, "gm1"));
    // "<group id>|<before seq>"
    std::vector<std::string> parts = absl::StrSplit(cursor, '|');
    int64_t before = 0;
    if (parts.size() != 2 || parts[0] != absl::StrCat(view.group.id) ||
        !absl::SimpleAtoi(parts[1], &before)) {
      return absl::InvalidArgumentError("page_token is malformed");
    }
    query.before_seq = before;
  }
  SMSGW_ASSIGN_OR_RETURN(std::vector<storage::Message> rows,
                         messages_->List(query));
  MessagePage page;
  if (rows.size() > static_cast<size_t>(limit)) {
    rows.resize(limit);
    page.next_page_token = EncodePageToken(
        "gm1", absl::StrCat(view.group.id, "|", rows.back().seq));
  }
  for (storage::Message& m : rows) {
    if (m.owner_id != caller.id) m = WithPeerMasked(std::move(m));
  }
  page.messages = std::move(rows);
  return page;
}

absl::StatusOr<std::optional<GroupRoute>> GroupService::RouteInbound(
    absl::string_view peer, absl::string_view our_number) {
  SMSGW_ASSIGN_OR_RETURN(std::optional<storage::GroupMemberRecord> member,
                         groups_->FindByPhoneAndProxy(peer, our_number));
  if (!member.has_value()) return std::optional<GroupRoute>();
  absl::StatusOr<std::vector<storage::Membership>> mine =
      groups_->ListForUser(member->user_id, "", kMaxPageSize);
  SMSGW_RETURN_IF_ERROR(mine.status());
  for (const storage::Membership& m : *mine) {
    if (m.group.id == member->group_id) {
      return std::optional<GroupRoute>(GroupRoute{
          m.group.id, m.group.name, member->user_id, member->username});
    }
  }
  return std::optional<GroupRoute>();
}

void GroupService::FanOutInbound(const storage::Message& post) {
  absl::StatusOr<storage::GroupRecord> group =
      groups_->FindByName(post.group_name);
  if (!group.ok() || group->id != post.group_id) {
    SMSGW_LOG(kWarning) << "group fan-out: group gone group_id="
                        << post.group_id;
    return;
  }
  std::vector<std::string> ids;
  std::vector<GroupDeliveryResult> deliveries =
      FanOut(*group, post.owner_id, post.owner_username, post.body,
             SendPolicy{}, &ids);
  SMSGW_LOG(kInfo) << "inbound group post fanned out id=" << post.id
                   << " deliveries=" << deliveries.size()
                   << " sent=" << ids.size();
}

}  // namespace smsgw::domain
