#include "storage/message_store_common.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace smsgw::storage::common {

absl::Status CheckMediaList(const std::vector<std::string>& items,
                            absl::string_view what) {
  for (const std::string& item : items) {
    if (item.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " has an empty entry"));
    }
    if (absl::StrContains(item, '\n')) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " entry contains a newline"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckLimit(int limit) {
  if (limit < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit must be at least 1, got ", limit));
  }
  return absl::OkStatus();
}

absl::Status CheckClaim(int limit, int64_t claimant) {
  SMSGW_RETURN_IF_ERROR(CheckLimit(limit));
  if (claimant == 0) {
    return absl::FailedPreconditionError(
        "ClaimUndispatched needs a claimant (SetClaimant)");
  }
  return absl::OkStatus();
}

absl::Status ValidateNewOutbound(const Message& message) {
  if (message.direction != Direction::kOutbound) {
    return absl::InvalidArgumentError(
        "CreateOutbound needs an outbound message");
  }
  if (message.status != MessageStatus::kPending &&
      message.status != MessageStatus::kScheduled) {
    return absl::InvalidArgumentError(
        "a new outbound message must be PENDING or SCHEDULED");
  }
  if (message.owner_id <= 0) {
    return absl::InvalidArgumentError("an outbound message needs an owner");
  }
  if (message.id.empty()) {
    return absl::InvalidArgumentError("message id is empty");
  }
  SMSGW_RETURN_IF_ERROR(CheckMediaList(message.media_urls, "media_urls"));
  return CheckMediaList(message.media_content_types, "media_content_types");
}

absl::Status ValidateNewInbound(const Message& message) {
  if (message.direction != Direction::kInbound || message.id.empty() ||
      message.provider_sid.empty()) {
    return absl::InvalidArgumentError(
        "InsertInbound takes an inbound message with an id and a provider "
        "sid");
  }
  SMSGW_RETURN_IF_ERROR(CheckMediaList(message.media_urls, "media_urls"));
  return CheckMediaList(message.media_content_types, "media_content_types");
}

absl::Status ValidateNewOutboundBatch(const std::vector<Message>& messages) {
  for (const Message& message : messages) {
    absl::Status valid = ValidateNewOutbound(message);
    if (!valid.ok()) {
      return absl::Status(valid.code(), absl::StrCat("message ", message.id,
                                                     ": ", valid.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckPeerNumbersQuery(int64_t owner_id, absl::string_view peer) {
  if (owner_id < 1) {
    return absl::InvalidArgumentError("FindPeerNumbers needs an owner");
  }
  if (peer.empty()) {
    return absl::InvalidArgumentError("FindPeerNumbers needs a peer number");
  }
  return absl::OkStatus();
}

absl::Status CheckStatusCheckQuery(int limit,
                                   absl::Duration first_check_after) {
  SMSGW_RETURN_IF_ERROR(CheckLimit(limit));
  if (first_check_after < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "first status check delay must not be negative");
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> StatusMask(const std::vector<MessageStatus>& statuses) {
  int64_t mask = 0;
  for (MessageStatus s : statuses) {
    const int n = static_cast<int>(s);
    if (n < 0 || n > 62) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown message status ", n));
    }
    mask |= int64_t{1} << n;
  }
  return mask;
}

StatusUpdate InboundReport(const Message& message) {
  StatusUpdate received;
  received.status = message.status;
  received.provider_status = "received";
  received.event_time = message.create_time;
  return received;
}

const char* LifecycleName(MessageStatus status) {
  switch (status) {
    case MessageStatus::kPending: return "PENDING";
    case MessageStatus::kScheduled: return "SCHEDULED";
    case MessageStatus::kQueued: return "QUEUED";
    case MessageStatus::kSending: return "SENDING";
    case MessageStatus::kSent: return "SENT";
    case MessageStatus::kDelivered: return "DELIVERED";
    case MessageStatus::kUndelivered: return "UNDELIVERED";
    case MessageStatus::kFailed: return "FAILED";
    case MessageStatus::kCanceled: return "CANCELED";
    case MessageStatus::kReceived: return "RECEIVED";
    case MessageStatus::kExpired: return "EXPIRED";
    default: return "UNSPECIFIED";
  }
}

void StatsBuilder::CloseDay() {
  if (stats_.days.empty()) return;
  for (const auto& [status, count] : day_totals_) {
    stats_.days.back().status_counts.push_back(
        {static_cast<MessageStatus>(status), count});
  }
  day_totals_.clear();
}

void StatsBuilder::Add(const std::string& day, int status, Direction direction,
                       const std::string& price_unit, int64_t count,
                       int64_t segments, int64_t priced, int64_t micros) {
  if (stats_.days.empty() || stats_.days.back().date != day) {
    CloseDay();
    stats_.days.emplace_back().date = day;
  }
  DailyMessageStats& today = stats_.days.back();
  day_totals_[status] += count;
  totals_[status] += count;
  if (direction == Direction::kOutbound) {
    outbound_totals_[status] += count;
    today.outbound_count += count;
    today.total_segments += segments;
    stats_.outbound_count += count;
    stats_.total_segments += segments;
  } else if (direction == Direction::kInbound) {
    today.inbound_count += count;
    stats_.inbound_count += count;
  }
  if (priced > 0) {
    PriceSum& sum = prices_[price_unit];
    sum.unit = price_unit;
    sum.micros += micros;
    sum.priced_count += priced;
  }
}

MessageStats StatsBuilder::Finish() {
  CloseDay();
  for (const auto& [status, count] : totals_) {
    stats_.status_counts.push_back({static_cast<MessageStatus>(status), count});
  }
  for (const auto& [status, count] : outbound_totals_) {
    stats_.outbound_status_counts.push_back(
        {static_cast<MessageStatus>(status), count});
  }
  for (auto& [unit, sum] : prices_) stats_.prices.push_back(std::move(sum));
  // std::map gave unit order; a stable sort keeps it among equal counts.
  std::stable_sort(stats_.prices.begin(), stats_.prices.end(),
                   [](const PriceSum& a, const PriceSum& b) {
                     return a.priced_count > b.priced_count;
                   });
  return std::move(stats_);
}

}  // namespace smsgw::storage::common
