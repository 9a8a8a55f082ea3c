#include "server/domain/token_service.h"

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/hmac.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::domain {
namespace {

using ::smsgw::testing::FakeClock;
using ::testing::HasSubstr;

constexpr char kKey[] = "0123456789abcdef0123456789abcdef-test-key";
constexpr char kOtherKey[] = "fedcba9876543210fedcba9876543210-other-key";
const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);
constexpr int64_t kNow = 1'800'000'000;

std::string Base64Url(absl::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(
                      bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(),
                    reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.size() - 1);  // Drop the NUL terminator.
  return out;
}

std::string Base64UrlDecode(absl::string_view text) {
  std::string out(text.size(), '\0');
  size_t len = 0;
  EXPECT_EQ(
      sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()),
                        out.size(), text.data(), text.size(), nullptr, &len,
                        nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
      0);
  out.resize(len);
  return out;
}

// Hand-builds a compact JWS from already-encoded header and payload parts,
// signing "header.payload" with HMAC(`md`, `key`).
std::string SignParts(absl::string_view header_b64,
                      absl::string_view payload_b64,
                      absl::string_view key = kKey,
                      const EVP_MD* md = EVP_sha256()) {
  const std::string signing_input = absl::StrCat(header_b64, ".", payload_b64);
  return absl::StrCat(signing_input, ".",
                      Base64Url(testing::Hmac(md, key, signing_input)));
}

std::string Sign(absl::string_view header_json, absl::string_view payload_json,
                 absl::string_view key = kKey,
                 const EVP_MD* md = EVP_sha256()) {
  return SignParts(Base64Url(header_json), Base64Url(payload_json), key, md);
}

constexpr char kHs256Header[] = R"({"alg":"HS256","typ":"JWT"})";

std::string Claims(absl::string_view sub = R"("alice")",
                   absl::string_view iss = R"("smsgw")",
                   std::string iat = absl::StrCat(kNow),
                   std::string exp = absl::StrCat(kNow + 3600)) {
  std::vector<std::string> fields;
  if (!sub.empty()) fields.push_back(absl::StrCat(R"("sub":)", sub));
  if (!iss.empty()) fields.push_back(absl::StrCat(R"("iss":)", iss));
  if (!iat.empty()) fields.push_back(absl::StrCat(R"("iat":)", iat));
  if (!exp.empty()) fields.push_back(absl::StrCat(R"("exp":)", exp));
  return absl::StrCat("{", absl::StrJoin(fields, ","), "}");
}

class TokenServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_unique<FakeClock>(kStart);
    SMSGW_ASSERT_OK_AND_ASSIGN(service_, MakeService(kKey, clock_.get()));
  }

  static absl::StatusOr<std::unique_ptr<TokenService>> MakeService(
      absl::string_view key, Clock* clock) {
    TokenServiceOptions options;
    options.secret_key = std::string(key);
    options.ttl = absl::Hours(1);
    return TokenService::Create(options, clock);
  }

  std::unique_ptr<FakeClock> clock_;
  std::unique_ptr<TokenService> service_;
};

TEST_F(TokenServiceTest, IssuedTokenVerifiesWithItsClaims) {
  SMSGW_ASSERT_OK_AND_ASSIGN(IssuedToken issued, service_->Issue("user-42"));
  EXPECT_EQ(issued.expire_time, kStart + absl::Hours(1));
  EXPECT_THAT(issued.token,
              ::testing::MatchesRegex("[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+"));

  SMSGW_ASSERT_OK_AND_ASSIGN(TokenClaims claims,
                             service_->Verify(issued.token));
  EXPECT_EQ(claims.subject, "user-42");
  EXPECT_EQ(claims.issued_at, kStart);
  EXPECT_EQ(claims.expire_time, kStart + absl::Hours(1));
  EXPECT_THAT(claims.token_id, ::testing::MatchesRegex("[0-9a-f]{32}"));
}

TEST_F(TokenServiceTest, IssuedTokenHasHs256HeaderAndStandardClaims) {
  SMSGW_ASSERT_OK_AND_ASSIGN(IssuedToken issued, service_->Issue("bob"));
  std::vector<std::string> parts = absl::StrSplit(issued.token, '.');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_THAT(Base64UrlDecode(parts[0]), HasSubstr(R"("alg":"HS256")"));
  const std::string payload = Base64UrlDecode(parts[1]);
  EXPECT_THAT(payload, HasSubstr(R"("sub":"bob")"));
  EXPECT_THAT(payload, HasSubstr(R"("iss":"smsgw")"));
  EXPECT_THAT(payload, HasSubstr(absl::StrCat(R"("iat":)", kNow)));
  EXPECT_THAT(payload, HasSubstr(absl::StrCat(R"("exp":)", kNow + 3600)));
  EXPECT_THAT(payload, HasSubstr(R"("jti":")"));
  // The signature is HMAC-SHA256 of "header.payload" under the key.
  EXPECT_EQ(Base64UrlDecode(parts[2]),
            testing::Hmac(EVP_sha256(), kKey, absl::StrCat(parts[0], ".", parts[1])));
}

TEST_F(TokenServiceTest, EachTokenGetsItsOwnId) {
  SMSGW_ASSERT_OK_AND_ASSIGN(IssuedToken a, service_->Issue("alice"));
  SMSGW_ASSERT_OK_AND_ASSIGN(IssuedToken b, service_->Issue("alice"));
  EXPECT_NE(a.token, b.token);
}

TEST_F(TokenServiceTest, HandMadeTokenWithStandardClaimsVerifies) {
  // Guards the rejection table below: its rows differ from this one token
  // in one detail each.
  SMSGW_ASSERT_OK_AND_ASSIGN(TokenClaims claims,
                             service_->Verify(Sign(kHs256Header, Claims())));
  EXPECT_EQ(claims.subject, "alice");
  EXPECT_TRUE(claims.token_id.empty());
  EXPECT_THAT(service_->Verify(Sign(R"({"alg":"HS256"})", Claims())), IsOk());
}

TEST_F(TokenServiceTest, TokenExpiresExactlyAtExp) {
  SMSGW_ASSERT_OK_AND_ASSIGN(IssuedToken issued, service_->Issue("alice"));
  clock_->Advance(absl::Hours(1) - absl::Seconds(1));
  EXPECT_THAT(service_->Verify(issued.token), IsOk());
  clock_->Advance(absl::Seconds(1));
  EXPECT_THAT(
      service_->Verify(issued.token),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("expired")));
  clock_->Advance(absl::Hours(100));
  EXPECT_THAT(
      service_->Verify(issued.token),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("expired")));
}

// Verify() remembers tokens that passed: the same token again still expires
// on time, a token differing from it in one character is checked in full,
// and more distinct tokens than the cache holds all keep verifying.
TEST_F(TokenServiceTest, RememberedTokenKeepsEveryCheck) {
  SMSGW_ASSERT_OK_AND_ASSIGN(IssuedToken issued, service_->Issue("alice"));
  ASSERT_THAT(service_->Verify(issued.token), IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(TokenClaims again,
                             service_->Verify(issued.token));
  EXPECT_EQ(again.subject, "alice");
  EXPECT_EQ(again.expire_time, issued.expire_time);

  for (size_t pos : {size_t{5}, issued.token.find('.') + 3,
                     issued.token.size() - 2}) {
    SCOPED_TRACE(pos);
    std::string altered = issued.token;
    altered[pos] = altered[pos] == 'A' ? 'B' : 'A';
    EXPECT_THAT(service_->Verify(altered),
                StatusIs(absl::StatusCode::kUnauthenticated,
                         HasSubstr("invalid access token")));
  }
  EXPECT_THAT(service_->Verify(issued.token + "x"),
              StatusIs(absl::StatusCode::kUnauthenticated));

  std::vector<IssuedToken> many;
  for (size_t i = 0; i < TokenService::kVerifiedCacheEntries + 10; ++i) {
    SMSGW_ASSERT_OK_AND_ASSIGN(IssuedToken t,
                               service_->Issue(absl::StrCat("user", i)));
    ASSERT_THAT(service_->Verify(t.token), IsOk());
    many.push_back(std::move(t));
  }
  for (size_t i : {size_t{0}, many.size() / 2, many.size() - 1}) {
    SMSGW_ASSERT_OK_AND_ASSIGN(TokenClaims claims,
                               service_->Verify(many[i].token));
    EXPECT_EQ(claims.subject, absl::StrCat("user", i));
  }

  clock_->Advance(absl::Hours(1));
  EXPECT_THAT(
      service_->Verify(issued.token),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("expired")));
  EXPECT_THAT(
      service_->Verify(many.back().token),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("expired")));
}

TEST_F(TokenServiceTest, ToleratesSmallClockSkewOnly) {
  FakeClock ahead(kStart + absl::Seconds(60));
  SMSGW_ASSERT_OK_AND_ASSIGN(auto ahead_service, MakeService(kKey, &ahead));
  SMSGW_ASSERT_OK_AND_ASSIGN(IssuedToken slightly_ahead,
                             ahead_service->Issue("alice"));
  EXPECT_THAT(service_->Verify(slightly_ahead.token), IsOk());

  ahead.Advance(absl::Seconds(1));
  SMSGW_ASSERT_OK_AND_ASSIGN(IssuedToken too_far_ahead,
                             ahead_service->Issue("alice"));
  EXPECT_THAT(service_->Verify(too_far_ahead.token),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       HasSubstr("issued in the future")));
}

TEST_F(TokenServiceTest, RejectsTokenSignedWithAnotherKey) {
  FakeClock clock(kStart);
  SMSGW_ASSERT_OK_AND_ASSIGN(auto other, MakeService(kOtherKey, &clock));
  SMSGW_ASSERT_OK_AND_ASSIGN(IssuedToken foreign, other->Issue("alice"));
  EXPECT_THAT(
      service_->Verify(foreign.token),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("bad signature")));
  SMSGW_ASSERT_OK_AND_ASSIGN(IssuedToken ours, service_->Issue("alice"));
  EXPECT_THAT(other->Verify(ours.token),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(TokenServiceTest, RejectsTamperedPayload) {
  SMSGW_ASSERT_OK_AND_ASSIGN(IssuedToken issued, service_->Issue("alice"));
  std::vector<std::string> parts = absl::StrSplit(issued.token, '.');
  ASSERT_EQ(parts.size(), 3u);
  const std::string payload = Base64UrlDecode(parts[1]);
  const std::string forged =
      absl::StrReplaceAll(payload, {{R"("alice")", R"("admin")"}});
  ASSERT_NE(forged, payload);
  const std::string tampered =
      absl::StrCat(parts[0], ".", Base64Url(forged), ".", parts[2]);
  EXPECT_THAT(
      service_->Verify(tampered),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("bad signature")));

  // Flipping one character of the encoded payload also breaks the MAC.
  std::string flipped = issued.token;
  const size_t i = parts[0].size() + 3;
  flipped[i] = flipped[i] == 'A' ? 'B' : 'A';
  EXPECT_THAT(service_->Verify(flipped),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(TokenServiceTest, RejectsTokenFromAnotherIssuerSharingTheKey) {
  TokenServiceOptions options;
  options.secret_key = kKey;
  options.issuer = "someone-else";
  SMSGW_ASSERT_OK_AND_ASSIGN(auto other,
                             TokenService::Create(options, clock_.get()));
  SMSGW_ASSERT_OK_AND_ASSIGN(IssuedToken foreign, other->Issue("alice"));
  EXPECT_THAT(
      service_->Verify(foreign.token),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("wrong issuer")));
}

TEST_F(TokenServiceTest, RejectsCriticalHeaderExtensions) {
  // RFC 7515 §4.1.11: unknown critical extensions make a token invalid even
  // with a good signature.
  EXPECT_THAT(service_->Verify(Sign(R"({"alg":"HS256","crit":["exp"],"exp":1})",
                                    Claims())),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       HasSubstr("critical")));
  EXPECT_THAT(service_->Verify(Sign(R"({"alg":"HS256","crit":[]})", Claims())),
              StatusIs(absl::StatusCode::kUnauthenticated));
  // Other unknown headers are ignored (they decide nothing).
  EXPECT_THAT(service_->Verify(Sign(R"({"alg":"HS256","kid":"k1"})", Claims())),
              IsOk());
}

TEST_F(TokenServiceTest, HonoursNotBefore) {
  auto with_nbf = [](absl::string_view nbf) {
    std::string claims = Claims();
    claims.pop_back();
    return absl::StrCat(claims, R"(,"nbf":)", nbf, "}");
  };
  EXPECT_THAT(service_->Verify(Sign(kHs256Header, with_nbf(absl::StrCat(kNow)))),
              IsOk());
  EXPECT_THAT(
      service_->Verify(Sign(kHs256Header, with_nbf(absl::StrCat(kNow + 60)))),
      IsOk());  // within the allowed clock skew
  EXPECT_THAT(
      service_->Verify(Sign(kHs256Header, with_nbf(absl::StrCat(kNow + 61)))),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("not valid yet")));
  EXPECT_THAT(service_->Verify(Sign(kHs256Header, with_nbf(R"("soon")"))),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       HasSubstr("not-before")));
  clock_->Advance(absl::Seconds(61));
  EXPECT_THAT(
      service_->Verify(Sign(kHs256Header, with_nbf(absl::StrCat(kNow + 61)))),
      IsOk());
}

// Why Verify() checks "alg" itself: given the key, libjwt 1.10 lets the
// token's header choose the HMAC variant.
TEST(LibjwtBehaviourTest, LibjwtAloneAcceptsHs512TokenForAnHs256Key) {
  const std::string token =
      Sign(R"({"alg":"HS512","typ":"JWT"})", Claims(), kKey, EVP_sha512());
  jwt_t* jwt = nullptr;
  const int rc = jwt_decode(&jwt, token.c_str(),
                            reinterpret_cast<const unsigned char*>(kKey),
                            sizeof(kKey) - 1);
  EXPECT_EQ(rc, 0);
  if (jwt != nullptr) {
    EXPECT_EQ(jwt_get_alg(jwt), JWT_ALG_HS512);
    jwt_free(jwt);
  }
}

struct RejectCase {
  const char* name;
  std::string token;
  const char* reason;  // Expected substring of the status message.
};

std::vector<RejectCase> RejectCases() {
  const std::string valid = Sign(kHs256Header, Claims());
  const std::vector<std::string> parts = absl::StrSplit(valid, '.');
  const std::string header_b64 = parts[0];
  const std::string payload_b64 = parts[1];
  const std::string signature_b64 = parts[2];
  const std::string none_header = Base64Url(R"({"alg":"none"})");
  const std::string later = absl::StrCat(kNow + 7200);

  return {
      {"empty", "", "three-part"},
      {"one part", "abc", "three-part"},
      {"two parts", absl::StrCat(header_b64, ".", payload_b64), "three-part"},
      {"four parts", absl::StrCat(valid, ".", signature_b64), "three-part"},
      {"empty header", absl::StrCat(".", payload_b64, ".", signature_b64),
       "three-part"},
      {"empty payload", absl::StrCat(header_b64, "..", signature_b64),
       "three-part"},
      {"header not base64url",
       absl::StrCat("ey*J.", payload_b64, ".", signature_b64),
       "bad header encoding"},
      {"header with padding",
       absl::StrCat(Base64Url(R"({"alg":"HS256"} )"), "=.", payload_b64, ".",
                    signature_b64),
       "bad header encoding"},
      {"standard base64 signature",
       absl::StrCat(
           header_b64, ".", payload_b64, ".",
           absl::StrReplaceAll(signature_b64, {{"-", "+"}, {"_", "/"}}) + "+/"),
       "bad signature"},
      {"header not JSON", Sign("not json", Claims()), "bad header JSON"},
      {"header JSON array", Sign(R"(["HS256"])", Claims()), "bad header JSON"},
      {"header with duplicate alg",
       Sign(R"({"alg":"HS256","alg":"none"})", Claims()), "bad header JSON"},
      {"header without alg", Sign(R"({"typ":"JWT"})", Claims()),
       "unsupported algorithm"},
      {"alg none unsigned", absl::StrCat(none_header, ".", payload_b64, "."),
       "unsupported algorithm"},
      {"alg none with HS256 signature", SignParts(none_header, payload_b64),
       "unsupported algorithm"},
      {"alg None capitalised", Sign(R"({"alg":"None"})", Claims()),
       "unsupported algorithm"},
      {"alg lowercase hs256", Sign(R"({"alg":"hs256"})", Claims()),
       "unsupported algorithm"},
      {"alg HS512 signed with the same key",
       Sign(R"({"alg":"HS512","typ":"JWT"})", Claims(), kKey, EVP_sha512()),
       "unsupported algorithm"},
      {"alg HS384 signed with the same key",
       Sign(R"({"alg":"HS384","typ":"JWT"})", Claims(), kKey, EVP_sha384()),
       "unsupported algorithm"},
      {"alg RS256 with an HMAC signature",
       Sign(R"({"alg":"RS256","typ":"JWT"})", Claims()),
       "unsupported algorithm"},
      {"alg not a string", Sign(R"({"alg":256})", Claims()),
       "unsupported algorithm"},
      {"typ not JWT", Sign(R"({"alg":"HS256","typ":"JWE"})", Claims()),
       "unsupported type"},
      {"empty signature", absl::StrCat(header_b64, ".", payload_b64, "."),
       "bad signature"},
      {"truncated signature", valid.substr(0, valid.size() - 1),
       "bad signature"},
      {"over-long signature", absl::StrCat(valid, "AAAA"), "bad signature"},
      {"signature by another key", Sign(kHs256Header, Claims(), kOtherKey),
       "bad signature"},
      {"signature over another payload",
       absl::StrCat(header_b64, ".", Base64Url(Claims(R"("mallory")")), ".",
                    signature_b64),
       "bad signature"},
      {"payload not base64url", SignParts(header_b64, "e*J9"),
       "bad claims encoding"},
      {"payload not JSON", Sign(kHs256Header, "{sub:alice}"),
       "bad claims JSON"},
      {"payload JSON array", Sign(kHs256Header, R"(["alice"])"),
       "bad claims JSON"},
      {"duplicate claim",
       Sign(kHs256Header, absl::StrCat(R"({"sub":"alice","sub":"admin",)",
                                       Claims().substr(15))),
       "bad claims JSON"},
      {"missing sub", Sign(kHs256Header, Claims("")), "missing subject"},
      {"empty sub", Sign(kHs256Header, Claims(R"("")")), "missing subject"},
      {"sub not a string", Sign(kHs256Header, Claims("42")), "missing subject"},
      {"missing iss", Sign(kHs256Header, Claims(R"("alice")", "")),
       "wrong issuer"},
      {"wrong iss", Sign(kHs256Header, Claims(R"("alice")", R"("evil")")),
       "wrong issuer"},
      {"missing iat",
       Sign(kHs256Header, Claims(R"("alice")", R"("smsgw")", "")),
       "missing issued-at"},
      {"missing exp",
       Sign(kHs256Header,
            Claims(R"("alice")", R"("smsgw")", absl::StrCat(kNow), "")),
       "missing expiry"},
      {"exp as string",
       Sign(kHs256Header, Claims(R"("alice")", R"("smsgw")", absl::StrCat(kNow),
                                 absl::StrCat("\"", kNow + 3600, "\""))),
       "missing expiry"},
      {"exp as real",
       Sign(kHs256Header,
            Claims(R"("alice")", R"("smsgw")", absl::StrCat(kNow), "1.9e9")),
       "missing expiry"},
      {"exp before iat",
       Sign(kHs256Header, Claims(R"("alice")", R"("smsgw")", later,
                                 absl::StrCat(kNow + 3600))),
       "expires before"},
      {"expired exactly now",
       Sign(kHs256Header,
            Claims(R"("alice")", R"("smsgw")", absl::StrCat(kNow - 3600),
                   absl::StrCat(kNow))),
       "expired"},
      {"expired long ago",
       Sign(kHs256Header, Claims(R"("alice")", R"("smsgw")", "0", "1")),
       "expired"},
      {"iat beyond leeway",
       Sign(kHs256Header,
            Claims(R"("alice")", R"("smsgw")", absl::StrCat(kNow + 61), later)),
       "issued in the future"},
      {"too long",
       Sign(kHs256Header, absl::StrCat(R"({"pad":")", std::string(3200, 'x'),
                                       R"(",)", Claims().substr(1))),
       "too long"},
      {"embedded NUL in signature",
       absl::StrCat(valid.substr(0, valid.size() - 2), std::string(1, '\0'),
                    valid.substr(valid.size() - 2)),
       "contains NUL"},
      {"trailing NUL", absl::StrCat(valid, std::string(1, '\0')),
       "contains NUL"},
      {"trailing newline", absl::StrCat(valid, "\n"), "bad signature"},
      {"bearer prefix", absl::StrCat("Bearer ", valid), "bad header encoding"},
  };
}

TEST_F(TokenServiceTest, VerifyRejectsEachInvalidToken) {
  for (const RejectCase& c : RejectCases()) {
    EXPECT_THAT(
        service_->Verify(c.token),
        StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr(c.reason)))
        << c.name;
  }
}

TEST_F(TokenServiceTest, RejectionMessagesNeverEchoTheToken) {
  for (const RejectCase& c : RejectCases()) {
    absl::StatusOr<TokenClaims> result = service_->Verify(c.token);
    ASSERT_FALSE(result.ok()) << c.name;
    EXPECT_LT(result.status().message().size(), 64u) << c.name;
  }
}

TEST(TokenServiceCreateTest, RejectsBadOptions) {
  FakeClock clock;
  TokenServiceOptions options;
  options.secret_key = std::string(31, 'k');
  EXPECT_THAT(
      TokenService::Create(options, &clock),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least 32")));
  options.secret_key = std::string(32, 'k');
  EXPECT_THAT(TokenService::Create(options, &clock), IsOk());
  EXPECT_THAT(TokenService::Create(options, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument));

  TokenServiceOptions no_issuer = options;
  no_issuer.issuer.clear();
  EXPECT_THAT(TokenService::Create(no_issuer, &clock),
              StatusIs(absl::StatusCode::kInvalidArgument));
  TokenServiceOptions zero_ttl = options;
  zero_ttl.ttl = absl::ZeroDuration();
  EXPECT_THAT(TokenService::Create(zero_ttl, &clock),
              StatusIs(absl::StatusCode::kInvalidArgument));
  TokenServiceOptions negative_skew = options;
  negative_skew.max_clock_skew = -absl::Seconds(1);
  EXPECT_THAT(TokenService::Create(negative_skew, &clock),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(TokenServiceCreateTest, DefaultsAreSmsgwIssuerAndOneDay) {
  FakeClock clock(kStart);
  TokenServiceOptions options;
  options.secret_key = kKey;
  EXPECT_EQ(options.issuer, "smsgw");
  SMSGW_ASSERT_OK_AND_ASSIGN(auto service,
                             TokenService::Create(options, &clock));
  SMSGW_ASSERT_OK_AND_ASSIGN(IssuedToken issued, service->Issue("alice"));
  EXPECT_EQ(issued.expire_time, kStart + absl::Hours(24));
}

TEST_F(TokenServiceTest, IssueRejectsBadSubjects) {
  EXPECT_THAT(service_->Issue(""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(service_->Issue(std::string("a\0b", 3)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      service_->Issue(std::string(TokenService::kMaxSubjectBytes + 1, 'a')),
      StatusIs(absl::StatusCode::kInvalidArgument));
  SMSGW_ASSERT_OK_AND_ASSIGN(
      IssuedToken longest,
      service_->Issue(std::string(TokenService::kMaxSubjectBytes, 'a')));
  EXPECT_THAT(service_->Verify(longest.token), IsOk());
}

TEST_F(TokenServiceTest, SubjectWithJsonSpecialCharactersRoundTrips) {
  const std::string subject = "a\"b\\c/d\xc3\xa9";
  SMSGW_ASSERT_OK_AND_ASSIGN(IssuedToken issued, service_->Issue(subject));
  SMSGW_ASSERT_OK_AND_ASSIGN(TokenClaims claims,
                             service_->Verify(issued.token));
  EXPECT_EQ(claims.subject, subject);
}

}  // namespace
}  // namespace smsgw::domain
