// MessagingService.WatchMessages end to end: the real smsgw-server on loopback
// ports (sending through its embedded Twilio simulator), real gRPC streams.
//
// Status callbacks of the simulator reach the server once the webhook adapter
// applies them; the assertions below hold with or without those extra
// STATUS_CHANGED events (they read up to a known event, and compare cursors).
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <signal.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/smsgw_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/server_fixture.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_clients.h"

namespace smsgw {
namespace {

using ::smsgw::client::SmsgwClient;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kPeer[] = "+14155550100";

// One open WatchMessages stream.
class Stream {
 public:
  Stream(SmsgwClient* client, const v1::WatchMessagesRequest& request,
         absl::Duration deadline = absl::Seconds(60))
      : context_(client->NewContext()) {
    context_->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    reader_ = client->messaging()->WatchMessages(context_.get(), request);
    // Headers come once the subscription is in place (or with an error).
    reader_->WaitForInitialMetadata();
  }

  // Reads one event; nullopt when the stream ended.
  std::optional<v1::MessageEvent> Read() {
    v1::WatchMessagesResponse response;
    if (!reader_->Read(&response)) return std::nullopt;
    events_.push_back(response.event());
    return response.event();
  }

  // Reads until an event of `type` for message `id` (with `status`, if
  // given) arrived; false when the stream ended first.
  bool ReadUntil(const std::string& id, v1::MessageEventType type,
                 v1::MessageStatus status = v1::MESSAGE_STATUS_UNSPECIFIED) {
    while (std::optional<v1::MessageEvent> e = Read()) {
      if (e->message().id() == id && e->type() == type &&
          (status == v1::MESSAGE_STATUS_UNSPECIFIED ||
           e->message().status() == status)) {
        return true;
      }
    }
    return false;
  }

  void Cancel() { context_->TryCancel(); }
  ::grpc::Status Finish() { return reader_->Finish(); }
  const std::vector<v1::MessageEvent>& events() const { return events_; }

  // Ids of the events of `type`, in order.
  std::vector<std::string> Ids(v1::MessageEventType type) const {
    std::vector<std::string> ids;
    for (const v1::MessageEvent& e : events_) {
      if (e.type() == type) ids.push_back(e.message().id());
    }
    return ids;
  }

 private:
  std::unique_ptr<::grpc::ClientContext> context_;
  std::unique_ptr<::grpc::ClientReader<v1::WatchMessagesResponse>> reader_;
  std::vector<v1::MessageEvent> events_;
};

int64_t CursorOf(const v1::MessageEvent& e) {
  int64_t cursor = 0;
  EXPECT_TRUE(absl::SimpleAtoi(e.cursor(), &cursor)) << e.cursor();
  return cursor;
}

void ExpectIncreasingCursors(const std::vector<v1::MessageEvent>& events) {
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_LT(CursorOf(events[i - 1]), CursorOf(events[i])) << "at " << i;
  }
}

class WatchIntegrationTest : public testing::ServerTest {
 protected:
  // Sends an SMS and returns its id ("" on failure).
  std::string Send(SmsgwClient* client, const std::string& body,
                   const std::string& conversation = "") {
    v1::SendMessageRequest request;
    request.set_to(kPeer);
    request.set_body(body);
    request.set_conversation_id(conversation);
    auto sent = client->SendMessage(request);
    EXPECT_THAT(sent, IsOk());
    if (!sent.ok()) return "";
    EXPECT_EQ(sent->message().status(), v1::MESSAGE_STATUS_QUEUED);
    return sent->message().id();
  }

  static v1::WatchMessagesRequest After(const std::string& cursor) {
    v1::WatchMessagesRequest request;
    request.set_after_cursor(cursor);
    return request;
  }
};

TEST_F(WatchIntegrationTest, ASendShowsAsCreatedThenStatusChanges) {
  StartWithAnn();
  Stream stream(ann_.get(), {});
  const std::string id = Send(ann_.get(), "hello watchers");
  ASSERT_TRUE(stream.ReadUntil(id, v1::MESSAGE_EVENT_TYPE_STATUS_CHANGED,
                               v1::MESSAGE_STATUS_QUEUED));
  const std::vector<v1::MessageEvent>& events = stream.events();
  ASSERT_GE(events.size(), 2u);
  const v1::MessageEvent& created = events[0];
  EXPECT_EQ(created.type(), v1::MESSAGE_EVENT_TYPE_CREATED);
  EXPECT_EQ(created.message().id(), id);
  EXPECT_EQ(created.message().status(), v1::MESSAGE_STATUS_PENDING);
  EXPECT_EQ(created.message().body(), "hello watchers");
  EXPECT_EQ(created.message().owner_username(), "ann");
  EXPECT_EQ(created.message().to(), kPeer);
  EXPECT_TRUE(created.has_event_time());
  ExpectIncreasingCursors(events);
  // Statuses only move forward, whatever callbacks arrive in between.
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_EQ(events[i].type(), v1::MESSAGE_EVENT_TYPE_STATUS_CHANGED);
    EXPECT_GT(events[i].message().status(), events[i - 1].message().status());
  }

  ASSERT_THAT(ann_->DeleteMessage(id), IsOk());
  ASSERT_TRUE(stream.ReadUntil(id, v1::MESSAGE_EVENT_TYPE_DELETED));
  const v1::MessageEvent& deleted = stream.events().back();
  EXPECT_EQ(deleted.message().conversation_id(), kPeer);
  EXPECT_TRUE(deleted.message().body().empty());
  stream.Cancel();
  EXPECT_EQ(stream.Finish().error_code(), ::grpc::StatusCode::CANCELLED);
}

TEST_F(WatchIntegrationTest, ResumingAfterAReconnectMissesNothingAndRepeatsNothing) {
  StartWithAnn();
  // Sees the whole feed, to compare the resumed stream with.
  Stream everything(ann_.get(), After("0"));

  Stream first(ann_.get(), {});
  const std::string m1 = Send(ann_.get(), "one");
  const std::string m2 = Send(ann_.get(), "two");
  ASSERT_TRUE(first.ReadUntil(m2, v1::MESSAGE_EVENT_TYPE_STATUS_CHANGED,
                              v1::MESSAGE_STATUS_QUEUED));
  const std::string resume = first.events().back().cursor();
  EXPECT_THAT(first.Ids(v1::MESSAGE_EVENT_TYPE_CREATED), ElementsAre(m1, m2));
  first.Cancel();
  EXPECT_EQ(first.Finish().error_code(), ::grpc::StatusCode::CANCELLED);

  const std::string m3 = Send(ann_.get(), "three");
  const std::string m4 = Send(ann_.get(), "four");
  const std::string m5 = Send(ann_.get(), "five");

  Stream resumed(ann_.get(), After(resume));
  ASSERT_TRUE(resumed.ReadUntil(m5, v1::MESSAGE_EVENT_TYPE_STATUS_CHANGED,
                                v1::MESSAGE_STATUS_QUEUED));
  EXPECT_THAT(resumed.Ids(v1::MESSAGE_EVENT_TYPE_CREATED),
              ElementsAre(m3, m4, m5));
  ExpectIncreasingCursors(resumed.events());

  // Exactly the feed after the resume cursor, event for event.
  ASSERT_TRUE(everything.ReadUntil(m5, v1::MESSAGE_EVENT_TYPE_STATUS_CHANGED,
                                   v1::MESSAGE_STATUS_QUEUED));
  std::vector<std::string> want;
  for (const v1::MessageEvent& e : everything.events()) {
    if (CursorOf(e) > CursorOf(first.events().back())) {
      want.push_back(absl::StrCat(e.cursor(), " ", e.type(), " ",
                                  e.message().id()));
    }
  }
  std::vector<std::string> got;
  for (const v1::MessageEvent& e : resumed.events()) {
    got.push_back(absl::StrCat(e.cursor(), " ", e.type(), " ", e.message().id()));
  }
  EXPECT_EQ(got, want);
}

TEST_F(WatchIntegrationTest, AConversationFilterShowsOnlyThatConversation) {
  StartWithAnn();
  const std::string a0 = Send(ann_.get(), "opens alpha", "alpha");
  v1::WatchMessagesRequest request;
  request.set_conversation_id("alpha");
  Stream alpha(ann_.get(), request);
  Stream all(ann_.get(), {});
  const std::string b1 = Send(ann_.get(), "in beta", "beta");
  const std::string a1 = Send(ann_.get(), "in alpha", "alpha");
  ASSERT_TRUE(alpha.ReadUntil(a1, v1::MESSAGE_EVENT_TYPE_STATUS_CHANGED,
                              v1::MESSAGE_STATUS_QUEUED));
  // The opener's later status changes (the simulator's sent and delivered)
  // may come after the stream opened, when the server is slow (TSan build).
  for (const v1::MessageEvent& e : alpha.events()) {
    EXPECT_EQ(e.message().conversation_id(), "alpha");
    EXPECT_THAT(e.message().id(), ::testing::AnyOf(a1, a0));
  }
  ASSERT_TRUE(all.ReadUntil(a1, v1::MESSAGE_EVENT_TYPE_STATUS_CHANGED,
                            v1::MESSAGE_STATUS_QUEUED));
  EXPECT_THAT(all.Ids(v1::MESSAGE_EVENT_TYPE_CREATED), ElementsAre(b1, a1));

  request.set_conversation_id("no-such-thread");
  Stream missing(ann_.get(), request);
  EXPECT_FALSE(missing.Read().has_value());
  EXPECT_EQ(missing.Finish().error_code(), ::grpc::StatusCode::NOT_FOUND);
}

TEST_F(WatchIntegrationTest, FiftyConcurrentWatchersAllGetEveryEvent) {
  StartWithAnn({{"SMSGW_WATCH_MAX_STREAMS", "64"}});
  std::vector<std::unique_ptr<Stream>> streams;
  for (int i = 0; i < 50; ++i) {
    streams.push_back(std::make_unique<Stream>(ann_.get(),
                                               v1::WatchMessagesRequest()));
  }
  std::vector<std::string> sent;
  for (int i = 0; i < 5; ++i) sent.push_back(Send(ann_.get(), absl::StrCat("m", i)));
  for (auto& stream : streams) {
    ASSERT_TRUE(stream->ReadUntil(sent.back(),
                                  v1::MESSAGE_EVENT_TYPE_STATUS_CHANGED,
                                  v1::MESSAGE_STATUS_QUEUED));
    EXPECT_EQ(stream->Ids(v1::MESSAGE_EVENT_TYPE_CREATED), sent);
    ExpectIncreasingCursors(stream->events());
    stream->Cancel();
    stream->Finish();
  }
}

TEST_F(WatchIntegrationTest, AnotherUsersEventsNeverAppear) {
  StartWithAnn();
  auto bob = SignedIn("bob");
  Stream ann_stream(ann_.get(), {});
  Stream bob_stream(bob.get(), {});
  const std::string b1 = Send(bob.get(), "bob's first");
  const std::string a1 = Send(ann_.get(), "ann's");
  const std::string b2 = Send(bob.get(), "bob's second");
  ASSERT_THAT(bob->DeleteMessage(b1), IsOk());
  const std::string a2 = Send(ann_.get(), "ann's last");
  ASSERT_TRUE(ann_stream.ReadUntil(a2, v1::MESSAGE_EVENT_TYPE_STATUS_CHANGED,
                                   v1::MESSAGE_STATUS_QUEUED));
  for (const v1::MessageEvent& e : ann_stream.events()) {
    EXPECT_EQ(e.message().owner_username(), "ann") << e.ShortDebugString();
    EXPECT_TRUE(e.message().id() == a1 || e.message().id() == a2);
  }
  ASSERT_TRUE(bob_stream.ReadUntil(b1, v1::MESSAGE_EVENT_TYPE_DELETED));
  EXPECT_THAT(bob_stream.Ids(v1::MESSAGE_EVENT_TYPE_CREATED),
              ElementsAre(b1, b2));
}

TEST_F(WatchIntegrationTest, BadRequestsEndTheStreamAtOnce) {
  StartWithAnn();
  {
    auto anonymous = *SmsgwClient::Create({.target = server_->grpc_address()});
    Stream stream(anonymous.get(), {});
    EXPECT_FALSE(stream.Read().has_value());
    EXPECT_EQ(stream.Finish().error_code(),
              ::grpc::StatusCode::UNAUTHENTICATED);
  }
  for (const char* cursor : {"abc", "-1", "999999"}) {
    SCOPED_TRACE(cursor);
    Stream stream(ann_.get(), After(cursor));
    EXPECT_FALSE(stream.Read().has_value());
    ::grpc::Status status = stream.Finish();
    EXPECT_EQ(status.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("after_cursor"));
  }
}

TEST_F(WatchIntegrationTest, TooManyStreamsOfOneUserAreRefused) {
  StartWithAnn({{"SMSGW_WATCH_MAX_STREAMS", "3"}});
  std::vector<std::unique_ptr<Stream>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<Stream>(ann_.get(),
                                            v1::WatchMessagesRequest()));
  }
  Stream refused(ann_.get(), {});
  EXPECT_FALSE(refused.Read().has_value());
  ::grpc::Status status = refused.Finish();
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("too many open"));

  // Closing one frees its slot (once the server saw the cancel).
  open[0]->Cancel();
  open[0]->Finish();
  bool reopened = false;
  for (int attempt = 0; attempt < 50 && !reopened; ++attempt) {
    Stream again(ann_.get(), {}, absl::Seconds(2));
    const std::string id = Send(ann_.get(), "probe");
    reopened = again.ReadUntil(id, v1::MESSAGE_EVENT_TYPE_CREATED);
    again.Cancel();
    again.Finish();
    if (!reopened) absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(reopened);
}

TEST_F(WatchIntegrationTest, AReaderThatStopsReadingIsCutOffAndResumes) {
  StartWithAnn({{"SMSGW_WATCH_BUFFER", "2"}});
  // A small HTTP/2 window, so that unread events back up into the server's
  // buffer instead of into the transport.
  ::grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
  auto channel = ::grpc::CreateCustomChannel(
      server_->grpc_address(), ::grpc::InsecureChannelCredentials(), args);
  auto stub = v1::MessagingService::NewStub(channel);
  ::grpc::ClientContext context;
  testing::Authorize(context, ann_->access_token(), absl::Seconds(120));
  auto reader = stub->WatchMessages(&context, v1::WatchMessagesRequest());
  reader->WaitForInitialMetadata();

  const std::string big(1600, 'x');
  std::string last;
  for (int i = 0; i < 40; ++i) last = Send(ann_.get(), big);
  // The grace period of a full buffer (1 s) passes; the next event ends it.
  // A few such events, spaced past the grace period: on a loaded machine
  // the status callbacks of the 40 sends may still be arriving, and the
  // buffer may not yet have been full for a whole second at the first one.
  for (int i = 0; i < 4; ++i) {
    absl::SleepFor(absl::Milliseconds(1500));
    last = Send(ann_.get(), absl::StrCat("one too many #", i));
  }

  std::vector<v1::MessageEvent> read;
  v1::WatchMessagesResponse response;
  while (reader->Read(&response)) read.push_back(response.event());
  ::grpc::Status status = reader->Finish();
  ASSERT_EQ(status.error_code(), ::grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message() << " after " << read.size() << " events";
  ASSERT_FALSE(read.empty());
  const std::string resume = read.back().cursor();
  EXPECT_THAT(status.error_message(),
              HasSubstr(absl::StrCat("client too slow; resume with after_cursor=",
                                     resume)));
  ExpectIncreasingCursors(read);

  Stream resumed(ann_.get(), After(resume));
  ASSERT_TRUE(resumed.ReadUntil(last, v1::MESSAGE_EVENT_TYPE_STATUS_CHANGED,
                                v1::MESSAGE_STATUS_QUEUED));
  EXPECT_GT(CursorOf(resumed.events().front()), CursorOf(read.back()));
  ExpectIncreasingCursors(resumed.events());
}

TEST_F(WatchIntegrationTest, ShutdownEndsStreamsUnavailableWithTheResumeCursor) {
  StartWithAnn();
  Stream stream(ann_.get(), {});
  const std::string id = Send(ann_.get(), "last words");
  ASSERT_TRUE(stream.ReadUntil(id, v1::MESSAGE_EVENT_TYPE_STATUS_CHANGED,
                               v1::MESSAGE_STATUS_QUEUED));
  const absl::Time start = absl::Now();
  std::thread stopper([this] { server_->Stop(SIGTERM); });
  while (stream.Read().has_value()) {
  }
  ::grpc::Status status = stream.Finish();
  const absl::Duration ended_after = absl::Now() - start;
  stopper.join();
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(),
              HasSubstr(absl::StrCat("server shutting down; resume with "
                                     "after_cursor=",
                                     stream.events().back().cursor())));
  // Not after the shutdown grace period (10 s): the stream was ended, not
  // waited out.
  EXPECT_LT(ended_after, absl::Seconds(5));
}

}  // namespace
}  // namespace smsgw
