#include "storage/message_lifecycle.h"

#include <algorithm>
#include <string>

namespace smsgw::storage {
namespace {

// Whether a status means the provider took the message (send_time).
bool ProviderAccepted(MessageStatus status) {
  switch (status) {
    case MessageStatus::kQueued:
    case MessageStatus::kSending:
    case MessageStatus::kSent:
    case MessageStatus::kDelivered:
    case MessageStatus::kUndelivered:
      return true;
    default:
      return false;
  }
}

bool CarriesError(MessageStatus status) {
  return status == MessageStatus::kUndelivered ||
         status == MessageStatus::kFailed || status == MessageStatus::kExpired;
}

}  // namespace

StatusDecision DecideStatusUpdate(const Message& stored,
                                  const StatusUpdate& update) {
  StatusDecision d;
  d.applied = StatusRank(update.status) > StatusRank(stored.status);
  Message& next = d.next;
  next = stored;
  if (d.applied) {
    next.status = update.status;
    if (CarriesError(update.status)) {
      next.error_code = update.error_code;
      next.error_message = update.error_message;
    }
    if (ProviderAccepted(update.status) && !next.send_time.has_value()) {
      next.send_time = update.event_time;
    }
    if (update.status == MessageStatus::kDelivered) {
      next.deliver_time = update.event_time;
    }
  }
  if (next.provider_sid.empty() && !update.provider_sid.empty()) {
    next.provider_sid = update.provider_sid;
  }
  if (update.num_segments.has_value()) next.num_segments = *update.num_segments;
  if (!update.price.empty()) next.price = update.price;
  if (!update.price_unit.empty()) next.price_unit = update.price_unit;

  d.row_changed = d.applied || next.provider_sid != stored.provider_sid ||
                  next.num_segments != stored.num_segments ||
                  next.price != stored.price ||
                  next.price_unit != stored.price_unit;
  if (d.row_changed) {
    next.update_time = std::max(stored.update_time, update.event_time);
  }
  d.report_sid =
      update.provider_sid.empty() ? next.provider_sid : update.provider_sid;
  d.apply_parked_reports =
      stored.provider_sid.empty() && !next.provider_sid.empty();
  return d;
}

bool ClearsDispatchMarker(const Message& after) {
  return after.dispatch_started_time.has_value() &&
         after.status != MessageStatus::kPending;
}

CallbackDisposition DisposeCallback(bool message_found) {
  return message_found ? CallbackDisposition::kApply
                       : CallbackDisposition::kPark;
}

absl::StatusOr<ScheduledExit> DecideLeaveScheduled(MessageStatus to,
                                                   absl::Time now,
                                                   absl::string_view note) {
  if (to != MessageStatus::kPending && to != MessageStatus::kCanceled) {
    return absl::InvalidArgumentError(
        "a scheduled message leaves SCHEDULED only for PENDING or CANCELED");
  }
  ScheduledExit exit;
  exit.to = to;
  if (to == MessageStatus::kPending) exit.next_attempt_time = now;
  exit.report.status = to;
  exit.report.error_message = std::string(note);
  exit.report.source = ReportSource::kLocal;
  exit.report.event_time = now;
  return exit;
}

}  // namespace smsgw::storage
