// File: group_router.h
//
// The port through which DeliveryService applies DESIGN.md §6 rule 1 (an
// SMS from a member's verified phone to their proxy number is a group post)
// without depending on GroupService.
#ifndef SMSGW_SERVER_DOMAIN_GROUP_ROUTER_H_
#define SMSGW_SERVER_DOMAIN_GROUP_ROUTER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/message_store.h"

namespace smsgw::domain {

// Where an inbound SMS goes under rule 1.
struct GroupRoute {
  int64_t group_id = 0;
  std::string group_name;
  int64_t user_id = 0;  // the posting member
  std::string username;
};

// The conversation a member's group traffic is filed in: one per group and
// member phone ("group-<id>-<digits>"), so a changed phone starts a new one.
inline std::string GroupConversationId(int64_t group_id,
                                       absl::string_view phone) {
  std::string id = "group-" + std::to_string(group_id) + "-";
  for (char c : phone) {
    if (c >= '0' && c <= '9') id.push_back(c);
  }
  return id;
}

// Implementations are thread-safe.
class GroupRouter {
 public:
  virtual ~GroupRouter() = default;

  // The group post an SMS from `peer` (E.164) to `our_number` is, when
  // `peer` is a member's verified phone and `our_number` that member's proxy
  // number; nullopt otherwise.
  virtual absl::StatusOr<std::optional<GroupRoute>> RouteInbound(
      absl::string_view peer, absl::string_view our_number) = 0;

  // Fans the stored group post `post` (inbound, group fields set) out to
  // the other members. Errors are logged, not returned: the post is stored
  // and Twilio must not retry the webhook.
  virtual void FanOutInbound(const storage::Message& post) = 0;
};

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_GROUP_ROUTER_H_
