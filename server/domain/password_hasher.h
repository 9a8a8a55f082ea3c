// File: password_hasher.h
//
// Hashes and checks account passwords with Argon2id (libsodium).
//
//   PasswordHasher hasher;  // OWASP parameters
//   absl::StatusOr<std::string> encoded = hasher.Hash(password);
//   ...
//   if (hasher.Verify(password, stored)) {
//     if (hasher.NeedsRehash(stored)) { /* re-hash and store */ }
//   }
#ifndef SMSGW_SERVER_DOMAIN_PASSWORD_HASHER_H_
#define SMSGW_SERVER_DOMAIN_PASSWORD_HASHER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace smsgw::domain {

// Argon2id cost parameters. The defaults are OWASP's Password Storage Cheat
// Sheet minimum for Argon2id: m = 19 MiB, t = 2, p = 1 (libsodium always uses
// p = 1). Tests may lower `memory_kib` to stay fast; libsodium's lower bounds
// are 8 KiB and 1 pass.
struct PasswordHasherOptions {
  // Memory cost in KiB (1 KiB = 1024 bytes).
  uint64_t memory_kib = 19456;
  // Number of passes over memory (Argon2 "t").
  uint64_t iterations = 2;
};

// Turns passwords into self-describing PHC strings
// ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>", at most 127 bytes) and
// checks passwords against them. Because the parameters live in the string,
// they can be raised later: old hashes keep verifying and NeedsRehash() says
// when to replace them.
//
// Passwords are arbitrary bytes (NUL included); nothing is truncated.
// Thread-safe; stateless apart from the options.
class PasswordHasher {
 public:
  using Options = PasswordHasherOptions;

  PasswordHasher() : PasswordHasher(Options()) {}
  explicit PasswordHasher(Options options);

  // Hashes `password` with a fresh random 16-byte salt and returns the PHC
  // string. Returns InvalidArgument if the options are outside libsodium's
  // limits, Internal if libsodium cannot initialise or allocate the memory.
  absl::StatusOr<std::string> Hash(absl::string_view password) const;

  // True iff `encoded` is an Argon2id PHC string (any parameters) produced
  // from `password`. The comparison is constant-time (libsodium). Returns
  // false, never crashes, for malformed or over-long `encoded`, for other
  // algorithms (including "$argon2i$"), and when `encoded` contains NUL.
  bool Verify(absl::string_view password, absl::string_view encoded) const;

  // True unless `encoded` is a well-formed Argon2id string made with exactly
  // this hasher's parameters: call after a successful Verify() and store a
  // new Hash() when true. Malformed strings also give true.
  bool NeedsRehash(absl::string_view encoded) const;

  const Options& options() const { return options_; }

 private:
  Options options_;
};

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_PASSWORD_HASHER_H_
