#include "server/domain/token_service.h"

#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace smsgw::domain {
namespace {

constexpr absl::string_view kAlgorithm = "HS256";
constexpr size_t kSignatureBytes = 32;  // SHA-256 output.
constexpr size_t kTokenIdBytes = 16;

struct JwtDeleter {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;

// libjwt 1.10 returns strings from malloc() and has no free function of its
// own.
struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};
using CStringPtr = std::unique_ptr<char, FreeDeleter>;

absl::Status Invalid(absl::string_view reason) {
  return absl::UnauthenticatedError(
      absl::StrCat("invalid access token: ", reason));
}

// Strict RFC 7515 base64url without padding: libsodium rejects padding,
// characters outside the alphabet, and non-zero trailing bits, so one
// token has exactly one spelling.
std::optional<std::string> DecodeBase64Url(absl::string_view text) {
  std::string out(text.size() * 3 / 4 + 1, '\0');
  size_t out_len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()),
                        out.size(), text.data(), text.size(),
                        /*ignore=*/nullptr, &out_len, /*b64_end=*/nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    return std::nullopt;
  }
  out.resize(out_len);
  return out;
}

std::string HexRandom(size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  std::string hex(2 * bytes + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), raw.data(), raw.size());
  hex.pop_back();
  return hex;
}

// An integer claim such as "exp". libjwt's jwt_get_grant_int() returns 0 for
// strings and truncates reals, so the claim's JSON text is checked instead.
std::optional<int64_t> IntClaim(jwt_t* jwt, const char* name) {
  CStringPtr json(jwt_get_grants_json(jwt, name));
  if (json == nullptr) return std::nullopt;
  absl::string_view text(json.get());
  if (text.empty()) return std::nullopt;
  for (size_t i = 0; i < text.size(); ++i) {
    if (!absl::ascii_isdigit(text[i]) && !(i == 0 && text[i] == '-')) {
      return std::nullopt;
    }
  }
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) return std::nullopt;
  return value;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TokenService>> TokenService::Create(
    Options options, Clock* clock) {
  if (options.secret_key.size() < kMinKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("token secret key has ", options.secret_key.size(),
                     " bytes; at least ", kMinKeyBytes, " are required"));
  }
  if (options.secret_key.size() > static_cast<size_t>(INT32_MAX)) {
    return absl::InvalidArgumentError("token secret key too long");
  }
  if (options.issuer.empty()) {
    return absl::InvalidArgumentError("token issuer must not be empty");
  }
  if (options.ttl <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("token ttl must be positive");
  }
  if (options.max_clock_skew < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("max_clock_skew must not be negative");
  }
  if (clock == nullptr) return absl::InvalidArgumentError("clock is null");
  if (sodium_init() < 0) return absl::InternalError("libsodium init failed");
  return std::unique_ptr<TokenService>(
      new TokenService(std::move(options), clock));
}

TokenService::TokenService(Options options, Clock* clock)
    : options_(std::move(options)), clock_(clock) {}

TokenService::~TokenService() {
  sodium_memzero(options_.secret_key.data(), options_.secret_key.size());
}

absl::StatusOr<IssuedToken> TokenService::Issue(
    absl::string_view subject) const {
  if (subject.empty() || subject.size() > kMaxSubjectBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("token subject must be 1..", kMaxSubjectBytes, " bytes"));
  }
  if (subject.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("token subject contains NUL");
  }
  const absl::Time issued_at = clock_->Now();
  const int64_t now = absl::ToUnixSeconds(issued_at);
  const int64_t exp = absl::ToUnixSeconds(issued_at + options_.ttl);

  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return absl::InternalError("jwt_new failed");
  JwtPtr jwt(raw);
  const std::string sub(subject);
  const std::string jti = HexRandom(kTokenIdBytes);
  if (jwt_add_grant(jwt.get(), "sub", sub.c_str()) != 0 ||
      jwt_add_grant(jwt.get(), "iss", options_.issuer.c_str()) != 0 ||
      jwt_add_grant(jwt.get(), "jti", jti.c_str()) != 0 ||
      jwt_add_grant_int(jwt.get(), "iat", static_cast<long>(now)) != 0 ||
      jwt_add_grant_int(jwt.get(), "exp", static_cast<long>(exp)) != 0) {
    return absl::InternalError("jwt_add_grant failed");
  }
  if (jwt_set_alg(
          jwt.get(), JWT_ALG_HS256,
          reinterpret_cast<const unsigned char*>(options_.secret_key.data()),
          static_cast<int>(options_.secret_key.size())) != 0) {
    return absl::InternalError("jwt_set_alg failed");
  }
  CStringPtr encoded(jwt_encode_str(jwt.get()));
  if (encoded == nullptr) return absl::InternalError("jwt_encode_str failed");
  return IssuedToken{std::string(encoded.get()), absl::FromUnixSeconds(exp)};
}

absl::StatusOr<TokenClaims> TokenService::Verify(
    absl::string_view token) const {
  if (token.size() > kMaxTokenBytes) return Invalid("too long");
  std::optional<TokenClaims> remembered = verified_.Find(token);
  if (remembered.has_value()) {
    // iat and nbf were in the past or within the skew when it passed, and
    // stay so; only the expiry moves.
    if (remembered->expire_time <= clock_->Now()) {
      return absl::UnauthenticatedError("access token expired");
    }
    return *std::move(remembered);
  }
  absl::StatusOr<TokenClaims> claims = VerifyUncached(token);
  if (claims.ok()) verified_.Insert(token, *claims);
  return claims;
}

absl::StatusOr<TokenClaims> TokenService::VerifyUncached(
    absl::string_view token) const {
  // Structure first, so nothing below ever sees unbounded input.
  if (token.size() > kMaxTokenBytes) return Invalid("too long");
  if (token.find('\0') != absl::string_view::npos) {
    return Invalid("contains NUL");
  }
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty()) {
    return Invalid("not a three-part JWS");
  }

  // The header decides nothing: it must name the one algorithm we use.
  std::optional<std::string> header = DecodeBase64Url(parts[0]);
  if (!header.has_value() || header->find('\0') != std::string::npos) {
    return Invalid("bad header encoding");
  }
  {
    jwt_t* raw = nullptr;
    if (jwt_new(&raw) != 0) return absl::InternalError("jwt_new failed");
    JwtPtr parsed(raw);
    if (jwt_add_headers_json(parsed.get(), header->c_str()) != 0) {
      return Invalid("bad header JSON");
    }
    const char* alg = jwt_get_header(parsed.get(), "alg");
    if (alg == nullptr || absl::string_view(alg) != kAlgorithm) {
      return Invalid("unsupported algorithm");
    }
    const char* typ = jwt_get_header(parsed.get(), "typ");
    if (typ != nullptr && absl::string_view(typ) != "JWT") {
      return Invalid("unsupported type");
    }
    // RFC 7515 §4.1.11: a recipient that does not understand a critical
    // extension must refuse the token; we understand none.
    CStringPtr crit(jwt_get_headers_json(parsed.get(), "crit"));
    if (crit != nullptr) return Invalid("unsupported critical header");
  }

  std::optional<std::string> signature = DecodeBase64Url(parts[2]);
  if (!signature.has_value() || signature->size() != kSignatureBytes) {
    return Invalid("bad signature");
  }
  const size_t signed_len = parts[0].size() + 1 + parts[1].size();
  unsigned char expected[EVP_MAX_MD_SIZE];
  unsigned int expected_len = 0;
  if (HMAC(EVP_sha256(), options_.secret_key.data(),
           static_cast<int>(options_.secret_key.size()),
           reinterpret_cast<const unsigned char*>(token.data()), signed_len,
           expected, &expected_len) == nullptr ||
      expected_len != kSignatureBytes) {
    return absl::InternalError("HMAC-SHA256 failed");
  }
  const bool signature_ok =
      CRYPTO_memcmp(expected, signature->data(), kSignatureBytes) == 0;
  OPENSSL_cleanse(expected, sizeof(expected));
  if (!signature_ok) return Invalid("bad signature");

  // Authenticated from here on. The payload is decoded as strictly as the
  // header, and parsed with jwt_add_grants_json() rather than jwt_decode():
  // jwt_decode() accepts a JSON array as the claims and duplicate claim
  // names, jwt_add_grants_json() refuses both.
  std::optional<std::string> payload = DecodeBase64Url(parts[1]);
  if (!payload.has_value() || payload->find('\0') != std::string::npos) {
    return Invalid("bad claims encoding");
  }
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return absl::InternalError("jwt_new failed");
  JwtPtr jwt(raw);
  if (jwt_add_grants_json(jwt.get(), payload->c_str()) != 0) {
    return Invalid("bad claims JSON");
  }

  const char* sub = jwt_get_grant(jwt.get(), "sub");
  if (sub == nullptr || *sub == '\0') return Invalid("missing subject");
  const char* iss = jwt_get_grant(jwt.get(), "iss");
  if (iss == nullptr || absl::string_view(iss) != options_.issuer) {
    return Invalid("wrong issuer");
  }
  const std::optional<int64_t> iat = IntClaim(jwt.get(), "iat");
  const std::optional<int64_t> exp = IntClaim(jwt.get(), "exp");
  if (!iat.has_value()) return Invalid("missing issued-at");
  if (!exp.has_value()) return Invalid("missing expiry");
  if (*exp <= *iat) return Invalid("expires before it was issued");

  TokenClaims claims;
  claims.subject = sub;
  claims.issued_at = absl::FromUnixSeconds(*iat);
  claims.expire_time = absl::FromUnixSeconds(*exp);
  if (const char* jti = jwt_get_grant(jwt.get(), "jti"); jti != nullptr) {
    claims.token_id = jti;
  }

  const absl::Time now = clock_->Now();
  if (claims.expire_time <= now) {
    return absl::UnauthenticatedError("access token expired");
  }
  // RFC 7519 §4.1.5: not to be accepted before "nbf" (we never set it, but a
  // token that carries one must honour it).
  CStringPtr nbf_json(jwt_get_grants_json(jwt.get(), "nbf"));
  if (nbf_json != nullptr) {
    const std::optional<int64_t> nbf = IntClaim(jwt.get(), "nbf");
    if (!nbf.has_value()) return Invalid("bad not-before");
    if (absl::FromUnixSeconds(*nbf) > now + options_.max_clock_skew) {
      return Invalid("not valid yet");
    }
  }
  if (claims.issued_at > now + options_.max_clock_skew) {
    return Invalid("issued in the future");
  }
  return claims;
}

}  // namespace smsgw::domain
