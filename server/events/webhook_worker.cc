#include "server/events/webhook_worker.h"

#include <curl/curl.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "server/events/webhook_url.h"

namespace smsgw::events {
namespace {

constexpr int kFeedBatch = 100;
constexpr size_t kExcerptBytes = 200;

struct Received {
  std::string body;
  size_t cap = 0;
};

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  auto* received = static_cast<Received*>(user);
  const size_t bytes = size * n;
  if (received->body.size() < received->cap) {
    received->body.append(
        data, std::min(bytes, received->cap - received->body.size()));
  }
  return bytes;  // the rest is read and dropped; the timeout bounds it
}

int Progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<std::atomic<bool>*>(user)->load() ? 1 : 0;
}

std::string Excerpt(const std::string& body) {
  std::string out = body.substr(0, kExcerptBytes);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return out;
}

}  // namespace

WebhookWorker::WebhookWorker(storage::WebhookStore* store,
                             storage::MessageStore* messages, Clock* clock,
                             Options options)
    : store_(store), messages_(messages), clock_(clock),
      options_(std::move(options)) {}

WebhookWorker::~WebhookWorker() { Shutdown(); }

absl::Status WebhookWorker::Start() {
  if (!options_.message_json) {
    return absl::InvalidArgumentError("webhook worker: message_json is required");
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  pool_ = std::make_unique<Executor>("webhooks", std::max(1, options_.threads),
                                     1024);
  listener_ = messages_->AddFeedListener(
      [this](int64_t, const std::vector<int64_t>&) { Wake(); });
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void WebhookWorker::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

void WebhookWorker::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (stop_) return;
    stop_ = true;
  }
  stopping_ = true;
  if (listener_ != 0) messages_->RemoveFeedListener(listener_);
  if (thread_.joinable()) thread_.join();
  if (pool_ != nullptr) pool_->Shutdown();
}

void WebhookWorker::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
      woken_ = false;
    }
    const absl::Time next = Pass();
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return woken_ || stop_;
    };
    mu_.AwaitWithDeadline(absl::Condition(&ready), next);
  }
}

absl::Time WebhookWorker::Pass() {
  const absl::Time now = clock_->Now();
  absl::Time next = now + options_.poll_interval;
  absl::StatusOr<std::vector<storage::WebhookEndpoint>> endpoints =
      store_->ListEnabled();
  if (!endpoints.ok()) {
    SMSGW_LOG(kWarning) << "webhooks: cannot list endpoints: "
                        << endpoints.status();
    return next;
  }
  for (storage::WebhookEndpoint& e : *endpoints) {
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return now;
      if (in_flight_.count(e.id) > 0) continue;
    }
    if (e.next_attempt_time.has_value() && *e.next_attempt_time > now) {
      next = std::min(next, *e.next_attempt_time);
      continue;
    }
    absl::StatusOr<std::vector<storage::FeedEvent>> rows =
        messages_->ListFeed(e.owner_id, e.delivered_cursor, kFeedBatch);
    if (!rows.ok()) {
      SMSGW_LOG(kWarning) << "webhooks: cannot read the feed: " << rows.status();
      continue;
    }
    const storage::FeedEvent* head = nullptr;
    std::vector<std::string> types;
    for (const storage::FeedEvent& row : *rows) {
      for (const std::string& t : EventTypesOf(row)) {
        if (Subscribed(e.event_types, t)) types.push_back(t);
      }
      if (!types.empty()) {
        head = &row;
        break;
      }
    }
    if (head == nullptr) {
      // Nothing this endpoint wants in the batch: skip past it for good.
      if (!rows->empty()) {
        (void)store_->AdvanceCursor(e.id, rows->back().cursor);
        if (static_cast<int>(rows->size()) == kFeedBatch) next = now;
      }
      continue;
    }
    {
      absl::MutexLock lock(&mu_);
      in_flight_.insert(e.id);
    }
    const int64_t id = e.id;
    if (!pool_->TrySchedule([this, e = std::move(e), row = *head,
                             types = std::move(types)]() mutable {
          Deliver(std::move(e), std::move(row), std::move(types));
        })) {
      absl::MutexLock lock(&mu_);
      in_flight_.erase(id);
    }
  }
  return next;
}

void WebhookWorker::Deliver(storage::WebhookEndpoint e, storage::FeedEvent row,
                            std::vector<std::string> types) {
  storage::Message message;
  if (row.message.has_value()) {
    message = *row.message;
  } else {  // deleted: what the feed row still names
    message.id = row.message_id;
    message.owner_id = row.owner_id;
    message.conversation_id = row.conversation_id;
  }
  message.status = row.status != storage::MessageStatus::kUnspecified
                       ? row.status
                       : message.status;
  absl::StatusOr<std::string> message_json = options_.message_json(message);
  for (size_t i = 0; i < types.size(); ++i) {
    if (stopping_) break;
    const std::string& type = types[i];
    storage::WebhookDeliveryRecord record;
    record.endpoint_id = e.id;
    record.webhook_id = WebhookId(e.id, row.cursor, type);
    record.event_type = type;
    record.cursor = row.cursor;
    record.attempt = e.attempts + 1;
    record.attempt_time = clock_->Now();
    Attempt attempt;
    absl::StatusOr<std::string> body =
        message_json.ok() ? EventBody(type, row, *message_json)
                          : absl::StatusOr<std::string>(message_json.status());
    if (!body.ok()) {
      attempt.error = absl::StrCat("cannot build the event: ",
                                   body.status().message());
      attempt.result = "internal";
    } else {
      attempt = Post(e, record.webhook_id, *body);
    }
    if (stopping_ && !attempt.error.empty()) break;  // not the receiver's fault
    record.http_status = attempt.http_status;
    record.error = attempt.error;
    record.success = attempt.error.empty();
    record.duration = attempt.duration;
    if (options_.deliveries != nullptr) {
      options_.deliveries->Increment({attempt.result});
    }
    storage::WebhookStore::AttemptOutcome outcome;
    if (record.success) {
      outcome.advance = i + 1 == types.size();
    } else {
      const absl::Time now = clock_->Now();
      outcome.attempts = e.attempts + 1;
      outcome.first_failure_time = e.first_failure_time.value_or(now);
      if (now - *outcome.first_failure_time >= options_.retry_window) {
        outcome.disable_reason = absl::StrCat(
            "failing since ",
            absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", *outcome.first_failure_time,
                             absl::UTCTimeZone()),
            " (", outcome.attempts, " attempts); last error: ", attempt.error);
        if (options_.disabled != nullptr) options_.disabled->Increment({});
        SMSGW_LOG(kWarning) << "webhooks: endpoint " << e.id
                            << " disabled: " << *outcome.disable_reason;
      } else {
        double unit = 0;
        {
          absl::MutexLock lock(&mu_);
          unit = absl::Uniform(random_, 0.0, 1.0);
        }
        outcome.next_attempt_time =
            now + RetryDelay(options_.backoff, outcome.attempts, unit);
      }
    }
    const absl::Status stored = store_->RecordAttempt(record, outcome);
    if (!stored.ok() && !absl::IsNotFound(stored)) {
      SMSGW_LOG(kWarning) << "webhooks: cannot record an attempt: " << stored;
    }
    if (!record.success) break;
  }
  {
    absl::MutexLock lock(&mu_);
    in_flight_.erase(e.id);
    woken_ = true;  // its next event, if any, goes now
  }
}

WebhookWorker::Attempt WebhookWorker::Post(const storage::WebhookEndpoint& e,
                                           const std::string& webhook_id,
                                           const std::string& body) {
  Attempt out;
  const absl::Time start = clock_->Now();
  auto finish = [&](std::string error, std::string result) {
    out.error = std::move(error);
    out.result = std::move(result);
    out.duration = clock_->Now() - start;
    return out;
  };
  absl::StatusOr<WebhookTarget> target =
      ParseWebhookUrl(e.url, options_.allow_private);
  if (!target.ok()) return finish(std::string(target.status().message()), "refused");
  absl::StatusOr<std::vector<std::string>> addresses =
      ResolvePublic(target->host, options_.allow_private);
  if (!addresses.ok()) {
    return finish(std::string(addresses.status().message()),
                  absl::IsInvalidArgument(addresses.status()) ? "refused"
                                                              : "network_error");
  }
  const int64_t timestamp = absl::ToUnixSeconds(clock_->Now());
  absl::StatusOr<std::string> signature =
      Sign(e.secret, webhook_id, timestamp, body);
  if (!signature.ok()) return finish(std::string(signature.status().message()), "internal");
  std::string signatures = *signature;
  if (!e.previous_secret.empty() && e.previous_secret_expire_time.has_value() &&
      *e.previous_secret_expire_time > clock_->Now()) {
    absl::StatusOr<std::string> old =
        Sign(e.previous_secret, webhook_id, timestamp, body);
    if (old.ok()) absl::StrAppend(&signatures, " ", *old);
  }

  CURL* curl = curl_easy_init();
  if (curl == nullptr) return finish("curl_easy_init failed", "internal");
  std::vector<std::string> pinned;
  for (const std::string& a : *addresses) {
    pinned.push_back(a.find(':') != std::string::npos ? absl::StrCat("[", a, "]")
                                                      : a);
  }
  const std::string resolve = absl::StrCat(target->host, ":", target->port, ":",
                                           absl::StrJoin(pinned, ","));
  curl_slist* resolve_list = curl_slist_append(nullptr, resolve.c_str());
  curl_slist* headers = nullptr;
  for (const std::string& h :
       {std::string("content-type: application/json"),
        absl::StrCat("webhook-id: ", webhook_id),
        absl::StrCat("webhook-timestamp: ", timestamp),
        absl::StrCat("webhook-signature: ", signatures),
        std::string("user-agent: smsgw-webhooks/1"), std::string("Expect:")}) {
    headers = curl_slist_append(headers, h.c_str());
  }
  Received received;
  received.cap = options_.max_response_bytes;
  curl_easy_setopt(curl, CURLOPT_URL, target->url.c_str());
  curl_easy_setopt(curl, CURLOPT_RESOLVE, resolve_list);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR,
                   options_.allow_private ? "http,https" : "https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROXY, "");  // never an environment proxy
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.timeout)));
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &received);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, Progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &stopping_);
  const CURLcode rc = curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  char* ip = nullptr;
  curl_easy_getinfo(curl, CURLINFO_PRIMARY_IP, &ip);
  const std::string connected = ip != nullptr ? ip : "";
  curl_easy_cleanup(curl);
  curl_slist_free_all(headers);
  curl_slist_free_all(resolve_list);
  out.http_status = static_cast<int>(code);
  if (!options_.allow_private && !connected.empty() &&
      !IsPublicAddress(connected)) {
    out.http_status = 0;
    return finish(absl::StrCat("connected to non-public address ", connected),
                  "refused");
  }
  if (rc != CURLE_OK) {
    out.http_status = 0;
    return finish(absl::StrCat(rc == CURLE_OPERATION_TIMEDOUT
                                   ? "no answer within the timeout: "
                                   : "request failed: ",
                               curl_easy_strerror(rc)),
                  rc == CURLE_OPERATION_TIMEDOUT ? "timeout" : "network_error");
  }
  if (code < 200 || code > 299) {
    return finish(absl::StrCat("HTTP ", code, ": ", Excerpt(received.body)),
                  "http_error");
  }
  return finish("", "success");
}

}  // namespace smsgw::events
