#include "server/events/webhook_url.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace smsgw::events {
namespace {

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

std::string Part(CURLU* u, CURLUPart part) {
  char* value = nullptr;
  if (curl_url_get(u, part, &value, 0) != CURLUE_OK || value == nullptr) {
    return "";
  }
  std::string out(value);
  curl_free(value);
  return out;
}

bool PublicV4(uint32_t a) {  // host byte order
  auto in = [a](uint32_t net, int bits) {
    const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
    return (a & mask) == net;
  };
  return !(in(0x00000000, 8) ||     // 0.0.0.0/8 "this network"
           in(0x0A000000, 8) ||     // 10/8
           in(0x64400000, 10) ||    // 100.64/10 CGNAT
           in(0x7F000000, 8) ||     // loopback
           in(0xA9FE0000, 16) ||    // link-local
           in(0xAC100000, 12) ||    // 172.16/12
           in(0xC0000000, 24) ||    // 192.0.0/24 IETF protocol assignments
           in(0xC0000200, 24) ||    // 192.0.2/24 TEST-NET-1
           in(0xC0A80000, 16) ||    // 192.168/16
           in(0xC6120000, 15) ||    // 198.18/15 benchmarking
           in(0xC6336400, 24) ||    // 198.51.100/24 TEST-NET-2
           in(0xCB007100, 24) ||    // 203.0.113/24 TEST-NET-3
           in(0xE0000000, 4) ||     // multicast
           in(0xF0000000, 4));      // reserved, broadcast
}

bool PublicV6(const unsigned char b[16]) {
  static const unsigned char kZero[16] = {};
  if (std::memcmp(b, kZero, 16) == 0) return false;  // ::
  // ::/96 (IPv4-compatible, deprecated) and ::1.
  if (std::memcmp(b, kZero, 12) == 0) return false;
  const uint32_t v4 = (uint32_t{b[12]} << 24) | (uint32_t{b[13]} << 16) |
                      (uint32_t{b[14]} << 8) | uint32_t{b[15]};
  // ::ffff:0:0/96 IPv4-mapped: the IPv4 address decides.
  static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(b, kMapped, 12) == 0) return PublicV4(v4);
  // 64:ff9b::/96 NAT64: likewise.
  static const unsigned char kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(b, kNat64, 12) == 0) return PublicV4(v4);
  if (b[0] == 0xff) return false;                       // multicast
  if ((b[0] & 0xfe) == 0xfc) return false;              // fc00::/7 unique-local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return false;  // fe80::/10
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return false;  // fec0::/10 site-local
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) {
    return false;  // 2001:db8::/32 documentation
  }
  static const unsigned char kDiscard[8] = {0x01, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(b, kDiscard, 8) == 0) return false;  // 100::/64 discard
  return true;
}

}  // namespace

absl::StatusOr<WebhookTarget> ParseWebhookUrl(absl::string_view url,
                                              bool allow_private) {
  if (url.empty()) return absl::InvalidArgumentError("url is required");
  if (url.size() > kMaxWebhookUrlBytes) {
    return absl::InvalidArgumentError("url is longer than 2048 bytes");
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          "url must not contain spaces or control characters");
    }
  }
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (u == nullptr) return absl::InternalError("curl_url failed");
  const std::string text(url);
  // No CURLU_GUESS_SCHEME / DEFAULT_SCHEME: the URL must be absolute.
  const CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, text.c_str(), 0);
  if (rc != CURLUE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("url is malformed: ", curl_url_strerror(rc)));
  }
  // libcurl reads "https:///x" as the host "x"; an authority must follow.
  const size_t authority = text.find("://");
  if (authority == std::string::npos || authority + 3 >= text.size() ||
      text[authority + 3] == '/') {
    return absl::InvalidArgumentError("url has no host");
  }
  WebhookTarget target;
  target.scheme = absl::AsciiStrToLower(Part(u.get(), CURLUPART_SCHEME));
  const bool scheme_ok =
      target.scheme == "https" || (allow_private && target.scheme == "http");
  if (!scheme_ok) {
    return absl::InvalidArgumentError(
        allow_private ? "url must be http or https" : "url must be https");
  }
  if (!Part(u.get(), CURLUPART_USER).empty() ||
      !Part(u.get(), CURLUPART_PASSWORD).empty() ||
      !Part(u.get(), CURLUPART_OPTIONS).empty()) {
    return absl::InvalidArgumentError("url must not contain user info");
  }
  std::string host = Part(u.get(), CURLUPART_HOST);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) return absl::InvalidArgumentError("url has no host");
  if (host.find('%') != std::string::npos ||
      !Part(u.get(), CURLUPART_ZONEID).empty()) {
    return absl::InvalidArgumentError("url must not name an IPv6 zone");
  }
  target.host = absl::AsciiStrToLower(host);
  const std::string port = Part(u.get(), CURLUPART_PORT);
  if (port.empty()) {
    target.port = target.scheme == "https" ? 443 : 80;
  } else if (!absl::SimpleAtoi(port, &target.port) || target.port < 1 ||
             target.port > 65535) {
    return absl::InvalidArgumentError("url has an invalid port");
  }
  target.url = Part(u.get(), CURLUPART_URL);
  return target;
}

bool IsPublicAddress(absl::string_view ip) {
  const std::string text(ip);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return PublicV4(ntohl(v4.s_addr));
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) return PublicV6(v6.s6_addr);
  return false;
}

absl::StatusOr<std::vector<std::string>> ResolvePublic(absl::string_view host,
                                                       bool allow_private) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string name(host);
  const int rc = getaddrinfo(name.c_str(), nullptr, &hints, &found);
  if (rc != 0 || found == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve ", name, ": ", gai_strerror(rc)));
  }
  std::vector<std::string> addresses;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (a->ai_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr,
                buf, sizeof buf);
    } else if (a->ai_family == AF_INET6) {
      inet_ntop(AF_INET6,
                &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr, buf,
                sizeof buf);
    } else {
      continue;
    }
    const std::string address(buf);
    bool seen = false;
    for (const std::string& a2 : addresses) seen = seen || a2 == address;
    if (!seen) addresses.push_back(address);
  }
  freeaddrinfo(found);
  if (addresses.empty()) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", name));
  }
  if (!allow_private) {
    for (const std::string& address : addresses) {
      if (!IsPublicAddress(address)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "url host ", name, " resolves to ", address,
            ", a private, loopback, link-local or otherwise non-public "
            "address (set SMSGW_WEBHOOK_ALLOW_PRIVATE to allow)"));
      }
    }
  }
  return addresses;
}

absl::StatusOr<WebhookTarget> CheckWebhookUrl(absl::string_view url,
                                              bool allow_private) {
  absl::StatusOr<WebhookTarget> target = ParseWebhookUrl(url, allow_private);
  if (!target.ok()) return target.status();
  if (allow_private) return target;  // no resolution needed
  absl::StatusOr<std::vector<std::string>> addresses =
      ResolvePublic(target->host, allow_private);
  if (!addresses.ok()) {
    return absl::InvalidArgumentError(addresses.status().message());
  }
  return target;
}

}  // namespace smsgw::events
