// File: conversation_id.h
//
// The one rule for conversation ids, shared by sending, listing, deleting
// and watching (protos/smsgw/v1/messaging.proto).
#ifndef SMSGW_SERVER_DOMAIN_CONVERSATION_ID_H_
#define SMSGW_SERVER_DOMAIN_CONVERSATION_ID_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace smsgw::domain {

inline constexpr size_t kMaxConversationIdLength = 128;

// 1–128 characters of letters, digits and `_ . : - +` (the '+' because the
// default id of a conversation is the peer's E.164 number). InvalidArgument
// naming conversation_id otherwise.
absl::Status ValidateConversationId(absl::string_view id);

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_CONVERSATION_ID_H_
