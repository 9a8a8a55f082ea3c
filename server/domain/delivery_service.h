// File: delivery_service.h
//
// What Twilio tells smsgw: status callbacks that move outbound messages
// through their lifecycle, and inbound SMS (DESIGN.md §5, §6;
// twilio-reference.md §3, §4, §6). The webhook adapter parses and checks
// signatures, then calls this; no rule lives in the adapter.
#ifndef SMSGW_SERVER_DOMAIN_DELIVERY_SERVICE_H_
#define SMSGW_SERVER_DOMAIN_DELIVERY_SERVICE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "server/domain/group_router.h"
#include "server/domain/opt_out.h"
#include "server/domain/outbound_queue.h"
#include "server/domain/phone_number.h"
#include "storage/message_store.h"

namespace smsgw::domain {

// One status callback, as Twilio posts it (§3).
struct StatusCallback {
  std::string account_sid;
  std::string message_sid;     // "SM…"
  std::string message_status;  // Twilio's word: queued, sent, delivered…
  std::optional<int> error_code;
  std::string error_message;
  std::string raw_dlr_done_date;  // YYMMDDhhmm, passed through
  std::string from;
  std::string to;
};

// One inbound SMS/MMS, as Twilio posts it (§4).
struct InboundSms {
  std::string account_sid;
  std::string message_sid;
  std::string messaging_service_sid;
  std::string from;  // the sender: E.164 (or a short code / sender ID)
  std::string to;    // our number, E.164
  std::string body;
  std::vector<std::string> media_urls;
  std::vector<std::string> media_content_types;
  std::optional<int> num_segments;
};

struct InboundOutcome {
  storage::Message message;
  bool replayed = false;  // a retry of a webhook already stored
  KeywordAction keyword = KeywordAction::kNone;
};

// Thread-safe. `messages`, `phones` and `clock` are not owned and must
// outlive the service.
class DeliveryService {
 public:
  struct Options {
    // Our Twilio account; callbacks naming another are refused. Empty
    // accepts any (the signature already proves the sender knows our token).
    std::string account_sid;
  };

  // `outbound` (not owned, may be null) is asked to fetch price and segments
  // once a message reaches a terminal status.
  DeliveryService(storage::MessageStore* messages, OutboundQueue* outbound,
                  const PhoneNumberParser* phones, Clock* clock,
                  Options options);

  // Records the callback as a delivery report and moves the message forward
  // only (a late, repeated or out-of-order callback changes nothing else).
  // A callback for a SID not stored yet is kept and applied when the SID is
  // stored. Twilio's 21610 (recipient unsubscribed) also records an opt-out
  // (of the callback's To from its From when the SID is not stored yet).
  // InvalidArgument for a missing MessageSid / MessageStatus, an unknown
  // status word or a malformed ErrorCode; PermissionDenied for another
  // account.
  absl::Status ApplyStatusCallback(const StatusCallback& callback);

  // Stores an inbound SMS once per MessageSid (Twilio retries webhooks). It
  // goes to the user with the most recent conversation with the sender on
  // that number, or is kept unrouted (visible to admins). Opt-out keywords
  // (STOP…, START…) are recorded when the message is first stored, never on
  // a repeated MessageSid.
  // InvalidArgument for a missing MessageSid / From / To or a To that is not
  // a phone number; PermissionDenied for another account.
  absl::StatusOr<InboundOutcome> ReceiveInbound(const InboundSms& sms);

  // --- Groups (DESIGN.md §6 rule 1) ---

  // Installs the router consulted before rules 2-3 (not owned; null: none).
  // Call before inbound traffic arrives.
  void SetGroupRouter(GroupRouter* router) { group_router_ = router; }

 private:
  absl::Status CheckAccount(absl::string_view account_sid) const;

  storage::MessageStore* messages_;
  OutboundQueue* outbound_;
  const PhoneNumberParser* phones_;
  Clock* clock_;
  const Options options_;
  GroupRouter* group_router_ = nullptr;
};

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_DELIVERY_SERVICE_H_
