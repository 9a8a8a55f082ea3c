// File: hmac.h
//
// HMAC as the token tests compute it to mint JWTs of their own (OpenSSL's
// one-shot HMAC). Header-only: the binaries that use it link OpenSSL's
// libcrypto already, smsgw_testing does not need to.
#ifndef SMSGW_TESTS_TESTING_HMAC_H_
#define SMSGW_TESTS_TESTING_HMAC_H_

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>

#include "absl/strings/string_view.h"

namespace smsgw::testing {

// The raw HMAC(`md`, `key`) of `data` (32 bytes for SHA-256).
inline std::string Hmac(const EVP_MD* md, absl::string_view key,
                        absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
       &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

}  // namespace smsgw::testing

#endif  // SMSGW_TESTS_TESTING_HMAC_H_
