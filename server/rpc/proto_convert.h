// File: proto_convert.h
//
// Conversions between storage/domain types and smsgw.v1 protos. The edge
// translates only: no rule lives here.
#ifndef SMSGW_SERVER_RPC_PROTO_CONVERT_H_
#define SMSGW_SERVER_RPC_PROTO_CONVERT_H_

#include <google/protobuf/timestamp.pb.h>

#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "smsgw/v1/auth.pb.h"
#include "smsgw/v1/common.pb.h"
#include "google/protobuf/duration.pb.h"
#include "server/domain/messaging_service.h"
#include "server/domain/sender_pool.h"
#include "storage/message_store.h"
#include "storage/user_store.h"

namespace smsgw::rpc {

// Writes `t` into `out` (seconds + nanos since the Unix epoch, UTC).
void ToProto(absl::Time t, google::protobuf::Timestamp* out);

// Reads a Timestamp. `field` names it in the error. InvalidArgument when the
// seconds or nanos are outside google.protobuf.Timestamp's documented range
// (0001-01-01 to 9999-12-31, nanos 0..999999999).
absl::StatusOr<absl::Time> FromProto(const google::protobuf::Timestamp& ts,
                                     absl::string_view field);

// Reads a Duration. `field` names it in the error. InvalidArgument when the
// seconds or nanos are outside google.protobuf.Duration's documented range
// (±315,576,000,000 s, |nanos| < 10^9 with the sign of seconds).
absl::StatusOr<absl::Duration> FromProto(const google::protobuf::Duration& d,
                                         absl::string_view field);

// The sending policy of a SendMessageRequest or SendGroupMessageRequest
// (both carry validity_period, priority and respect_quiet_hours). Unknown
// priority numbers pass through: the domain refuses them
// (ValidateSendPolicy). InvalidArgument for a malformed Duration.
template <typename Request>
absl::StatusOr<domain::SendPolicy> PolicyFromProto(const Request& request) {
  domain::SendPolicy policy;
  if (request.has_validity_period()) {
    absl::StatusOr<absl::Duration> validity =
        FromProto(request.validity_period(), "validity_period");
    if (!validity.ok()) return validity.status();
    policy.validity_period = *validity;
  }
  policy.priority = static_cast<storage::MessagePriority>(request.priority());
  if (request.has_respect_quiet_hours()) {
    policy.respect_quiet_hours = request.respect_quiet_hours();
  }
  return policy;
}

// The user as clients see it: never the password hash.
void ToProto(const storage::User& user, v1::User* out);

// An API key as its owner sees it: never the secret or its digest; an unset
// last_use_time for a key never used.
void ToProto(const storage::ApiKey& key, v1::ApiKey* out);

// A stored message as clients see it (unset optional times stay unset).
void ToProto(const storage::Message& message, v1::Message* out);

// One delivery report.
void ToProto(const storage::DeliveryReport& report, v1::DeliveryReport* out);

// The proto form of a sender pool reason (smsgw.v1.SenderChoice).
v1::SenderChoice ToProto(domain::SenderChoice choice);

}  // namespace smsgw::rpc

#endif  // SMSGW_SERVER_RPC_PROTO_CONVERT_H_
