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

storage::StatusUpdate ProviderStatusUpdate(
    const twilio::ProviderMessage& message, absl::Time event_time,
    int http_status) {
  storage::StatusUpdate update;
  update.status = FromTwilioStatus(message.status);
  update.provider_status = message.status;
  update.provider_sid = message.sid;
  update.num_segments = message.num_segments;
  update.price = message.price.value_or("");
  update.price_unit = message.price_unit;
  update.error_code = message.error_code;
  update.error_message = message.error_message;
  update.source = storage::ReportSource::kProviderResponse;
  update.http_status = http_status;
  update.event_time = event_time;
  return update;
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
