// The settings table (server/app/settings.h): precedence, defaults, each
// parser's malformed input, the flag help, and that docs/configuration.md
// documents every environment variable with the table's default.
#include "server/app/settings.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::app {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using Values = std::map<std::string, std::string>;

// A lookup over `values`: given when the name is a key.
SettingLookup From(Values values) {
  return [values = std::move(values)](
             absl::string_view name) -> std::optional<std::string> {
    auto it = values.find(std::string(name));
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

absl::StatusOr<ServerConfig> Load(Values flags, Values env) {
  return LoadServerConfig(From(std::move(flags)), From(std::move(env)));
}

TEST(SettingsTest, EveryRowIsNamedOnceAndHasHelpAndAParser) {
  std::set<std::string> flags;
  std::set<std::string> envs;
  for (const Setting& s : ServerSettings()) {
    EXPECT_FALSE(s.flag.empty() && s.env.empty()) << s.help;
    if (!s.flag.empty()) {
      EXPECT_TRUE(flags.insert(s.flag).second) << s.flag;
    }
    if (!s.env.empty()) {
      EXPECT_TRUE(envs.insert(s.env).second) << s.env;
    }
    EXPECT_FALSE(s.help.empty()) << s.flag << s.env;
    ASSERT_TRUE(s.parse) << s.flag << s.env;
    ServerConfig config;
    // The default text reads back (it is what an unset setting parses).
    EXPECT_TRUE(s.parse(s.default_text, config).ok())
        << s.flag << s.env << " default \"" << s.default_text << "\"";
  }
  EXPECT_EQ(FindSetting("no_such_setting"), nullptr);
  ASSERT_NE(FindSetting("JWT_SECRET_KEY"), nullptr);  // environment only
  EXPECT_TRUE(FindSetting("JWT_SECRET_KEY")->flag.empty());
}

// The defaults smsgw-server had when they were written in main.cc too; they
// now come from ServerConfig's initializers only.
TEST(SettingsTest, DefaultTextsAreTheDocumentedDefaults) {
  const std::map<std::string, std::string> expected = {
      {"grpc_addr", "127.0.0.1:50051"},
      {"http_addr", "127.0.0.1:8080"},
      {"metrics_addr", "127.0.0.1:9464"},
      {"cors_origins", ""},
      {"db_path", "./data/smsgw.db"},
      {"db_url", ""},
      {"public_url", ""},
      {"JWT_SECRET_KEY", ""},
      {"token_ttl", "24h"},
      {"admin_users", ""},
      {"default_region", "US"},
      {"TWILIO_ACCOUNT_SID", ""},
      {"TWILIO_AUTH_TOKEN", ""},
      {"twilio_phone_numbers", ""},
      {"twilio_messaging_service_sid", ""},
      {"twilio_api_base", "https://api.twilio.com"},
      {"sender_ids", ""},
      {"blocked_keywords", ""},
      {"simulator_port", "8081"},
      {"watch_buffer", "1000"},
      {"watch_max_streams", "16"},
      {"login_window", "15m"},
      {"login_delay", "500ms"},
      {"login_max_failures", "10"},
      {"login_peer_max_failures", "50"},
      {"signup_window", "1h"},
      {"signup_peer_max", "10"},
      {"signup_max", "200"},
      {"verify_max_per_prefix_per_hour", "5"},
      {"verify_max_per_country_per_hour", "50"},
      {"verify_max_per_hour", "200"},
      {"daily_segments_per_user", "0"},
      {"max_api_keys_per_user", "20"},
      {"grpc_max_message_bytes", "1048576"},
      {"grpc_max_streams", "100"},
      {"http_threads", "32"},
      {"twilio_max_in_flight", "64"},
      {"grpc_max_idle", "30m"},
      {"http_read_timeout", "5s"},
      {"sender_rates", ""},
      {"global_rate", "0"},
      {"max_backlog", "10h"},
      {"retry_horizon", "4h"},
      {"default_validity", "0"},
      {"status_reconcile_after", "10m"},
      {"quiet_hours", ""},
      {"allowed_countries", ""},
      {"min_schedule_ahead", "5m"},
      {"webhook_allow_private", "false"},
      {"webhook_retry_window", "24h"},
      {"tls_cert", ""},
      {"tls_key", ""},
      {"log_level", "info"},
      {"port_file", ""},
  };
  EXPECT_EQ(expected.size(), ServerSettings().size());
  for (const auto& [name, text] : expected) {
    const Setting* s = FindSetting(name);
    ASSERT_NE(s, nullptr) << name;
    EXPECT_EQ(s->default_text, text) << name;
  }
}

TEST(SettingsTest, NothingGivenIsTheDefaultConfig) {
  absl::StatusOr<ServerConfig> config = Load({}, {});
  ASSERT_TRUE(config.ok()) << config.status();
  const ServerConfig defaults;
  EXPECT_EQ(config->grpc_addr, defaults.grpc_addr);
  EXPECT_EQ(config->token_ttl, defaults.token_ttl);
  EXPECT_EQ(config->watch_buffer, defaults.watch_buffer);
  EXPECT_EQ(config->grpc_max_message_bytes, defaults.grpc_max_message_bytes);
  EXPECT_EQ(config->login_delay, defaults.login_delay);
  EXPECT_EQ(config->default_validity, defaults.default_validity);
  EXPECT_EQ(config->global_rate, defaults.global_rate);
  EXPECT_EQ(config->log_level, defaults.log_level);
  EXPECT_TRUE(config->sender_rates.empty());
  EXPECT_TRUE(config->admin_users.empty());
  EXPECT_TRUE(config->use_simulator());
  EXPECT_TRUE(ValidateConfig(*config).ok());
}

TEST(SettingsTest, FlagBeatsEnvironmentBeatsDefault) {
  // Text, integer and duration settings alike.
  absl::StatusOr<ServerConfig> env_only =
      Load({}, {{"SMSGW_GRPC_ADDR", "0.0.0.0:1"},
                {"SMSGW_WATCH_BUFFER", "7"},
                {"SMSGW_TOKEN_TTL", "90m"}});
  ASSERT_TRUE(env_only.ok()) << env_only.status();
  EXPECT_EQ(env_only->grpc_addr, "0.0.0.0:1");
  EXPECT_EQ(env_only->watch_buffer, 7);
  EXPECT_EQ(env_only->token_ttl, absl::Minutes(90));

  absl::StatusOr<ServerConfig> both =
      Load({{"grpc_addr", "127.0.0.1:2"},
            {"watch_buffer", "9"},
            {"token_ttl", "2h"}},
           {{"SMSGW_GRPC_ADDR", "0.0.0.0:1"},
            {"SMSGW_WATCH_BUFFER", "7"},
            {"SMSGW_TOKEN_TTL", "90m"}});
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ(both->grpc_addr, "127.0.0.1:2");
  EXPECT_EQ(both->watch_buffer, 9);
  EXPECT_EQ(both->token_ttl, absl::Hours(2));
}

TEST(SettingsTest, AFlagWinsOverAMalformedEnvironmentValue) {
  absl::StatusOr<ServerConfig> config =
      Load({{"watch_buffer", "5"}}, {{"SMSGW_WATCH_BUFFER", "lots"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->watch_buffer, 5);
}

TEST(SettingsTest, AnEnvironmentVariableSetToEmptyIsAValue) {
  // As smsgw-server has always read it: set-but-empty is not "unset".
  absl::StatusOr<ServerConfig> config =
      Load({}, {{"TWILIO_API_BASE", ""}, {"SMSGW_DEFAULT_REGION", ""}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->twilio_api_base, "");
  EXPECT_EQ(config->default_region, "");
  EXPECT_THAT(Load({}, {{"SMSGW_TOKEN_TTL", ""}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("SMSGW_TOKEN_TTL")));
}

TEST(SettingsTest, EnvironmentOnlyAndFlagOnlySettingsIgnoreTheOtherSource) {
  absl::StatusOr<ServerConfig> config =
      Load({{"JWT_SECRET_KEY", "from-a-flag"}, {"min_schedule_ahead", "3s"}},
           {{"JWT_SECRET_KEY", "k"}, {"min_schedule_ahead", "1h"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->jwt_secret_key, "k");
  EXPECT_EQ(config->min_schedule_ahead, absl::Seconds(3));
}

TEST(SettingsTest, ListsAreTrimmedAndSkipEmptyItems) {
  absl::StatusOr<ServerConfig> config =
      Load({{"admin_users", " ann, ,bob ,,"}},
           {{"TWILIO_PHONE_NUMBERS", "+15005550006,+15005550007"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->admin_users, ElementsAre("ann", "bob"));
  EXPECT_THAT(config->twilio_phone_numbers,
              ElementsAre("+15005550006", "+15005550007"));
}

TEST(SettingsTest, ParsedValuesReachTheirFields) {
  absl::StatusOr<ServerConfig> config =
      Load({{"log_level", "WARNING"}, {"sender_rates", "+15005550006=2"}},
           {{"SMSGW_GLOBAL_RATE", "2.5"},
            {"SMSGW_MAX_BACKLOG", "0"},
            {"SMSGW_DEFAULT_VALIDITY", "30m"},
            {"SMSGW_GRPC_MAX_STREAMS", "7"},
            {"SMSGW_QUIET_HOURS", "21:00-08:00"},
            {"SMSGW_PORT_FILE", "/tmp/ports"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->log_level, logging::Level::kWarning);
  EXPECT_EQ(config->sender_rates.at("+15005550006"), 2);
  EXPECT_EQ(config->global_rate, 2.5);
  EXPECT_EQ(config->max_backlog, absl::ZeroDuration());
  EXPECT_EQ(config->default_validity, absl::Minutes(30));
  EXPECT_EQ(config->grpc_max_concurrent_streams, 7);
  EXPECT_EQ(config->quiet_hours, "21:00-08:00");
  EXPECT_EQ(config->port_file, "/tmp/ports");
}

struct Malformed {
  std::string env;  // or a flag-only setting's flag
  std::string text;
  std::string error;  // the whole start-up sentence
};

TEST(SettingsTest, EachParserRefusesMalformedTextWithItsSentence) {
  const std::string login_durations =
      "SMSGW_LOGIN_WINDOW and SMSGW_LOGIN_DELAY must be durations like 15m, "
      "500ms";
  const std::string login_counts =
      "SMSGW_LOGIN_MAX_FAILURES and SMSGW_LOGIN_PEER_MAX_FAILURES must be "
      "numbers";
  const std::string transport_counts =
      "SMSGW_GRPC_MAX_MESSAGE_BYTES, SMSGW_GRPC_MAX_STREAMS, "
      "SMSGW_HTTP_THREADS and SMSGW_TWILIO_MAX_IN_FLIGHT must be numbers";
  const std::string transport_durations =
      "SMSGW_GRPC_MAX_IDLE and SMSGW_HTTP_READ_TIMEOUT must be durations "
      "like 30m, 5s";
  const std::vector<Malformed> cases = {
      {"SMSGW_TOKEN_TTL", "forever",
       "SMSGW_TOKEN_TTL / --token_ttl must be a duration like 24h"},
      {"SMSGW_SIMULATOR_PORT", "http",
       "SMSGW_SIMULATOR_PORT must be a port number"},
      {"SMSGW_WATCH_BUFFER", "lots", "SMSGW_WATCH_BUFFER must be a number"},
      {"SMSGW_WATCH_MAX_STREAMS", "1.5",
       "SMSGW_WATCH_MAX_STREAMS must be a number"},
      {"SMSGW_LOGIN_WINDOW", "15", login_durations},
      {"SMSGW_LOGIN_DELAY", "fast", login_durations},
      {"SMSGW_LOGIN_MAX_FAILURES", "ten", login_counts},
      {"SMSGW_LOGIN_PEER_MAX_FAILURES", "", login_counts},
      {"SMSGW_GRPC_MAX_MESSAGE_BYTES", "1MiB", transport_counts},
      {"SMSGW_GRPC_MAX_STREAMS", "x", transport_counts},
      {"SMSGW_HTTP_THREADS", "3x", transport_counts},
      {"SMSGW_TWILIO_MAX_IN_FLIGHT", "99999999999", transport_counts},
      {"SMSGW_GRPC_MAX_IDLE", "30", transport_durations},
      {"SMSGW_HTTP_READ_TIMEOUT", "5 s", transport_durations},
      {"SMSGW_SENDER_RATES", "+15005550006",
       "SMSGW_SENDER_RATES: \"+15005550006\" is not sender=rate"},
      {"SMSGW_GLOBAL_RATE", "-1",
       "SMSGW_GLOBAL_RATE must be a number of segments/s >= 0"},
      {"SMSGW_GLOBAL_RATE", "nan",
       "SMSGW_GLOBAL_RATE must be a number of segments/s >= 0"},
      {"SMSGW_MAX_BACKLOG", "-1h",
       "SMSGW_MAX_BACKLOG must be a duration like 10h (0 = none)"},
      {"SMSGW_RETRY_HORIZON", "0",
       "SMSGW_RETRY_HORIZON must be a duration above 0 like 4h"},
      {"SMSGW_RETRY_HORIZON", "soon",
       "SMSGW_RETRY_HORIZON must be a duration above 0 like 4h"},
      {"SMSGW_DEFAULT_VALIDITY", "-1s",
       "SMSGW_DEFAULT_VALIDITY must be a duration like 1h (0 = none)"},
      {"SMSGW_STATUS_RECONCILE_AFTER", "-10m",
       "SMSGW_STATUS_RECONCILE_AFTER must be a duration like 10m (0 = "
       "never)"},
      {"min_schedule_ahead", "-5m",
       "--min_schedule_ahead must be a duration like 5m"},
      {"SMSGW_LOG_LEVEL", "loud",
       "log level \"loud\" is not one of debug, info, warning, error"},
  };
  for (const Malformed& c : cases) {
    const bool flag_only = c.env == "min_schedule_ahead";
    absl::StatusOr<ServerConfig> config =
        flag_only ? Load({{c.env, c.text}}, {}) : Load({}, {{c.env, c.text}});
    ASSERT_FALSE(config.ok()) << c.env << "=" << c.text;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(config.status().message(), c.error) << c.env << "=" << c.text;
  }
}

TEST(SettingsTest, TheFirstMalformedSettingInReadingOrderIsReported) {
  EXPECT_THAT(Load({}, {{"SMSGW_LOG_LEVEL", "loud"},
                        {"SMSGW_TOKEN_TTL", "forever"}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("SMSGW_TOKEN_TTL")));
}

TEST(SettingsTest, FlagHelpNamesTheVariableAndAnIntegerFlagsDefault) {
  EXPECT_EQ(FlagHelp("grpc_addr"),
            "gRPC listen address host:port (env SMSGW_GRPC_ADDR)");
  EXPECT_THAT(FlagHelp("watch_buffer"),
              HasSubstr("(env SMSGW_WATCH_BUFFER, default 1000)"));
  EXPECT_EQ(FlagHelp("min_schedule_ahead"),
            "for tests only: the earliest send_at from now");
}

TEST(SettingsTest, ATextFlagsDefaultIsTheEnvironmentValueWhenSet) {
  ::unsetenv("SMSGW_DEFAULT_REGION");
  EXPECT_EQ(FlagDefault("default_region"), "US");
  ::setenv("SMSGW_DEFAULT_REGION", "DE", 1);
  EXPECT_EQ(FlagDefault("default_region"), "DE");
  ::setenv("SMSGW_DEFAULT_REGION", "", 1);
  EXPECT_EQ(FlagDefault("default_region"), "");
  ::unsetenv("SMSGW_DEFAULT_REGION");
}

// docs/configuration.md's table, | environment | meaning | default |, whose
// rows may name several variables ("A, B, C") with as many defaults.
std::map<std::string, std::string> DocumentedDefaults() {
  std::ifstream in(std::string(SMSGW_SOURCE_DIR) + "/docs/configuration.md");
  std::stringstream text;
  text << in.rdbuf();
  std::map<std::string, std::string> defaults;
  bool in_table = false;
  for (absl::string_view line : absl::StrSplit(text.str(), '\n')) {
    if (line == "| environment | meaning | default |") {
      in_table = true;
      continue;
    }
    if (!absl::StartsWith(line, "|")) in_table = false;
    if (!in_table || absl::StartsWith(line, "|---")) continue;
    std::vector<std::string> cells = absl::StrSplit(line, '|');
    // "", environment, meaning, default, ""
    if (cells.size() != 5) {
      ADD_FAILURE() << "not a three-column row: " << line;
      continue;
    }
    std::vector<std::string> names =
        absl::StrSplit(absl::StripAsciiWhitespace(cells[1]), ", ");
    const std::string cell(absl::StripAsciiWhitespace(cells[3]));
    std::vector<std::string> values = absl::StrSplit(cell, ", ");
    for (size_t i = 0; i < names.size(); ++i) {
      defaults[names[i]] = values.size() == names.size() ? values[i] : cell;
    }
  }
  return defaults;
}

TEST(SettingsTest, DocsDocumentEveryVariableWithItsDefault) {
  const std::map<std::string, std::string> docs = DocumentedDefaults();
  ASSERT_FALSE(docs.empty()) << "no settings table in docs/configuration.md";
  // The docs' words for "no default", and defaults they spell in prose.
  const std::set<std::string> none = {"none", "unset", "unset (none)",
                                      "plaintext"};
  const std::map<std::string, std::string> spelled = {
      {"SMSGW_GRPC_MAX_MESSAGE_BYTES", "1 MiB"},
      {"SMSGW_PUBLIC_URL", "http://<SMSGW_HTTP_ADDR>"},
      {"TWILIO_PHONE_NUMBERS", "simulator: 3 numbers"},
      {"SMSGW_SENDER_RATES", "by number type"},
      {"SMSGW_DEFAULT_VALIDITY", "unset (none)"},  // 0 = none
      {"SMSGW_ALLOWED_COUNTRIES", "unset (none: every country)"},
      {"SMSGW_DAILY_SEGMENTS_PER_USER", "0 (none)"},
  };
  std::set<std::string> documented;
  for (const Setting& s : ServerSettings()) {
    if (s.env.empty()) continue;  // flag only (tests): not documented
    documented.insert(s.env);
    auto row = docs.find(s.env);
    ASSERT_TRUE(row != docs.end())
        << s.env << " is not in docs/configuration.md";
    const std::string& shown = row->second;
    if (auto it = spelled.find(s.env); it != spelled.end()) {
      EXPECT_EQ(shown, it->second) << s.env;
    } else if (s.default_text.empty()) {
      EXPECT_TRUE(none.count(shown) > 0 ||
                  absl::StartsWith(shown, "generated once"))
          << s.env << ": the docs say \"" << shown << "\"";
    } else {
      EXPECT_EQ(shown, s.default_text) << s.env;
    }
  }
  for (const auto& [env, shown] : docs) {
    EXPECT_TRUE(documented.count(env) > 0)
        << env << " is in docs/configuration.md but not in the settings table";
  }
}

// docs/configuration.md: a flag is its variable in lower case without
// "SMSGW_"; secrets are read from the environment only.
TEST(SettingsTest, FlagNamesAndSecretsAreAsTheDocsSay) {
  for (const Setting& s : ServerSettings()) {
    if (s.flag.empty() || s.env.empty()) continue;
    absl::string_view env = s.env;
    absl::ConsumePrefix(&env, "SMSGW_");
    EXPECT_EQ(s.flag, absl::AsciiStrToLower(env)) << s.env;
  }
  for (const char* secret :
       {"JWT_SECRET_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"}) {
    const Setting* s = FindSetting(secret);
    ASSERT_NE(s, nullptr) << secret;
    EXPECT_TRUE(s->flag.empty()) << secret;
  }
}

}  // namespace
}  // namespace smsgw::app
