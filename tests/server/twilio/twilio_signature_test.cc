#include "server/twilio/twilio_signature.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/twilio/form_encoding.h"

// Test vectors V0-V5 come from twilio-reference.md §5, computed with npm
// twilio@6.2.0 `getExpectedTwilioSignature` and each checked with its
// `validateRequest()`.
namespace smsgw::twilio {
namespace {

// V0: the official vector of the twilio-node and twilio-python test suites.
constexpr char kV0Token[] = "12345";
constexpr char kV0Url[] = "https://mycompany.com/myapp.php?foo=1&bar=2";
constexpr char kV0Signature[] = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
constexpr char kV0BodyUrl[] =
    "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256="
    "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
constexpr char kV0Body[] = R"({"property": "value", "boolean": true})";
constexpr char kV0BodySignature[] = "a9nBmqA0ju/hNViExpshrM61xv4=";

const FormParams& V0Params() {
  static const FormParams* params = new FormParams{
      {"CallSid", "CA1234567890ABCDE"}, {"Caller", "+14158675309"},
      {"Digits", "1234"},               {"From", "+14158675309"},
      {"To", "+18005551212"},
  };
  return *params;
}

// Token for V1-V5.
constexpr char kToken[] = "9f8e7d6c5b4a39281706f5e4d3c2b1a0";
constexpr char kInboundUrl[] = "https://sms.example.com/twilio/inbound";
constexpr char kSid[] = "SM0123456789abcdef0123456789abcdef";

// V1: a realistic inbound SMS, given in scrambled order to show that the
// algorithm sorts.
FormParams V1Params() {
  return {
      {"To", "+15005550006"},
      {"SmsStatus", "received"},
      {"Body", "Hello, World! \xc3\xb1 \xf0\x9f\x91\x8d"},  // ñ 👍
      {"AccountSid", "AC0123456789abcdef0123456789abcdef"},
      {"ApiVersion", "2010-04-01"},
      {"From", "+14155550100"},
      {"FromCountry", "US"},
      {"MessageSid", kSid},
      {"MessagingServiceSid", "MG0123456789abcdef0123456789abcdef"},
      {"NumMedia", "0"},
      {"NumSegments", "1"},
      {"SmsMessageSid", kSid},
      {"SmsSid", kSid},
  };
}
constexpr char kV1Signature[] = "lzM+cHVKhK53kj5rsB9NZ1Mvwpg=";

// V3: status callback to a URL with its own query string.
constexpr char kV3Url[] =
    "https://hooks.example.com/twilio/status?tenant=acme&msg=42";
constexpr char kV3Url443[] =
    "https://hooks.example.com:443/twilio/status?tenant=acme&msg=42";
constexpr char kV3Url8443[] =
    "https://hooks.example.com:8443/twilio/status?tenant=acme&msg=42";
constexpr char kV3Signature[] = "KKAJzp3ZQnbkKMBbR5RIIx9FaQY=";
constexpr char kV3Signature443[] = "xpPcZS7zKRKVIRX2R91saN71CaQ=";
constexpr char kV3Signature8443[] = "REn1crOZ/S6E+Yj/I9pf6knbQ8s=";

FormParams V3Params() {
  return {
      {"AccountSid", "AC0123456789abcdef0123456789abcdef"},
      {"ApiVersion", "2010-04-01"},
      {"ErrorCode", "30003"},
      {"From", "+15005550006"},
      {"MessageSid", "SMfedcba9876543210fedcba9876543210"},
      {"MessageStatus", "undelivered"},
      {"SmsSid", "SMfedcba9876543210fedcba9876543210"},
      {"SmsStatus", "undelivered"},
      {"To", "+14155550100"},
  };
}

// V4: JSON body signed through bodySHA256.
constexpr char kV4Body[] =
    R"({"MessageSid":"SM0123456789abcdef0123456789abcdef","MessageStatus":"delivered"})";
constexpr char kV4Url[] =
    "https://hooks.example.com/twilio/json?bodySHA256="
    "dc2258e4a020db93938f1f9f391df93c029c22db97cc2bcab82f592f548a4f31";
constexpr char kV4Signature[] = "HoEWMmD3/IJQN6Z5QeY4lAawtPE=";

// V5: GET webhook, all data in the query.
constexpr char kV5Url[] =
    "https://sms.example.com/twilio/inbound?From=%2B14155550100&Body=Hi+there";
constexpr char kV5Signature[] = "Le5D+OXgj6butzoADrSv1VvZbWY=";

TEST(ComputeTwilioSignatureTest, MatchesOfficialVectorV0) {
  EXPECT_EQ(ComputeTwilioSignature(kV0Token, kV0Url, V0Params()), kV0Signature);
  EXPECT_TRUE(
      ValidateTwilioSignature(kV0Token, kV0Url, V0Params(), kV0Signature));
}

TEST(ComputeTwilioSignatureTest, MatchesOfficialBodyVectorV0) {
  EXPECT_EQ(ComputeTwilioSignature(kV0Token, kV0BodyUrl, {}), kV0BodySignature);
  EXPECT_TRUE(ValidateTwilioSignatureWithBody(kV0Token, kV0BodyUrl, kV0Body,
                                              kV0BodySignature));
}

TEST(ComputeTwilioSignatureTest, IsTwentyEightCharactersOfBase64) {
  const std::string signature =
      ComputeTwilioSignature(kToken, kInboundUrl, V1Params());
  EXPECT_EQ(signature.size(), 28u);
  EXPECT_EQ(signature.back(), '=');
}

TEST(ComputeTwilioSignatureTest, SortsNamesAndMatchesV1) {
  EXPECT_EQ(ComputeTwilioSignature(kToken, kInboundUrl, V1Params()),
            kV1Signature);
}

TEST(ComputeTwilioSignatureTest, SortsRepeatedValuesAndDropsDuplicatesV2) {
  const FormParams params = {
      {"To", "+15005550006"},
      {"From", "+14155550100"},
      {"Body", "pics"},
      {"MediaUrl", "https://media.example.com/b.png"},
      {"MediaUrl", "https://media.example.com/a.png"},
      {"MediaUrl", "https://media.example.com/b.png"},
  };
  const std::string string_to_sign =
      "https://sms.example.com/twilio/inboundBodypicsFrom+14155550100"
      "MediaUrlhttps://media.example.com/a.png"
      "MediaUrlhttps://media.example.com/b.pngTo+15005550006";
  EXPECT_EQ(ComputeTwilioSignature(kToken, kInboundUrl, params),
            "qiG8yAKjpAywT+RHKFHqoqyQXHY=");
  EXPECT_EQ(ComputeTwilioSignature(kToken, string_to_sign, {}),
            "qiG8yAKjpAywT+RHKFHqoqyQXHY=");
  EXPECT_TRUE(ValidateTwilioSignature(kToken, kInboundUrl, params,
                                      "qiG8yAKjpAywT+RHKFHqoqyQXHY="));
}

TEST(ComputeTwilioSignatureTest, SortsNamesByByteSoUpperCaseComesFirst) {
  // "To" < "body" in byte order; a case-insensitive sort would put body first.
  EXPECT_EQ(ComputeTwilioSignature(kToken, "u", {{"body", "b"}, {"To", "t"}}),
            ComputeTwilioSignature(kToken, "uTotbodyb", {}));
}

TEST(ComputeTwilioSignatureTest, KeepsTheNameOfAnEmptyValue) {
  EXPECT_EQ(ComputeTwilioSignature(kToken, kInboundUrl, {{"Body", ""}}),
            ComputeTwilioSignature(kToken, std::string(kInboundUrl) + "Body",
                                   {}));
  EXPECT_NE(ComputeTwilioSignature(kToken, kInboundUrl, {{"Body", ""}}),
            ComputeTwilioSignature(kToken, kInboundUrl, {}));
}

TEST(ComputeTwilioSignatureTest, SignsTheQueryAndPortsGivenInV3) {
  EXPECT_EQ(ComputeTwilioSignature(kToken, kV3Url, V3Params()), kV3Signature);
  EXPECT_EQ(ComputeTwilioSignature(kToken, kV3Url443, V3Params()),
            kV3Signature443);
  EXPECT_EQ(ComputeTwilioSignature(kToken, kV3Url8443, V3Params()),
            kV3Signature8443);
}

TEST(ComputeTwilioSignatureTest, SignsAGetRequestOverTheUrlAloneV5) {
  EXPECT_EQ(ComputeTwilioSignature(kToken, kV5Url, {}), kV5Signature);
}

TEST(ValidateTwilioSignatureTest, AcceptsV1AlsoWithTheDefaultHttpsPort) {
  EXPECT_TRUE(
      ValidateTwilioSignature(kToken, kInboundUrl, V1Params(), kV1Signature));
  EXPECT_TRUE(ValidateTwilioSignature(
      kToken, "https://sms.example.com:443/twilio/inbound", V1Params(),
      kV1Signature));
}

TEST(ValidateTwilioSignatureTest, RejectsV1OverPlainHttp) {
  EXPECT_FALSE(ValidateTwilioSignature(kToken,
                                       "http://sms.example.com/twilio/inbound",
                                       V1Params(), kV1Signature));
  EXPECT_FALSE(ValidateTwilioSignature(
      kToken, "http://sms.example.com:80/twilio/inbound", V1Params(),
      kV1Signature));
}

TEST(ValidateTwilioSignatureTest, AcceptsV3WithItsQueryByteForByte) {
  EXPECT_TRUE(
      ValidateTwilioSignature(kToken, kV3Url, V3Params(), kV3Signature));
}

TEST(ValidateTwilioSignatureTest, RejectsV3WithAReorderedQuery) {
  EXPECT_FALSE(ValidateTwilioSignature(
      kToken, "https://hooks.example.com/twilio/status?msg=42&tenant=acme",
      V3Params(), kV3Signature));
  // Re-encoding the query is a different URL too.
  EXPECT_FALSE(ValidateTwilioSignature(
      kToken, "https://hooks.example.com/twilio/status?tenant=acm%65&msg=42",
      V3Params(), kV3Signature));
}

// The port matrix of twilio-reference.md §5 item 5, as verified against
// twilio-node 6.2: rows are where Twilio signed, columns where we received.
TEST(ValidateTwilioSignatureTest, FollowsTheVerifiedPortMatrixOfV3) {
  struct Case {
    const char* signature;
    const char* received_url;
    bool valid;
  };
  const Case cases[] = {
      // Signed without a port.
      {kV3Signature, kV3Url, true},
      {kV3Signature, kV3Url443, true},   // port removed
      {kV3Signature, kV3Url8443, true},  // any port removed
      // Signed with :443.
      {kV3Signature443, kV3Url, true},  // default port added
      {kV3Signature443, kV3Url443, true},
      {kV3Signature443, kV3Url8443, false},
      // Signed with :8443: only the same port validates.
      {kV3Signature8443, kV3Url, false},
      {kV3Signature8443, kV3Url443, false},
      {kV3Signature8443, kV3Url8443, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.signature) + " at " + c.received_url);
    EXPECT_EQ(ValidateTwilioSignature(kToken, c.received_url, V3Params(),
                                      c.signature),
              c.valid);
  }
}

TEST(ValidateTwilioSignatureTest, AddsPortEightyForHttp) {
  const std::string signature =
      ComputeTwilioSignature(kToken, "http://h.example:80/p?x=1", {});
  EXPECT_TRUE(
      ValidateTwilioSignature(kToken, "http://h.example/p?x=1", {}, signature));
  EXPECT_FALSE(ValidateTwilioSignature(kToken, "https://h.example/p?x=1", {},
                                       signature));
}

TEST(ValidateTwilioSignatureTest, FindsThePortAfterUserInfoAndIpv6Literals) {
  const std::string with_user =
      ComputeTwilioSignature(kToken, "https://u:pw@h.example:443/p", {});
  EXPECT_TRUE(ValidateTwilioSignature(kToken, "https://u:pw@h.example/p", {},
                                      with_user));
  const std::string ipv6 = ComputeTwilioSignature(kToken, "https://[::1]/p", {});
  EXPECT_TRUE(
      ValidateTwilioSignature(kToken, "https://[::1]:443/p", {}, ipv6));
  EXPECT_FALSE(
      ValidateTwilioSignature(kToken, "https://[::2]:443/p", {}, ipv6));
}

TEST(ValidateTwilioSignatureTest, HandlesAUrlWithNoPathOrQuery) {
  const std::string signature =
      ComputeTwilioSignature(kToken, "https://h.example:443", {});
  EXPECT_TRUE(ValidateTwilioSignature(kToken, "https://h.example", {},
                                      signature));
}

TEST(ValidateTwilioSignatureTest, IgnoresTheFragmentOfConnectionOverrides) {
  const std::string url_with_overrides =
      std::string(kV3Url) + "#ct=1000&rt=3000&rc=3&rp=all";
  EXPECT_TRUE(ValidateTwilioSignature(kToken, url_with_overrides, V3Params(),
                                      kV3Signature));
  EXPECT_TRUE(ValidateTwilioSignature(
      kToken, std::string(kV3Url443) + "#rc=3", V3Params(), kV3Signature));
}

TEST(ValidateTwilioSignatureTest, AcceptsV5GetWithNoParams) {
  EXPECT_TRUE(ValidateTwilioSignature(kToken, kV5Url, {}, kV5Signature));
  // The query is not decoded into params for a GET.
  EXPECT_FALSE(ValidateTwilioSignature(
      kToken, kV5Url, {{"From", "+14155550100"}, {"Body", "Hi there"}},
      kV5Signature));
}

TEST(ValidateTwilioSignatureTest, RejectsATamperedParam) {
  FormParams tampered = V1Params();
  tampered[2].second = "Hello, World! \xc3\xb1 \xf0\x9f\x91\x8e";  // 👎
  EXPECT_FALSE(
      ValidateTwilioSignature(kToken, kInboundUrl, tampered, kV1Signature));

  FormParams added = V1Params();
  added.emplace_back("Extra", "");
  EXPECT_FALSE(
      ValidateTwilioSignature(kToken, kInboundUrl, added, kV1Signature));

  FormParams removed = V1Params();
  removed.pop_back();
  EXPECT_FALSE(
      ValidateTwilioSignature(kToken, kInboundUrl, removed, kV1Signature));

  FormParams renamed = V1Params();
  renamed[0].first = "to";
  EXPECT_FALSE(
      ValidateTwilioSignature(kToken, kInboundUrl, renamed, kV1Signature));
}

TEST(ValidateTwilioSignatureTest, AcceptsASignatureWhenParamsArriveReordered) {
  FormParams reordered = V1Params();
  std::swap(reordered.front(), reordered.back());
  EXPECT_TRUE(
      ValidateTwilioSignature(kToken, kInboundUrl, reordered, kV1Signature));
}

TEST(ValidateTwilioSignatureTest, RejectsTheWrongToken) {
  EXPECT_FALSE(ValidateTwilioSignature("9f8e7d6c5b4a39281706f5e4d3c2b1a1",
                                       kInboundUrl, V1Params(), kV1Signature));
  EXPECT_FALSE(
      ValidateTwilioSignature("", kInboundUrl, V1Params(), kV1Signature));
}

TEST(ValidateTwilioSignatureTest, RejectsEmptyGarbageAndWrongLengthSignatures) {
  const char* const bad[] = {
      "",
      "not a signature",
      "############################",   // 28 chars, not base64
      "lzM+cHVKhK53kj5rsB9NZ1Mvwpg",    // valid one minus its '='
      "lzM+cHVKhK53kj5rsB9NZ1Mvwpg==",  // one '=' too many
      "LZM+CHVKHK53KJ5RSB9NZ1MVWPG=",   // case matters
      " lzM+cHVKhK53kj5rsB9NZ1Mvwpg=",
  };
  for (const char* signature : bad) {
    SCOPED_TRACE(signature);
    EXPECT_FALSE(
        ValidateTwilioSignature(kToken, kInboundUrl, V1Params(), signature));
  }
}

TEST(ValidateTwilioSignatureTest, AcceptsAnEmptyTokenOnlyWithItsOwnSignature) {
  const std::string signature = ComputeTwilioSignature("", kInboundUrl, {});
  ASSERT_EQ(signature.size(), 28u);
  EXPECT_TRUE(ValidateTwilioSignature("", kInboundUrl, {}, signature));
  EXPECT_FALSE(ValidateTwilioSignature(kToken, kInboundUrl, {}, signature));
}

TEST(ValidateTwilioSignatureWithBodyTest, AcceptsV4) {
  EXPECT_EQ(ComputeTwilioSignature(kToken, kV4Url, {}), kV4Signature);
  EXPECT_TRUE(
      ValidateTwilioSignatureWithBody(kToken, kV4Url, kV4Body, kV4Signature));
  // Same port rules as form requests.
  EXPECT_TRUE(ValidateTwilioSignatureWithBody(
      kToken,
      "https://hooks.example.com:443/twilio/json?bodySHA256="
      "dc2258e4a020db93938f1f9f391df93c029c22db97cc2bcab82f592f548a4f31",
      kV4Body, kV4Signature));
}

TEST(ValidateTwilioSignatureWithBodyTest, RejectsV4WithOneExtraSpace) {
  const std::string body_with_space = std::string(kV4Body) + " ";
  EXPECT_FALSE(ValidateTwilioSignatureWithBody(kToken, kV4Url, body_with_space,
                                               kV4Signature));
}

TEST(ValidateTwilioSignatureWithBodyTest, RejectsAWrongSignatureOverAGoodBody) {
  EXPECT_FALSE(ValidateTwilioSignatureWithBody(kToken, kV4Url, kV4Body,
                                               kV1Signature));
  EXPECT_FALSE(ValidateTwilioSignatureWithBody("other-token", kV4Url, kV4Body,
                                               kV4Signature));
}

TEST(ValidateTwilioSignatureWithBodyTest, RejectsAUrlWithoutBodyHash) {
  const char url[] = "https://hooks.example.com/twilio/json?x=1";
  const std::string signature = ComputeTwilioSignature(kToken, url, {});
  EXPECT_TRUE(ValidateTwilioSignature(kToken, url, {}, signature));
  EXPECT_FALSE(
      ValidateTwilioSignatureWithBody(kToken, url, kV4Body, signature));
  const char no_query[] = "https://hooks.example.com/twilio/json";
  EXPECT_FALSE(ValidateTwilioSignatureWithBody(
      kToken, no_query, kV4Body, ComputeTwilioSignature(kToken, no_query, {})));
}

TEST(ValidateTwilioSignatureWithBodyTest, RequiresLowerCaseHexBodyHash) {
  // A correctly signed URL whose hash is the right digest in upper case.
  const char url[] =
      "https://hooks.example.com/twilio/json?bodySHA256="
      "DC2258E4A020DB93938F1F9F391DF93C029C22DB97CC2BCAB82F592F548A4F31";
  EXPECT_FALSE(ValidateTwilioSignatureWithBody(
      kToken, url, kV4Body, ComputeTwilioSignature(kToken, url, {})));
}

TEST(ValidateTwilioSignatureWithBodyTest, RejectsAMalformedQuery) {
  const std::string url = std::string(kV4Url) + "&bad=%G1";
  EXPECT_FALSE(ValidateTwilioSignatureWithBody(
      kToken, url, kV4Body, ComputeTwilioSignature(kToken, url, {})));
}

TEST(ValidateTwilioSignatureWithBodyTest, IgnoresTheFragment) {
  EXPECT_TRUE(ValidateTwilioSignatureWithBody(
      kToken, std::string(kV4Url) + "#rc=2", kV4Body, kV4Signature));
}

}  // namespace
}  // namespace smsgw::twilio
