// Fuzzes phone number normalisation (every `to`, `from`, peer filter and
// webhook From/To goes through it). Input: region selector byte, then the
// number. Properties: what ToE164 returns is E.164 and normalises to
// itself; masking keeps the '+' and the last 4 digits of E.164.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "server/domain/phone_number.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using smsgw::domain::PhoneNumberParser;
  static const PhoneNumberParser* const parsers[] = {
      new PhoneNumberParser("US"), new PhoneNumberParser("GB"),
      new PhoneNumberParser("DE"), new PhoneNumberParser("ZZ")};
  smsgw::fuzz::InputReader in(data, size);
  const PhoneNumberParser& parser = *parsers[in.Byte() % 4];
  const absl::string_view input = in.Rest();

  (void)smsgw::domain::IsE164(input);
  (void)smsgw::domain::MaskPhoneNumber(input);
  absl::StatusOr<std::string> e164 = parser.ToE164(input);
  if (!e164.ok()) return 0;
  SMSGW_FUZZ_CHECK(smsgw::domain::IsE164(*e164), "ToE164 returns E.164");
  absl::StatusOr<std::string> again = parser.ToE164(*e164);
  SMSGW_FUZZ_CHECK(again.ok() && *again == *e164, "E.164 normalises to itself");
  const std::string masked = smsgw::domain::MaskPhoneNumber(*e164);
  SMSGW_FUZZ_CHECK(masked.front() == '+' && masked.size() > 4 &&
                       masked.substr(masked.size() - 4) ==
                           e164->substr(e164->size() - 4),
                   "masking keeps the '+' and the last 4 digits");
  return 0;
}
