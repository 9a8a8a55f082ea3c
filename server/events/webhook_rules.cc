#include "server/events/webhook_rules.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/domain/opt_out.h"

namespace smsgw::events {
namespace {

constexpr absl::string_view kSecretPrefix = "whsec_";
constexpr size_t kSecretBytes = 24;
constexpr size_t kMinKeyBytes = 16;

// Standard base64 with padding, as Standard Webhooks writes keys and
// signatures.
std::string Base64(const unsigned char* data, size_t size) {
  return absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(data), size));
}

}  // namespace

const std::vector<std::string>& AllEventTypes() {
  static const auto* types = new std::vector<std::string>{
      kMessageCreated, kMessageStatusChanged, kMessageReceived, kMessageDeleted,
      kOptOutChanged};
  return *types;
}

absl::Status ValidateEventTypes(const std::vector<std::string>& types) {
  std::set<std::string> seen;
  for (const std::string& t : types) {
    if (std::find(AllEventTypes().begin(), AllEventTypes().end(), t) ==
        AllEventTypes().end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown event type \"", t.substr(0, 64),
          "\"; known: message.created, message.status_changed, "
          "message.received, message.deleted, opt_out.changed"));
    }
    if (!seen.insert(t).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("event type \"", t, "\" is listed twice"));
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> EventTypesOf(const storage::FeedEvent& event) {
  switch (event.type) {
    case storage::FeedEventType::kCreated:
      return {kMessageCreated};
    case storage::FeedEventType::kStatusChanged:
      return {kMessageStatusChanged};
    case storage::FeedEventType::kDeleted:
      return {kMessageDeleted};
    case storage::FeedEventType::kInbound: {
      std::vector<std::string> out = {kMessageReceived};
      if (event.message.has_value()) {
        const domain::KeywordAction action =
            domain::ClassifyKeyword(event.message->body);
        if (action == domain::KeywordAction::kOptOut ||
            action == domain::KeywordAction::kOptIn) {
          out.push_back(kOptOutChanged);
        }
      }
      return out;
    }
    default:
      return {};
  }
}

bool Subscribed(const std::vector<std::string>& subscribed,
                absl::string_view type) {
  if (subscribed.empty()) return true;
  return std::find(subscribed.begin(), subscribed.end(), type) !=
         subscribed.end();
}

std::string WebhookId(int64_t endpoint_id, int64_t cursor,
                      absl::string_view type) {
  std::string id = absl::StrCat("msg_", endpoint_id, "_", cursor);
  if (type == kOptOutChanged) absl::StrAppend(&id, "_opt_out");
  return id;
}

std::string NewSecret() {
  unsigned char bytes[kSecretBytes];
  randombytes_buf(bytes, sizeof bytes);
  return absl::StrCat(kSecretPrefix, Base64(bytes, sizeof bytes));
}

absl::StatusOr<std::string> DecodeSecret(absl::string_view secret) {
  if (!absl::StartsWith(secret, kSecretPrefix)) {
    return absl::InvalidArgumentError("webhook secret must start with whsec_");
  }
  const absl::string_view b64 = secret.substr(kSecretPrefix.size());
  std::string key(b64.size(), '\0');
  size_t key_len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(key.data()),
                        key.size(), b64.data(), b64.size(), nullptr, &key_len,
                        nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return absl::InvalidArgumentError("webhook secret: malformed base64");
  }
  key.resize(key_len);
  if (key.size() < kMinKeyBytes) {
    return absl::InvalidArgumentError("webhook secret: key shorter than 16 bytes");
  }
  return key;
}

absl::StatusOr<std::string> Sign(absl::string_view secret,
                                 absl::string_view webhook_id,
                                 int64_t timestamp, absl::string_view body) {
  absl::StatusOr<std::string> key = DecodeSecret(secret);
  if (!key.ok()) return key.status();
  const std::string content =
      absl::StrCat(webhook_id, ".", timestamp, ".", body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()),
           reinterpret_cast<const unsigned char*>(content.data()),
           content.size(), mac, &mac_len) == nullptr) {
    return absl::InternalError("HMAC-SHA256 failed");
  }
  return absl::StrCat("v1,", Base64(mac, mac_len));
}

absl::Duration RetryDelay(const Backoff& backoff, int attempt, double unit) {
  attempt = std::max(attempt, 1);
  absl::Duration cap = backoff.max;
  // 2^(attempt-1) overflows nothing below 40 doublings of 5 s (past any cap).
  if (attempt < 40) {
    cap = std::min(backoff.max, backoff.base * std::ldexp(1.0, attempt - 1));
  }
  unit = std::clamp(unit, 0.0, 1.0);
  return std::max(absl::Seconds(1), cap * unit);
}

absl::StatusOr<std::string> EventBody(absl::string_view type,
                                      const storage::FeedEvent& event,
                                      absl::string_view message_json) {
  nlohmann::json message = nlohmann::json::parse(
      message_json.begin(), message_json.end(), nullptr,
      /*allow_exceptions=*/false);
  if (!message.is_object()) {
    return absl::InvalidArgumentError("event body: message is not a JSON object");
  }
  nlohmann::json data = {{"message", std::move(message)},
                         {"cursor", absl::StrCat(event.cursor)}};
  if (type == kOptOutChanged && event.message.has_value()) {
    const domain::KeywordAction action =
        domain::ClassifyKeyword(event.message->body);
    data["opt_out"] = {
        {"phone_number", event.message->from},
        {"our_number", event.message->to},
        {"opted_out", action == domain::KeywordAction::kOptOut},
        {"keyword", domain::NormalizedKeyword(event.message->body)}};
  }
  nlohmann::json body = {
      {"type", std::string(type)},
      {"timestamp", absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", event.event_time,
                                     absl::UTCTimeZone())},
      {"data", std::move(data)}};
  return body.dump();
}

}  // namespace smsgw::events
