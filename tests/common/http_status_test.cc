// ToHttpStatus: every absl::StatusCode, table-driven, so a new mapping or a
// changed one shows up here (Twilio retries 5xx and not 4xx, so the split
// matters).
#include "common/http_status.h"

#include <set>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace smsgw {
namespace {

struct Case {
  absl::StatusCode code;
  int http;
};

constexpr Case kCases[] = {
    {absl::StatusCode::kOk, 200},
    {absl::StatusCode::kCancelled, 499},
    {absl::StatusCode::kUnknown, 500},
    {absl::StatusCode::kInvalidArgument, 400},
    {absl::StatusCode::kDeadlineExceeded, 504},
    {absl::StatusCode::kNotFound, 404},
    {absl::StatusCode::kAlreadyExists, 409},
    {absl::StatusCode::kPermissionDenied, 403},
    {absl::StatusCode::kResourceExhausted, 429},
    {absl::StatusCode::kFailedPrecondition, 400},
    {absl::StatusCode::kAborted, 409},
    {absl::StatusCode::kOutOfRange, 400},
    {absl::StatusCode::kUnimplemented, 501},
    {absl::StatusCode::kInternal, 500},
    {absl::StatusCode::kUnavailable, 503},
    {absl::StatusCode::kDataLoss, 500},
    {absl::StatusCode::kUnauthenticated, 401},
};

class ToHttpStatusTest : public ::testing::TestWithParam<Case> {};

TEST_P(ToHttpStatusTest, MapsTheCodeToItsHttpStatus) {
  const Case& c = GetParam();
  const absl::Status status =
      c.code == absl::StatusCode::kOk ? absl::OkStatus()
                                      : absl::Status(c.code, "some message");
  EXPECT_EQ(ToHttpStatus(status), c.http)
      << absl::StatusCodeToString(c.code);
}

INSTANTIATE_TEST_SUITE_P(
    EveryCode, ToHttpStatusTest, ::testing::ValuesIn(kCases),
    [](const ::testing::TestParamInfo<Case>& info) {
      std::string name = absl::StatusCodeToString(info.param.code);
      std::string out;
      for (char c : name) {
        if (c != '_') out += c;
      }
      return out;
    });

TEST(ToHttpStatusTableTest, CoversEveryCanonicalCode) {
  // absl's canonical codes are 0..16; the table above must name each once.
  std::set<int> seen;
  for (const Case& c : kCases) seen.insert(static_cast<int>(c.code));
  for (int code = 0; code <= 16; ++code) {
    EXPECT_EQ(seen.count(code), 1u) << "code " << code << " not in the table";
  }
}

TEST(ToHttpStatusTableTest, MapsAnUnknownNumericCodeToInternalServerError) {
  // A code outside the enum (e.g. from a foreign library) is a server fault.
  EXPECT_EQ(ToHttpStatus(absl::Status(static_cast<absl::StatusCode>(42), "x")),
            500);
}

TEST(ToHttpStatusTableTest, IgnoresTheMessage) {
  EXPECT_EQ(ToHttpStatus(absl::NotFoundError("")), 404);
  EXPECT_EQ(ToHttpStatus(absl::NotFoundError(std::string(1000, 'x'))), 404);
}

}  // namespace
}  // namespace smsgw
