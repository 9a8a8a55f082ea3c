// The SSRF rules of outbound webhooks (server/events/webhook_url.h):
// malformed URLs, schemes, user info, and non-public addresses.
#include "server/events/webhook_url.h"

#include <string>

#include "gtest/gtest.h"

namespace smsgw::events {
namespace {

TEST(WebhookUrlTest, MalformedUrlsAreInvalidArgument) {
  const std::string long_url = "https://example.com/" + std::string(2100, 'a');
  const char* cases[] = {
      "",
      "example.com/hook",              // not absolute
      "//example.com/hook",            // no scheme
      "https://",                      // no host
      "https:///path",                 // empty host
      "https://exa mple.com/",         // space
      "https://example.com/\n",        // control character
      "https://example.com:99999/",    // port out of range
      "https://example.com:abc/",      // port not a number
      "https://[::1/",                 // unterminated IPv6 literal
      "https://[fe80::1%25eth0]/",     // zone id
      "ht!tp://example.com/",          // bad scheme characters
      "\x80https://example.com/",      // not ASCII
      long_url.c_str(),                // over 2048 bytes
  };
  for (const char* url : cases) {
    EXPECT_EQ(ParseWebhookUrl(url, /*allow_private=*/false).status().code(),
              absl::StatusCode::kInvalidArgument)
        << url;
  }
}

TEST(WebhookUrlTest, OnlyHttpsUnlessPrivateIsAllowed) {
  EXPECT_TRUE(ParseWebhookUrl("https://example.com/hook", false).ok());
  EXPECT_EQ(ParseWebhookUrl("http://example.com/hook", false).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ParseWebhookUrl("http://example.com/hook", true).ok());
  for (const char* url : {"ftp://example.com/", "file:///etc/passwd",
                          "gopher://example.com/", "javascript:alert(1)"}) {
    EXPECT_FALSE(ParseWebhookUrl(url, true).ok()) << url;
  }
}

TEST(WebhookUrlTest, UserInfoIsRefused) {
  for (const char* url : {"https://user@example.com/", "https://user:pw@example.com/",
                          "https://:pw@example.com/"}) {
    EXPECT_EQ(ParseWebhookUrl(url, true).status().code(),
              absl::StatusCode::kInvalidArgument)
        << url;
  }
}

TEST(WebhookUrlTest, PartsAreParsedWithDefaultPorts) {
  absl::StatusOr<WebhookTarget> t =
      ParseWebhookUrl("HTTPS://Example.COM/hook?a=1", false);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->scheme, "https");
  EXPECT_EQ(t->host, "example.com");
  EXPECT_EQ(t->port, 443);
  t = ParseWebhookUrl("http://[2001:db8::1]:8080/x", true);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->host, "2001:db8::1");
  EXPECT_EQ(t->port, 8080);
}

TEST(WebhookAddressTest, NonPublicAddressesAreRecognised) {
  const char* not_public[] = {
      "0.0.0.0", "10.1.2.3", "100.64.0.1", "100.127.255.255", "127.0.0.1",
      "127.255.0.1", "169.254.169.254", "172.16.0.1", "172.31.255.255",
      "192.0.0.1", "192.0.2.1", "192.168.1.1", "198.18.0.1", "198.51.100.7",
      "203.0.113.9", "224.0.0.1", "239.255.255.250", "240.0.0.1",
      "255.255.255.255",
      "::", "::1", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "fec0::1",
      "2001:db8::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
      "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "::127.0.0.1",
      "100::1",
      "not an address", "", "example.com", "1.2.3", "1.2.3.4.5",
  };
  for (const char* ip : not_public) EXPECT_FALSE(IsPublicAddress(ip)) << ip;
  const char* is_public[] = {"1.1.1.1", "8.8.8.8", "100.63.255.255",
                             "100.128.0.1", "172.15.255.255", "172.32.0.1",
                             "2606:4700::1111", "::ffff:8.8.8.8",
                             "64:ff9b::808:808"};
  for (const char* ip : is_public) EXPECT_TRUE(IsPublicAddress(ip)) << ip;
}

TEST(WebhookAddressTest, CreateTimeCheckRefusesPrivateLiteralsAndLocalhost) {
  for (const char* url :
       {"https://127.0.0.1/hook", "https://10.0.0.5/", "https://[::1]/",
        "https://[::ffff:127.0.0.1]/", "https://169.254.169.254/latest/meta-data",
        "https://localhost/", "https://0.0.0.0/", "https://[fd00::1]:8443/"}) {
    absl::StatusOr<WebhookTarget> t = CheckWebhookUrl(url, false);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << url;
  }
  // Positive control: the same URLs pass with SMSGW_WEBHOOK_ALLOW_PRIVATE.
  EXPECT_TRUE(CheckWebhookUrl("https://127.0.0.1/hook", true).ok());
  EXPECT_TRUE(CheckWebhookUrl("http://localhost:9/", true).ok());
  // A public literal needs no DNS.
  EXPECT_TRUE(CheckWebhookUrl("https://1.1.1.1/hook", false).ok());
}

TEST(WebhookAddressTest, ResolutionReturnsTheLiteralAndRefusesPrivate) {
  absl::StatusOr<std::vector<std::string>> a = ResolvePublic("8.8.8.8", false);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, std::vector<std::string>{"8.8.8.8"});
  EXPECT_EQ(ResolvePublic("127.0.0.1", false).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ResolvePublic("127.0.0.1", true).ok());
  EXPECT_EQ(ResolvePublic("no-such-host.invalid", true).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace smsgw::events
