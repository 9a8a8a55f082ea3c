// File: token_service.h
//
// Issues and verifies the access tokens that authenticate API calls: JWTs
// (RFC 7519) signed with HMAC-SHA256 ("HS256", RFC 7518 section 3.2).
//
//   SMSGW_ASSIGN_OR_RETURN(std::unique_ptr<TokenService> tokens,
//                          TokenService::Create(options, Clock::Real()));
//   SMSGW_ASSIGN_OR_RETURN(IssuedToken issued, tokens->Issue(user_id));
//   ...
//   SMSGW_ASSIGN_OR_RETURN(TokenClaims claims, tokens->Verify(bearer));
//
// Why the signature check is ours and not libjwt's: libjwt 1.10 picks the
// algorithm from the token's own header and (upstream 1.10.2) compared
// signatures with strcmp(), a timing side channel (CVE-2024-25189; Debian's
// 1.10.2-1+deb12u1 patches it, but we do not want to depend on the distro's
// patch level). So Verify() first checks structure and the header's "alg"
// itself (exactly "HS256": "none", HS384/HS512, RS256, ... are refused, which
// also closes the alg-confusion and alg=none attacks), then recomputes
// HMAC-SHA256 over "header.payload" with OpenSSL and compares it with
// CRYPTO_memcmp. Only then are the (now authenticated) claims parsed.
// libjwt builds and signs tokens and parses the header and claims JSON, via
// jwt_add_headers_json()/jwt_add_grants_json(): unlike jwt_decode() (checked
// on 1.10.2), these refuse duplicate names and non-object JSON. Base64url is
// decoded strictly by libsodium.
#ifndef SMSGW_SERVER_DOMAIN_TOKEN_SERVICE_H_
#define SMSGW_SERVER_DOMAIN_TOKEN_SERVICE_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/bounded_cache.h"
#include "common/clock.h"

namespace smsgw::domain {

struct TokenServiceOptions {
  // HMAC key bytes (any bytes, e.g. LoadOrCreateSecretKey()'s 64 hex chars).
  // At least 32 bytes: RFC 7518 section 3.2 requires a key as long as the
  // hash output.
  std::string secret_key;
  // "iss" claim written into tokens and required from tokens.
  std::string issuer = "smsgw";
  // Lifetime of an issued token; must be positive.
  absl::Duration ttl = absl::Hours(24);
  // How far in the future "iat" may lie, to tolerate clock steps between
  // servers sharing a key; must not be negative.
  absl::Duration max_clock_skew = absl::Seconds(60);
};

// A freshly issued access token.
struct IssuedToken {
  // The compact JWS: base64url(header) "." base64url(claims) "."
  // base64url(mac).
  std::string token;
  // When the token stops being accepted (the "exp" claim, whole seconds).
  absl::Time expire_time;
};

// The claims of a token that passed Verify().
struct TokenClaims {
  // "sub": whatever Issue() was given, typically a user id.
  std::string subject;
  // "iat" and "exp", whole seconds.
  absl::Time issued_at;
  absl::Time expire_time;
  // "jti": 128 random bits, hex; lets a future deny-list name one token.
  std::string token_id;
};

// Issues and checks HS256 JWT access tokens. Tokens carry the claims sub,
// iss, iat, exp and jti. Owns a copy of the key (wiped on destruction); does
// not own `clock`, which must outlive it. Thread-safe.
class TokenService {
 public:
  using Options = TokenServiceOptions;

  // Tokens longer than this are refused before any parsing.
  static constexpr size_t kMaxTokenBytes = 4096;
  static constexpr size_t kMinKeyBytes = 32;
  // Longest subject Issue() accepts.
  static constexpr size_t kMaxSubjectBytes = 256;

  // Returns InvalidArgument if the key is shorter than kMinKeyBytes, the
  // issuer is empty, `ttl` is not positive, `max_clock_skew` is negative or
  // `clock` is null; Internal if libsodium cannot initialise.
  static absl::StatusOr<std::unique_ptr<TokenService>> Create(Options options,
                                                              Clock* clock);

  ~TokenService();
  TokenService(const TokenService&) = delete;
  TokenService& operator=(const TokenService&) = delete;

  // Issues a token for `subject` valid from now for `ttl`. Returns
  // InvalidArgument if `subject` is empty, longer than kMaxSubjectBytes, or
  // contains NUL; Internal if libjwt fails (out of memory).
  absl::StatusOr<IssuedToken> Issue(absl::string_view subject) const;

  // Checks `token` (without any "Bearer " prefix) and returns its claims.
  // Every rejection is Unauthenticated with a message "invalid access token:
  // <reason>" (or "access token expired"), where the reason names the rule
  // but never echoes the token or the key. Rejected: longer than
  // kMaxTokenBytes; embedded NUL; not three base64url parts; bad base64 or
  // JSON; header "alg" other than "HS256" (including "none"); "typ" other
  // than "JWT"; signature not the HMAC-SHA256 of this key; missing or
  // non-string "sub"; missing or non-integer "iat"/"exp"; "iss" not the
  // configured issuer; exp <= iat; exp <= now; iat > now + max_clock_skew.
  //
  // A token that passed is remembered (kVerifiedCacheEntries at most, the
  // whole token as the key), so a client that sends the same token on every
  // call pays for the base64 and JSON parsing once (issue 14: about a third
  // of GetMessage's server CPU went to verifying the same token again). The
  // one check a passed token can fail later, its expiry, runs on every call.
  absl::StatusOr<TokenClaims> Verify(absl::string_view token) const;

  // How many passed tokens Verify() remembers; when full it forgets them all.
  static constexpr size_t kVerifiedCacheEntries = 4096;

 private:
  TokenService(Options options, Clock* clock);
  // Every check of Verify(), without the cache.
  absl::StatusOr<TokenClaims> VerifyUncached(absl::string_view token) const;

  Options options_;  // Not const: the destructor wipes the key.
  Clock* const clock_;
  mutable BoundedCache<TokenClaims> verified_{kVerifiedCacheEntries};
};

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_TOKEN_SERVICE_H_
