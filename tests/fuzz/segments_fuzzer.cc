// Fuzzes segment counting over message bodies from clients and webhooks.
// Properties (segments.h): an empty body is 0 segments; otherwise at least
// one; GSM-7 reports no non-GSM characters and UCS-2 at least one; the
// UTF-16 length never exceeds the payload units.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "server/domain/segments.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using smsgw::domain::SmsEncoding;
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<smsgw::domain::SegmentInfo> info =
      smsgw::domain::CountSegments(body);
  if (!info.ok()) return 0;
  SMSGW_FUZZ_CHECK((info->segments == 0) == body.empty(),
                   "0 segments exactly for an empty body");
  SMSGW_FUZZ_CHECK(info->length <= info->total_units,
                   "every UTF-16 unit costs at least one payload unit");
  if (info->encoding == SmsEncoding::kGsm7) {
    SMSGW_FUZZ_CHECK(info->non_gsm_characters.empty(), "GSM-7 lists none");
    SMSGW_FUZZ_CHECK(info->segments <= 1 ? info->total_units <= 160 : true,
                     "one GSM-7 segment holds 160 septets");
  } else {
    SMSGW_FUZZ_CHECK(!info->non_gsm_characters.empty(), "UCS-2 names why");
    SMSGW_FUZZ_CHECK(info->segments <= 1 ? info->total_units <= 70 : true,
                     "one UCS-2 segment holds 70 units");
  }
  return 0;
}
