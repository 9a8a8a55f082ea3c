// Fuzzes access-token verification: every RPC's `authorization` metadata
// reaches TokenService::Verify. Input: a flags byte, then the token. With
// flag bit 0, the rest is used as a subject instead and the property is
// that Verify(Issue(subject)) gives the subject back.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/domain/token_service.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

smsgw::fuzz::FuzzClock* clock_ = new smsgw::fuzz::FuzzClock();

const smsgw::domain::TokenService& Tokens() {
  static const smsgw::domain::TokenService* const tokens = [] {
    smsgw::domain::TokenServiceOptions options;
    options.secret_key = "fuzz-secret-key-0123456789abcdef0123456789";
    auto created = smsgw::domain::TokenService::Create(options, clock_);
    SMSGW_FUZZ_CHECK(created.ok(), "TokenService::Create");
    return created->release();
  }();
  return *tokens;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smsgw::fuzz::InputReader in(data, size);
  const uint8_t flags = in.Byte();
  const absl::string_view rest = in.Rest();
  // The verifier must hold at any time, including around exp and iat.
  clock_->Set(absl::FromUnixSeconds(1'800'000'000) +
              absl::Hours((flags >> 1) % 64) - absl::Hours(8));
  if ((flags & 1) == 0) {
    (void)Tokens().Verify(rest);
    return 0;
  }
  absl::StatusOr<smsgw::domain::IssuedToken> issued = Tokens().Issue(rest);
  if (!issued.ok()) return 0;
  absl::StatusOr<smsgw::domain::TokenClaims> claims =
      Tokens().Verify(issued->token);
  SMSGW_FUZZ_CHECK(claims.ok(), "a token we issued verifies");
  SMSGW_FUZZ_CHECK(claims->subject == rest, "the subject survives");
  return 0;
}
