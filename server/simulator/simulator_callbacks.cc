// File: simulator_callbacks.cc
//
// The simulator's status progression and its status callbacks (simulator.h):
// the steps run on the scheduler thread at `callback_delay` intervals, the
// callbacks are POSTed by the poster threads, each message's through the one
// poster its SID hashes to.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "httplib.h"
#include "server/simulator/simulator_internal.h"
#include "server/twilio/form_encoding.h"
#include "server/twilio/message_json.h"

namespace smsgw::twilio {
namespace {

using simulator_internal::kFormContentType;
using simulator_internal::MeasureBody;
using simulator_internal::NowSeconds;
using simulator_internal::SegmentsOf;
using simulator_internal::SplitWebhookUrl;
using simulator_internal::ValueOr;
using simulator_internal::WebhookTarget;

// Twilio's list price for a US SMS segment at the time of writing.
constexpr double kPricePerSegmentUsd = 0.0079;

}  // namespace

void TwilioSimulator::Impl::ScheduleProgress(const StoredMessage& stored) {
  const ProviderMessage& m = stored.message;
  std::vector<std::string> steps;
  if (m.status == "accepted") steps.push_back("queued");
  steps.push_back("sending");
  steps.push_back("sent");
  bool undeliverable = std::find(options_.undeliverable_numbers.begin(),
                                 options_.undeliverable_numbers.end(),
                                 m.to) != options_.undeliverable_numbers.end();
  steps.push_back(undeliverable ? "undelivered" : "delivered");

  absl::Time now = absl::Now();
  auto slot_time = [&](size_t i) {
    return now + options_.callback_delay * static_cast<double>(i + 1);
  };
  for (size_t i = 0; i < steps.size(); ++i) {
    scheduler_->At(slot_time(i), [this, sid = m.sid, status = steps[i]] {
      ApplyStep(sid, status);
    });
  }
  if (!options_.send_status_callbacks || stored.status_callback.empty()) return;

  // Callback k goes out in the slot of step k / repeat, so without shuffle
  // each step's callbacks follow its store update; with shuffle only the
  // contents are permuted.
  std::vector<size_t> order;
  for (size_t i = 0; i < steps.size(); ++i) {
    for (int r = 0; r < options_.repeat_callbacks; ++r) order.push_back(i);
  }
  if (options_.shuffle_callbacks) {
    absl::MutexLock lock(&mu_);
    std::shuffle(order.begin(), order.end(), bitgen_);
  }
  for (size_t k = 0; k < order.size(); ++k) {
    size_t slot = k / options_.repeat_callbacks;
    FormParams params =
        CallbackParams(m, steps[order[k]], stored.from_when_queued);
    scheduler_->At(slot_time(slot), [this, url = stored.status_callback,
                                     params = std::move(params)] {
      QueueCallback(url, params, /*is_retry=*/false);
    });
  }
}

FormParams TwilioSimulator::Impl::CallbackParams(const ProviderMessage& m,
                                                 const std::string& status,
                                                 const std::string& from) {
  FormParams params = {{"SmsSid", m.sid},
                       {"SmsStatus", status},
                       {"MessageStatus", status},
                       {"To", m.to},
                       {"MessageSid", m.sid},
                       {"AccountSid", options_.account_sid},
                       {"From", from},
                       {"ApiVersion", std::string(kTwilioApiVersion)}};
  if (!m.messaging_service_sid.empty()) {
    params.emplace_back("MessagingServiceSid", m.messaging_service_sid);
  }
  if (status == "undelivered" || status == "failed") {
    params.emplace_back("ErrorCode", "30003");
  }
  if (status == "delivered" || status == "undelivered") {
    params.emplace_back(
        "RawDlrDoneDate",
        absl::FormatTime("%y%m%d%H%M", absl::Now(), absl::UTCTimeZone()));
  }
  return params;
}

void TwilioSimulator::Impl::ApplyStep(const std::string& sid,
                                      const std::string& status) {
  absl::MutexLock lock(&mu_);
  auto it = index_.find(sid);
  if (it == index_.end()) return;
  StoredMessage& stored = messages_[it->second];
  if (stored.deleted) return;
  ProviderMessage& m = stored.message;
  absl::Time now = NowSeconds();
  m.status = status;
  m.date_updated = now;
  if (status == "queued") {
    m.from = stored.from_when_queued;
    m.num_segments = SegmentsOf(m.body);
  } else if (status == "sent") {
    m.date_sent = now;
    m.price = absl::StrFormat(
        "%.5f",
        // A message without text (MMS) is still billed as one.
        -kPricePerSegmentUsd * std::max(1, m.num_segments.value_or(1)));
    m.price_unit = "USD";
  } else if (status == "undelivered") {
    m.error_code = 30003;
    m.error_message = "Unreachable destination handset";
  }
}

void TwilioSimulator::Impl::ConfigureClient(httplib::Client& client) const {
  auto timeout = absl::ToChronoMicroseconds(options_.webhook_timeout);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  client.set_keep_alive(false);
  // A POST leaves in two writes (headers, body); see Start().
  client.set_tcp_nodelay(true);
  // Send the target byte-for-byte: the signature covers the URL as configured.
  client.set_url_encode(false);
}

absl::StatusOr<httplib::Response> TwilioSimulator::Impl::PostWebhook(
    httplib::Client& client, const WebhookTarget& target,
    const FormParams& params) {
  httplib::Headers headers = {{"User-Agent", "TwilioProxy/1.1"},
                              {"Accept", "*/*"}};
  if (options_.signer) {
    headers.emplace("X-Twilio-Signature",
                    options_.signer(target.signed_url, params));
  }
  httplib::Result result =
      client.Post(target.path, headers, EncodeForm(params), kFormContentType);
  if (!result) {
    return absl::UnavailableError(
        absl::StrCat("no answer from ", target.signed_url, ": ",
                     httplib::to_string(result.error())));
  }
  return result.value();
}

void TwilioSimulator::Impl::QueueCallback(const std::string& url,
                                          const FormParams& params,
                                          bool is_retry) {
  poster_threads_->Run(ValueOr(params, "MessageSid"),
                       [this, url, params, is_retry](int shard) {
                         SendCallback(shard, url, params, is_retry);
                       });
}

void TwilioSimulator::Impl::AbortPosts() {
  for (const std::unique_ptr<Poster>& poster : posters_) {
    absl::MutexLock lock(&poster->mu);
    if (poster->in_flight != nullptr) poster->in_flight->stop();
  }
}

void TwilioSimulator::Impl::SendCallback(int shard, const std::string& url,
                                         const FormParams& params,
                                         bool is_retry) {
  absl::StatusOr<WebhookTarget> target = SplitWebhookUrl(url);
  if (!target.ok()) {
    SMSGW_LOG(kWarning) << "twilio simulator bad StatusCallback url=" << url;
    return;
  }
  Poster& poster = *posters_[shard];
  std::unique_ptr<httplib::Client>& client = poster.clients[target->origin];
  if (client == nullptr) {
    client = std::make_unique<httplib::Client>(target->origin);
    ConfigureClient(*client);
    // Callbacks to one receiver come in runs under load: one connection
    // for the run (the poster closes it when idle, see kPosterIdleClose).
    client->set_keep_alive(true);
  }
  {
    absl::MutexLock lock(&poster.mu);
    if (poster_threads_->stopping()) return;
    poster.in_flight = client.get();
  }
  absl::StatusOr<httplib::Response> answer =
      PostWebhook(*client, *target, params);
  {
    absl::MutexLock lock(&poster.mu);
    poster.in_flight = nullptr;
  }
  std::string failure;
  if (!answer.ok()) {
    failure = std::string(answer.status().message());
  } else if (answer->status < 200 || answer->status > 299) {
    failure = absl::StrCat("HTTP ", answer->status);
  }
  if (failure.empty()) return;
  SMSGW_LOG(kWarning) << "twilio simulator status callback failed url=" << url
                      << " sid=" << ValueOr(params, "MessageSid")
                      << " status=" << ValueOr(params, "MessageStatus")
                      << " retry=" << (is_retry ? "no" : "yes")
                      << " error=" << failure;
  if (!is_retry) {
    scheduler_->At(absl::Now() + options_.callback_delay,
                   [this, url, params] { QueueCallback(url, params, true); });
  }
}

}  // namespace smsgw::twilio
