#include "server/twilio/twilio_signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/sha256.h"
#include "server/twilio/form_encoding.h"

namespace smsgw::twilio {
namespace {

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size() || a.empty()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

absl::string_view StripFragment(absl::string_view url) {
  const size_t hash = url.find('#');
  return hash == absl::string_view::npos ? url : url.substr(0, hash);
}

// The port-spelling variants of a fragment-free `url` that the official
// libraries accept (see the header): as given, port removed, default port
// added. Duplicates are left out. A URL without "://" is only tried as given.
std::vector<std::string> PortVariants(absl::string_view url) {
  std::vector<std::string> variants = {std::string(url)};
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) return variants;
  const size_t authority_begin = scheme_end + 3;
  size_t authority_end = url.find_first_of("/?", authority_begin);
  if (authority_end == absl::string_view::npos) authority_end = url.size();
  const absl::string_view authority =
      url.substr(authority_begin, authority_end - authority_begin);

  // user:pass@ may precede the host, and an IPv6 literal has colons inside
  // its brackets, so the port is the ':' after the host proper.
  const size_t at = authority.rfind('@');
  const size_t host_begin = at == absl::string_view::npos ? 0 : at + 1;
  const absl::string_view host_port = authority.substr(host_begin);
  size_t colon = absl::string_view::npos;
  if (absl::StartsWith(host_port, "[")) {
    const size_t bracket = host_port.find(']');
    if (bracket != absl::string_view::npos && bracket + 1 < host_port.size() &&
        host_port[bracket + 1] == ':') {
      colon = bracket + 1;
    }
  } else {
    colon = host_port.find(':');
  }

  const absl::string_view before = url.substr(0, authority_begin + host_begin);
  const absl::string_view after = url.substr(authority_end);
  std::string other;
  if (colon != absl::string_view::npos) {
    other = absl::StrCat(before, host_port.substr(0, colon), after);
  } else {
    const bool https = absl::EqualsIgnoreCase(url.substr(0, scheme_end), "https");
    other = absl::StrCat(before, host_port, https ? ":443" : ":80", after);
  }
  if (other != variants[0]) variants.push_back(std::move(other));
  return variants;
}

}  // namespace

std::string ComputeTwilioSignature(absl::string_view auth_token,
                                   absl::string_view url,
                                   const FormParams& params) {
  // std::string orders by unsigned byte (char_traits<char>::compare), which
  // is the byte order the algorithm needs; the set drops duplicate values.
  std::map<std::string, std::set<std::string>> sorted;
  for (const auto& [name, value] : params) sorted[name].insert(value);
  std::string to_sign(url);
  for (const auto& [name, values] : sorted) {
    for (const std::string& value : values) {
      absl::StrAppend(&to_sign, name, value);
    }
  }

  // OpenSSL may treat a null key as "no key"; an empty token still has to
  // produce the HMAC with an empty key.
  static constexpr char kEmpty[] = "";
  const char* key = auth_token.empty() ? kEmpty : auth_token.data();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha1(), key, static_cast<int>(auth_token.size()),
           reinterpret_cast<const unsigned char*>(to_sign.data()),
           to_sign.size(), mac, &mac_len) == nullptr) {
    return "";
  }
  return absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(mac), mac_len));
}

bool ValidateTwilioSignature(absl::string_view auth_token,
                             absl::string_view url, const FormParams& params,
                             absl::string_view signature) {
  if (signature.empty()) return false;
  bool valid = false;
  for (const std::string& candidate : PortVariants(StripFragment(url))) {
    // No early exit: every variant costs the same whatever matches.
    valid |= ConstantTimeEquals(
        ComputeTwilioSignature(auth_token, candidate, params), signature);
  }
  return valid;
}

bool ValidateTwilioSignatureWithBody(absl::string_view auth_token,
                                     absl::string_view url,
                                     absl::string_view raw_body,
                                     absl::string_view signature) {
  const absl::string_view no_fragment = StripFragment(url);
  const size_t question = no_fragment.find('?');
  if (question == absl::string_view::npos) return false;
  const absl::string_view query = no_fragment.substr(question + 1);
  FormLimits limits;
  limits.max_total_bytes = query.size();
  limits.max_params = query.size() + 1;
  limits.max_name_bytes = query.size();
  absl::StatusOr<FormParams> query_params = ParseForm(query, limits);
  if (!query_params.ok()) return false;
  const std::optional<std::string> body_sha256 =
      FormValue(*query_params, "bodySHA256");
  if (!body_sha256.has_value()) return false;

  const bool signature_ok =
      ValidateTwilioSignature(auth_token, url, FormParams(), signature);
  const bool body_ok = ConstantTimeEquals(Sha256Hex(raw_body), *body_sha256);
  return signature_ok && body_ok;
}

}  // namespace smsgw::twilio
