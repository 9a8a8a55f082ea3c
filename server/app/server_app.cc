#include "server/app/server_app.h"

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "httplib.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "server/app/dispatch_lease.h"
#include "server/app/secret_key.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/status_macros.h"
#include "server/domain/abuse_limits.h"
#include "server/domain/auth_service.h"
#include "server/domain/geo_permissions.h"
#include "server/domain/password_hasher.h"
#include "server/domain/phone_number.h"
#include "server/domain/message_watch_hub.h"
#include "server/domain/message_status.h"
#include "server/domain/messaging_service.h"
#include "server/domain/token_service.h"
#include "server/dispatch/dispatcher.h"
#include "server/dispatch/status_reconciler.h"
#include "server/simulator/simulator.h"
#include "server/twilio/twilio_rest_client.h"
#include "server/twilio/twilio_signature.h"
#include "server/rpc/auth_grpc_service.h"
#include "server/rpc/call_runner.h"
#include "server/rpc/group_grpc_service.h"
#include "server/domain/group_service.h"
#include "server/domain/phone_verification.h"
#include "storage/postgres/pg_database.h"
#include "storage/postgres/pg_group_store.h"
#include "storage/postgres/pg_message_store.h"
#include "storage/postgres/pg_migrations.h"
#include "storage/postgres/pg_secrets.h"
#include "storage/postgres/pg_rate_limit_store.h"
#include "storage/postgres/pg_user_store.h"
#include "storage/postgres/pg_webhook_store.h"
#include "storage/sqlite/sqlite_group_store.h"
#include "server/rpc/messaging_grpc_service.h"
#include "server/rpc/metrics_interceptor.h"
#include "server/rpc/descriptor_set.h"
#include "server/rpc/proto_convert.h"
#include "server/rpc/reflection_service.h"
#include "server/rpc/webhook_grpc_service.h"
#include "server/domain/delivery_service.h"
#include "server/events/webhook_registry.h"
#include "server/events/webhook_worker.h"
#include "server/gateway/json_transcoding.h"
#include "server/gateway/openapi_document.h"
#include "server/gateway/rest_gateway.h"
#include "server/webhooks/twilio_webhook_handler.h"
#include "server/webhooks/webhook_server.h"
#include "storage/sqlite/database.h"
#include "storage/sqlite/sqlite_message_store.h"
#include "storage/sqlite/sqlite_rate_limit_store.h"
#include "storage/sqlite/sqlite_user_store.h"
#include "storage/sqlite/sqlite_webhook_store.h"

namespace smsgw::app {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": cannot read ", path));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::Status SplitHostPort(const std::string& addr, std::string* host,
                           int* port) {
  const size_t colon = addr.rfind(':');
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(addr.substr(colon + 1), port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("address must be host:port, got \"", addr, "\""));
  }
  *host = addr.substr(0, colon);
  return absl::OkStatus();
}

class ServerAppImpl final : public ServerApp {
 public:
  explicit ServerAppImpl(ServerConfig config) : config_(std::move(config)) {}
  ~ServerAppImpl() override { Shutdown(); }

  absl::Status Init();

  std::string grpc_address() const override { return grpc_address_; }
  std::string http_address() const override { return http_address_; }
  std::string metrics_address() const override { return metrics_address_; }
  void Shutdown() override;
  void Wait() override { stopped_.WaitForNotification(); }

 private:
  absl::Status OpenStorage();
  absl::Status OpenPostgres();
  absl::Status BuildDomain();
  absl::Status StartGrpc();
  absl::Status StartHttp();
  absl::Status StartMessaging();
  absl::Status StartGroups();
  absl::Status StartWebhooks();
  // The work that calls Twilio or drains queues: the dispatcher, the status
  // reconciler, the event-webhook worker. At once on SQLite; on PostgreSQL
  // when this replica takes the dispatch lease.
  absl::Status StartDispatching();

  const ServerConfig config_;
  // Before everything it observes: destroyed last.
  metrics::Registry metrics_;

  // The engine: SQLite (db_) by default, PostgreSQL (pg_pool_) with
  // SMSGW_DB_URL. The stores below are the chosen engine's.
  std::unique_ptr<storage::sqlite::Database> db_;
  std::unique_ptr<storage::postgres::PgPool> pg_pool_;
  // PostgreSQL: which replica dispatches (OpenPostgres; started by Init).
  std::unique_ptr<DispatchLease> lease_;
  std::unique_ptr<storage::UserStore> users_;
  std::unique_ptr<domain::PasswordHasher> hasher_;
  std::unique_ptr<domain::TokenService> tokens_;
  std::unique_ptr<domain::PhoneNumberParser> phones_;
  std::unique_ptr<domain::LoginThrottle> login_throttle_;
  // Sign-up throttle and SMS-pumping guard, counted in rate_limits_.
  std::unique_ptr<storage::RateLimitStore> rate_limits_;
  std::unique_ptr<domain::SignupThrottle> signup_throttle_;
  std::unique_ptr<domain::VerificationGuard> verification_guard_;
  std::unique_ptr<domain::AuthService> auth_;
  std::unique_ptr<storage::MessageStore> messages_;
  std::unique_ptr<twilio::TwilioSimulator> simulator_;
  std::unique_ptr<twilio::TwilioRestClient> provider_;
  std::unique_ptr<dispatch::RateLimiter> rate_limiter_;  // used by dispatcher_
  std::unique_ptr<dispatch::Dispatcher> dispatcher_;
  std::unique_ptr<dispatch::StatusReconciler> reconciler_;  // null when off
  std::unique_ptr<domain::GeoPermissions> geo_;  // SMSGW_ALLOWED_COUNTRIES
  std::unique_ptr<domain::MessagingService> messaging_;
  std::unique_ptr<domain::DeliveryService> delivery_;
  std::unique_ptr<webhooks::TwilioWebhookHandler> webhook_handler_;
  std::unique_ptr<domain::MessageWatchHub> watch_hub_;
  std::vector<std::string> phone_numbers_;  // E.164 senders
  // Groups and phone verification (StartGroups).
  std::unique_ptr<storage::GroupStore> group_store_;
  std::unique_ptr<storage::PhoneVerificationStore> verification_store_;
  std::unique_ptr<domain::GroupService> groups_;
  std::unique_ptr<domain::PhoneVerificationService> verification_;
  // Outbound event webhooks (StartWebhooks).
  std::unique_ptr<storage::WebhookStore> webhook_store_;
  std::unique_ptr<events::WebhookRegistry> webhook_registry_;
  std::unique_ptr<events::WebhookWorker> webhook_worker_;

  std::unique_ptr<Executor> executor_;
  std::unique_ptr<rpc::CallRunner> runner_;
  std::unique_ptr<rpc::AuthGrpcService> auth_grpc_;
  std::unique_ptr<rpc::MessagingGrpcService> messaging_grpc_;
  std::unique_ptr<rpc::GroupGrpcService> group_grpc_;
  std::unique_ptr<rpc::WebhookGrpcService> webhook_grpc_;
  std::unique_ptr<rpc::ReflectionIndex> reflection_index_;
  std::unique_ptr<rpc::ReflectionGrpcService> reflection_grpc_;
  std::unique_ptr<rpc::ReflectionV1GrpcService> reflection_v1_grpc_;
  std::unique_ptr<::grpc::Server> grpc_server_;
  std::unique_ptr<webhooks::WebhookServer> http_;
  std::unique_ptr<gateway::RestGateway> gateway_;
  // GET /metrics on its own port (SMSGW_METRICS_ADDR); null when off.
  std::unique_ptr<webhooks::WebhookServer> metrics_http_;

  // Registers what GET /metrics reports beyond the counters the components
  // keep themselves; they are read at scrape time. Needs the HTTP server.
  void InstallMetrics();
  // Feed rows counted into smsgw_message_events_total so far.
  absl::Mutex feed_counts_mu_;
  int64_t feed_counted_cursor_ ABSL_GUARDED_BY(feed_counts_mu_) = 0;
  std::map<std::pair<storage::FeedEventType, storage::MessageStatus>, int64_t>
      feed_counts_ ABSL_GUARDED_BY(feed_counts_mu_);

  std::string grpc_address_;
  std::string http_address_;
  std::string metrics_address_;
  std::string public_url_;  // SMSGW_PUBLIC_URL, or http://<bound http addr>

  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
  absl::Notification stopped_;
};

absl::Status ServerAppImpl::OpenStorage() {
  if (!config_.db_url.empty()) return OpenPostgres();
  storage::sqlite::Database::Options options;
  options.path = config_.db_path;
  options.reader_connections = std::max(2, config_.rpc_workers);
  absl::StatusOr<std::unique_ptr<storage::sqlite::Database>> db =
      storage::sqlite::Database::Open(options);
  if (!db.ok()) {
    return absl::Status(db.status().code(),
                        absl::StrCat("cannot open database ", config_.db_path,
                                     ": ", db.status().message()));
  }
  db_ = *std::move(db);
  users_ = std::make_unique<storage::sqlite::SqliteUserStore>(db_.get());
  messages_ = std::make_unique<storage::sqlite::SqliteMessageStore>(db_.get());
  rate_limits_ =
      std::make_unique<storage::sqlite::SqliteRateLimitStore>(db_.get());
  group_store_ = std::make_unique<storage::sqlite::SqliteGroupStore>(db_.get());
  verification_store_ =
      std::make_unique<storage::sqlite::SqlitePhoneVerificationStore>(
          db_.get());
  webhook_store_ =
      std::make_unique<storage::sqlite::SqliteWebhookStore>(db_.get());
  SMSGW_LOG(kInfo) << "database open path=" << config_.db_path
                   << " schema_version=" << db_->schema_version();
  return absl::OkStatus();
}

// PostgreSQL (issue 13). Several replicas may share the database: each
// serves the API; the holder of the dispatch lease (dispatch_lease.h)
// dispatches.
absl::Status ServerAppImpl::OpenPostgres() {
  SMSGW_ASSIGN_OR_RETURN(const std::string redacted,
                         storage::postgres::RedactConninfo(config_.db_url));
  storage::postgres::PgPoolOptions options;
  options.conninfo = config_.db_url;
  // RPC workers, dispatcher, watch hub and webhook worker each hold one
  // connection at a time.
  options.size = std::max(8, config_.rpc_workers + 8);
  absl::StatusOr<std::unique_ptr<storage::postgres::PgPool>> pool =
      storage::postgres::PgPool::Create(options);
  if (!pool.ok()) {
    return absl::Status(pool.status().code(),
                        absl::StrCat("cannot open PostgreSQL database ",
                                     redacted, ": ", pool.status().message()));
  }
  pg_pool_ = *std::move(pool);
  absl::StatusOr<int> version = storage::postgres::ApplyPgMigrations(
      *pg_pool_, storage::postgres::AllPgMigrations());
  if (!version.ok()) {
    return absl::Status(version.status().code(),
                        absl::StrCat("PostgreSQL database ", redacted, ": ",
                                     version.status().message()));
  }
  DispatchLease::Options lease;
  lease.conninfo = config_.db_url;
  lease.redacted = redacted;
  lease.on_acquired = [this] {
    absl::MutexLock lock(&shutdown_mu_);
    if (shut_down_) return;  // stopping: the next holder dispatches
    absl::Status started = StartDispatching();
    if (!started.ok()) {
      SMSGW_LOG(kError) << "cannot start dispatching: " << started
                        << "; exiting, so that another replica takes over";
      std::_Exit(kExitLeaseLost);
    }
  };
  lease.on_lost = [](const absl::Status& why) {
    // Another replica may be dispatching now: calling Twilio from here as
    // well could send a message twice. Exit at once; a restart rejoins as a
    // standby.
    SMSGW_LOG(kError) << "exiting: this replica can no longer be sure it is "
                         "the only one dispatching ("
                      << why.message() << ")";
    std::_Exit(kExitLeaseLost);
  };
  absl::StatusOr<std::unique_ptr<DispatchLease>> taken =
      DispatchLease::Create(std::move(lease));
  if (!taken.ok()) {
    return absl::Status(taken.status().code(),
                        absl::StrCat("PostgreSQL database ", redacted, ": ",
                                     taken.status().message()));
  }
  lease_ = *std::move(taken);
  storage::postgres::PgPool* p = pg_pool_.get();
  users_ = std::make_unique<storage::postgres::PgUserStore>(p);
  messages_ =
      std::make_unique<storage::postgres::PgMessageStore>(p, Clock::Real());
  rate_limits_ = std::make_unique<storage::postgres::PgRateLimitStore>(p);
  group_store_ = std::make_unique<storage::postgres::PgGroupStore>(p);
  verification_store_ =
      std::make_unique<storage::postgres::PgPhoneVerificationStore>(p);
  webhook_store_ = std::make_unique<storage::postgres::PgWebhookStore>(p);
  SMSGW_LOG(kInfo) << "database open postgresql=" << redacted
                   << " schema_version=" << *version
                   << " replica=" << lease_->replica_id();
  return absl::OkStatus();
}

absl::Status ServerAppImpl::BuildDomain() {
  std::string secret = config_.jwt_secret_key;
  if (secret.empty() && pg_pool_ != nullptr) {
    // Every replica must accept every replica's tokens: one key, in the
    // shared database.
    SMSGW_ASSIGN_OR_RETURN(
        secret, storage::postgres::LoadOrStoreSecret(
                    *pg_pool_, "jwt_signing_key", GenerateSecretKey(),
                    absl::Now()));
    SMSGW_LOG(kInfo) << "JWT_SECRET_KEY is not set; using the signing key "
                        "kept in the PostgreSQL database for every replica";
  }
  if (secret.empty()) {
    const std::filesystem::path key_path =
        std::filesystem::path(config_.db_path).parent_path() /
        "jwt_secret.key";
    bool created = false;
    SMSGW_ASSIGN_OR_RETURN(secret,
                           LoadOrCreateSecretKey(key_path.string(), &created));
    SMSGW_LOG(kWarning)
        << "JWT_SECRET_KEY is not set; "
        << (created ? "generated a key into " : "using the generated key in ")
        << key_path.string()
        << " (set JWT_SECRET_KEY to share tokens between replicas)";
  }
  domain::TokenService::Options token_options;
  token_options.secret_key = secret;
  token_options.ttl = config_.token_ttl;
  SMSGW_ASSIGN_OR_RETURN(tokens_, domain::TokenService::Create(
                                      token_options, Clock::Real()));
  hasher_ = std::make_unique<domain::PasswordHasher>(
      domain::PasswordHasher::Options());
  phones_ = std::make_unique<domain::PhoneNumberParser>(config_.default_region);

  domain::LoginThrottle::Options throttle;
  throttle.window = config_.login_window;
  throttle.username_max_failures = config_.login_max_failures;
  throttle.username_free_failures = config_.login_max_failures / 3;
  throttle.peer_max_failures = config_.login_peer_max_failures;
  throttle.peer_free_failures = config_.login_peer_max_failures / 3;
  throttle.base_delay = config_.login_delay;
  throttle.max_delay = std::max(config_.login_delay, absl::Seconds(8));
  // Counted in the database, like the sign-up throttle: every replica
  // sees the same failures.
  SMSGW_ASSIGN_OR_RETURN(login_throttle_,
                         domain::LoginThrottle::Create(
                             throttle, rate_limits_.get(), Clock::Real()));
  signup_throttle_ = std::make_unique<domain::SignupThrottle>(
      rate_limits_.get(), Clock::Real(), SignupThrottleOptions(config_));
  verification_guard_ = std::make_unique<domain::VerificationGuard>(
      rate_limits_.get(), phones_.get(), Clock::Real(),
      VerificationGuardOptions(config_));
  domain::AuthService::Options auth_options;
  auth_options.login_throttle = login_throttle_.get();
  auth_options.signup_throttle = signup_throttle_.get();
  auth_options.max_api_keys_per_user = config_.max_api_keys_per_user;
  for (const std::string& name : config_.admin_users) {
    absl::StatusOr<std::string> folded = domain::NormalizeUsername(name);
    if (!folded.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "SMSGW_ADMIN_USERS: ", folded.status().message()));
    }
    auth_options.admin_usernames.insert(*folded);
  }
  auth_ = std::make_unique<domain::AuthService>(
      users_.get(), hasher_.get(), tokens_.get(), phones_.get(), Clock::Real(),
      std::move(auth_options));
  return absl::OkStatus();
}

absl::Status ServerAppImpl::StartGrpc() {
  executor_ = std::make_unique<Executor>("rpc", config_.rpc_workers,
                                         config_.rpc_queue);
  runner_ = std::make_unique<rpc::CallRunner>(executor_.get(), auth_.get());
  auth_grpc_ = std::make_unique<rpc::AuthGrpcService>(runner_.get(),
                                                      verification_.get());
  messaging_grpc_ = std::make_unique<rpc::MessagingGrpcService>(
      runner_.get(), messaging_.get(), watch_hub_.get());
  group_grpc_ =
      std::make_unique<rpc::GroupGrpcService>(runner_.get(), groups_.get());
  webhook_grpc_ = std::make_unique<rpc::WebhookGrpcService>(
      runner_.get(), webhook_registry_.get());
  // Reflection lists what is registered below, plus gRPC's health service
  // (EnableDefaultHealthCheckService) and the two reflection services.
  SMSGW_ASSIGN_OR_RETURN(
      reflection_index_,
      rpc::ReflectionIndex::Create(
          rpc::EmbeddedDescriptorSet(),
          {v1::AuthService::service_full_name(),
           v1::MessagingService::service_full_name(),
           v1::GroupService::service_full_name(),
           v1::WebhookService::service_full_name(), "grpc.health.v1.Health",
           ::grpc::reflection::v1::ServerReflection::service_full_name(),
           ::grpc::reflection::v1alpha::ServerReflection::service_full_name()}));
  reflection_grpc_ =
      std::make_unique<rpc::ReflectionGrpcService>(reflection_index_.get());
  reflection_v1_grpc_ =
      std::make_unique<rpc::ReflectionV1GrpcService>(reflection_index_.get());

  std::shared_ptr<::grpc::ServerCredentials> credentials;
  if (!config_.tls_cert_path.empty()) {
    SMSGW_ASSIGN_OR_RETURN(std::string cert,
                           ReadFile(config_.tls_cert_path, "SMSGW_TLS_CERT"));
    SMSGW_ASSIGN_OR_RETURN(std::string key,
                           ReadFile(config_.tls_key_path, "SMSGW_TLS_KEY"));
    ::grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({key, cert});
    credentials = ::grpc::SslServerCredentials(ssl);
  } else {
    credentials = ::grpc::InsecureServerCredentials();
  }

  ::grpc::EnableDefaultHealthCheckService(true);
  ::grpc::ServerBuilder builder;
  int selected_port = 0;
  builder.AddListeningPort(config_.grpc_addr, credentials, &selected_port);
  // Transport limits (issue 9): bounded requests, idle connections closed,
  // bounded calls per connection, dead peers detected by pings, and clients
  // that ping too often (more than every 10 s without calls) cut off.
  builder.SetMaxReceiveMessageSize(config_.grpc_max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             config_.grpc_max_concurrent_streams);
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONNECTION_IDLE_MS,
      static_cast<int>(absl::ToInt64Milliseconds(config_.grpc_max_idle)));
  builder.AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIME_MS,
      static_cast<int>(absl::ToInt64Milliseconds(config_.grpc_keepalive_time)));
  builder.AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
      static_cast<int>(
          absl::ToInt64Milliseconds(config_.grpc_keepalive_timeout)));
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10'000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  builder.RegisterService(auth_grpc_.get());
  builder.RegisterService(messaging_grpc_.get());
  builder.RegisterService(group_grpc_.get());
  builder.RegisterService(webhook_grpc_.get());
  builder.RegisterService(reflection_grpc_.get());
  builder.RegisterService(reflection_v1_grpc_.get());
  std::vector<
      std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(rpc::MakeMetricsInterceptorFactory(&metrics_));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  grpc_server_ = builder.BuildAndStart();
  if (grpc_server_ == nullptr || selected_port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen for gRPC on ", config_.grpc_addr,
        " (address in use or not available); set SMSGW_GRPC_ADDR"));
  }
  std::string host;
  int port = 0;
  SMSGW_RETURN_IF_ERROR(SplitHostPort(config_.grpc_addr, &host, &port));
  grpc_address_ = absl::StrCat(host, ":", selected_port);
  gateway_->Attach(grpc_server_->InProcessChannel(::grpc::ChannelArguments()));
  // Storage is open and migrated: the server can answer.
  grpc_server_->GetHealthCheckService()->SetServingStatus(true);
  return absl::OkStatus();
}

absl::Status ServerAppImpl::StartHttp() {
  webhooks::WebhookServer::Options options;
  SMSGW_RETURN_IF_ERROR(
      SplitHostPort(config_.http_addr, &options.host, &options.port));
  options.threads = config_.http_threads;
  options.read_timeout = config_.http_read_timeout;
  http_ = std::make_unique<webhooks::WebhookServer>(options);
  SMSGW_RETURN_IF_ERROR(http_->Bind());
  http_address_ = absl::StrCat(options.host, ":", http_->port());
  // With port 0 the default public URL must name the port actually bound.
  ServerConfig bound = config_;
  bound.http_addr = http_address_;
  public_url_ = bound.EffectivePublicUrl();

  gateway::RestGateway::Options rest;
  rest.cors_origins = config_.cors_origins;
  rest.openapi_json = std::string(gateway::OpenApiDocument());
  // Each event stream holds an HTTP worker: at most a quarter of them.
  rest.max_event_streams = std::max(1, config_.http_threads / 4);
  rest.requests = metrics_.AddCounter(
      "smsgw_rest_requests_total",
      "REST API requests on the HTTP port, by route template and HTTP "
      "status (unmatched: no route; preflight: CORS OPTIONS).",
      {"route", "code"});
  SMSGW_ASSIGN_OR_RETURN(
      auto services,
      gateway::GeneratedServices({v1::AuthService::service_full_name(),
                                  v1::MessagingService::service_full_name(),
                                  v1::GroupService::service_full_name(),
                                  v1::WebhookService::service_full_name()}));
  SMSGW_ASSIGN_OR_RETURN(gateway_,
                         gateway::RestGateway::Create(services, rest));
  gateway_->Register(http_->http());

  if (!config_.metrics_addr.empty()) {
    webhooks::WebhookServer::Options metrics_options;
    SMSGW_RETURN_IF_ERROR(SplitHostPort(
        config_.metrics_addr, &metrics_options.host, &metrics_options.port));
    metrics_options.threads = 2;
    metrics_options.read_timeout = config_.http_read_timeout;
    metrics_http_ = std::make_unique<webhooks::WebhookServer>(metrics_options);
    if (absl::Status bound_metrics = metrics_http_->Bind(); !bound_metrics.ok()) {
      return absl::UnavailableError(absl::StrCat(
          "cannot listen for /metrics on ", config_.metrics_addr,
          " (address in use or not available); set SMSGW_METRICS_ADDR, or "
          "leave it empty for no metrics listener"));
    }
    metrics_address_ = absl::StrCat(metrics_options.host, ":",
                                    metrics_http_->port());
  }
  InstallMetrics();
  if (metrics_http_ != nullptr) metrics_http_->Serve();
  return absl::OkStatus();
}

void ServerAppImpl::InstallMetrics() {
  metrics::CounterFamily* http_requests = metrics_.AddCounter(
      "smsgw_http_requests_total",
      "HTTP requests on the webhook port, by path and response status "
      "(Twilio's webhooks answer 403 on a bad signature, 400 on a malformed "
      "form).",
      {"path", "code"});
  // Every response passes here, routed or not (404s, 413s included).
  http_->http().set_post_routing_handler(
      [http_requests](const httplib::Request& req, httplib::Response& res) {
        // A bounded label set: the paths we serve, else "other".
        // (The REST routes count in smsgw_rest_requests_total.)
        static const std::set<std::string> kPaths = {
            "/twilio/sms/status", "/twilio/sms/inbound", "/healthz"};
        const std::string path =
            kPaths.count(req.path) > 0 ? req.path : std::string("other");
        http_requests->Increment({path, std::to_string(res.status)});
      });
  if (metrics_http_ != nullptr) {
    metrics_http_->http().Get(
        "/metrics", [this](const httplib::Request&, httplib::Response& res) {
          res.set_content(metrics_.Render(), metrics::kContentType);
        });
  }

  metrics_.AddCollected(
      "smsgw_message_events_total",
      "Message lifecycle events since start, by event (created, inbound, "
      "status_changed, deleted) and the status the message entered; read "
      "from the watch feed, so every committed transition counts once.",
      {"event", "status"},
      [this] {
        std::vector<metrics::Sample> samples;
        if (messages_ == nullptr) return samples;
        absl::MutexLock lock(&feed_counts_mu_);
        absl::StatusOr<storage::MessageStore::FeedCounts> counted =
            messages_->CountFeedSince(feed_counted_cursor_);
        if (counted.ok()) {
          feed_counted_cursor_ = counted->latest_cursor;
          for (const auto& [key, n] : counted->counts) feed_counts_[key] += n;
        } else {
          SMSGW_LOG(kWarning) << "metrics: cannot count the feed: "
                              << counted.status();
        }
        for (const auto& [key, n] : feed_counts_) {
          static const char* kEvents[] = {"unspecified", "created", "inbound",
                                          "status_changed", "deleted"};
          const int type = static_cast<int>(key.first);
          samples.push_back(
              {{type >= 0 && type <= 4 ? kEvents[type] : "unspecified",
                std::string(domain::StatusName(key.second))},
               static_cast<double>(n)});
        }
        return samples;
      },
      /*counter=*/true);
  metrics_.AddCollected(
      "smsgw_provider_circuit_state",
      "The dispatcher's circuit breaker on the SMS provider: 1 for the state "
      "it is in (closed: sending; open: the provider keeps failing, sends "
      "wait; half_open: one probe is out), 0 for the others.",
      {"state"}, [this] {
        std::vector<metrics::Sample> samples;
        if (dispatcher_ == nullptr) return samples;
        const dispatch::CircuitBreaker::State now = dispatcher_->breaker_state();
        for (auto state : {dispatch::CircuitBreaker::State::kClosed,
                           dispatch::CircuitBreaker::State::kOpen,
                           dispatch::CircuitBreaker::State::kHalfOpen}) {
          samples.push_back(
              {{std::string(dispatch::CircuitBreaker::StateName(state))},
               state == now ? 1.0 : 0.0});
        }
        return samples;
      });
  metrics_.AddCollected(
      "smsgw_dispatch_queued_messages",
      "Outbound messages waiting in the dispatcher's sender queues (for "
      "their sender's rate or for the provider to answer again), by "
      "priority.",
      {"priority"}, [this] {
        std::vector<metrics::Sample> samples;
        if (dispatcher_ == nullptr) return samples;
        for (auto [p, name] :
             {std::pair{storage::MessagePriority::kHigh, "high"},
              std::pair{storage::MessagePriority::kNormal, "normal"},
              std::pair{storage::MessagePriority::kBulk, "bulk"}}) {
          samples.push_back(
              {{name}, static_cast<double>(dispatcher_->QueuedAt(p))});
        }
        return samples;
      });
  metrics_.AddCollected(
      "smsgw_dispatch_backlog_segments",
      "Outbound segments stored PENDING (not yet accepted by the provider), "
      "per sender number.",
      {"sender"}, [this] {
        std::vector<metrics::Sample> samples;
        if (messages_ == nullptr) return samples;
        for (const std::string& number : phone_numbers_) {
          absl::StatusOr<int64_t> pending = messages_->PendingSegments(number);
          if (pending.ok()) {
            samples.push_back({{number}, static_cast<double>(*pending)});
          }
        }
        return samples;
      });
  metrics_.AddCollected(
      "smsgw_provider_requests_in_flight",
      "Provider create calls sent and not yet answered.", {}, [this] {
        std::vector<metrics::Sample> samples;
        if (dispatcher_ != nullptr) {
          samples.push_back({{}, static_cast<double>(dispatcher_->in_flight())});
        }
        return samples;
      });
  metrics_.AddCollected(
      "smsgw_dispatch_lease_held",
      "1 when this replica holds the dispatch lease and calls Twilio, 0 "
      "when it is a standby (PostgreSQL with several replicas); always 1 on "
      "SQLite.",
      {}, [this] {
        const bool held = lease_ == nullptr || lease_->held();
        return std::vector<metrics::Sample>{{{}, held ? 1.0 : 0.0}};
      });
  metrics_.AddCollected(
      "smsgw_watch_streams_open", "Open WatchMessages streams.", {}, [this] {
        std::vector<metrics::Sample> samples;
        if (watch_hub_ != nullptr) {
          samples.push_back(
              {{}, static_cast<double>(watch_hub_->open_watches())});
        }
        return samples;
      });
  if (db_ == nullptr) return;  // PostgreSQL: no group-commit figures
  metrics_.AddCollected(
      "smsgw_db_writes_total",
      "Write transactions requested of the database (each caller's Write).",
      {}, [this] {
        return std::vector<metrics::Sample>{
            {{}, static_cast<double>(db_->write_stats().writes)}};
      },
      /*counter=*/true);
  metrics_.AddCollected(
      "smsgw_db_commits_total",
      "Commits (fsyncs) of the database: writes / commits is the mean "
      "group-commit batch.",
      {}, [this] {
        return std::vector<metrics::Sample>{
            {{}, static_cast<double>(db_->write_stats().transactions)}};
      },
      /*counter=*/true);
}

absl::Status ServerAppImpl::StartMessaging() {
  for (const std::string& number : config_.twilio_phone_numbers) {
    absl::StatusOr<std::string> e164 = phones_->ToE164(number);
    if (!e164.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "TWILIO_PHONE_NUMBERS: \"", number, "\": ", e164.status().message()));
    }
    phone_numbers_.push_back(*e164);
  }
  twilio::TwilioRestClient::Options client;
  if (config_.use_simulator()) {
    twilio::TwilioSimulator::Options sim;
    sim.port = config_.simulator_port;
    sim.max_connections =
        config_.twilio_max_in_flight + twilio::TwilioSimulator::kSpareConnections;
    if (!phone_numbers_.empty()) sim.phone_numbers = phone_numbers_;
    phone_numbers_ = sim.phone_numbers;
    sim.inbound_webhook_url = public_url_ + "/twilio/sms/inbound";
    const std::string token = sim.auth_token;
    sim.signer = [token](const std::string& url,
                         const twilio::TwilioSimulator::Params& params) {
      return twilio::ComputeTwilioSignature(token, url, params);
    };
    simulator_ = std::make_unique<twilio::TwilioSimulator>(sim);
    absl::Status started = simulator_->Start();
    if (!started.ok()) {
      return absl::UnavailableError(absl::StrCat(
          "cannot start the Twilio simulator on port ", config_.simulator_port,
          ": ", started.message(), " (set SMSGW_SIMULATOR_PORT)"));
    }
    client.api_base = simulator_->base_url();
    client.account_sid = simulator_->account_sid();
    client.auth_token = simulator_->auth_token();
    SMSGW_LOG(kInfo) << "Twilio simulator listening url="
                     << simulator_->base_url() << " numbers="
                     << absl::StrJoin(phone_numbers_, ",");
  } else {
    client.api_base = config_.twilio_api_base;
    client.account_sid = config_.twilio_account_sid;
    client.auth_token = config_.twilio_auth_token;
  }
  client.max_in_flight = config_.twilio_max_in_flight;
  SMSGW_ASSIGN_OR_RETURN(provider_, twilio::TwilioRestClient::Create(client));


  dispatch::Dispatcher::Options dispatch_options;
  dispatch_options.metrics = &metrics_;
  dispatch_options.status_callback_url = public_url_ + "/twilio/sms/status";
  dispatch_options.retry_horizon = config_.retry_horizon;
  if (config_.pacing_enabled()) {
    dispatch::RateLimiter::Options rates;
    rates.sender_rates = config_.sender_rates;
    rates.global_rate = config_.global_rate;
    rate_limiter_ =
        std::make_unique<dispatch::RateLimiter>(Clock::Real(), rates);
    dispatch_options.rate_limiter = rate_limiter_.get();
    dispatch_options.max_backlog = config_.max_backlog;
  }
  if (lease_ != nullptr) {
    // Several replicas: this one claims what it dispatches, and picks up
    // what the others accepted within a quarter second.
    dispatch_options.replica_id = lease_->replica_id();
    dispatch_options.claim_sweep = absl::Milliseconds(250);
  }
  dispatcher_ = std::make_unique<dispatch::Dispatcher>(
      messages_.get(), provider_.get(), Clock::Real(), dispatch_options);
  // Twilio's webhooks: signed with the same account's auth token.
  domain::DeliveryService::Options delivery;
  delivery.account_sid = client.account_sid;
  delivery_ = std::make_unique<domain::DeliveryService>(
      messages_.get(), dispatcher_.get(), phones_.get(), Clock::Real(),
      delivery);
  webhooks::TwilioWebhookHandler::Options hooks;
  hooks.public_url = public_url_;
  hooks.auth_token = client.auth_token;
  webhook_handler_ =
      std::make_unique<webhooks::TwilioWebhookHandler>(delivery_.get(), hooks);
  webhook_handler_->Register(http_->http());
  http_->Serve();
  if (config_.status_reconcile_after > absl::ZeroDuration()) {
    dispatch::StatusReconciler::Options reconcile;
    reconcile.first_check_after = config_.status_reconcile_after;
    reconcile.max_interval =
        std::max(reconcile.max_interval, config_.status_reconcile_after);
    reconcile.max_in_flight = config_.status_fetches_in_flight();
    reconcile.metrics = &metrics_;
    reconciler_ = std::make_unique<dispatch::StatusReconciler>(
        messages_.get(), provider_.get(), Clock::Real(), reconcile);
  }

  domain::MessagingService::Options messaging;
  messaging.default_validity = config_.default_validity;
  messaging.daily_segments_per_user = config_.daily_segments_per_user;
  messaging.phone_numbers = phone_numbers_;
  messaging.sender_ids = config_.sender_ids;
  messaging.blocked_keywords = config_.blocked_keywords;
  messaging.messaging_service_sid = config_.twilio_messaging_service_sid;
  messaging.min_schedule_ahead = config_.min_schedule_ahead;
  if (!config_.quiet_hours.empty()) {
    // ValidateConfig() has parsed it already.
    SMSGW_ASSIGN_OR_RETURN(messaging.quiet_hours,
                           domain::ParseQuietHours(config_.quiet_hours));
  }
  // ValidateConfig() has parsed SMSGW_ALLOWED_COUNTRIES already.
  SMSGW_ASSIGN_OR_RETURN(std::set<std::string> countries,
                         domain::ParseAllowedCountries(
                             config_.allowed_countries));
  geo_ = std::make_unique<domain::GeoPermissions>(std::move(countries),
                                                  phones_.get());
  messaging.geo = geo_.get();
  metrics::CounterFamily* geo_refusals = metrics_.AddCounter(
      "smsgw_geo_refusals_total",
      "Outbound messages refused because their destination is in a country "
      "SMSGW_ALLOWED_COUNTRIES does not allow, by country (ISO 3166-1 "
      "alpha-2; empty for none) and path (send, group, verification).",
      {"country", "path"});
  messaging.on_geo_refusal = [geo_refusals](absl::string_view country,
                                            absl::string_view path) {
    geo_refusals->Increment({std::string(country), std::string(path)});
  };
  messaging_ = std::make_unique<domain::MessagingService>(
      messages_.get(), users_.get(), dispatcher_.get(), phones_.get(),
      Clock::Real(), messaging);

  domain::MessageWatchHub::Options watch;
  watch.buffer_size = config_.watch_buffer;
  watch.max_streams_per_user = config_.watch_max_streams;
  watch_hub_ = std::make_unique<domain::MessageWatchHub>(
      messages_.get(), Clock::Real(), watch);
  return absl::OkStatus();
}

// Groups (DESIGN.md §6) and phone verification, over the messaging send
// path; installs inbound routing rule 1.
absl::Status ServerAppImpl::StartGroups() {
  domain::GroupService::Options group_options;
  group_options.pool = phone_numbers_;
  groups_ = std::make_unique<domain::GroupService>(
      group_store_.get(), messages_.get(), messaging_.get(), Clock::Real(),
      group_options);
  domain::PhoneVerificationService::Options verify_options;
  if (!phone_numbers_.empty()) verify_options.from_number = phone_numbers_[0];
  verify_options.guard = verification_guard_.get();
  verification_ = std::make_unique<domain::PhoneVerificationService>(
      users_.get(), verification_store_.get(), messaging_.get(), phones_.get(),
      Clock::Real(), verify_options);
  delivery_->SetGroupRouter(groups_.get());
  return absl::OkStatus();
}

// Outbound event webhooks (issue 16 §2): endpoints in the database, the
// worker delivering the message feed to them.
absl::Status ServerAppImpl::StartWebhooks() {
  events::WebhookWorker::Options worker;
  worker.allow_private = config_.webhook_allow_private;
  worker.retry_window = config_.webhook_retry_window;
  worker.message_json =
      [](const storage::Message& message) -> absl::StatusOr<std::string> {
    v1::Message proto;
    rpc::ToProto(message, &proto);
    return gateway::ToJson(proto);  // exactly as the REST API shows it
  };
  worker.deliveries = metrics_.AddCounter(
      "smsgw_webhook_deliveries_total",
      "Outbound event webhook delivery attempts, by result (success, "
      "http_error: a non-2xx answer, timeout, network_error, refused: a "
      "non-public address or a bad URL, internal).",
      {"result"});
  worker.disabled = metrics_.AddCounter(
      "smsgw_webhook_endpoints_disabled_total",
      "Webhook endpoints disabled after failing for "
      "SMSGW_WEBHOOK_RETRY_WINDOW.",
      {});
  webhook_worker_ = std::make_unique<events::WebhookWorker>(
      webhook_store_.get(), messages_.get(), Clock::Real(), worker);
  events::WebhookRegistry::Options registry;
  registry.allow_private = config_.webhook_allow_private;
  events::WebhookWorker* woken = webhook_worker_.get();
  registry.on_change = [woken] { woken->Wake(); };
  webhook_registry_ = std::make_unique<events::WebhookRegistry>(
      webhook_store_.get(), messages_.get(), Clock::Real(), registry);
  if (config_.webhook_allow_private) {
    SMSGW_LOG(kWarning) << "SMSGW_WEBHOOK_ALLOW_PRIVATE is set: outbound "
                           "webhooks may reach http and private addresses";
  }
  return absl::OkStatus();
}

absl::Status ServerAppImpl::StartDispatching() {
  SMSGW_RETURN_IF_ERROR(dispatcher_->Start());
  if (reconciler_ != nullptr) SMSGW_RETURN_IF_ERROR(reconciler_->Start());
  return webhook_worker_->Start();
}

absl::Status ServerAppImpl::Init() {
  SMSGW_RETURN_IF_ERROR(ValidateConfig(config_));
  SMSGW_RETURN_IF_ERROR(OpenStorage());
  SMSGW_RETURN_IF_ERROR(BuildDomain());
  SMSGW_RETURN_IF_ERROR(StartHttp());
  SMSGW_RETURN_IF_ERROR(StartMessaging());
  SMSGW_RETURN_IF_ERROR(StartGroups());
  SMSGW_RETURN_IF_ERROR(StartWebhooks());
  if (lease_ == nullptr) {
    SMSGW_RETURN_IF_ERROR(StartDispatching());
  }
  SMSGW_RETURN_IF_ERROR(StartGrpc());
  // After the API is up: a standby serves while it waits for the lease.
  if (lease_ != nullptr) lease_->Start();
  SMSGW_LOG(kInfo) << "smsgw-server ready grpc=" << grpc_address_
                   << (config_.tls_cert_path.empty() ? " (plaintext)"
                                                     : " (tls)")
                   << " http=" << http_address_
                   << " metrics="
                   << (metrics_address_.empty() ? "off" : metrics_address_)
                   << " public_url=" << public_url_
                   << " provider="
                   << (config_.use_simulator() ? "simulator" : "twilio");
  return absl::OkStatus();
}

void ServerAppImpl::Shutdown() {
  {
    absl::MutexLock lock(&shutdown_mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  // Watch streams never end on their own: end them first (UNAVAILABLE with
  // the cursor to resume from), or gRPC would wait out the grace period and
  // then cancel them without telling clients where to resume.
  if (watch_hub_ != nullptr) watch_hub_->Shutdown();
  SMSGW_LOG(kDebug) << "shutdown: watch streams ended";
  if (grpc_server_ != nullptr) {
    grpc_server_->GetHealthCheckService()->SetServingStatus(false);
    // Stops accepting, lets in-flight calls finish until the deadline, then
    // cancels the rest; returns once every call is done.
    grpc_server_->Shutdown(absl::ToChronoTime(absl::Now() +
                                              config_.shutdown_grace));
  }
  SMSGW_LOG(kDebug) << "shutdown: grpc stopped";
  if (executor_ != nullptr) executor_->Shutdown();
  SMSGW_LOG(kDebug) << "shutdown: executor drained";
  // Provider answers still in flight get a moment to be stored; the rest
  // stay PENDING and are dispatched at the next start.
  if (dispatcher_ != nullptr) dispatcher_->Shutdown(absl::Seconds(5));
  SMSGW_LOG(kDebug) << "shutdown: dispatcher stopped";
  if (reconciler_ != nullptr) reconciler_->Shutdown();
  // Transfers in progress are aborted; their events are redelivered at the
  // next start (the cursor moves only after a 2xx).
  if (webhook_worker_ != nullptr) webhook_worker_->Shutdown();
  // Only now, with nothing of ours calling Twilio: a standby may take over.
  if (lease_ != nullptr) lease_->Shutdown();
  // Before the webhook port closes: the simulator's queued status callbacks
  // would each fail against it (and log a warning) instead of being dropped.
  if (simulator_ != nullptr) simulator_->Stop();
  if (http_ != nullptr) http_->Stop();
  if (metrics_http_ != nullptr) metrics_http_->Stop();
  SMSGW_LOG(kDebug) << "shutdown: http stopped";
  provider_.reset();
  if (grpc_server_ != nullptr) grpc_server_->Wait();
  db_.reset();  // checkpoints the WAL and closes the file
  stopped_.Notify();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerApp>> ServerApp::Start(
    ServerConfig config) {
  auto app = std::make_unique<ServerAppImpl>(std::move(config));
  absl::Status status = app->Init();
  if (!status.ok()) {
    app->Shutdown();
    return status;
  }
  return app;
}

}  // namespace smsgw::app
