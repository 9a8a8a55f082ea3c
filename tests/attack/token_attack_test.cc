// Attack suite, tokens (issue 9): forged, tampered, expired and malformed
// access tokens, and hand-made `authorization` metadata, against the real
// server. The server's JWT key is set (JWT_SECRET_KEY) so that the suite can
// also mint tokens with the right key and wrong claims; a correctly minted
// token is the control that proves the minting itself is right.
#include <grpcpp/client_context.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/smsgw_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "smsgw/v1/auth.grpc.pb.h"
#include "tests/attack/attack_helpers.h"
#include "tests/testing/hmac.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_clients.h"

namespace smsgw::attack {
namespace {

constexpr char kServerKey[] = "attack-suite-server-key-0123456789abcdef";
constexpr char kOtherKey[] = "attack-suite-OTHER-key-0123456789abcdef!";

std::string B64(absl::string_view bytes) {
  std::string out;
  absl::WebSafeBase64Escape(bytes, &out);
  return out;
}

// header.payload.HMAC(key) with `md`.
std::string Mint(const nlohmann::json& header, const nlohmann::json& claims,
                 absl::string_view key = kServerKey,
                 const EVP_MD* md = EVP_sha256()) {
  const std::string signing_input =
      absl::StrCat(B64(header.dump()), ".", B64(claims.dump()));
  return absl::StrCat(signing_input, ".", B64(testing::Hmac(md, key, signing_input)));
}

// An RSA key pair of the attacker: the private key signs, the public key's
// PEM is what a confused verifier might use as an HMAC secret.
struct RsaKey {
  EVP_PKEY* key = nullptr;
  std::string public_pem;
  RsaKey() {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr);
    EVP_PKEY_keygen_init(ctx);
    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048);
    EVP_PKEY_keygen(ctx, &key);
    EVP_PKEY_CTX_free(ctx);
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, key);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    public_pem.assign(data, static_cast<size_t>(len));
    BIO_free(bio);
  }
  ~RsaKey() { EVP_PKEY_free(key); }
  std::string SignRs256(absl::string_view data) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
    EVP_DigestSign(ctx, nullptr, &len,
                   reinterpret_cast<const unsigned char*>(data.data()),
                   data.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(data.data()),
                   data.size());
    EVP_MD_CTX_free(ctx);
    sig.resize(len);
    return sig;
  }
};

class TokenAttackTest : public testing::ServerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartWithAnn({{"JWT_SECRET_KEY", kServerKey}}));
    ASSERT_FALSE(ann_->access_token().empty());
    // The real token's claims, to copy the subject and issuer from.
    std::vector<std::string> parts = absl::StrSplit(ann_->access_token(), '.');
    ASSERT_EQ(parts.size(), 3u);
    std::string payload;
    ASSERT_TRUE(absl::WebSafeBase64Unescape(parts[1], &payload));
    real_claims_ = nlohmann::json::parse(payload);
    ASSERT_TRUE(real_claims_.contains("sub"));
  }

  // Claims as the server would issue them now for ann.
  nlohmann::json Claims() const {
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    return {{"sub", real_claims_["sub"]},
            {"iss", real_claims_["iss"]},
            {"jti", "0123456789abcdef0123456789abcdef"},
            {"iat", now},
            {"exp", now + 3600}};
  }

  static nlohmann::json Hs256() { return {{"alg", "HS256"}, {"typ", "JWT"}}; }

  // GetCurrentUser with `authorization: <value>` exactly.
  ::grpc::Status WhoAmI(const std::string& authorization,
                        std::string* username = nullptr) {
    ::grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    context.AddMetadata("authorization", authorization);
    v1::GetCurrentUserRequest request;
    v1::GetCurrentUserResponse response;
    ::grpc::Status status =
        ann_->auth()->GetCurrentUser(&context, request, &response);
    if (username != nullptr) *username = response.user().username();
    return status;
  }

  // Expects `token` (as "Bearer <token>") to be refused UNAUTHENTICATED.
  void ExpectRefused(const std::string& token, const std::string& what) {
    const ::grpc::Status status = WhoAmI(absl::StrCat("Bearer ", token));
    EXPECT_EQ(status.error_code(), ::grpc::StatusCode::UNAUTHENTICATED)
        << what << ": " << status.error_message();
  }

  nlohmann::json real_claims_;
};

TEST_F(TokenAttackTest, ControlTokensMintedWithTheServerKeyAreAccepted) {
  std::string name;
  ASSERT_TRUE(WhoAmI(absl::StrCat("Bearer ", ann_->access_token()), &name).ok());
  EXPECT_EQ(name, "ann");
  name.clear();
  const ::grpc::Status minted =
      WhoAmI(absl::StrCat("Bearer ", Mint(Hs256(), Claims())), &name);
  EXPECT_TRUE(minted.ok()) << minted.error_message();
  EXPECT_EQ(name, "ann");
}

TEST_F(TokenAttackTest, AlgNoneIsRefused) {
  for (const char* alg : {"none", "None", "NONE", "nOnE"}) {
    const nlohmann::json header = {{"alg", alg}, {"typ", "JWT"}};
    const std::string unsigned_token =
        absl::StrCat(B64(header.dump()), ".", B64(Claims().dump()), ".");
    ExpectRefused(unsigned_token, absl::StrCat("alg ", alg, ", no signature"));
    // Even with a valid HS256 signature attached.
    ExpectRefused(Mint(header, Claims()), absl::StrCat("alg ", alg, " signed"));
  }
  // No alg at all.
  ExpectRefused(Mint({{"typ", "JWT"}}, Claims()), "no alg");
}

TEST_F(TokenAttackTest, Hs256SignedWithAnotherKeyIsRefused) {
  ExpectRefused(Mint(Hs256(), Claims(), kOtherKey), "other key");
  ExpectRefused(Mint(Hs256(), Claims(), ""), "empty key");
  // The real signature of ann's token on a tampered payload (sub changed).
  nlohmann::json claims = Claims();
  claims["sub"] = "2";
  std::vector<std::string> parts = absl::StrSplit(ann_->access_token(), '.');
  ExpectRefused(absl::StrCat(parts[0], ".", B64(claims.dump()), ".", parts[2]),
                "tampered payload");
}

TEST_F(TokenAttackTest, OtherAlgorithmsAndKeyConfusionAreRefused) {
  RsaKey attacker;
  const nlohmann::json rs256 = {{"alg", "RS256"}, {"typ", "JWT"}};
  const std::string input =
      absl::StrCat(B64(rs256.dump()), ".", B64(Claims().dump()));
  ExpectRefused(absl::StrCat(input, ".", B64(attacker.SignRs256(input))),
                "RS256 with the attacker's key");
  // RS256 header, HMAC with the server's own key: the header's algorithm
  // must not be trusted even when the bytes verify as HS256.
  ExpectRefused(Mint(rs256, Claims()), "RS256 header over an HS256 MAC");
  // HS256 keyed with a public key (the classic RS256/HS256 confusion).
  ExpectRefused(Mint(Hs256(), Claims(), attacker.public_pem),
                "HS256 keyed with a public key");
  // Same key, other HMACs.
  ExpectRefused(Mint({{"alg", "HS512"}, {"typ", "JWT"}}, Claims(), kServerKey,
                     EVP_sha512()),
                "HS512");
  ExpectRefused(Mint({{"alg", "HS384"}, {"typ", "JWT"}}, Claims(), kServerKey,
                     EVP_sha384()),
                "HS384");
  ExpectRefused(Mint({{"alg", "hs256"}, {"typ", "JWT"}}, Claims()),
                "lower-case alg");
  ExpectRefused(Mint({{"alg", "ES256"}}, Claims()), "ES256");
}

TEST_F(TokenAttackTest, ExpiredAndNotYetValidTokensAreRefused) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  nlohmann::json expired = Claims();
  expired["iat"] = now - 7200;
  expired["exp"] = now - 10;
  ExpectRefused(Mint(Hs256(), expired), "expired");
  nlohmann::json future = Claims();
  future["iat"] = now + 3600;
  future["exp"] = now + 7200;
  ExpectRefused(Mint(Hs256(), future), "issued an hour from now");
  nlohmann::json not_before = Claims();
  not_before["nbf"] = now + 3600;
  ExpectRefused(Mint(Hs256(), not_before), "nbf an hour from now");
  nlohmann::json no_exp = Claims();
  no_exp.erase("exp");
  ExpectRefused(Mint(Hs256(), no_exp), "no exp");
  nlohmann::json string_exp = Claims();
  string_exp["exp"] = absl::StrCat(now + 3600);
  ExpectRefused(Mint(Hs256(), string_exp), "exp as a string");
}

TEST_F(TokenAttackTest, WrongClaimsWithTheRightKeyAreRefused) {
  nlohmann::json claims = Claims();
  claims["iss"] = "someone-else";
  ExpectRefused(Mint(Hs256(), claims), "other issuer");
  claims = Claims();
  claims["sub"] = "999999";
  ExpectRefused(Mint(Hs256(), claims), "no such user");
  claims["sub"] = "1 OR 1=1";
  ExpectRefused(Mint(Hs256(), claims), "SQL in sub");
  claims["sub"] = "ann";
  ExpectRefused(Mint(Hs256(), claims), "username as sub");
  claims["sub"] = 1;
  ExpectRefused(Mint(Hs256(), claims), "numeric sub");
  ExpectRefused(Mint(Hs256(), nlohmann::json::array({Claims()})),
                "claims as an array");
}

TEST_F(TokenAttackTest, TruncatedAndGarbageTokensAreRefused) {
  const std::string token = ann_->access_token();
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  ExpectRefused(token.substr(0, token.size() - 1), "last character cut");
  ExpectRefused(token.substr(0, token.size() / 2), "half a token");
  ExpectRefused(absl::StrCat(parts[0], ".", parts[1]), "no signature part");
  ExpectRefused(absl::StrCat(parts[0], ".", parts[1], "."), "empty signature");
  ExpectRefused(absl::StrCat(token, "."), "four parts");
  ExpectRefused(absl::StrCat(token, "A"), "extra base64 character");
  ExpectRefused(absl::StrCat(parts[0], "=.", parts[1], ".", parts[2]),
                "padding in the header");
  ExpectRefused("x", "one character");
  ExpectRefused("..", "only dots");
  ExpectRefused(std::string(4097, 'A'), "over the 4 KiB token limit");
  ExpectRefused(std::string(5000, '.'), "5000 dots");
  ExpectRefused("eyJhbGciOiJIUzI1NiJ9.%%%%.$$$$", "not base64");
  ExpectRefused(B64(ann_->access_token()), "the token base64-encoded again");
  // Past gRPC's metadata limit the transport refuses it before the server.
  // Last: the transport may reset the connection for it, and a call right
  // after could then see UNAVAILABLE while the channel reconnects.
  const ::grpc::Status huge =
      WhoAmI(absl::StrCat("Bearer ", std::string(9000, 'A')));
  EXPECT_TRUE(huge.error_code() == ::grpc::StatusCode::UNAUTHENTICATED ||
              huge.error_code() == ::grpc::StatusCode::RESOURCE_EXHAUSTED)
      << huge.error_message();
}

TEST_F(TokenAttackTest, InjectedHeadersAreRefused) {
  RsaKey attacker;
  const nlohmann::json claims = Claims();
  // Headers that point the verifier at the attacker's key material, signed
  // with the attacker's RSA key or a key the attacker names.
  const nlohmann::json jwk = {{"kty", "oct"}, {"k", B64(kOtherKey)}};
  ExpectRefused(Mint({{"alg", "HS256"}, {"jwk", jwk}}, claims, kOtherKey),
                "embedded jwk");
  for (const char* name : {"jku", "x5u"}) {
    const nlohmann::json header = {{"alg", "RS256"},
                                   {name, "http://127.0.0.1:1/keys.json"}};
    const std::string input =
        absl::StrCat(B64(header.dump()), ".", B64(claims.dump()));
    ExpectRefused(absl::StrCat(input, ".", B64(attacker.SignRs256(input))),
                  name);
    ExpectRefused(Mint({{"alg", "HS256"}, {name, "http://127.0.0.1:1/k"}},
                       claims, kOtherKey),
                  absl::StrCat(name, " with HS256"));
  }
  // kid path traversal / SQL, MAC keyed with what the file or row would hold.
  for (const char* kid : {"../../../../dev/null", "' UNION SELECT 'x", ""}) {
    ExpectRefused(Mint({{"alg", "HS256"}, {"kid", kid}}, claims, ""),
                  absl::StrCat("kid ", kid));
    ExpectRefused(Mint({{"alg", "HS256"}, {"kid", kid}}, claims, "x"),
                  absl::StrCat("kid ", kid, " key x"));
  }
  // A critical extension the server does not understand must be refused
  // even with a correct signature (RFC 7515 §4.1.11).
  ExpectRefused(Mint({{"alg", "HS256"}, {"crit", {"exp"}}, {"exp", 1}}, claims),
                "crit");
  ExpectRefused(Mint({{"alg", "HS256"}, {"typ", "JWE"}}, claims), "typ JWE");
  // A header that is not a JSON object.
  ExpectRefused(absl::StrCat(B64("[\"HS256\"]"), ".", B64(claims.dump()), ".",
                             B64(testing::Hmac(EVP_sha256(), kServerKey, "x"))),
                "array header");
}

TEST_F(TokenAttackTest, MalformedAuthorizationMetadataIsRefused) {
  const std::string token = ann_->access_token();
  const std::string other = Mint(Hs256(), Claims(), kOtherKey);
  for (const std::string& value : std::vector<std::string>{
           "",
           "Bearer",
           "Bearer ",
           absl::StrCat("Bearer ", token, " ", token),
           absl::StrCat("Bearer ", token, ",Bearer ", token),
           absl::StrCat("Bearer ", other, " ", token),
           absl::StrCat("Bearer", token),
           absl::StrCat("Basic ", B64("ann:correct horse")),
           absl::StrCat("Bearer ", token.substr(0, 20), " ", token.substr(20)),
           absl::StrCat("Token ", token),
       }) {
    const ::grpc::Status status = WhoAmI(value);
    EXPECT_EQ(status.error_code(), ::grpc::StatusCode::UNAUTHENTICATED)
        << "authorization: " << value << ": " << status.error_message();
  }
}

TEST_F(TokenAttackTest, DuplicateAuthorizationMetadataDoesNotMixIdentities) {
  auto bob = testing::SignedUpClient(*server_, "bob");
  // A forged first value and a valid second one: refused, never ann.
  ::grpc::ClientContext context;
  context.AddMetadata("authorization",
                      absl::StrCat("Bearer ", Mint(Hs256(), Claims(), kOtherKey)));
  context.AddMetadata("authorization",
                      absl::StrCat("Bearer ", ann_->access_token()));
  v1::GetCurrentUserResponse response;
  const ::grpc::Status status = ann_->auth()->GetCurrentUser(
      &context, v1::GetCurrentUserRequest(), &response);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::UNAUTHENTICATED)
      << status.error_message() << " as " << response.user().username();
}

}  // namespace
}  // namespace smsgw::attack
