// File: webhook_url.h
//
// Where outbound webhooks may go (SSRF rules, issue 16 §2): the URL parsed
// by libcurl's URL API, https only, no user info, at most 2048 bytes, and
// every address the host resolves to public: not private (RFC 1918),
// loopback, link-local, unique-local (fc00::/7), CGNAT (100.64.0.0/10),
// multicast, unspecified, reserved or documentation ranges, IPv4 or IPv6,
// IPv4-mapped and NAT64 forms checked as the IPv4 address they carry.
// `allow_private` (SMSGW_WEBHOOK_ALLOW_PRIVATE) lifts the address rule and
// also allows http, for tests and private deployments.
#ifndef SMSGW_SERVER_EVENTS_WEBHOOK_URL_H_
#define SMSGW_SERVER_EVENTS_WEBHOOK_URL_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace smsgw::events {

inline constexpr size_t kMaxWebhookUrlBytes = 2048;

// A URL that passed ParseWebhookUrl().
struct WebhookTarget {
  std::string url;     // as libcurl normalised it
  std::string scheme;  // "https" (or "http" with allow_private)
  std::string host;    // without brackets for IPv6 literals
  int port = 0;        // explicit or the scheme's default
};

// Parses `url` and checks everything but the addresses. InvalidArgument,
// with a message naming the rule, when it is empty, too long, not absolute,
// malformed, has user info, a scheme other than https (http too with
// `allow_private`), or no host.
absl::StatusOr<WebhookTarget> ParseWebhookUrl(absl::string_view url,
                                              bool allow_private);

// Whether the numeric IPv4 or IPv6 address `ip` is a public unicast
// address. False for anything that does not parse as an address.
bool IsPublicAddress(absl::string_view ip);

// The numeric addresses `host` resolves to (getaddrinfo; an IP literal is
// itself). Unavailable when resolution fails; InvalidArgument naming the
// address when one is not public and `allow_private` is false: a host with
// any private address is refused, so DNS cannot pick one later.
absl::StatusOr<std::vector<std::string>> ResolvePublic(absl::string_view host,
                                                       bool allow_private);

// ParseWebhookUrl() and then ResolvePublic() (the check at create time;
// the delivery worker repeats the resolution before each attempt and pins
// the connection to what it checked). Resolution failures are
// InvalidArgument here: the caller gave a host that does not resolve.
absl::StatusOr<WebhookTarget> CheckWebhookUrl(absl::string_view url,
                                              bool allow_private);

}  // namespace smsgw::events

#endif  // SMSGW_SERVER_EVENTS_WEBHOOK_URL_H_
