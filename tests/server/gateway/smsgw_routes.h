// The route table of smsgw's four real services, for the gateway tests.
#ifndef SMSGW_TESTS_SERVER_GATEWAY_SMSGW_ROUTES_H_
#define SMSGW_TESTS_SERVER_GATEWAY_SMSGW_ROUTES_H_

#include <vector>

#include "gtest/gtest.h"
#include "server/gateway/http_route.h"
#include "smsgw/v1/auth.grpc.pb.h"
#include "smsgw/v1/groups.grpc.pb.h"
#include "smsgw/v1/messaging.grpc.pb.h"
#include "smsgw/v1/webhooks.grpc.pb.h"

namespace smsgw::gateway {

// Fixture: services_ and routes_ of AuthService, MessagingService,
// GroupService and WebhookService as the server builds them.
class SmsgwRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Links the generated files in, so that the pool knows the services.
    (void)v1::SignUpRequest::descriptor();
    (void)v1::SendMessageRequest::descriptor();
    (void)v1::CreateGroupRequest::descriptor();
    (void)v1::CreateWebhookRequest::descriptor();
    auto services = GeneratedServices(
        {v1::AuthService::service_full_name(),
         v1::MessagingService::service_full_name(),
         v1::GroupService::service_full_name(),
         v1::WebhookService::service_full_name()});
    ASSERT_TRUE(services.ok()) << services.status();
    services_ = *services;
    auto routes = RoutesOf(services_);
    ASSERT_TRUE(routes.ok()) << routes.status();
    routes_ = *std::move(routes);
  }
  std::vector<const google::protobuf::ServiceDescriptor*> services_;
  std::vector<HttpRoute> routes_;
};

}  // namespace smsgw::gateway

#endif  // SMSGW_TESTS_SERVER_GATEWAY_SMSGW_ROUTES_H_
