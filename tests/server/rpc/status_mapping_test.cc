// ToGrpcStatus (status_mapping.h) over every absl::StatusCode: the code
// carries over unchanged, Internal / Unknown / DataLoss messages are
// replaced by the generic sentence, every other message is kept, cut at
// kMaxClientMessageBytes.
#include "server/rpc/status_mapping.h"

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace smsgw::rpc {
namespace {

constexpr char kGeneric[] = "internal error; the server log has the details";

// The codes whose messages may carry file paths or SQL.
bool IsHidden(absl::StatusCode code) {
  return code == absl::StatusCode::kInternal ||
         code == absl::StatusCode::kUnknown ||
         code == absl::StatusCode::kDataLoss;
}

TEST(ToGrpcStatusTest, OkIsOkWithNoMessage) {
  const ::grpc::Status status = ToGrpcStatus(absl::OkStatus());
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::OK);
  EXPECT_EQ(status.error_message(), "");
}

TEST(ToGrpcStatusTest, EveryCodeKeepsItsNumber) {
  // google.rpc.Code: 1 (CANCELLED) .. 16 (UNAUTHENTICATED).
  for (int n = 1; n <= 16; ++n) {
    const auto code = static_cast<absl::StatusCode>(n);
    const ::grpc::Status status =
        ToGrpcStatus(absl::Status(code, "the reason"));
    EXPECT_EQ(static_cast<int>(status.error_code()), n)
        << absl::StatusCodeToString(code);
    EXPECT_FALSE(status.ok()) << absl::StatusCodeToString(code);
  }
}

TEST(ToGrpcStatusTest, NamedCodesMapToTheSameGrpcCodes) {
  const struct {
    absl::StatusCode absl_code;
    ::grpc::StatusCode grpc_code;
  } kPairs[] = {
      {absl::StatusCode::kCancelled, ::grpc::StatusCode::CANCELLED},
      {absl::StatusCode::kUnknown, ::grpc::StatusCode::UNKNOWN},
      {absl::StatusCode::kInvalidArgument,
       ::grpc::StatusCode::INVALID_ARGUMENT},
      {absl::StatusCode::kDeadlineExceeded,
       ::grpc::StatusCode::DEADLINE_EXCEEDED},
      {absl::StatusCode::kNotFound, ::grpc::StatusCode::NOT_FOUND},
      {absl::StatusCode::kAlreadyExists, ::grpc::StatusCode::ALREADY_EXISTS},
      {absl::StatusCode::kPermissionDenied,
       ::grpc::StatusCode::PERMISSION_DENIED},
      {absl::StatusCode::kResourceExhausted,
       ::grpc::StatusCode::RESOURCE_EXHAUSTED},
      {absl::StatusCode::kFailedPrecondition,
       ::grpc::StatusCode::FAILED_PRECONDITION},
      {absl::StatusCode::kAborted, ::grpc::StatusCode::ABORTED},
      {absl::StatusCode::kOutOfRange, ::grpc::StatusCode::OUT_OF_RANGE},
      {absl::StatusCode::kUnimplemented, ::grpc::StatusCode::UNIMPLEMENTED},
      {absl::StatusCode::kInternal, ::grpc::StatusCode::INTERNAL},
      {absl::StatusCode::kUnavailable, ::grpc::StatusCode::UNAVAILABLE},
      {absl::StatusCode::kDataLoss, ::grpc::StatusCode::DATA_LOSS},
      {absl::StatusCode::kUnauthenticated,
       ::grpc::StatusCode::UNAUTHENTICATED},
  };
  for (const auto& pair : kPairs) {
    EXPECT_EQ(ToGrpcStatus(absl::Status(pair.absl_code, "x")).error_code(),
              pair.grpc_code)
        << absl::StatusCodeToString(pair.absl_code);
  }
}

TEST(ToGrpcStatusTest, InternalUnknownAndDataLossMessagesAreHidden) {
  int hidden = 0;
  for (int n = 1; n <= 16; ++n) {
    const auto code = static_cast<absl::StatusCode>(n);
    const ::grpc::Status status = ToGrpcStatus(
        absl::Status(code, "open /var/lib/smsgw/smsgw.db: SELECT * FROM users"));
    if (IsHidden(code)) {
      ++hidden;
      EXPECT_EQ(status.error_message(), kGeneric)
          << absl::StatusCodeToString(code);
    } else {
      EXPECT_EQ(status.error_message(),
                "open /var/lib/smsgw/smsgw.db: SELECT * FROM users")
          << absl::StatusCodeToString(code);
    }
  }
  EXPECT_EQ(hidden, 3);
}

TEST(ToGrpcStatusTest, KeptMessagesAreCutAtTheLimit) {
  const std::string at_limit(kMaxClientMessageBytes, 'a');
  const std::string over = at_limit + "bcd";
  for (int n = 1; n <= 16; ++n) {
    const auto code = static_cast<absl::StatusCode>(n);
    const std::string expected = IsHidden(code) ? kGeneric : at_limit;
    EXPECT_EQ(ToGrpcStatus(absl::Status(code, over)).error_message(),
              expected)
        << absl::StatusCodeToString(code);
    EXPECT_EQ(ToGrpcStatus(absl::Status(code, at_limit)).error_message(),
              expected)
        << absl::StatusCodeToString(code);
  }
}

TEST(ToGrpcStatusTest, AMessageOneByteUnderTheLimitIsWhole) {
  const std::string under(kMaxClientMessageBytes - 1, 'z');
  EXPECT_EQ(ToGrpcStatus(absl::InvalidArgumentError(under)).error_message(),
            under);
  EXPECT_EQ(ToGrpcStatus(absl::NotFoundError("")).error_message(), "");
}

}  // namespace
}  // namespace smsgw::rpc
