// Fuzzes the Twilio webhook edge end to end below the socket: a request
// (status callback or inbound SMS) goes through TwilioWebhookHandler into
// DeliveryService and a real SqliteMessageStore on a temp database that
// holds outbound messages Twilio accepted (SIDs SM…0001 to SM…0004).
//
// Input: a flags byte (bit 0: status or inbound path; bit 1: sign the
// request as Twilio would, so that the parameters reach the domain; bit 2:
// GET with the body as query instead of POST; bit 3: wrong content type),
// then the form body. Property: the handler answers with an HTTP status
// (2xx, 4xx or 5xx) and never crashes.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "server/domain/delivery_service.h"
#include "server/domain/phone_number.h"
#include "server/twilio/form_encoding.h"
#include "server/twilio/twilio_signature.h"
#include "server/webhooks/twilio_webhook_handler.h"
#include "storage/sqlite/database.h"
#include "storage/sqlite/sqlite_message_store.h"
#include "storage/sqlite/sqlite_user_store.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using smsgw::storage::Message;
using smsgw::storage::MessageStatus;

constexpr char kPublicUrl[] = "https://sms.example.com";
constexpr char kAuthToken[] = "9f8e7d6c5b4a39281706f5e4d3c2b1a0";
constexpr char kAccountSid[] = "AC0123456789abcdef0123456789abcdef";
constexpr char kOurNumber[] = "+15005550006";
constexpr char kPeer[] = "+14155550100";

struct World {
  smsgw::fuzz::FuzzClock clock;
  smsgw::domain::PhoneNumberParser phones{"US"};
  std::unique_ptr<smsgw::storage::sqlite::Database> db;
  std::unique_ptr<smsgw::storage::sqlite::SqliteUserStore> users;
  std::unique_ptr<smsgw::storage::sqlite::SqliteMessageStore> store;
  std::unique_ptr<smsgw::domain::DeliveryService> delivery;
  std::unique_ptr<smsgw::webhooks::TwilioWebhookHandler> handler;
};

World* MakeWorld() {
  auto* w = new World();
  w->db = smsgw::fuzz::OpenFuzzDatabase("webhook.db");
  w->users = std::make_unique<smsgw::storage::sqlite::SqliteUserStore>(w->db.get());
  w->store = std::make_unique<smsgw::storage::sqlite::SqliteMessageStore>(
      w->db.get(), &w->clock);
  w->delivery = std::make_unique<smsgw::domain::DeliveryService>(
      w->store.get(), /*outbound=*/nullptr, &w->phones, &w->clock,
      smsgw::domain::DeliveryService::Options{kAccountSid});
  smsgw::webhooks::TwilioWebhookHandler::Options options;
  options.public_url = kPublicUrl;
  options.auth_token = kAuthToken;
  w->handler = std::make_unique<smsgw::webhooks::TwilioWebhookHandler>(
      w->delivery.get(), options);

  smsgw::storage::User user;
  user.username = "ann";
  user.password_hash = "$argon2id$fake";
  user.create_time = user.update_time = w->clock.Now();
  auto stored = w->users->Insert(user);
  SMSGW_FUZZ_CHECK(stored.ok(), "insert user");
  for (int i = 1; i <= 4; ++i) {
    Message m;
    m.id = absl::StrCat("msg-", i);
    m.owner_id = stored->id;
    m.conversation_id = absl::StrCat("conv-", stored->id, "-", kPeer);
    m.direction = smsgw::storage::Direction::kOutbound;
    m.from = kOurNumber;
    m.to = kPeer;
    m.peer_number = kPeer;
    m.our_number = kOurNumber;
    m.body = "hello";
    m.status = MessageStatus::kPending;
    m.num_segments = 1;
    m.create_time = m.update_time = w->clock.Now();
    SMSGW_FUZZ_CHECK(w->store->CreateOutbound(m, std::nullopt).ok(), "create");
    smsgw::storage::StatusUpdate accepted;
    accepted.status = MessageStatus::kQueued;
    accepted.provider_status = "queued";
    accepted.provider_sid = absl::StrFormat("SM%032d", i);
    accepted.source = smsgw::storage::ReportSource::kProviderResponse;
    accepted.http_status = 201;
    accepted.event_time = w->clock.Now();
    SMSGW_FUZZ_CHECK(w->store->ApplyStatus(m.id, accepted).ok(), "accept");
  }
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* const world = MakeWorld();
  smsgw::fuzz::InputReader in(data, size);
  const uint8_t flags = in.Byte();
  const absl::string_view body = in.Rest();

  smsgw::webhooks::WebhookRequest request;
  const bool status = (flags & 1) == 0;
  request.target = status ? "/twilio/sms/status" : "/twilio/sms/inbound";
  if (flags & 4) {
    request.method = "GET";
    absl::StrAppend(&request.target, "?", body);
  } else {
    request.method = "POST";
    request.body = std::string(body);
  }
  request.content_type = (flags & 8) ? "application/json"
                                     : "application/x-www-form-urlencoded";
  if (flags & 2) {
    smsgw::twilio::FormParams params;
    if (request.method == "POST") {
      auto parsed = smsgw::twilio::ParseForm(body, smsgw::twilio::FormLimits{});
      if (parsed.ok()) params = *std::move(parsed);
    }
    request.signature = smsgw::twilio::ComputeTwilioSignature(
        kAuthToken, absl::StrCat(kPublicUrl, request.target), params);
  }
  // Time moves on, so that replays, out-of-order callbacks and the 24-hour
  // rules of the domain see different clocks.
  world->clock.Set(world->clock.Now() + absl::Seconds(flags >> 4));
  smsgw::webhooks::WebhookResponse response =
      status ? world->handler->HandleStatus(request)
             : world->handler->HandleInbound(request);
  SMSGW_FUZZ_CHECK(response.status >= 200 && response.status < 600,
                   "an HTTP status");
  return 0;
}
