#include "storage/message_store.h"

namespace smsgw::storage {

int StatusRank(MessageStatus status) {
  switch (status) {
    case MessageStatus::kUnspecified:
      return 0;
    case MessageStatus::kPending:
    case MessageStatus::kScheduled:
      return 1;
    case MessageStatus::kQueued:
      return 2;
    case MessageStatus::kSending:
      return 3;
    case MessageStatus::kSent:
      return 4;
    case MessageStatus::kDelivered:
    case MessageStatus::kUndelivered:
    case MessageStatus::kFailed:
    case MessageStatus::kCanceled:
    case MessageStatus::kReceived:
    case MessageStatus::kExpired:
      return 5;
  }
  return 0;
}

bool IsTerminal(MessageStatus status) { return StatusRank(status) == 5; }

}  // namespace smsgw::storage
