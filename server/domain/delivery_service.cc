#include "server/domain/delivery_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "server/domain/message_status.h"
#include "server/domain/messaging_service.h"
#include "server/domain/segments.h"

namespace smsgw::domain {

using storage::MessageStatus;

namespace {

// Twilio error: "Attempt to send to unsubscribed recipient".
constexpr int kUnsubscribedRecipient = 21610;

}  // namespace

DeliveryService::DeliveryService(storage::MessageStore* messages,
                                 OutboundQueue* outbound,
                                 const PhoneNumberParser* phones, Clock* clock,
                                 Options options)
    : messages_(messages),
      outbound_(outbound),
      phones_(phones),
      clock_(clock),
      options_(std::move(options)) {}

absl::Status DeliveryService::CheckAccount(absl::string_view account_sid) const {
  if (!options_.account_sid.empty() && account_sid != options_.account_sid) {
    return absl::PermissionDeniedError(
        "AccountSid does not match this server's Twilio account");
  }
  return absl::OkStatus();
}

absl::Status DeliveryService::ApplyStatusCallback(
    const StatusCallback& callback) {
  SMSGW_RETURN_IF_ERROR(CheckAccount(callback.account_sid));
  if (callback.message_sid.empty()) {
    return absl::InvalidArgumentError("MessageSid is required");
  }
  if (callback.message_status.empty()) {
    return absl::InvalidArgumentError("MessageStatus is required");
  }
  storage::StatusUpdate update;
  update.status = FromTwilioStatus(callback.message_status);
  if (update.status == MessageStatus::kUnspecified) {
    return absl::InvalidArgumentError(absl::StrCat(
        "MessageStatus \"", callback.message_status.substr(0, 32),
        "\" is not a Twilio message status"));
  }
  update.provider_status = callback.message_status;
  update.error_code = callback.error_code;
  update.error_message = callback.error_message;
  update.raw_dlr_done_date = callback.raw_dlr_done_date;
  update.source = storage::ReportSource::kStatusCallback;
  update.event_time = clock_->Now();
  SMSGW_ASSIGN_OR_RETURN(
      std::optional<storage::Message> message,
      messages_->ApplyStatusBySid(callback.message_sid, update));
  if (!message.has_value()) {
    SMSGW_LOG(kInfo) << "status callback for a SID not stored yet, kept sid="
                     << callback.message_sid
                     << " status=" << callback.message_status;
  }
  if (message.has_value() && outbound_ != nullptr &&
      storage::IsTerminal(update.status) && message->status == update.status &&
      message->price.empty()) {
    outbound_->RefreshFromProvider(callback.message_sid);
  }
  if (callback.error_code == kUnsubscribedRecipient) {
    if (message.has_value()) {
      SMSGW_RETURN_IF_ERROR(messages_->SetOptOut(
          message->to, message->our_number, "21610", update.event_time));
    } else {
      // Kept for later: applying it then records no opt-out, so take the
      // pair from the callback itself (To = the recipient, From = our
      // number).
      absl::StatusOr<std::string> peer = phones_->ToE164(callback.to);
      absl::StatusOr<std::string> ours = phones_->ToE164(callback.from);
      if (peer.ok() && ours.ok()) {
        SMSGW_RETURN_IF_ERROR(
            messages_->SetOptOut(*peer, *ours, "21610", update.event_time));
      } else {
        SMSGW_LOG(kWarning) << "21610 for an unknown SID without a usable "
                               "To/From; no opt-out recorded sid="
                            << callback.message_sid;
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<InboundOutcome> DeliveryService::ReceiveInbound(
    const InboundSms& sms) {
  SMSGW_RETURN_IF_ERROR(CheckAccount(sms.account_sid));
  if (sms.message_sid.empty()) {
    return absl::InvalidArgumentError("MessageSid is required");
  }
  if (sms.from.empty()) return absl::InvalidArgumentError("From is required");
  absl::StatusOr<std::string> to = phones_->ToE164(sms.to);
  if (!to.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("To: ", to.status().message()));
  }
  // Senders are usually E.164, but short codes and sender IDs exist: keep
  // what cannot be normalised as it came.
  absl::StatusOr<std::string> from = phones_->ToE164(sms.from);
  const std::string peer = from.ok() ? *from : sms.from;
  const absl::Time now = clock_->Now();

  storage::Message m;
  m.id = NewUuid();
  m.direction = storage::Direction::kInbound;
  m.from = peer;
  m.to = *to;
  m.peer_number = peer;
  m.our_number = *to;
  m.messaging_service_sid = sms.messaging_service_sid;
  m.body = sms.body;
  m.media_urls = sms.media_urls;
  m.media_content_types = sms.media_content_types;
  m.status = MessageStatus::kReceived;
  m.provider_sid = sms.message_sid;
  absl::StatusOr<SegmentInfo> segments = CountSegments(sms.body);
  if (segments.ok()) {
    m.num_segments = static_cast<int>(segments->segments);
    m.encoding = segments->encoding == SmsEncoding::kGsm7
                     ? storage::Encoding::kGsm7
                     : storage::Encoding::kUcs2;
  }
  if (sms.num_segments.has_value()) m.num_segments = *sms.num_segments;
  m.create_time = m.update_time = now;
  m.send_time = now;

  // DESIGN.md §6 rule 2: the user with the most recent conversation with this
  // peer on this number; rule 3: unrouted.
  // DESIGN.md §6 rule 1: a member's verified phone texting their proxy
  // number posts to the group. Keywords (STOP, HELP…) are never posted.
  const KeywordAction keyword = ClassifyKeyword(sms.body);
  std::optional<GroupRoute> group_route;
  if (group_router_ != nullptr && keyword == KeywordAction::kNone) {
    SMSGW_ASSIGN_OR_RETURN(group_route,
                           group_router_->RouteInbound(peer, *to));
  }
  std::optional<storage::ConversationRef> route;
  if (group_route.has_value()) {
    route = storage::ConversationRef{group_route->user_id,
                                     GroupConversationId(group_route->group_id, peer),
                                     group_route->username};
    m.group_id = group_route->group_id;
    m.group_name = group_route->group_name;
  } else {
    SMSGW_ASSIGN_OR_RETURN(route, messages_->FindLatestConversation(peer, *to));
  }
  if (route.has_value()) {
    m.owner_id = route->owner_id;
    m.owner_username = route->owner_username;
    m.conversation_id = route->conversation_id;
  } else {
    m.conversation_id = peer;
  }
  SMSGW_ASSIGN_OR_RETURN(storage::CreateResult stored,
                         messages_->InsertInbound(m));
  InboundOutcome outcome;
  outcome.keyword = keyword;
  outcome.message = std::move(stored.message);
  outcome.replayed = stored.replayed;
  // Keywords count once per message: a retried webhook (replayed) must not
  // redo an old STOP after a later START. The cost: if this write fails
  // after the insert, the answer is 5xx but Twilio's retry is a replay and
  // records nothing (Twilio's own block still refuses sends with 21610, and
  // that callback records the opt-out).
  if (!outcome.replayed) {
    switch (outcome.keyword) {
      case KeywordAction::kOptOut:
        SMSGW_RETURN_IF_ERROR(messages_->SetOptOut(
            peer, *to, NormalizedKeyword(sms.body), now));
        SMSGW_LOG(kInfo) << "opt-out recorded our_number=" << *to;
        break;
      case KeywordAction::kOptIn:
        SMSGW_RETURN_IF_ERROR(messages_->ClearOptOut(peer, *to));
        SMSGW_LOG(kInfo) << "opt-out lifted our_number=" << *to;
        break;
      case KeywordAction::kHelp:
      case KeywordAction::kNone:
        break;
    }
  }
  if (group_route.has_value() && !outcome.replayed) {
    group_router_->FanOutInbound(outcome.message);
  }
  SMSGW_LOG(kInfo) << "inbound " << (outcome.replayed ? "repeated" : "stored")
                   << " id=" << outcome.message.id
                   << " sid=" << sms.message_sid << " routed_to="
                   << (route.has_value() ? route->owner_id : 0);
  return outcome;
}

}  // namespace smsgw::domain
