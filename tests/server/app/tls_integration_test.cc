// gRPC over TLS: with SMSGW_TLS_CERT/KEY set, a TLS client that trusts the
// certificate is served and a plaintext client is refused.
#include <fstream>
#include <sstream>

#include "client/smsgw_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/run_command.h"
#include "tests/testing/server_fixture.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw {
namespace {

using ::smsgw::client::SmsgwClient;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(TlsIntegrationTest, TlsClientIsServedAndPlaintextIsRefused) {
  smsgw::testing::TempDir dir;
  const std::string cert = dir.File("cert.pem");
  const std::string key = dir.File("key.pem");
  testing::CommandResult made = testing::RunCommand(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
       "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
       "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"});
  ASSERT_EQ(made.exit_code, 0) << made.err;

  auto started = testing::StartServerProcess(
      dir.File("data/smsgw.db"),
      {{"SMSGW_TLS_CERT", cert}, {"SMSGW_TLS_KEY", key}});
  ASSERT_NE(started, nullptr);
  const testing::ServerProcess& server = *started;

  SmsgwClient::Options tls;
  tls.target = server.grpc_address();
  tls.use_tls = true;
  tls.ca_cert_pem = Slurp(cert);
  tls.timeout = absl::Seconds(10);
  auto secure = *SmsgwClient::Create(tls);
  auto session = secure->SignUp("ann", "correct horse", "");
  ASSERT_THAT(session, testing::IsOk());

  SmsgwClient::Options plain;
  plain.target = server.grpc_address();
  plain.timeout = absl::Seconds(3);
  auto insecure = *SmsgwClient::Create(plain);
  EXPECT_THAT(insecure->Login("ann", "correct horse"),
              StatusIs(absl::StatusCode::kUnavailable));

  // A TLS client that does not trust the certificate is refused too.
  SmsgwClient::Options untrusting = tls;
  untrusting.ca_cert_pem = "";
  auto doubtful = *SmsgwClient::Create(untrusting);
  EXPECT_THAT(doubtful->Login("ann", "correct horse"),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST(TlsIntegrationTest, CertificateWithoutKeyIsAConfigurationError) {
  smsgw::testing::TempDir dir;
  EXPECT_THAT(testing::StartStatus({{"SMSGW_TLS_CERT", dir.File("cert.pem")}}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::HasSubstr("SMSGW_TLS_KEY")));
}

}  // namespace
}  // namespace smsgw
