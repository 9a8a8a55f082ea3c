// File: message_status.h
//
// Twilio's message status vocabulary mapped onto smsgw's lifecycle
// (twilio-reference.md §2, DESIGN.md §5).
#ifndef SMSGW_SERVER_DOMAIN_MESSAGE_STATUS_H_
#define SMSGW_SERVER_DOMAIN_MESSAGE_STATUS_H_

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/twilio/sms_provider.h"
#include "storage/message_store.h"

namespace smsgw::domain {

// Maps a Twilio status ("accepted", "queued", "sending", "sent", "delivered",
// "undelivered", "failed", "scheduled", "canceled", "receiving", "received",
// "read"; any case) to a MessageStatus. "accepted" is QUEUED (a Messaging
// Service's first state); "read" (WhatsApp/RCS, after delivered) is
// DELIVERED; "partially_delivered" is SENT. Unknown words give kUnspecified.
storage::MessageStatus FromTwilioStatus(absl::string_view status);

// The store update for what the provider says about a message (a create
// answer, a fetch, a listed message): the status FromTwilioStatus() maps
// `message.status` to (kUnspecified for an unknown word: the caller
// decides), Twilio's word, the SID, segments, price, error, source
// PROVIDER_RESPONSE, and the given `http_status` and `event_time`.
storage::StatusUpdate ProviderStatusUpdate(
    const twilio::ProviderMessage& message, absl::Time event_time,
    int http_status);

// The proto-style name, e.g. "DELIVERED", for logs and errors.
absl::string_view StatusName(storage::MessageStatus status);

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_MESSAGE_STATUS_H_
