// File: status_macros.h
//
// Early-return helpers for absl::Status / absl::StatusOr, modelled on the
// ABSL_RETURN_IF_ERROR / ABSL_ASSIGN_OR_RETURN macros that Debian 12's Abseil
// (20220623) does not have yet.
//
//   SMSGW_RETURN_IF_ERROR(store->Insert(user));
//   SMSGW_ASSIGN_OR_RETURN(User user, store->FindByName(name));
#ifndef SMSGW_COMMON_STATUS_MACROS_H_
#define SMSGW_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Evaluates `expr` (an absl::Status) and returns it from the enclosing
// function when it is not OK.
#define SMSGW_RETURN_IF_ERROR(expr)                  \
  do {                                               \
    ::absl::Status smsgw_status_ = (expr);           \
    if (!smsgw_status_.ok()) return smsgw_status_;   \
  } while (0)

#define SMSGW_STATUS_CONCAT_INNER_(a, b) a##b
#define SMSGW_STATUS_CONCAT_(a, b) SMSGW_STATUS_CONCAT_INNER_(a, b)

// Evaluates `rexpr` (an absl::StatusOr<T>); returns its status from the
// enclosing function when it is not OK, otherwise moves the value into `lhs`
// (a declaration such as `User user` or an existing variable).
#define SMSGW_ASSIGN_OR_RETURN(lhs, rexpr) \
  SMSGW_ASSIGN_OR_RETURN_IMPL_(            \
      SMSGW_STATUS_CONCAT_(smsgw_statusor_, __LINE__), lhs, rexpr)

#define SMSGW_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // SMSGW_COMMON_STATUS_MACROS_H_
