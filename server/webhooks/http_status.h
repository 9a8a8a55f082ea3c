// File: http_status.h
//
// The one place where absl::Status becomes an HTTP status for Twilio's
// webhooks (STYLE.md error model; codes as TF Serving's ToHTTPStatusCode).
// The answer matters to Twilio: 5xx and timeouts are retried, 4xx are not.
#ifndef SMSGW_SERVER_WEBHOOKS_HTTP_STATUS_H_
#define SMSGW_SERVER_WEBHOOKS_HTTP_STATUS_H_

#include "absl/status/status.h"

namespace smsgw::webhooks {

// OK → 200, InvalidArgument / FailedPrecondition / OutOfRange → 400,
// Unauthenticated → 401, PermissionDenied → 403, NotFound → 404,
// AlreadyExists / Aborted → 409, ResourceExhausted → 429 (413 is chosen by
// the caller for bodies), Cancelled → 499, Unimplemented → 501,
// Unavailable → 503, DeadlineExceeded → 504, everything else → 500.
int ToHttpStatus(const absl::Status& status);

}  // namespace smsgw::webhooks

#endif  // SMSGW_SERVER_WEBHOOKS_HTTP_STATUS_H_
