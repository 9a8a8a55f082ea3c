// Fuzzes the X-Twilio-Signature checks with attacker-chosen URL, body and
// header. Input: flags byte, then auth token, URL, signature and body
// separated by '\n'. Properties: a signature we compute for a URL without a
// fragment validates (the URL as given is always one accepted spelling);
// anything else must merely not crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "server/twilio/form_encoding.h"
#include "server/twilio/twilio_signature.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace smsgw::twilio;  // NOLINT: a fuzz target, not library code
  smsgw::fuzz::InputReader in(data, size);
  const uint8_t flags = in.Byte();
  const absl::string_view auth_token = in.Until('\n');
  const absl::string_view url = in.Until('\n');
  const absl::string_view signature = in.Until('\n');
  const absl::string_view body = in.Rest();

  FormParams params;
  if (absl::StatusOr<FormParams> parsed = ParseForm(body, FormLimits{});
      parsed.ok()) {
    params = *std::move(parsed);
  }
  (void)ValidateTwilioSignature(auth_token, url, params, signature);
  (void)ValidateTwilioSignatureWithBody(auth_token, url, body, signature);

  if (flags & 1) {
    const std::string good = ComputeTwilioSignature(auth_token, url, params);
    SMSGW_FUZZ_CHECK(good.size() == 28, "a signature is 28 base64 characters");
    if (url.find('#') == absl::string_view::npos) {
      SMSGW_FUZZ_CHECK(ValidateTwilioSignature(auth_token, url, params, good),
                       "our own signature must validate");
    }
  }
  return 0;
}
