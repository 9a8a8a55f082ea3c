// Fuzzes the opaque cursors clients hand back: the page tokens of
// ListMessages, ListConversations, ListGroups and ListGroupMessages (parsed
// in MessagingService and GroupService against a temp database with enough
// rows for several pages), and WatchMessages' after_cursor.
//
// Input: selector byte (which parser), page-size byte, then the token.
// Properties: a malformed token is InvalidArgument (never another error,
// never a crash); the next_page_token of a page that parsed is accepted in
// turn; ParseWatchCursor accepts exactly what FormatWatchCursor prints.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/domain/group_service.h"
#include "server/domain/message_watch_hub.h"
#include "server/domain/messaging_service.h"
#include "server/domain/phone_number.h"
#include "storage/sqlite/database.h"
#include "storage/sqlite/sqlite_group_store.h"
#include "storage/sqlite/sqlite_message_store.h"
#include "storage/sqlite/sqlite_user_store.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

constexpr char kOurNumber[] = "+15005550006";
constexpr char kGroup[] = "hikers";

struct World {
  smsgw::fuzz::FuzzClock clock;
  smsgw::domain::PhoneNumberParser phones{"US"};
  std::unique_ptr<smsgw::storage::sqlite::Database> db;
  std::unique_ptr<smsgw::storage::sqlite::SqliteUserStore> users;
  std::unique_ptr<smsgw::storage::sqlite::SqliteMessageStore> messages;
  std::unique_ptr<smsgw::storage::sqlite::SqliteGroupStore> groups;
  std::unique_ptr<smsgw::domain::MessagingService> messaging;
  std::unique_ptr<smsgw::domain::GroupService> group_service;
  smsgw::storage::User caller;
};

World* MakeWorld() {
  auto* w = new World();
  w->db = smsgw::fuzz::OpenFuzzDatabase("page_token.db");
  w->users = std::make_unique<smsgw::storage::sqlite::SqliteUserStore>(w->db.get());
  w->messages = std::make_unique<smsgw::storage::sqlite::SqliteMessageStore>(
      w->db.get(), &w->clock);
  w->groups = std::make_unique<smsgw::storage::sqlite::SqliteGroupStore>(w->db.get());
  smsgw::domain::MessagingService::Options options;
  options.phone_numbers = {kOurNumber};
  w->messaging = std::make_unique<smsgw::domain::MessagingService>(
      w->messages.get(), w->users.get(), /*queue=*/nullptr, &w->phones,
      &w->clock, options);
  w->group_service = std::make_unique<smsgw::domain::GroupService>(
      w->groups.get(), w->messages.get(), w->messaging.get(), &w->clock,
      smsgw::domain::GroupService::Options{{kOurNumber, "+15005550007"}});

  smsgw::storage::User user;
  user.username = "ann";
  user.password_hash = "$argon2id$fake";
  user.phone_number = "+14155550123";
  user.phone_verified = true;
  user.create_time = user.update_time = w->clock.Now();
  auto stored = w->users->Insert(user);
  SMSGW_FUZZ_CHECK(stored.ok(), "insert user");
  w->caller = *stored;
  auto group = w->groups->CreateWithMember(kGroup, "", w->caller.id,
                                           {kOurNumber}, w->clock.Now());
  SMSGW_FUZZ_CHECK(group.ok(), group.status().ToString().c_str());
  // Seven conversations with one message each, a minute apart: pages of
  // 1..3 rows have successors.
  for (int i = 0; i < 7; ++i) {
    w->clock.Set(w->clock.Now() + absl::Minutes(1));
    smsgw::storage::Message m;
    m.id = absl::StrCat("msg-", i);
    m.owner_id = w->caller.id;
    const std::string peer = absl::StrCat("+1415555010", i);
    m.conversation_id = absl::StrCat("conv-", i);
    m.direction = smsgw::storage::Direction::kOutbound;
    m.from = kOurNumber;
    m.to = m.peer_number = peer;
    m.our_number = kOurNumber;
    m.body = "hello";
    m.status = smsgw::storage::MessageStatus::kPending;
    m.num_segments = 1;
    m.create_time = m.update_time = w->clock.Now();
    SMSGW_FUZZ_CHECK(w->messages->CreateOutbound(m, std::nullopt).ok(), "create");
  }
  return w;
}

// Malformed tokens are the client's fault: InvalidArgument only.
void CheckRefusal(const absl::Status& status) {
  SMSGW_FUZZ_CHECK(status.ok() || absl::IsInvalidArgument(status),
                   status.ToString().c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* const w = MakeWorld();
  smsgw::fuzz::InputReader in(data, size);
  const uint8_t selector = in.Byte();
  const int page_size = in.Byte() % 4;  // 0 = the default
  const std::string token(in.Rest());

  switch (selector % 5) {
    case 0: {
      smsgw::domain::ListRequest request;
      request.page_size = page_size;
      request.page_token = token;
      auto page = w->messaging->List(w->caller, request);
      CheckRefusal(page.status());
      if (page.ok() && !page->next_page_token.empty()) {
        request.page_token = page->next_page_token;
        SMSGW_FUZZ_CHECK(w->messaging->List(w->caller, request).ok(),
                         "ListMessages accepts its own next_page_token");
      }
      break;
    }
    case 1: {
      auto page = w->messaging->ListConversations(w->caller, page_size, token);
      CheckRefusal(page.status());
      if (page.ok() && !page->next_page_token.empty()) {
        SMSGW_FUZZ_CHECK(w->messaging
                             ->ListConversations(w->caller, page_size,
                                                 page->next_page_token)
                             .ok(),
                         "ListConversations accepts its own next_page_token");
      }
      break;
    }
    case 2: {
      auto page = w->group_service->List(w->caller, page_size, token);
      CheckRefusal(page.status());
      break;
    }
    case 3: {
      auto page =
          w->group_service->ListMessages(w->caller, kGroup, page_size, token);
      CheckRefusal(page.status());
      break;
    }
    case 4: {
      absl::StatusOr<int64_t> cursor = smsgw::domain::ParseWatchCursor(token);
      CheckRefusal(cursor.status());
      if (cursor.ok()) {
        SMSGW_FUZZ_CHECK(*cursor >= 0, "cursors are not negative");
        SMSGW_FUZZ_CHECK(smsgw::domain::FormatWatchCursor(*cursor) == token,
                         "one spelling per cursor");
      }
      break;
    }
  }
  return 0;
}
