// File: status_matchers.h
//
// gMock matchers for absl::Status and absl::StatusOr<T>, which Abseil 20220623
// does not ship:
//
//   EXPECT_THAT(store.Insert(user), IsOk());
//   EXPECT_THAT(store.Find("x"), StatusIs(absl::StatusCode::kNotFound));
//   EXPECT_THAT(f(), StatusIs(absl::StatusCode::kInvalidArgument,
//                             HasSubstr("username")));
#ifndef SMSGW_TESTS_TESTING_STATUS_MATCHERS_H_
#define SMSGW_TESTS_TESTING_STATUS_MATCHERS_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace smsgw::testing {

inline const absl::Status& GetStatus(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& status = GetStatus(arg);
  if (!status.ok()) *result_listener << "status is " << status;
  return status.ok();
}

MATCHER_P(StatusIs, code,
          std::string("has code ") + absl::StatusCodeToString(code)) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           std::string("has code ") + absl::StatusCodeToString(code)) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code &&
         ::testing::ExplainMatchResult(
             message_matcher, std::string(status.message()), result_listener);
}

}  // namespace smsgw::testing

// The status matchers are every suite's vocabulary: tests anywhere in
// namespace smsgw use IsOk() and StatusIs() unqualified, without a
// using-declaration of their own.
namespace smsgw {
using ::smsgw::testing::IsOk;
using ::smsgw::testing::StatusIs;
}  // namespace smsgw

#define SMSGW_ASSERT_OK_AND_ASSIGN(lhs, rexpr)                          \
  SMSGW_ASSERT_OK_AND_ASSIGN_IMPL_(                                     \
      SMSGW_TESTING_CONCAT_(smsgw_test_statusor_, __LINE__), lhs, rexpr)
#define SMSGW_TESTING_CONCAT_INNER_(a, b) a##b
#define SMSGW_TESTING_CONCAT_(a, b) SMSGW_TESTING_CONCAT_INNER_(a, b)
#define SMSGW_ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                     \
  ASSERT_TRUE(statusor.ok()) << statusor.status();             \
  lhs = std::move(statusor).value()

#endif  // SMSGW_TESTS_TESTING_STATUS_MATCHERS_H_
