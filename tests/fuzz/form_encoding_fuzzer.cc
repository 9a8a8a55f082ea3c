// Fuzzes ParseForm, the decoder of every webhook body and query string
// Twilio (or anyone) posts to us, and checks its documented round trip:
// ParseForm(EncodeForm(p)) == p for whatever ParseForm accepted.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "server/twilio/form_encoding.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using smsgw::twilio::FormParams;
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<FormParams> params =
      smsgw::twilio::ParseForm(body, smsgw::twilio::FormLimits{});
  if (!params.ok()) return 0;
  const std::string encoded = smsgw::twilio::EncodeForm(*params);
  // Re-encoding may grow the body past max_total_bytes (every byte can
  // become "%XX"), so the round trip is checked with that bound lifted.
  smsgw::twilio::FormLimits roomy;
  roomy.max_total_bytes = encoded.size();
  absl::StatusOr<FormParams> again = smsgw::twilio::ParseForm(encoded, roomy);
  SMSGW_FUZZ_CHECK(again.ok(), "EncodeForm output must parse");
  SMSGW_FUZZ_CHECK(*again == *params, "round trip must keep every pair");
  for (const auto& [name, value] : *params) {
    std::optional<std::string> first = smsgw::twilio::FormValue(*params, name);
    SMSGW_FUZZ_CHECK(first.has_value(), "FormValue finds a parsed name");
    SMSGW_FUZZ_CHECK(!smsgw::twilio::FormValues(*params, name).empty(),
                     "FormValues finds a parsed name");
  }
  return 0;
}
