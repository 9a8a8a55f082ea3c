// File: sha256.h
//
// SHA-256 (FIPS 180-4) on OpenSSL's EVP interface: the one digest helper of
// the tree, for idempotency fingerprints, page-token filter digests, group
// post keys, verification code hashes and Twilio's bodySHA256 check.
#ifndef SMSGW_COMMON_SHA256_H_
#define SMSGW_COMMON_SHA256_H_

#include <string>

#include "absl/strings/string_view.h"

namespace smsgw {

// The 32-byte SHA-256 digest of `data`, raw bytes.
std::string Sha256(absl::string_view data);

// The SHA-256 digest of `data` as 64 lower-case hex digits.
std::string Sha256Hex(absl::string_view data);

}  // namespace smsgw

#endif  // SMSGW_COMMON_SHA256_H_
