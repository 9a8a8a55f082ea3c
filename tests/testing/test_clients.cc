#include "tests/testing/test_clients.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace smsgw::testing {

std::unique_ptr<client::SmsgwClient> ClientFor(const ServerProcess& server,
                                               absl::Duration timeout) {
  client::SmsgwClient::Options options;
  options.target = server.grpc_address();
  options.timeout = timeout;
  return *client::SmsgwClient::Create(options);
}

std::unique_ptr<client::SmsgwClient> SignedUpClient(
    const ServerProcess& server, const std::string& username,
    const std::string& password, const std::string& phone_number) {
  auto client = ClientFor(server);
  auto session = client->SignUp(username, password, phone_number);
  EXPECT_TRUE(session.ok()) << "sign up " << username << ": "
                            << session.status();
  if (session.ok()) client->set_access_token(session->access_token());
  return client;
}

std::unique_ptr<client::SmsgwClient> LoggedInClient(
    const ServerProcess& server, const std::string& username,
    const std::string& password) {
  auto client = ClientFor(server);
  auto session = client->Login(username, password);
  EXPECT_TRUE(session.ok()) << "log in " << username << ": "
                            << session.status();
  if (session.ok()) client->set_access_token(session->access_token());
  return client;
}

void Authorize(::grpc::ClientContext& context, const std::string& token,
               absl::Duration deadline) {
  context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
}

}  // namespace smsgw::testing
