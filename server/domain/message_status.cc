#include "server/domain/message_status.h"

#include <string>

#include "absl/strings/ascii.h"

namespace smsgw::domain {

using storage::MessageStatus;

MessageStatus FromTwilioStatus(absl::string_view status) {
  const std::string s = absl::AsciiStrToLower(status);
  if (s == "accepted" || s == "queued") return MessageStatus::kQueued;
  if (s == "sending") return MessageStatus::kSending;
  if (s == "sent" || s == "partially_delivered") return MessageStatus::kSent;
  if (s == "delivered" || s == "read") return MessageStatus::kDelivered;
  if (s == "undelivered") return MessageStatus::kUndelivered;
  if (s == "failed") return MessageStatus::kFailed;
  if (s == "scheduled") return MessageStatus::kScheduled;
  if (s == "canceled") return MessageStatus::kCanceled;
  if (s == "received" || s == "receiving") return MessageStatus::kReceived;
  return MessageStatus::kUnspecified;
}

absl::string_view StatusName(MessageStatus status) {
  switch (status) {
    case MessageStatus::kUnspecified:
      return "UNSPECIFIED";
    case MessageStatus::kPending:
      return "PENDING";
    case MessageStatus::kScheduled:
      return "SCHEDULED";
    case MessageStatus::kQueued:
      return "QUEUED";
    case MessageStatus::kSending:
      return "SENDING";
    case MessageStatus::kSent:
      return "SENT";
    case MessageStatus::kDelivered:
      return "DELIVERED";
    case MessageStatus::kUndelivered:
      return "UNDELIVERED";
    case MessageStatus::kFailed:
      return "FAILED";
    case MessageStatus::kCanceled:
      return "CANCELED";
    case MessageStatus::kReceived:
      return "RECEIVED";
    case MessageStatus::kExpired:
      return "EXPIRED";
  }
  return "UNSPECIFIED";
}

}  // namespace smsgw::domain
