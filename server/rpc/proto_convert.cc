#include "server/rpc/proto_convert.h"

#include "absl/strings/str_cat.h"

namespace smsgw::rpc {
namespace {

// google/protobuf/timestamp.proto: 0001-01-01T00:00:00Z ..
// 9999-12-31T23:59:59Z.
constexpr int64_t kMinSeconds = -62135596800;
constexpr int64_t kMaxSeconds = 253402300799;

}  // namespace

void ToProto(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t nanos = absl::ToUnixNanos(t);
  int64_t seconds = nanos / 1'000'000'000;
  int64_t rem = nanos % 1'000'000'000;
  if (rem < 0) {
    rem += 1'000'000'000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rem));
}

absl::StatusOr<absl::Time> FromProto(const google::protobuf::Timestamp& ts,
                                     absl::string_view field) {
  if (ts.seconds() < kMinSeconds || ts.seconds() > kMaxSeconds ||
      ts.nanos() < 0 || ts.nanos() > 999'999'999) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is not a valid timestamp"));
  }
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

absl::StatusOr<absl::Duration> FromProto(const google::protobuf::Duration& d,
                                         absl::string_view field) {
  constexpr int64_t kMaxDurationSeconds = 315'576'000'000;
  const bool sign_ok = d.nanos() == 0 || d.seconds() == 0 ||
                       (d.seconds() < 0) == (d.nanos() < 0);
  if (d.seconds() < -kMaxDurationSeconds || d.seconds() > kMaxDurationSeconds ||
      d.nanos() <= -1'000'000'000 || d.nanos() >= 1'000'000'000 || !sign_ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is not a valid duration"));
  }
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

void ToProto(const storage::User& user, v1::User* out) {
  out->set_username(user.username);
  out->set_phone_number(user.phone_number);
  out->set_phone_verified(user.phone_verified);
  out->set_admin(user.admin);
  ToProto(user.create_time, out->mutable_create_time());
  out->set_daily_segment_quota(user.daily_segment_quota);
}

void ToProto(const storage::ApiKey& key, v1::ApiKey* out) {
  out->set_id(key.id);
  out->set_name(key.name);
  for (const std::string& scope : key.scopes) out->add_scopes(scope);
  ToProto(key.create_time, out->mutable_create_time());
  if (key.last_use_time.has_value()) {
    ToProto(*key.last_use_time, out->mutable_last_use_time());
  }
}

void ToProto(const storage::Message& m, v1::Message* out) {
  out->set_id(m.id);
  out->set_provider_sid(m.provider_sid);
  out->set_owner_username(m.owner_username);
  out->set_conversation_id(m.conversation_id);
  out->set_group_name(m.group_name);
  out->set_direction(static_cast<v1::MessageDirection>(m.direction));
  out->set_from(m.from);
  out->set_to(m.to);
  out->set_body(m.body);
  for (const std::string& url : m.media_urls) out->add_media_urls(url);
  for (const std::string& type : m.media_content_types) {
    out->add_media_content_types(type);
  }
  out->set_status(static_cast<v1::MessageStatus>(m.status));
  out->set_error_code(m.error_code.value_or(0));
  out->set_error_message(m.error_message);
  out->set_num_segments(m.num_segments);
  out->set_encoding(static_cast<v1::MessageEncoding>(m.encoding));
  out->set_price(m.price);
  out->set_price_unit(m.price_unit);
  out->set_idempotency_key(m.idempotency_key);
  if (m.create_time != absl::Time()) {
    ToProto(m.create_time, out->mutable_create_time());
  }
  if (m.update_time != absl::Time()) {
    ToProto(m.update_time, out->mutable_update_time());
  }
  if (m.send_time) ToProto(*m.send_time, out->mutable_send_time());
  if (m.deliver_time) ToProto(*m.deliver_time, out->mutable_deliver_time());
  if (m.scheduled_time) {
    ToProto(*m.scheduled_time, out->mutable_scheduled_time());
  }
  if (m.direction == storage::Direction::kOutbound) {
    out->set_priority(static_cast<v1::MessagePriority>(m.priority));
  }
  if (m.expire_time) ToProto(*m.expire_time, out->mutable_expire_time());
}

void ToProto(const storage::DeliveryReport& r, v1::DeliveryReport* out) {
  out->set_status(static_cast<v1::MessageStatus>(r.status));
  out->set_provider_status(r.provider_status);
  out->set_error_code(r.error_code.value_or(0));
  out->set_error_message(r.error_message);
  out->set_raw_dlr_done_date(r.raw_dlr_done_date);
  ToProto(r.event_time, out->mutable_event_time());
  out->set_source(static_cast<v1::DeliveryReportSource>(r.source));
  out->set_applied(r.applied);
  out->set_http_status(r.http_status);
}

v1::SenderChoice ToProto(domain::SenderChoice choice) {
  switch (choice) {
    case domain::SenderChoice::kSticky:
      return v1::SENDER_CHOICE_STICKY;
    case domain::SenderChoice::kAreaCode:
      return v1::SENDER_CHOICE_AREA_CODE;
    case domain::SenderChoice::kLeastBacklog:
      return v1::SENDER_CHOICE_LEAST_BACKLOG;
  }
  return v1::SENDER_CHOICE_UNSPECIFIED;
}

}  // namespace smsgw::rpc
