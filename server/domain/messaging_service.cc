#include "server/domain/messaging_service.h"

#include <uuid/uuid.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "common/logging.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "server/domain/conversation_id.h"
#include "server/domain/number_time_zones.h"
#include "server/domain/page_token.h"
#include "server/domain/segments.h"
#include "server/domain/sender_id.h"

namespace smsgw::domain {
namespace {

using storage::Message;
using storage::MessageStatus;

constexpr size_t kMaxMediaUrls = 10;        // Twilio 21623
constexpr size_t kMaxMediaUrlLength = 2048;
constexpr size_t kMaxIdempotencyKey = 255;
constexpr size_t kMaxQueryLength = 1024;

absl::Status ValidateIdempotencyKey(absl::string_view key) {
  if (key.size() > kMaxIdempotencyKey) {
    return absl::InvalidArgumentError(
        "idempotency_key must be at most 255 characters long");
  }
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(
          "idempotency_key may contain only printable ASCII without spaces");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateMediaUrl(absl::string_view url) {
  if (url.size() > kMaxMediaUrlLength) {
    return absl::InvalidArgumentError(
        "media_urls: each URL must be at most 2048 characters long");
  }
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "https://") &&
      !absl::ConsumePrefix(&rest, "http://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "media_urls: \"", url.substr(0, 64), "\" is not an http(s) URL"));
  }
  if (rest.empty() || rest[0] == '/') {
    return absl::InvalidArgumentError("media_urls: URL has no host");
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          "media_urls: URLs may not contain spaces or control characters");
    }
  }
  return absl::OkStatus();
}

// Whether `body` contains `phrase` (already lower case) as whole words:
// neither neighbour of a match is a letter or digit.
bool ContainsWholeWords(absl::string_view body, absl::string_view phrase) {
  if (phrase.empty()) return false;
  const std::string lower_text = absl::AsciiStrToLower(body);
  const absl::string_view lower(lower_text);
  for (size_t pos = lower.find(phrase); pos != absl::string_view::npos;
       pos = lower.find(phrase, pos + 1)) {
    const size_t end = pos + phrase.size();
    const bool left_ok =
        pos == 0 || !absl::ascii_isalnum(static_cast<unsigned char>(lower[pos - 1]));
    const bool right_ok =
        end == lower.size() ||
        !absl::ascii_isalnum(static_cast<unsigned char>(lower[end]));
    if (left_ok && right_ok) return true;
  }
  return false;
}

// SHA-256 over the request fields that define "the same request", each
// length-prefixed so that no two requests serialize alike.
std::string RequestHash(const Message& m, const SendRequest& request) {
  std::string canonical;
  auto add = [&canonical](absl::string_view field) {
    absl::StrAppend(&canonical, field.size(), ":", field, ";");
  };
  add(m.to);
  // The request's sender, not the pool's pick: a retry may be picked another
  // number (the first one got taken meanwhile) and is still the same request.
  add(request.from.empty() ? "" : m.from);
  add(m.messaging_service_sid);
  add(m.body);
  add(m.conversation_id);
  for (const std::string& url : m.media_urls) add(url);
  add(request.send_at.has_value()
          ? absl::StrCat(absl::ToUnixMicros(*request.send_at))
          : "");
  add(request.policy.validity_period.has_value()
          ? absl::StrCat(
                absl::ToInt64Microseconds(*request.policy.validity_period))
          : "");
  add(absl::StrCat(static_cast<int>(m.priority)));
  return Sha256Hex(canonical);
}

// A short digest of the filters, so that a token is only valid for the query
// that produced it.
std::string FilterFingerprint(int64_t owner, const storage::MessageQuery& q) {
  std::string text = absl::StrCat(
      owner, "|", q.unrouted, "|", q.conversation_id, "|", q.peer_number, "|",
      static_cast<int>(q.direction), "|", q.fts_query, "|",
      q.start_time ? absl::ToUnixMicros(*q.start_time) : -1, "|",
      q.end_time ? absl::ToUnixMicros(*q.end_time) : -1);
  for (MessageStatus s : q.statuses) {
    absl::StrAppend(&text, ",", static_cast<int>(s));
  }
  // The first 8 bytes of the digest, in hex.
  return Sha256Hex(text).substr(0, 16);
}

}  // namespace

absl::Status ValidateValidityPeriod(absl::Duration validity,
                                    absl::string_view field) {
  if (validity < kMinValidity || validity > kMaxValidity) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " must be between 1s and 10h (Twilio's ValidityPeriod range); "
        "got ", absl::FormatDuration(validity)));
  }
  return absl::OkStatus();
}

absl::Status ValidateSendPolicy(const SendPolicy& policy) {
  if (policy.validity_period.has_value()) {
    SMSGW_RETURN_IF_ERROR(
        ValidateValidityPeriod(*policy.validity_period, "validity_period"));
  }
  switch (policy.priority) {
    case storage::MessagePriority::kUnspecified:
    case storage::MessagePriority::kBulk:
    case storage::MessagePriority::kNormal:
    case storage::MessagePriority::kHigh:
      return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "priority: unknown value ", static_cast<int>(policy.priority),
      "; use MESSAGE_PRIORITY_BULK, _NORMAL or _HIGH"));
}

std::string NewUuid() {
  uuid_t uuid;
  uuid_generate_random(uuid);
  char text[37];
  uuid_unparse_lower(uuid, text);
  return std::string(text, 36);
}

MessagingService::MessagingService(storage::MessageStore* messages,
                                   storage::UserStore* users,
                                   OutboundQueue* queue,
                                   const PhoneNumberParser* phones,
                                   Clock* clock, Options options)
    : messages_(messages),
      users_(users),
      queue_(queue),
      phones_(phones),
      clock_(clock),
      options_(std::move(options)) {
  // The pool's numbers do not change: split each into its area once.
  for (const std::string& number : options_.phone_numbers) {
    absl::StatusOr<std::string> area = phones_->AreaOf(number);
    if (area.ok()) number_areas_.emplace(number, *std::move(area));
  }
}

absl::Status MessagingService::CheckDestination(absl::string_view e164,
                                               absl::string_view path) const {
  if (options_.geo == nullptr) return absl::OkStatus();
  std::string country;
  absl::Status allowed = options_.geo->CheckDestination(e164, &country);
  if (!allowed.ok()) {
    SMSGW_LOG(kInfo) << "geo permissions refused a " << path << " to "
                     << MaskPhoneNumber(e164) << " (country \"" << country
                     << "\")";
    if (options_.on_geo_refusal) options_.on_geo_refusal(country, path);
  }
  return allowed;
}

absl::StatusOr<Message> MessagingService::BuildOutbound(
    const storage::User& caller, const SendRequest& request,
    SendResult* result, absl::string_view path) {
  Message m;
  absl::StatusOr<std::string> to = phones_->ToE164(request.to);
  if (!to.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("to: ", to.status().message()));
  }
  m.to = *to;
  SMSGW_RETURN_IF_ERROR(CheckDestination(m.to, path));

  if (request.from.empty()) {
    if (!options_.messaging_service_sid.empty()) {
      m.messaging_service_sid = options_.messaging_service_sid;
    } else if (options_.phone_numbers.size() == 1) {
      m.from = options_.phone_numbers.front();
    } else if (!options_.phone_numbers.empty()) {
      SMSGW_ASSIGN_OR_RETURN(SenderPick pick, ChooseSender(caller, m.to));
      m.from = pick.number;
      result->sender_pick = std::move(pick);
    } else {
      return absl::FailedPreconditionError(
          "no sender configured: set TWILIO_PHONE_NUMBERS or "
          "TWILIO_MESSAGING_SERVICE_SID");
    }
  } else {
    absl::StatusOr<std::string> from_number = phones_->ToE164(request.from);
    const bool is_number =
        from_number.ok() &&
        std::find(options_.phone_numbers.begin(), options_.phone_numbers.end(),
                  *from_number) != options_.phone_numbers.end();
    const bool is_sender_id =
        std::find(options_.sender_ids.begin(), options_.sender_ids.end(),
                  request.from) != options_.sender_ids.end() &&
        ValidateAlphanumericSenderId(request.from).ok();
    if (!is_number && !is_sender_id) {
      std::vector<std::string> allowed = options_.phone_numbers;
      allowed.insert(allowed.end(), options_.sender_ids.begin(),
                     options_.sender_ids.end());
      return absl::InvalidArgumentError(absl::StrCat(
          "from: \"", request.from.substr(0, 32),
          "\" is not an allowed sender; use one of: ",
          allowed.empty() ? "(none configured)" : absl::StrJoin(allowed, ", ")));
    }
    m.from = is_number ? *from_number : request.from;
  }
  if (m.to == m.from) {
    return absl::InvalidArgumentError("to: cannot send to the sender itself");
  }

  if (request.body.empty() && request.media_urls.empty()) {
    return absl::InvalidArgumentError(
        "body is required unless media_urls are given (Twilio 21602)");
  }
  absl::StatusOr<SegmentInfo> segments = CountSegments(request.body);
  if (!segments.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("body: ", segments.status().message()));
  }
  if (segments->length > kMaxBodyLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "body is ", segments->length,
        " characters long; the limit is 1600 (Twilio 21617)"));
  }
  for (const std::string& keyword : options_.blocked_keywords) {
    if (ContainsWholeWords(request.body, absl::AsciiStrToLower(keyword))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "body contains the blocked keyword \"", keyword,
          "\" (SMSGW_BLOCKED_KEYWORDS)"));
    }
  }
  m.body = request.body;
  m.num_segments = static_cast<int>(segments->segments);
  m.encoding = segments->encoding == SmsEncoding::kGsm7
                   ? storage::Encoding::kGsm7
                   : storage::Encoding::kUcs2;
  result->non_gsm_characters = segments->non_gsm_characters;

  if (request.media_urls.size() > kMaxMediaUrls) {
    return absl::InvalidArgumentError(
        "media_urls: at most 10 media URLs per message (Twilio 21623)");
  }
  for (const std::string& url : request.media_urls) {
    SMSGW_RETURN_IF_ERROR(ValidateMediaUrl(url));
  }
  m.media_urls = request.media_urls;

  if (!request.conversation_id.empty()) {
    SMSGW_RETURN_IF_ERROR(ValidateConversationId(request.conversation_id));
    m.conversation_id = request.conversation_id;
  } else {
    m.conversation_id = m.to;  // one conversation per peer by default
  }
  SMSGW_RETURN_IF_ERROR(ValidateIdempotencyKey(request.idempotency_key));
  const absl::Time now = clock_->Now();
  if (request.send_at.has_value()) {
    const absl::Time earliest = now + options_.min_schedule_ahead;
    const absl::Time latest = now + options_.max_schedule_ahead;
    if (*request.send_at < earliest || *request.send_at > latest) {
      return absl::InvalidArgumentError(absl::StrCat(
          "send_at must be between ", absl::FormatDuration(
              options_.min_schedule_ahead),
          " and ", absl::FormatDuration(options_.max_schedule_ahead),
          " from now (", absl::FormatTime(absl::RFC3339_sec, earliest,
                                          absl::UTCTimeZone()),
          " to ", absl::FormatTime(absl::RFC3339_sec, latest,
                                   absl::UTCTimeZone()),
          ")"));
    }
  }

  m.owner_id = caller.id;
  m.owner_username = caller.username;
  m.direction = storage::Direction::kOutbound;
  m.peer_number = m.to;
  m.our_number = m.from.empty() ? m.messaging_service_sid : m.from;
  m.status = MessageStatus::kPending;
  if (request.send_at.has_value()) {
    // next_attempt_time too: the store's due query runs on that index.
    m.status = MessageStatus::kScheduled;
    m.scheduled_time = m.next_attempt_time = *request.send_at;
  }
  ApplyQuietHours(request.policy, now, m);
  m.idempotency_key = request.idempotency_key;
  m.create_time = m.update_time = now;
  SMSGW_RETURN_IF_ERROR(ValidateSendPolicy(request.policy));
  m.priority = request.policy.priority == storage::MessagePriority::kUnspecified
                   ? storage::MessagePriority::kNormal
                   : request.policy.priority;
  std::optional<absl::Duration> validity = request.policy.validity_period;
  if (!validity.has_value() &&
      options_.default_validity > absl::ZeroDuration()) {
    validity = options_.default_validity;
  }
  if (validity.has_value()) {
    m.expire_time = m.scheduled_time.value_or(now) + *validity;
  }

  // Opt-outs are per (recipient, our number), as Twilio keeps them.
  SMSGW_ASSIGN_OR_RETURN(bool opted_out,
                         messages_->IsOptedOut(m.to, m.our_number));
  if (opted_out) {
    return absl::FailedPreconditionError(absl::StrCat(
        "recipient ", m.to, " has opted out of messages from ", m.our_number,
        " (replied STOP; Twilio error 21610); they can opt back in by "
        "texting START"));
  }
  return m;
}

void MessagingService::ApplyQuietHours(const SendPolicy& policy,
                                       absl::Time now, Message& m) const {
  if (!options_.quiet_hours.has_value() || !policy.respect_quiet_hours) return;
  const absl::Time due = m.scheduled_time.value_or(now);
  const absl::Time allowed =
      NextAllowedTime(*options_.quiet_hours, TimeZonesForNumber(m.to), due,
                      options_.server_time_zone);
  if (allowed == due) return;
  // The scheduled-send path does the rest: stored SCHEDULED, cancellable,
  // released by the dispatcher's timer when due.
  m.status = MessageStatus::kScheduled;
  m.scheduled_time = m.next_attempt_time = allowed;
}

void MessagingService::Reserve(Message& message) {
  if (!message.scheduled_time.has_value() && queue_->ReserveImmediate(message)) {
    message.dispatch_started_time = clock_->Now();
  }
}

void MessagingService::HandOver(const Message& stored) {
  // A group delivery moved out of quiet hours: the dispatcher's timer
  // releases it.
  if (stored.status == MessageStatus::kScheduled) return;
  // A marker in a row just created means Reserve() booked it.
  if (stored.dispatch_started_time.has_value()) {
    queue_->EnqueueReserved(stored);
  } else {
    queue_->Enqueue(stored);
  }
}

absl::StatusOr<MessagingService::PreparedSend> MessagingService::PrepareSend(
    const storage::User& caller, const SendRequest& request,
    absl::Time deadline) {
  absl::StatusOr<PreparedSend> prepared =
      PrepareSendOnce(caller, request, deadline);
  // Aborted: a concurrent send took the pool's pick first. Each loss means
  // one more number taken, so after as many tries as numbers the pool is
  // full and picks a shared number, which cannot be refused.
  for (size_t tries = 0; absl::IsAborted(prepared.status()) &&
                         tries < options_.phone_numbers.size();
       ++tries) {
    prepared = PrepareSendOnce(caller, request, deadline);
  }
  return prepared;
}

absl::StatusOr<MessagingService::PreparedSend>
MessagingService::PrepareSendOnce(const storage::User& caller,
                                  const SendRequest& request,
                                  absl::Time deadline) {
  PreparedSend prepared;
  SendResult& result = prepared.result;
  SMSGW_ASSIGN_OR_RETURN(Message message,
                         BuildOutbound(caller, request, &result, "send"));
  if (!message.scheduled_time.has_value()) {
    SMSGW_RETURN_IF_ERROR(queue_->CheckBacklog(message));
  }
  if (request.validate_only) {
    // A scheduled answer tells the caller when it would go (quiet hours).
    if (!message.scheduled_time.has_value()) {
      message.status = MessageStatus::kUnspecified;
    }
    result.message = std::move(message);
    return prepared;
  }
  message.id = NewUuid();
  Reserve(message);
  std::optional<storage::IdempotencyKey> key;
  if (!request.idempotency_key.empty()) {
    key = storage::IdempotencyKey{request.idempotency_key,
                                  RequestHash(message, request)};
  }
  // Charged to the day the send is accepted, scheduled or not.
  const storage::QuotaCharge charge = ChargeNow(caller.id, message.num_segments);
  // A pool pick needs its number still free when the row is written.
  absl::StatusOr<storage::CreateResult> created =
      result.sender_pick.has_value() && !result.sender_pick->shared
          ? messages_->CreateOutboundOnFreeNumber(message, key, charge)
          : messages_->CreateOutbound(message, key, charge);
  if (absl::IsAlreadyExists(created.status())) {
    return absl::AlreadyExistsError(absl::StrCat(
        "idempotency_key \"", request.idempotency_key,
        "\" was already used for a different request; use a new key"));
  }
  SMSGW_RETURN_IF_ERROR(created.status());
  result.replayed = created->replayed;
  if (result.replayed) result.sender_pick.reset();  // nothing was chosen now
  if (created->message.status == MessageStatus::kScheduled ||
      created->message.scheduled_time.has_value()) {
    // Scheduled: the dispatcher's timer releases it when due; no waiting.
    if (!created->replayed) {
      SMSGW_LOG(kInfo) << "message scheduled id=" << created->message.id
                       << " owner=" << caller.id << " at="
                       << absl::FormatTime(*created->message.scheduled_time);
    }
    absl::StatusOr<Message> current = messages_->Get(created->message.id);
    result.message = current.ok() ? *std::move(current) : created->message;
    return prepared;
  }
  if (!created->replayed) {
    SMSGW_LOG(kInfo) << "message stored id=" << created->message.id
                     << " owner=" << caller.id
                     << " segments=" << created->message.num_segments;
    HandOver(created->message);
  }
  result.message = created->message;
  prepared.wait = true;
  prepared.wait_until =
      std::min(clock_->Now() + options_.wait_budget, deadline);
  return prepared;
}

void MessagingService::SendAsync(
    const storage::User& caller, const SendRequest& request,
    absl::Time deadline,
    std::function<void(absl::StatusOr<SendResult>)> done) {
  absl::StatusOr<PreparedSend> prepared = PrepareSend(caller, request, deadline);
  if (!prepared.ok()) {
    done(prepared.status());
    return;
  }
  if (!prepared->wait) {
    done(std::move(prepared->result));
    return;
  }
  const std::string id = prepared->result.message.id;
  auto shared = std::make_shared<SendResult>(std::move(prepared->result));
  queue_->NotifyOnFirstAnswer(
      id, prepared->wait_until,
      [this, id, shared,
       done = std::move(done)](const Message* answered) mutable {
        if (answered != nullptr) {
          shared->message = *answered;
        } else {
          absl::StatusOr<Message> current = messages_->Get(id);
          if (current.ok()) shared->message = *std::move(current);
        }
        done(std::move(*shared));
      });
}

absl::StatusOr<SendResult> MessagingService::Send(const storage::User& caller,
                                                  const SendRequest& request,
                                                  absl::Time deadline) {
  absl::Notification finished;
  absl::StatusOr<SendResult> out = absl::InternalError("send did not finish");
  SendAsync(caller, request, deadline,
            [&out, &finished](absl::StatusOr<SendResult> result) {
              out = std::move(result);
              finished.Notify();
            });
  finished.WaitForNotification();
  return out;
}

// --- System sends (groups, phone verification) ---

absl::StatusOr<Message> MessagingService::SendSystem(
    const SystemSendRequest& request) {
  return std::move(SendSystemBatch({request}).front());
}

std::vector<absl::StatusOr<Message>> MessagingService::SendSystemBatch(
    const std::vector<SystemSendRequest>& requests) {
  std::vector<absl::StatusOr<Message>> out(
      requests.size(), absl::InternalError("not sent"));
  std::vector<Message> accepted;
  std::vector<size_t> accepted_index;
  for (size_t i = 0; i < requests.size(); ++i) {
    const SystemSendRequest& request = requests[i];
    storage::User owner;
    owner.id = request.owner_id;
    owner.username = request.owner_username;
    SendRequest send;
    send.to = request.to;
    send.from = request.from;
    send.body = request.body;
    send.conversation_id = request.conversation_id;
    send.policy = request.policy;
    SendResult ignored;
    const bool group = request.group_id != 0 || !request.group_name.empty();
    absl::StatusOr<Message> message =
        BuildOutbound(owner, send, &ignored, group ? "group" : "verification");
    if (!message.ok()) {
      out[i] = message.status();
      continue;
    }
    message->id = NewUuid();
    message->group_id = request.group_id;
    message->group_name = request.group_name;
    Reserve(*message);
    accepted.push_back(*std::move(message));
    accepted_index.push_back(i);
  }
  if (accepted.empty()) return out;
  absl::StatusOr<std::vector<Message>> stored =
      messages_->CreateOutboundBatch(accepted);
  if (!stored.ok()) {
    for (size_t i : accepted_index) out[i] = stored.status();
    return out;
  }
  for (size_t k = 0; k < stored->size(); ++k) {
    const Message& m = (*stored)[k];
    SMSGW_LOG(kInfo) << "system message stored id=" << m.id
                     << " owner=" << m.owner_id << " group=" << m.group_id;
    HandOver(m);
    out[accepted_index[k]] = m;
  }
  return out;
}

std::vector<Message> MessagingService::AwaitAll(
    const std::vector<std::string>& ids, absl::Time deadline) {
  const absl::Time wait_until =
      std::min(clock_->Now() + options_.wait_budget, deadline);
  std::vector<Message> out;
  for (const std::string& id : ids) {
    queue_->AwaitFirstAnswer(id, wait_until);
    absl::StatusOr<Message> current = messages_->Get(id);
    if (current.ok()) out.push_back(*std::move(current));
  }
  return out;
}

absl::StatusOr<storage::QuotaUsage> MessagingService::QuotaToday(
    int64_t user_id) {
  return messages_->GetQuotaUsage(user_id, options_.daily_segments_per_user,
                                  storage::UtcDayStart(clock_->Now()));
}

storage::QuotaCharge MessagingService::ChargeNow(int64_t user_id,
                                                int64_t segments) const {
  storage::QuotaCharge charge;
  charge.user_id = user_id;
  charge.segments = segments;
  charge.default_quota = options_.daily_segments_per_user;
  charge.day_start = storage::UtcDayStart(clock_->Now());
  return charge;
}

absl::StatusOr<Message> MessagingService::Get(const storage::User& caller,
                                              absl::string_view id) {
  absl::StatusOr<Message> message = messages_->Get(id);
  if (message.ok() && (message->owner_id == caller.id || caller.admin)) {
    return message;
  }
  if (!message.ok() && !absl::IsNotFound(message.status())) {
    return message.status();
  }
  return absl::NotFoundError(absl::StrCat("no message with id \"", id, "\""));
}

absl::StatusOr<Message> MessagingService::Cancel(const storage::User& caller,
                                                 absl::string_view id) {
  // A canonical UUID: 36 characters, hex digits and four dashes.
  bool uuid = id.size() == 36;
  for (size_t i = 0; uuid && i < id.size(); ++i) {
    const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    uuid = dash_position
               ? id[i] == '-'
               : absl::ascii_isxdigit(static_cast<unsigned char>(id[i]));
  }
  if (!uuid) {
    return absl::InvalidArgumentError("id must be a message UUID");
  }
  SMSGW_RETURN_IF_ERROR(Get(caller, id).status());
  absl::StatusOr<Message> canceled =
      messages_->CancelScheduled(id, clock_->Now());
  if (canceled.ok()) {
    SMSGW_LOG(kInfo) << "scheduled message canceled id=" << id
                     << " by=" << caller.id;
  }
  return canceled;
}

absl::StatusOr<std::vector<storage::DeliveryReport>> MessagingService::Reports(
    const storage::User& caller, absl::string_view id) {
  SMSGW_RETURN_IF_ERROR(Get(caller, id).status());
  return messages_->ListReports(id);
}

absl::StatusOr<SenderPick> MessagingService::ChooseSender(
    const storage::User& caller, absl::string_view to) {
  SMSGW_ASSIGN_OR_RETURN(storage::PeerNumbers peer,
                         messages_->FindPeerNumbers(caller.id, to));
  SMSGW_ASSIGN_OR_RETURN(std::string to_area, phones_->AreaOf(to));
  std::vector<SenderCandidate> candidates;
  for (const std::string& number : options_.phone_numbers) {
    if (number == to) continue;  // texting one of our own numbers
    SenderCandidate c;
    c.number = number;
    auto area = number_areas_.find(number);
    c.same_area = area != number_areas_.end() && area->second == to_area;
    SMSGW_ASSIGN_OR_RETURN(c.backlog, queue_->Backlog(number));
    c.taken_by_other_user =
        std::binary_search(peer.other_owners.begin(), peer.other_owners.end(),
                           number);
    candidates.push_back(std::move(c));
  }
  SMSGW_ASSIGN_OR_RETURN(SenderPick pick, PickSender(candidates, peer.owner_last));
  SMSGW_LOG(kInfo) << "sender pool picked " << pick.number << " ("
                   << SenderChoiceName(pick.choice)
                   << (pick.shared ? ", shared: no free number" : "")
                   << ") owner=" << caller.id;
  return pick;
}

absl::StatusOr<int64_t> MessagingService::ResolveOwner(
    const storage::User& caller, absl::string_view username) {
  if (username.empty()) return caller.id;
  if (!caller.admin) {
    return absl::PermissionDeniedError(
        "only admins may name another user (username)");
  }
  absl::StatusOr<storage::User> user =
      users_->FindByUsername(absl::AsciiStrToLower(username));
  if (absl::IsNotFound(user.status())) {
    return absl::NotFoundError(absl::StrCat("no user named \"", username, "\""));
  }
  SMSGW_RETURN_IF_ERROR(user.status());
  return user->id;
}

absl::StatusOr<MessagePage> MessagingService::List(const storage::User& caller,
                                                   const ListRequest& request) {
  storage::MessageQuery query;
  SMSGW_ASSIGN_OR_RETURN(query.limit, PageSize(request.page_size));
  if (request.unrouted) {
    if (!request.username.empty()) {
      return absl::InvalidArgumentError(
          "username and unrouted cannot be combined");
    }
    if (!caller.admin) {
      return absl::PermissionDeniedError(
          "only admins may list unrouted messages");
    }
    query.unrouted = true;
  } else {
    SMSGW_ASSIGN_OR_RETURN(int64_t owner, ResolveOwner(caller, request.username));
    query.owner_id = owner;
  }
  if (!request.conversation_id.empty()) {
    SMSGW_RETURN_IF_ERROR(ValidateConversationId(request.conversation_id));
    query.conversation_id = request.conversation_id;
  }
  if (!request.peer_number.empty()) {
    absl::StatusOr<std::string> peer = phones_->ToE164(request.peer_number);
    if (!peer.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("peer_number: ", peer.status().message()));
    }
    query.peer_number = *peer;
  }
  query.direction = request.direction;
  query.statuses = request.statuses;
  query.start_time = request.start_time;
  query.end_time = request.end_time;
  if (query.start_time && query.end_time &&
      *query.start_time > *query.end_time) {
    return absl::InvalidArgumentError("start_time is after end_time");
  }
  if (request.query.size() > kMaxQueryLength) {
    return absl::InvalidArgumentError(
        "query must be at most 1024 characters long");
  }
  query.fts_query = request.query;

  const std::string fingerprint =
      FilterFingerprint(query.owner_id.value_or(0), query);
  if (!request.page_token.empty()) {
    SMSGW_ASSIGN_OR_RETURN(std::string cursor,
                           DecodePageToken(request.page_token, "m1"));
    // "<before seq>|<filter fingerprint>"
    std::vector<std::string> parts = absl::StrSplit(cursor, '|');
    int64_t before = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &before) ||
        before <= 0) {
      return absl::InvalidArgumentError("page_token is malformed");
    }
    if (parts[1] != fingerprint) {
      return absl::InvalidArgumentError(
          "page_token belongs to a request with other filters");
    }
    query.before_seq = before;
  }
  // One extra row tells whether another page exists.
  const int page = query.limit;
  query.limit = page + 1;
  SMSGW_ASSIGN_OR_RETURN(std::vector<Message> rows, messages_->List(query));
  MessagePage result;
  if (static_cast<int>(rows.size()) > page) {
    rows.resize(page);
    result.next_page_token = EncodePageToken(
        "m1", absl::StrCat(rows.back().seq, "|", fingerprint));
  }
  result.messages = std::move(rows);
  return result;
}

absl::StatusOr<ConversationPage> MessagingService::ListConversations(
    const storage::User& caller, int page_size, absl::string_view page_token) {
  SMSGW_ASSIGN_OR_RETURN(int limit, PageSize(page_size));
  std::optional<std::pair<absl::Time, std::string>> before;
  if (!page_token.empty()) {
    SMSGW_ASSIGN_OR_RETURN(std::string cursor,
                           DecodePageToken(page_token, "c1"));
    // "<update time, Unix µs>|<conversation id>"
    std::vector<std::string> parts =
        absl::StrSplit(cursor, absl::MaxSplits('|', 1));
    int64_t micros = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &micros)) {
      return absl::InvalidArgumentError("page_token is malformed");
    }
    before = std::make_pair(absl::FromUnixMicros(micros), parts[1]);
  }
  SMSGW_ASSIGN_OR_RETURN(
      std::vector<storage::Conversation> rows,
      messages_->ListConversations(caller.id, before, limit + 1));
  ConversationPage result;
  if (static_cast<int>(rows.size()) > limit) {
    rows.resize(limit);
    result.next_page_token = EncodePageToken(
        "c1", absl::StrCat(absl::ToUnixMicros(rows.back().update_time), "|",
                           rows.back().id));
  }
  result.conversations = std::move(rows);
  return result;
}

absl::Status MessagingService::Delete(const storage::User& caller,
                                      absl::string_view id) {
  SMSGW_RETURN_IF_ERROR(Get(caller, id).status());
  return messages_->Delete(id);
}

absl::StatusOr<int64_t> MessagingService::DeleteAll(
    const storage::User& caller, absl::string_view conversation_id,
    absl::string_view username) {
  SMSGW_ASSIGN_OR_RETURN(int64_t owner, ResolveOwner(caller, username));
  std::optional<std::string> conversation;
  if (!conversation_id.empty()) {
    SMSGW_RETURN_IF_ERROR(ValidateConversationId(conversation_id));
    conversation = std::string(conversation_id);
  }
  return messages_->DeleteAll(owner, conversation);
}

// --- Stats ---

absl::StatusOr<MessageStatsReport> MessagingService::Stats(
    const storage::User& caller, std::optional<absl::Time> start,
    std::optional<absl::Time> end, absl::string_view username) {
  SMSGW_ASSIGN_OR_RETURN(int64_t owner, ResolveOwner(caller, username));
  const absl::Time window_end = end.value_or(clock_->Now());
  const absl::Time window_start = start.value_or(absl::InfinitePast());
  if (window_start > window_end) {
    return absl::InvalidArgumentError(
        end.has_value() ? "start_time is after end_time"
                        : "start_time is after end_time (unset: now)");
  }
  SMSGW_ASSIGN_OR_RETURN(storage::MessageStats counts,
                         messages_->Stats(owner, window_start, window_end));
  MessageStatsReport report =
      SummarizeStats(std::move(counts), window_start, window_end);
  SMSGW_ASSIGN_OR_RETURN(report.quota, QuotaToday(owner));
  return report;
}

}  // namespace smsgw::domain
