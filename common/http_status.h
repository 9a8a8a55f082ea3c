// File: http_status.h
//
// The one place where absl::Status becomes an HTTP status (STYLE.md error
// model; codes as TF Serving's ToHTTPStatusCode, the standard mapping of
// google/rpc/code.proto): for Twilio's webhooks, where the answer matters
// (5xx and timeouts are retried, 4xx are not), and for the REST API, whose
// gRPC codes are absl's by number.
#ifndef SMSGW_COMMON_HTTP_STATUS_H_
#define SMSGW_COMMON_HTTP_STATUS_H_

#include "absl/status/status.h"

namespace smsgw {

// OK → 200, InvalidArgument / FailedPrecondition / OutOfRange → 400,
// Unauthenticated → 401, PermissionDenied → 403, NotFound → 404,
// AlreadyExists / Aborted → 409, ResourceExhausted → 429 (413 is chosen by
// the caller for bodies), Cancelled → 499, Unimplemented → 501,
// Unavailable → 503, DeadlineExceeded → 504, everything else → 500.
int ToHttpStatus(const absl::Status& status);

}  // namespace smsgw

#endif  // SMSGW_COMMON_HTTP_STATUS_H_
