// File: sender_pool.h
//
// The sender pool (issue 17 item 4): which of TWILIO_PHONE_NUMBERS a 1:1
// message without `from` goes out on, when no Messaging Service picks for us.
// The rule is a pure function of facts the caller gathers (the store's
// conversations, the dispatcher's backlog, the numbers' areas), so it can be
// tested as a table and any store engine gets the same answer.
//
// Why the rule exists: an inbound reply is routed by (peer, our number) to
// the most recent conversation (DESIGN.md §6 rule 2). If two users text the
// same person from the same number, the person's reply lands with whoever
// wrote last. Giving each user their own number per peer keeps replies with
// the right user as long as the pool has a free number.
#ifndef SMSGW_SERVER_DOMAIN_SENDER_POOL_H_
#define SMSGW_SERVER_DOMAIN_SENDER_POOL_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace smsgw::domain {

// Why the pool picked a number, strongest reason first.
enum class SenderChoice {
  kSticky,        // the number this user last used with this recipient
  kAreaCode,      // same country calling code and area code as the recipient
  kLeastBacklog,  // the shortest wait at its rate in the dispatcher's queue
};

// "sticky", "area_code", "least_backlog": for logs and docs.
absl::string_view SenderChoiceName(SenderChoice choice);

// One pool number and what the caller knows about it for this recipient.
struct SenderCandidate {
  std::string number;  // E.164, one of TWILIO_PHONE_NUMBERS
  // Same country calling code and national destination code as the
  // recipient (PhoneNumberParser::AreaOf()).
  bool same_area = false;
  // How long the dispatcher needs for the segments already queued on it.
  absl::Duration backlog = absl::ZeroDuration();
  // Another user already has a conversation with the recipient on it, so a
  // reply to it may be routed to them.
  bool taken_by_other_user = false;
};

struct SenderPick {
  std::string number;
  SenderChoice choice = SenderChoice::kLeastBacklog;
  // Every number was taken by another user: the pick shares a number with
  // someone, and the recipient's reply goes to whoever wrote last on it.
  bool shared = false;
};

// Picks the sender among `candidates` (in configuration order): only numbers
// not taken by another user, unless all are; among those the number equal to
// `last_used` (the user's last number with this recipient; empty for none),
// else the first same-area number with the least backlog, else the number
// with the least backlog; ties go to the earlier candidate. InvalidArgument
// when `candidates` is empty.
absl::StatusOr<SenderPick> PickSender(
    const std::vector<SenderCandidate>& candidates, absl::string_view last_used);

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_SENDER_POOL_H_
