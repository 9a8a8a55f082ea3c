// The plumbing every smsgw command shares (command_support.h).
#include "client/cli/command_support.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace smsgw::cli {
namespace {

constexpr char kTokenFile[] = "token";

std::string LoadToken(const CliOptions& options) {
  std::ifstream in(TokenPath(options));
  std::string token;
  std::getline(in, token);
  return std::string(absl::StripAsciiWhitespace(token));
}

}  // namespace

int Refused(Context& ctx, const absl::Status& status) {
  ctx.err << "smsgw: " << absl::StatusCodeToString(status.code()) << ": "
          << status.message() << "\n";
  return 1;
}

int UsageError(Context& ctx, absl::string_view message) {
  ctx.err << "smsgw: " << message << "\n(run `smsgw help` for usage)\n";
  return 2;
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions print;
  print.add_whitespace = true;
  print.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, print);
  return json;
}

std::string FormatTime(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC",
                          absl::FromUnixSeconds(ts.seconds()),
                          absl::UTCTimeZone());
}

std::string TokenPath(const CliOptions& options) {
  return ConfigDir(options) + "/" + kTokenFile;
}

absl::Status SaveToken(const CliOptions& options, const std::string& token) {
  const std::string dir = ConfigDir(options);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", dir, ": ", ec.message()));
  }
  ::chmod(dir.c_str(), 0700);
  const std::string path = TokenPath(options);
  const std::string tmp = path + ".tmp";
  // Created 0600 from the start: the token must never be readable by others,
  // not even for a moment.
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  const std::string content = token + "\n";
  const bool written =
      ::write(fd, content.data(), content.size()) ==
      static_cast<ssize_t>(content.size());
  ::fchmod(fd, 0600);
  ::close(fd);
  if (!written || std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<client::SmsgwClient>> Connect(
    const CliOptions& options, bool with_token) {
  client::SmsgwClient::Options client_options;
  client_options.target = options.server;
  client_options.use_tls = options.tls;
  client_options.timeout = options.timeout;
  if (!options.ca_cert_path.empty()) {
    std::ifstream in(options.ca_cert_path);
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read --ca_cert ", options.ca_cert_path));
    }
    std::stringstream pem;
    pem << in.rdbuf();
    client_options.ca_cert_pem = pem.str();
  }
  absl::StatusOr<std::unique_ptr<client::SmsgwClient>> client =
      client::SmsgwClient::Create(client_options);
  if (!client.ok()) return client.status();
  if (with_token && !options.api_key.empty()) {
    (*client)->set_access_token(options.api_key);
  } else if (with_token) {
    std::string token = LoadToken(options);
    if (token.empty()) {
      return absl::UnauthenticatedError(
          "not logged in: run `smsgw login --username NAME --password PW` "
          "first");
    }
    (*client)->set_access_token(std::move(token));
  }
  return client;
}

const char* StatusText(int status) {
  return v1::MessageStatus_Name(static_cast<v1::MessageStatus>(status))
      .c_str() + sizeof("MESSAGE_STATUS_") - 1;
}

void PrintMessage(Context& ctx, const v1::Message& m) {
  ctx.out << m.id() << "  " << StatusText(m.status()) << "  "
          << (m.direction() == v1::MESSAGE_DIRECTION_INBOUND ? "in " : "out")
          << "  " << m.from() << " -> " << m.to() << "  "
          << FormatTime(m.create_time());
  if (!m.provider_sid().empty()) ctx.out << "  " << m.provider_sid();
  if (m.has_scheduled_time()) {
    ctx.out << "  scheduled " << FormatTime(m.scheduled_time());
  }
  if (m.error_code() != 0) {
    ctx.out << "  error " << m.error_code() << ": " << m.error_message();
  }
  ctx.out << "\n    " << m.body() << "\n";
}

int PrintJson(Context& ctx, const google::protobuf::Message& message) {
  ctx.out << ToJson(message);
  return 0;
}

}  // namespace smsgw::cli
