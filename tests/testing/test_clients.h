// File: test_clients.h
//
// gRPC clients for integration tests against a ServerProcess.
#ifndef SMSGW_TESTS_TESTING_TEST_CLIENTS_H_
#define SMSGW_TESTS_TESTING_TEST_CLIENTS_H_

#include <grpcpp/client_context.h>

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "client/smsgw_client.h"
#include "tests/testing/server_process.h"

namespace smsgw::testing {

inline constexpr char kTestPassword[] = "correct horse";

// A client for `server` with no token yet.
std::unique_ptr<client::SmsgwClient> ClientFor(
    const ServerProcess& server, absl::Duration timeout = absl::Seconds(20));

// A client signed up as `username` (and so holding its token). Records a
// test failure, and returns a client without a token, if SignUp fails.
std::unique_ptr<client::SmsgwClient> SignedUpClient(
    const ServerProcess& server, const std::string& username,
    const std::string& password = kTestPassword,
    const std::string& phone_number = "");

// A client logged in as an existing `username`; failures as SignedUpClient.
std::unique_ptr<client::SmsgwClient> LoggedInClient(
    const ServerProcess& server, const std::string& username,
    const std::string& password = kTestPassword);

// Sets `context` up for a hand-made call as the holder of `token`: the
// `authorization: Bearer <token>` metadata, and a deadline `deadline` from now.
void Authorize(::grpc::ClientContext& context, const std::string& token,
               absl::Duration deadline);

}  // namespace smsgw::testing

#endif  // SMSGW_TESTS_TESTING_TEST_CLIENTS_H_
