#include "server/dispatch/send_queue.h"

namespace smsgw::dispatch {

SendQueue::Key SendQueue::KeyOf(const Entry& e) {
  const storage::MessagePriority p =
      e.priority == storage::MessagePriority::kUnspecified
          ? storage::MessagePriority::kNormal
          : e.priority;
  return {-static_cast<int>(p), e.seq};
}

bool SendQueue::Push(Entry entry) {
  if (by_id_.contains(entry.id)) return false;
  const Key key = KeyOf(entry);
  by_id_.emplace(entry.id,
                 Where{entry.sender, key, entry.deadline, entry.segments});
  segments_by_sender_[entry.sender] += entry.segments;
  if (entry.deadline.has_value()) {
    by_deadline_.emplace(*entry.deadline, entry.id);
  }
  ++count_by_priority_[-key.first];
  std::string sender = entry.sender;
  by_sender_[sender].emplace(key, std::move(entry));
  return true;
}

bool SendQueue::Remove(absl::string_view id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return false;
  const Where where = it->second;
  by_id_.erase(it);
  if (where.deadline.has_value()) {
    auto [first, last] = by_deadline_.equal_range(*where.deadline);
    for (auto d = first; d != last; ++d) {
      if (d->second == id) {
        by_deadline_.erase(d);
        break;
      }
    }
  }
  --count_by_priority_[-where.key.first];
  auto segments = segments_by_sender_.find(where.sender);
  if (segments != segments_by_sender_.end() &&
      (segments->second -= where.segments) <= 0) {
    segments_by_sender_.erase(segments);
  }
  auto queue = by_sender_.find(where.sender);
  if (queue != by_sender_.end()) {
    queue->second.erase(where.key);
    if (queue->second.empty()) by_sender_.erase(queue);
  }
  return true;
}

bool SendQueue::Contains(absl::string_view id) const {
  return by_id_.contains(id);
}

const SendQueue::Entry* SendQueue::Head(absl::string_view sender) const {
  auto it = by_sender_.find(sender);
  if (it == by_sender_.end() || it->second.empty()) return nullptr;
  return &it->second.begin()->second;
}

SendQueue::Entry SendQueue::PopHead(absl::string_view sender) {
  Entry head = by_sender_.find(sender)->second.begin()->second;
  Remove(head.id);
  return head;
}

std::vector<std::string> SendQueue::Senders() const {
  std::vector<std::string> senders;
  senders.reserve(by_sender_.size());
  for (const auto& [sender, queue] : by_sender_) senders.push_back(sender);
  return senders;
}

std::optional<std::string> SendQueue::FirstSender() const {
  std::optional<std::string> best;
  Key best_key;
  for (const auto& [sender, queue] : by_sender_) {
    if (queue.empty()) continue;
    const Key& key = queue.begin()->first;
    if (!best.has_value() || key < best_key) {
      best = sender;
      best_key = key;
    }
  }
  return best;
}

std::vector<SendQueue::Entry> SendQueue::PopExpired(absl::Time now) {
  std::vector<Entry> expired;
  while (!by_deadline_.empty() && by_deadline_.begin()->first <= now) {
    const std::string id = by_deadline_.begin()->second;
    const Where& where = by_id_.at(id);
    expired.push_back(by_sender_.at(where.sender).at(where.key));
    Remove(id);
  }
  return expired;
}

absl::Time SendQueue::NextDeadline() const {
  return by_deadline_.empty() ? absl::InfiniteFuture()
                              : by_deadline_.begin()->first;
}

int64_t SendQueue::CountAt(storage::MessagePriority priority) const {
  auto it = count_by_priority_.find(static_cast<int>(priority));
  return it == count_by_priority_.end() ? 0 : it->second;
}

int64_t SendQueue::SegmentsOf(absl::string_view sender) const {
  auto it = segments_by_sender_.find(sender);
  return it == segments_by_sender_.end() ? 0 : it->second;
}

}  // namespace smsgw::dispatch
