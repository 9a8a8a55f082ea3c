// File: page_token.h
//
// List paging shared by the domain's List calls (AIP-158 style): the page
// size rule and opaque page tokens. A token is web-safe base64 of
// "<kind>|<payload>", where the kind names the list and its token version
// ("m1" messages, "c1" conversations, "g1" groups, "gm1" group messages) and
// the payload is the list's cursor, which only that list parses.
#ifndef SMSGW_SERVER_DOMAIN_PAGE_TOKEN_H_
#define SMSGW_SERVER_DOMAIN_PAGE_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace smsgw::domain {

// The page size of a request that names none, and the largest one served.
inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 500;

// The page size to serve for a requested page_size: 0 = kDefaultPageSize,
// larger than kMaxPageSize = kMaxPageSize. InvalidArgument when negative.
absl::StatusOr<int> PageSize(int requested);

// The token for the page after `payload` in the list `kind`.
std::string EncodePageToken(absl::string_view kind, absl::string_view payload);

// The payload of a token EncodePageToken(kind, payload) made. InvalidArgument
// "page_token is malformed" when `token` is not web-safe base64, is of
// another kind, or has an empty payload.
absl::StatusOr<std::string> DecodePageToken(absl::string_view token,
                                            absl::string_view kind);

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_PAGE_TOKEN_H_
