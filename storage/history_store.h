// File: history_store.h
//
// The HistoryStore port of the message store (issue 13). message_store.h says
// how the ports join into MessageStore and how writes that span concerns stay
// one transaction; a component takes only the ports it uses.
#ifndef SMSGW_STORAGE_HISTORY_STORE_H_
#define SMSGW_STORAGE_HISTORY_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/message_types.h"

namespace smsgw::storage {

// Reads of messages, their reports and conversations; deletes.
// Implementations are thread-safe.
class HistoryStore {
 public:
  virtual ~HistoryStore() = default;

  // The message with `id`, whoever owns it (callers check ownership), or
  // NotFound.
  virtual absl::StatusOr<Message> Get(absl::string_view id) = 0;

  // The delivery reports of a message, oldest first. NotFound if no message.
  virtual absl::StatusOr<std::vector<DeliveryReport>> ListReports(
      absl::string_view id) = 0;

  // Messages matching `query`, newest first (seq descending), at most
  // `query.limit`. InvalidArgument when `fts_query` is not valid FTS5.
  virtual absl::StatusOr<std::vector<Message>> List(
      const MessageQuery& query) = 0;

  // The owner's conversations, most recently updated first; paging by
  // (update_time, id) strictly before `before`.
  virtual absl::StatusOr<std::vector<Conversation>> ListConversations(
      int64_t owner_id,
      const std::optional<std::pair<absl::Time, std::string>>& before,
      int limit) = 0;

  // Deletes one message (and its reports), updating its conversation and
  // appending a DELETED feed event. NotFound if none.
  virtual absl::Status Delete(absl::string_view id) = 0;

  // Deletes all of `owner_id`'s messages, or those of one conversation when
  // `conversation_id` is set. Returns how many were deleted.
  virtual absl::StatusOr<int64_t> DeleteAll(
      int64_t owner_id, const std::optional<std::string>& conversation_id) = 0;
};

}  // namespace smsgw::storage

#endif  // SMSGW_STORAGE_HISTORY_STORE_H_
