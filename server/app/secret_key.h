// File: secret_key.h
//
// The server's JWT signing key, kept in a file so that tokens survive a
// restart. Deployments that set JWT_SECRET_KEY bypass this (the app reads the
// variable itself).
#ifndef SMSGW_SERVER_APP_SECRET_KEY_H_
#define SMSGW_SERVER_APP_SECRET_KEY_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace smsgw::app {

// Keys shorter than this are refused: HS256 wants a key at least as long as
// its 256-bit output (RFC 7518 section 3.2).
inline constexpr size_t kMinSecretKeyBytes = 32;
// Key files larger than this are refused as not being key files.
inline constexpr size_t kMaxSecretKeyFileBytes = 4096;

// Returns the key stored at `path`, creating it first if it does not exist.
//
// Existing file: must be a regular file with no group/other permission bits
// (0600 or 0400) and hold at least kMinSecretKeyBytes bytes after trailing
// whitespace is stripped; the returned key is those bytes, used as-is.
// Returns FailedPrecondition saying which rule failed.
//
// Missing file: writes 32 bytes from libsodium's CSPRNG, hex-encoded (64
// characters, plus "\n"), to a new temporary file in the same directory
// (O_EXCL, mode 0600), fsyncs it and links it into place atomically; a
// concurrent creator wins cleanly (its key is loaded instead). Sets
// `*created` (if non-null) to true only when this call created the file.
//
// I/O errors return the errno's status code (absl::ErrnoToStatus) with the
// path, e.g. PermissionDenied for an unwritable directory, NotFound for a
// missing directory, FailedPrecondition when a path component is not a
// directory. Returns InvalidArgument for an empty `path`.
absl::StatusOr<std::string> LoadOrCreateSecretKey(absl::string_view path,
                                                  bool* created);

// A new key as LoadOrCreateSecretKey() writes one: 32 bytes from
// libsodium's CSPRNG, hex-encoded (64 characters).
std::string GenerateSecretKey();

}  // namespace smsgw::app

#endif  // SMSGW_SERVER_APP_SECRET_KEY_H_
