#include "server/domain/password_hasher.h"

#include <sodium.h>

#include <cstring>
#include <vector>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace smsgw::domain {
namespace {

constexpr absl::string_view kArgon2idPrefix = "$argon2id$";

bool SodiumReady() {
  // sodium_init() is idempotent and thread-safe; caching it avoids the call.
  static const bool ready = sodium_init() >= 0;
  return ready;
}

// libsodium's memlimit is in bytes; ours in KiB so the OWASP number reads as
// published. Returns 0 on overflow so that the range check rejects it.
size_t MemLimitBytes(uint64_t memory_kib) {
  if (memory_kib > SIZE_MAX / 1024) return 0;
  return static_cast<size_t>(memory_kib) * 1024;
}

// Copies `encoded` into a NUL-terminated buffer of crypto_pwhash_STRBYTES,
// because libsodium's str API reads a C string. Returns false if it does not
// fit, contains NUL (which would make libsodium see a prefix), or is not
// Argon2id: libsodium's generic verifier would also accept "$argon2i$".
bool ToArgon2idCString(absl::string_view encoded,
                       char (&buffer)[crypto_pwhash_STRBYTES]) {
  if (encoded.size() >= sizeof(buffer)) return false;
  if (encoded.find('\0') != absl::string_view::npos) return false;
  if (!absl::StartsWith(encoded, kArgon2idPrefix)) return false;
  // libsodium writes $argon2id$v=19$m=…,t=…,p=1$<salt>$<hash> with a 16-byte
  // salt and a 32-byte hash in unpadded base64 (22 and 43 characters). Its
  // needs_rehash only parses the parameters, so check the whole shape here:
  // a truncated or padded hash is malformed, never "up to date".
  std::vector<absl::string_view> parts = absl::StrSplit(encoded, '$');
  if (parts.size() != 6 || parts[4].size() != 22 || parts[5].size() != 43) {
    return false;
  }
  std::memset(buffer, 0, sizeof(buffer));
  std::memcpy(buffer, encoded.data(), encoded.size());
  return true;
}

}  // namespace

PasswordHasher::PasswordHasher(Options options) : options_(options) {}

absl::StatusOr<std::string> PasswordHasher::Hash(
    absl::string_view password) const {
  if (!SodiumReady()) return absl::InternalError("libsodium init failed");
  const size_t memlimit = MemLimitBytes(options_.memory_kib);
  if (memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
      memlimit > crypto_pwhash_argon2id_MEMLIMIT_MAX ||
      options_.iterations < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
      options_.iterations > crypto_pwhash_argon2id_OPSLIMIT_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(
        "argon2id parameters out of range: memory_kib=", options_.memory_kib,
        " iterations=", options_.iterations));
  }
  if (password.size() > crypto_pwhash_argon2id_PASSWD_MAX) {
    return absl::InvalidArgumentError("password too long");
  }
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            options_.iterations, memlimit,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    // libsodium's only run-time failure here is failing to allocate memlimit.
    return absl::InternalError("argon2id hashing failed (out of memory)");
  }
  return std::string(out);
}

bool PasswordHasher::Verify(absl::string_view password,
                            absl::string_view encoded) const {
  if (!SodiumReady()) return false;
  char buffer[crypto_pwhash_STRBYTES];
  if (!ToArgon2idCString(encoded, buffer)) return false;
  return crypto_pwhash_str_verify(buffer, password.data(), password.size()) ==
         0;
}

bool PasswordHasher::NeedsRehash(absl::string_view encoded) const {
  if (!SodiumReady()) return true;
  char buffer[crypto_pwhash_STRBYTES];
  if (!ToArgon2idCString(encoded, buffer)) return true;
  return crypto_pwhash_argon2id_str_needs_rehash(
             buffer, options_.iterations, MemLimitBytes(options_.memory_kib)) !=
         0;
}

}  // namespace smsgw::domain
