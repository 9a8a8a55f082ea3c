#include "server/domain/sender_pool.h"

namespace smsgw::domain {

absl::string_view SenderChoiceName(SenderChoice choice) {
  switch (choice) {
    case SenderChoice::kSticky:
      return "sticky";
    case SenderChoice::kAreaCode:
      return "area_code";
    case SenderChoice::kLeastBacklog:
      return "least_backlog";
  }
  return "unknown";
}

absl::StatusOr<SenderPick> PickSender(
    const std::vector<SenderCandidate>& candidates,
    absl::string_view last_used) {
  if (candidates.empty()) {
    return absl::InvalidArgumentError("the sender pool has no numbers");
  }
  std::vector<const SenderCandidate*> eligible;
  for (const SenderCandidate& c : candidates) {
    if (!c.taken_by_other_user) eligible.push_back(&c);
  }
  SenderPick pick;
  if (eligible.empty()) {
    // No free number: sharing one is still better than refusing the send.
    pick.shared = true;
    for (const SenderCandidate& c : candidates) eligible.push_back(&c);
  }
  if (!last_used.empty()) {
    for (const SenderCandidate* c : eligible) {
      if (c->number == last_used) {
        pick.number = c->number;
        pick.choice = SenderChoice::kSticky;
        return pick;
      }
    }
  }
  // Strict `<` keeps the earliest of equals, so a quiet pool always starts
  // with the first configured number, as before the pool existed.
  auto least_backlog = [&eligible](bool area_only) -> const SenderCandidate* {
    const SenderCandidate* best = nullptr;
    for (const SenderCandidate* c : eligible) {
      if (area_only && !c->same_area) continue;
      if (best == nullptr || c->backlog < best->backlog) best = c;
    }
    return best;
  };
  if (const SenderCandidate* local = least_backlog(/*area_only=*/true)) {
    pick.number = local->number;
    pick.choice = SenderChoice::kAreaCode;
    return pick;
  }
  pick.number = least_backlog(/*area_only=*/false)->number;
  pick.choice = SenderChoice::kLeastBacklog;
  return pick;
}

}  // namespace smsgw::domain
