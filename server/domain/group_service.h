// File: group_service.h
//
// Group SMS chat (DESIGN.md §6): groups of users with verified phones, each
// member reached from a proxy number of the TWILIO_PHONE_NUMBERS pool.
//
// Storage of group traffic:
// - A post (from the app, or by SMS from a member's phone to their proxy
//   number) is stored once, owned by the poster, with group_id and
//   group_name set; ListMessages() returns only these.
// - Each delivery is a normal outbound message owned by the recipient (so a
//   poster never sees other members' phone numbers in their history), from
//   the recipient's proxy number, body "<poster>: <text>", group_name set
//   and group_id unset, dispatched like any SendMessage.
// - When the last member leaves, the group is deleted; its posts and
//   deliveries stay in their owners' message history (group_name kept) but
//   the group's history is no longer reachable through GroupService, and a
//   new group of the same name does not see it.
#ifndef SMSGW_SERVER_DOMAIN_GROUP_SERVICE_H_
#define SMSGW_SERVER_DOMAIN_GROUP_SERVICE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "server/domain/group_router.h"
#include "server/domain/messaging_service.h"
#include "storage/group_store.h"
#include "storage/message_store.h"
#include "storage/user_store.h"

namespace smsgw::domain {

// A group as a member sees it. In views returned by Create, Join and Get the
// members' `phone_number` is masked (MaskPhoneNumber, e.g. "+1415•••0100").
struct GroupView {
  storage::GroupRecord group;
  std::vector<storage::GroupMemberRecord> members;  // in order of joining
  std::string proxy_number;  // the viewer's; empty for a non-member admin
};

struct GroupPage {
  std::vector<GroupView> groups;  // members left empty
  std::string next_page_token;
};

// What happened to a post for one other member.
struct GroupDeliveryResult {
  std::string username;
  std::optional<storage::Message> message;  // unset when skipped
  bool skipped = false;
  std::string skip_reason;
};

// Deliveries' messages have the recipient's number masked.
struct GroupSendResult {
  storage::Message post;
  std::vector<GroupDeliveryResult> deliveries;
  bool replayed = false;
};

// Validates a group name: 1-64 characters, no control characters, no
// leading or trailing spaces. InvalidArgument naming the rule.
absl::Status ValidateGroupName(absl::string_view name);

// Thread-safe. Stores, messaging and clock are not owned and must outlive
// the service.
class GroupService final : public GroupRouter {
 public:
  struct Options {
    // TWILIO_PHONE_NUMBERS (E.164), in order: the proxy number pool.
    std::vector<std::string> pool;
  };

  GroupService(storage::GroupStore* groups, storage::MessageStore* messages,
               MessagingService* messaging, Clock* clock, Options options);

  // Creates a group and joins the caller. InvalidArgument (name,
  // description > 512 characters); FailedPrecondition (phone not
  // verified); AlreadyExists (name taken, any case); ResourceExhausted (no
  // pool number free for the caller).
  absl::StatusOr<GroupView> Create(const storage::User& caller,
                                   absl::string_view name,
                                   absl::string_view description);

  // Joins a group and assigns the caller's proxy number. Joining again is
  // harmless: returns the existing membership (groups.proto, JoinGroup).
  // InvalidArgument (empty name); FailedPrecondition (phone not verified);
  // NotFound; ResourceExhausted (no pool number free for the caller).
  absl::StatusOr<GroupView> Join(const storage::User& caller,
                                 absl::string_view name);

  // Leaves a group, deleting it when the caller was the last member.
  // InvalidArgument (empty name); NotFound; FailedPrecondition (not a
  // member).
  absl::Status Leave(const storage::User& caller, absl::string_view name);

  // The group with members. NotFound unless the caller is a member or admin.
  absl::StatusOr<GroupView> Get(const storage::User& caller,
                                absl::string_view name);

  // The caller's groups by name. InvalidArgument for a negative page size
  // or a malformed token.
  absl::StatusOr<GroupPage> List(const storage::User& caller, int page_size,
                                 absl::string_view page_token);

  // Posts `body` and sends it to every other member (see the file comment),
  // waiting for the provider's first answers until min(now + wait budget,
  // `deadline`). InvalidArgument (body empty or too long with the prefix;
  // idempotency key); NotFound (no such group or not a member);
  // AlreadyExists (idempotency key reused for another request);
  // ResourceExhausted when the deliveries' segments (each member with a
  // verified phone) do not fit the sender's daily quota (MessagingService:
  // nothing stored). A replayed
  // request returns the original post and no deliveries. `policy` applies
  // to every delivery (InvalidArgument for a validity period outside 1s..10h
  // or an unknown priority, before anything is stored).
  absl::StatusOr<GroupSendResult> Send(const storage::User& caller,
                                       absl::string_view name,
                                       absl::string_view body,
                                       absl::string_view idempotency_key,
                                       absl::Time deadline,
                                       const SendPolicy& policy = {});

  // The group's posts, newest first. NotFound unless member or admin;
  // InvalidArgument for a negative page size or a malformed token.
  absl::StatusOr<MessagePage> ListMessages(const storage::User& caller,
                                           absl::string_view name,
                                           int page_size,
                                           absl::string_view page_token);

  // GroupRouter (DESIGN.md §6 rule 1).
  absl::StatusOr<std::optional<GroupRoute>> RouteInbound(
      absl::string_view peer, absl::string_view our_number) override;
  void FanOutInbound(const storage::Message& post) override;

 private:
  absl::StatusOr<GroupView> View(const storage::User& caller,
                                 absl::string_view name, bool allow_admin);
  std::vector<GroupDeliveryResult> FanOut(
      const storage::GroupRecord& group, int64_t sender_id,
      absl::string_view sender_username, absl::string_view body,
      const SendPolicy& policy, std::vector<std::string>* sent_ids);

  storage::GroupStore* groups_;
  storage::MessageStore* messages_;
  MessagingService* messaging_;
  Clock* clock_;
  const Options options_;
};

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_GROUP_SERVICE_H_
