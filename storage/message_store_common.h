// File: message_store_common.h
//
// What the two MessageStore engines (storage/sqlite, storage/postgres)
// share beside the contract: the message column list (both schemas name and
// order the columns alike), row readers written once over any engine's row
// type, the checks of new messages, and the Stats() accumulation. Engine
// code only; the MessageStore contract is in the port headers.
#ifndef SMSGW_STORAGE_MESSAGE_STORE_COMMON_H_
#define SMSGW_STORAGE_MESSAGE_STORE_COMMON_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "storage/message_stats.h"
#include "storage/message_store.h"

namespace smsgw::storage::common {

// The message columns every read selects, in ReadMessageRow() order. The
// users join (aliases m and u: kMessageFrom) fills owner_username; NULL
// references read as 0 / "".
inline constexpr char kMessageColumns[] =
    "m.seq, m.id, COALESCE(m.owner_id, 0), COALESCE(u.username, ''), "
    "m.conversation_id, COALESCE(m.group_id, 0), m.group_name, m.direction, "
    "m.from_number, m.to_number, m.peer_number, m.our_number, "
    "m.messaging_service_sid, m.body, m.media_urls, m.media_content_types, "
    "m.status, COALESCE(m.provider_sid, ''), m.error_code, m.error_message, "
    "m.num_segments, m.encoding, m.price, m.price_unit, m.idempotency_key, "
    "m.attempts, m.next_attempt_time, m.create_time, m.scheduled_time, "
    "m.send_time, m.deliver_time, m.update_time, m.dispatch_started_time, "
    "m.priority, m.expire_time, COALESCE(m.claimed_by, 0)";
inline constexpr char kMessageFrom[] =
    " FROM messages m LEFT JOIN users u ON u.id = m.owner_id";

// The columns a new message row is inserted with, in the order both
// engines bind them (34 values).
inline constexpr char kMessageInsertColumns[] =
    "id, owner_id, conversation_id, group_id,"
    " group_name, direction, from_number, to_number, peer_number,"
    " our_number, messaging_service_sid, body, media_urls,"
    " media_content_types, status, provider_sid, error_code,"
    " error_message, num_segments, encoding, price, price_unit,"
    " idempotency_key, attempts, next_attempt_time, create_time,"
    " scheduled_time, send_time, deliver_time, update_time,"
    " dispatch_started_time, priority, expire_time, claimed_by";

// A newline-joined list column back as its elements ("" is none).
inline std::vector<std::string> SplitLines(const std::string& joined) {
  if (joined.empty()) return {};
  return absl::StrSplit(joined, '\n');
}

// The message whose kMessageColumns start at column `base` of `row`. `Row`
// is an engine's row: Int(c), Text(c), OptInt(c), Time(c), OptTime(c).
template <typename Row>
Message ReadMessageRow(const Row& row, int base = 0) {
  int c = base;
  Message m;
  m.seq = row.Int(c++);
  m.id = row.Text(c++);
  m.owner_id = row.Int(c++);
  m.owner_username = row.Text(c++);
  m.conversation_id = row.Text(c++);
  m.group_id = row.Int(c++);
  m.group_name = row.Text(c++);
  m.direction = static_cast<Direction>(row.Int(c++));
  m.from = row.Text(c++);
  m.to = row.Text(c++);
  m.peer_number = row.Text(c++);
  m.our_number = row.Text(c++);
  m.messaging_service_sid = row.Text(c++);
  m.body = row.Text(c++);
  m.media_urls = SplitLines(row.Text(c++));
  m.media_content_types = SplitLines(row.Text(c++));
  m.status = static_cast<MessageStatus>(row.Int(c++));
  m.provider_sid = row.Text(c++);
  if (std::optional<int64_t> code = row.OptInt(c++)) {
    m.error_code = static_cast<int>(*code);
  }
  m.error_message = row.Text(c++);
  m.num_segments = static_cast<int>(row.Int(c++));
  m.encoding = static_cast<Encoding>(row.Int(c++));
  m.price = row.Text(c++);
  m.price_unit = row.Text(c++);
  m.idempotency_key = row.Text(c++);
  m.attempts = static_cast<int>(row.Int(c++));
  m.next_attempt_time = row.OptTime(c++);
  m.create_time = row.Time(c++);
  m.scheduled_time = row.OptTime(c++);
  m.send_time = row.OptTime(c++);
  m.deliver_time = row.OptTime(c++);
  m.update_time = row.Time(c++);
  m.dispatch_started_time = row.OptTime(c++);
  m.priority = static_cast<MessagePriority>(row.Int(c++));
  m.expire_time = row.OptTime(c++);
  m.claimed_by = row.Int(c++);
  return m;
}

// The claim a new outbound message is stored with (DispatchQueueStore::
// SetClaimant()): the claimant when it is PENDING, none (0) when SCHEDULED:
// the replica that releases it claims it then.
inline int64_t ClaimOnCreate(const Message& message, int64_t claimant) {
  return message.status == MessageStatus::kPending ? claimant : 0;
}

// InvalidArgument naming `what` when an element of `items` is empty or
// contains '\n' (they are stored newline-joined).
absl::Status CheckMediaList(const std::vector<std::string>& items,
                            absl::string_view what);

// InvalidArgument when `limit` < 1.
absl::Status CheckLimit(int limit);

// ClaimUndispatched()'s checks: InvalidArgument when `limit` < 1,
// FailedPrecondition when no claimant (0) is set.
absl::Status CheckClaim(int limit, int64_t claimant);

// What every new outbound message must satisfy before it is stored:
// InvalidArgument when it is not outbound, not PENDING/SCHEDULED, has no
// owner or id, or a media element is empty or has a newline.
absl::Status ValidateNewOutbound(const Message& message);

// InsertInbound()'s check: InvalidArgument unless inbound with an id and a
// provider SID and a clean media list.
absl::Status ValidateNewInbound(const Message& message);

// CreateOutboundBatch()'s check: ValidateNewOutbound() of each, the error
// naming the message's id.
absl::Status ValidateNewOutboundBatch(const std::vector<Message>& messages);

// FindPeerNumbers()'s arguments: InvalidArgument when `owner_id` < 1 or
// `peer` is empty.
absl::Status CheckPeerNumbersQuery(int64_t owner_id, absl::string_view peer);

// ListDueStatusChecks()'s arguments: InvalidArgument when `limit` < 1 or
// `first_check_after` is negative.
absl::Status CheckStatusCheckQuery(int limit, absl::Duration first_check_after);

// MessageQuery.statuses as a bit set (bit n: status number n), which keeps
// the SQL text fixed whatever their number. InvalidArgument for a status
// outside 0-62.
absl::StatusOr<int64_t> StatusMask(const std::vector<MessageStatus>& statuses);

// The delivery report InsertInbound() stores with a new inbound message.
StatusUpdate InboundReport(const Message& message);

// "PENDING", "SCHEDULED", ... for error messages.
const char* LifecycleName(MessageStatus status);

// Stats() from the rows of one GROUP BY (day, status, direction,
// price_unit) ordered by day: Add() each row, then Finish().
class StatsBuilder {
 public:
  // `day` "YYYY-MM-DD" (UTC); `count` messages, `segments` their segment
  // sum, `priced` how many had a price and `micros` those prices' sum in
  // micro-units of `price_unit`.
  void Add(const std::string& day, int status, Direction direction,
           const std::string& price_unit, int64_t count, int64_t segments,
           int64_t priced, int64_t micros);
  MessageStats Finish();

 private:
  void CloseDay();

  MessageStats stats_;
  std::map<int, int64_t> totals_;           // status -> count
  std::map<int, int64_t> outbound_totals_;  // status -> count
  std::map<int, int64_t> day_totals_;       // of the current day
  std::map<std::string, PriceSum> prices_;  // unit -> sum
};

}  // namespace smsgw::storage::common

#endif  // SMSGW_STORAGE_MESSAGE_STORE_COMMON_H_
