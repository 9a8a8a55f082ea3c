#include "server/domain/message_watch_hub.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "server/domain/conversation_id.h"

namespace smsgw::domain {
namespace {

constexpr size_t kMaxCursorDigits = 19;  // int64 max is 19 digits

}  // namespace

absl::StatusOr<int64_t> ParseWatchCursor(absl::string_view text) {
  const auto malformed = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "after_cursor \"", text.substr(0, 40),
        "\" is malformed: pass a MessageEvent.cursor unchanged"));
  };
  if (text.empty() || text.size() > kMaxCursorDigits) return malformed();
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return malformed();
  }
  // One spelling per cursor, so that clients cannot come to depend on others.
  if (text.size() > 1 && text[0] == '0') return malformed();
  int64_t cursor = 0;
  if (!absl::SimpleAtoi(text, &cursor)) return malformed();
  return cursor;
}

std::string FormatWatchCursor(int64_t cursor) { return absl::StrCat(cursor); }

// --- MessageWatch ---

MessageWatch::MessageWatch(MessageWatchHub* hub, int64_t owner_id,
                           std::string username, std::string conversation_id,
                           int64_t start_cursor,
                           std::shared_ptr<WatchSink> sink)
    : hub_(hub),
      owner_id_(owner_id),
      username_(std::move(username)),
      conversation_id_(std::move(conversation_id)),
      fetched_cursor_(start_cursor),
      delivered_cursor_(start_cursor),
      sink_(std::move(sink)) {}

size_t MessageWatch::buffered() const {
  absl::MutexLock lock(&mu_);
  return buffer_.size();
}

std::optional<WatchEvent> MessageWatch::Next() {
  std::optional<WatchEvent> event;
  bool refill = false;
  {
    absl::MutexLock lock(&mu_);
    if (ended_ || closed_) return std::nullopt;
    if (buffer_.empty()) {
      sink_waiting_ = true;
      return std::nullopt;
    }
    event = std::move(buffer_.front());
    buffer_.pop_front();
    delivered_cursor_ = event->cursor;
    full_since_.reset();
    // Refill in batches rather than one row per event taken.
    if (waiting_for_room_ &&
        buffer_.size() <=
            static_cast<size_t>(hub_->options_.buffer_size) / 2) {
      waiting_for_room_ = false;
      refill = true;
    }
  }
  if (refill) hub_->Schedule(this);
  return event;
}

int64_t MessageWatch::resume_cursor() const {
  absl::MutexLock lock(&mu_);
  return delivered_cursor_;
}

void MessageWatch::Close() {
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    closed_ = true;
    buffer_.clear();
    sink_.reset();
  }
  hub_->Remove(this);
}

bool MessageWatch::Matches(const storage::FeedEvent& row) const {
  if (conversation_id_.empty()) return true;
  // Rows written before the feed kept conversation ids fall back to the
  // message, while it exists.
  const std::string& conversation =
      !row.conversation_id.empty() || !row.message.has_value()
          ? row.conversation_id
          : row.message->conversation_id;
  return conversation == conversation_id_;
}

WatchEvent MessageWatch::ToEvent(storage::FeedEvent row) const {
  WatchEvent event;
  event.cursor = row.cursor;
  event.type = row.type;
  event.event_time = row.event_time;
  if (row.message.has_value()) {
    event.message = *std::move(row.message);
    if (row.status != storage::MessageStatus::kUnspecified) {
      event.message.status = row.status;
    }
  } else {
    event.message.id = row.message_id;
    event.message.owner_id = row.owner_id;
    event.message.owner_username = username_;
    event.message.conversation_id = row.conversation_id;
    event.message.direction = storage::Direction::kUnspecified;
    event.message.status = row.status;
  }
  return event;
}

bool MessageWatch::Fetch() {
  const MessageWatchHub::Options& options = hub_->options_;
  int64_t from = 0;
  {
    absl::MutexLock lock(&mu_);
    if (ended_ || closed_) {
      scheduled_ = false;
      return false;
    }
    again_ = false;
    from = fetched_cursor_;
  }
  absl::StatusOr<std::vector<storage::FeedEvent>> rows =
      hub_->store_->ListFeed(owner_id_, from, options.fetch_batch);
  if (!rows.ok()) {
    {
      absl::MutexLock lock(&mu_);
      scheduled_ = false;
    }
    SMSGW_LOG(kWarning) << "watch: cannot read the feed owner=" << owner_id_
                        << ": " << rows.status();
    End(rows.status().code(),
        absl::StrCat("cannot read the message feed: ", rows.status().message()));
    return false;
  }
  const size_t capacity = static_cast<size_t>(options.buffer_size);
  std::shared_ptr<WatchSink> notify;
  bool overflow = false;
  bool again = false;
  {
    absl::MutexLock lock(&mu_);
    if (ended_ || closed_) {
      scheduled_ = false;
      return false;
    }
    bool full = false;
    for (storage::FeedEvent& row : *rows) {
      if (row.cursor <= fetched_cursor_) continue;
      if (!Matches(row)) {
        fetched_cursor_ = row.cursor;
        continue;
      }
      if (buffer_.size() >= capacity) {
        // The store keeps what does not fit: wait for the reader, unless it
        // has taken nothing for the whole grace period.
        const absl::Time now = hub_->clock_->Now();
        if (!full_since_.has_value()) full_since_ = now;
        if (now - *full_since_ >= options.slow_reader_grace) overflow = true;
        waiting_for_room_ = true;
        full = true;
        break;
      }
      buffer_.push_back(ToEvent(std::move(row)));
      fetched_cursor_ = buffer_.back().cursor;
    }
    if (!overflow && sink_waiting_ && !buffer_.empty()) {
      sink_waiting_ = false;
      notify = sink_;
    }
    again = !overflow && !full &&
            (rows->size() == static_cast<size_t>(options.fetch_batch) ||
             again_);
    if (!again) scheduled_ = false;
  }
  if (overflow) {
    End(absl::StatusCode::kResourceExhausted, "client too slow");
    return false;
  }
  if (notify != nullptr) notify->OnEventsAvailable();
  return again;
}

void MessageWatch::End(absl::StatusCode code, absl::string_view reason) {
  std::shared_ptr<WatchSink> sink;
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    if (ended_ || closed_) return;
    ended_ = true;
    buffer_.clear();
    sink = sink_;
    status = absl::Status(code, absl::StrCat(reason, "; resume with after_cursor=",
                                             delivered_cursor_));
  }
  if (sink != nullptr) sink->OnWatchEnded(status);
}

// --- MessageWatchHub ---

MessageWatchHub::MessageWatchHub(storage::MessageStore* store, Clock* clock,
                                 Options options)
    : store_(store), clock_(clock), options_(std::move(options)) {
  for (int i = 0; i < std::max(1, options_.workers); ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
  store_->SetFeedListener(
      [this](int64_t latest_cursor, const std::vector<int64_t>& owner_ids) {
        OnFeedCommitted(latest_cursor, owner_ids);
      });
}

MessageWatchHub::~MessageWatchHub() { Shutdown(); }

absl::StatusOr<std::shared_ptr<MessageWatch>> MessageWatchHub::Watch(
    const storage::User& caller, const WatchRequest& request,
    std::shared_ptr<WatchSink> sink) {
  if (!request.conversation_id.empty()) {
    SMSGW_RETURN_IF_ERROR(ValidateConversationId(request.conversation_id));
  }
  std::optional<int64_t> after;
  if (!request.after_cursor.empty()) {
    absl::StatusOr<int64_t> parsed = ParseWatchCursor(request.after_cursor);
    if (!parsed.ok()) return parsed.status();
    after = *parsed;
  }
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) {
      return absl::UnavailableError("server shutting down; watch again later");
    }
  }
  if (!request.conversation_id.empty()) {
    storage::MessageQuery query;
    query.owner_id = caller.id;
    query.conversation_id = request.conversation_id;
    query.limit = 1;
    absl::StatusOr<std::vector<storage::Message>> found = store_->List(query);
    if (!found.ok()) return found.status();
    if (found->empty()) {
      return absl::NotFoundError(absl::StrCat(
          "no conversation \"", request.conversation_id, "\""));
    }
  }
  // Read before subscribing: every event committed later has a higher
  // cursor, so the first fetch (after subscribing) cannot miss one.
  absl::StatusOr<int64_t> latest = store_->LatestFeedCursor();
  if (!latest.ok()) return latest.status();
  if (after.has_value() && *after > *latest) {
    return absl::InvalidArgumentError(absl::StrCat(
        "after_cursor ", *after, " is ahead of the newest event (", *latest,
        "): it did not come from this server's feed"));
  }
  auto watch = std::make_shared<MessageWatch>(
      this, caller.id, caller.username, request.conversation_id,
      after.value_or(*latest), std::move(sink));
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) {
      return absl::UnavailableError("server shutting down; watch again later");
    }
    int& open = per_user_[caller.id];
    if (open >= options_.max_streams_per_user) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "too many open WatchMessages streams for this user (at most ",
          options_.max_streams_per_user, "); close one first"));
    }
    ++open;
    watches_.emplace(watch.get(), watch);
  }
  Schedule(watch);
  return watch;
}

void MessageWatchHub::OnFeedCommitted(int64_t latest_cursor,
                                      const std::vector<int64_t>& owner_ids) {
  // Only the watches of owners whose feed grew: with many streams open, a
  // commit must not make every one of them read the feed for nothing.
  std::vector<std::shared_ptr<MessageWatch>> watches;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    for (const auto& [key, watch] : watches_) {
      if (std::binary_search(owner_ids.begin(), owner_ids.end(),
                             watch->owner_id_)) {
        watches.push_back(watch);
      }
    }
  }
  for (const std::shared_ptr<MessageWatch>& watch : watches) {
    bool behind = false;
    {
      absl::MutexLock lock(&watch->mu_);
      behind = watch->fetched_cursor_ < latest_cursor;
    }
    if (behind) Schedule(watch);
  }
}

void MessageWatchHub::Schedule(const std::shared_ptr<MessageWatch>& watch) {
  {
    absl::MutexLock lock(&watch->mu_);
    if (watch->ended_ || watch->closed_) return;
    if (watch->scheduled_) {
      watch->again_ = true;
      return;
    }
    watch->scheduled_ = true;
  }
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  ready_.push_back(watch);
}

void MessageWatchHub::Schedule(MessageWatch* watch) {
  std::shared_ptr<MessageWatch> shared;
  {
    absl::MutexLock lock(&mu_);
    auto it = watches_.find(watch);
    if (it == watches_.end()) return;
    shared = it->second;
  }
  Schedule(shared);
}

void MessageWatchHub::Remove(MessageWatch* watch) {
  absl::MutexLock lock(&mu_);
  auto it = watches_.find(watch);
  if (it == watches_.end()) return;
  auto user = per_user_.find(watch->owner_id_);
  if (user != per_user_.end() && --user->second <= 0) per_user_.erase(user);
  watches_.erase(it);
}

void MessageWatchHub::WorkerLoop() {
  while (true) {
    std::shared_ptr<MessageWatch> watch;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](MessageWatchHub* hub) ABSL_EXCLUSIVE_LOCKS_REQUIRED(hub->mu_) {
            return hub->stopping_ || !hub->ready_.empty();
          },
          this));
      if (stopping_) return;
      watch = std::move(ready_.front());
      ready_.pop_front();
    }
    // One batch per turn, then to the back of the queue: a watch with a long
    // replay does not starve the others.
    if (watch->Fetch()) {
      absl::MutexLock lock(&mu_);
      if (!stopping_) ready_.push_back(std::move(watch));
    }
  }
}

void MessageWatchHub::Shutdown() {
  std::vector<std::shared_ptr<MessageWatch>> watches;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
    for (const auto& [key, watch] : watches_) watches.push_back(watch);
  }
  store_->SetFeedListener(nullptr);
  for (const std::shared_ptr<MessageWatch>& watch : watches) {
    watch->End(absl::StatusCode::kUnavailable, "server shutting down");
  }
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    ready_.clear();
  }
  for (std::thread& worker : workers_) worker.join();
  workers_.clear();
}

int MessageWatchHub::open_watches() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(watches_.size());
}

}  // namespace smsgw::domain
