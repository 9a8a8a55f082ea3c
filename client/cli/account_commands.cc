// Accounts: signup, login, logout, whoami and phone verification.
#include "client/cli/command_support.h"

#include <filesystem>
#include <string>
#include <system_error>

#include "absl/strings/str_join.h"

namespace smsgw::cli {
namespace {

void PrintUser(Context& ctx, const v1::User& user) {
  ctx.out << "username: " << user.username() << "\n"
          << "phone: "
          << (user.phone_number().empty() ? "-" : user.phone_number())
          << (user.phone_number().empty()
                  ? ""
                  : (user.phone_verified() ? " (verified)" : " (unverified)"))
          << "\n"
          << "admin: " << (user.admin() ? "yes" : "no") << "\n"
          << "created: " << FormatTime(user.create_time()) << "\n";
}

template <typename Response>
int SessionCommand(Context& ctx, const absl::StatusOr<Response>& response,
                   absl::string_view verb) {
  if (!response.ok()) return Refused(ctx, response.status());
  absl::Status saved = SaveToken(ctx.options, response->access_token());
  if (!saved.ok()) return Refused(ctx, saved);
  if (ctx.options.json) {
    ctx.out << ToJson(*response);
    return 0;
  }
  ctx.out << verb << " as " << response->user().username()
          << "; token saved, valid until "
          << FormatTime(response->expire_time()) << "\n";
  return 0;
}

}  // namespace

int SignUp(Context& ctx) {
  if (ctx.options.username.empty() || ctx.options.password.empty()) {
    return UsageError(ctx, "signup needs --username and --password");
  }
  auto client = Connect(ctx.options, /*with_token=*/false);
  if (!client.ok()) return Refused(ctx, client.status());
  return SessionCommand(ctx,
                        (*client)->SignUp(ctx.options.username,
                                          ctx.options.password,
                                          ctx.options.phone),
                        "signed up");
}

int Login(Context& ctx) {
  if (ctx.options.username.empty() || ctx.options.password.empty()) {
    return UsageError(ctx, "login needs --username and --password");
  }
  auto client = Connect(ctx.options, /*with_token=*/false);
  if (!client.ok()) return Refused(ctx, client.status());
  return SessionCommand(
      ctx, (*client)->Login(ctx.options.username, ctx.options.password),
      "logged in");
}

int Logout(Context& ctx) {
  std::error_code ec;
  std::filesystem::remove(TokenPath(ctx.options), ec);
  ctx.out << "logged out\n";
  return 0;
}

int WhoAmI(Context& ctx) {
  auto client = Connect(ctx.options, /*with_token=*/true);
  if (!client.ok()) return Refused(ctx, client.status());
  absl::StatusOr<v1::GetCurrentUserResponse> response =
      (*client)->GetCurrentUser();
  if (!response.ok()) return Refused(ctx, response.status());
  if (ctx.options.json) {
    ctx.out << ToJson(*response);
  } else {
    PrintUser(ctx, response->user());
  }
  return 0;
}

// `smsgw verify start [--phone N]` and `smsgw verify confirm --code C`.
int Verify(Context& ctx) {
  const std::string sub = ctx.args.size() == 2 ? ctx.args[1] : "";
  if (sub != "start" && sub != "confirm") {
    return UsageError(ctx, "verify start [--phone N] | verify confirm --code C");
  }
  if (sub == "confirm" && ctx.options.code.empty()) {
    return UsageError(ctx, "verify confirm needs --code (the 6 digits received)");
  }
  auto client = Connect(ctx.options, /*with_token=*/true);
  if (!client.ok()) return Refused(ctx, client.status());
  if (sub == "start") {
    auto response = (*client)->StartPhoneVerification(ctx.options.phone);
    if (!response.ok()) return Refused(ctx, response.status());
    if (ctx.options.json) {
      ctx.out << ToJson(*response);
      return 0;
    }
    ctx.out << "code sent by SMS to " << response->phone_number()
            << "; valid until " << FormatTime(response->expire_time())
            << "\nthen run: smsgw verify confirm --code CODE\n";
    return 0;
  }
  auto response = (*client)->ConfirmPhoneVerification(ctx.options.code);
  if (!response.ok()) return Refused(ctx, response.status());
  if (ctx.options.json) {
    ctx.out << ToJson(*response);
    return 0;
  }
  ctx.out << "phone " << response->user().phone_number() << " verified\n";
  return 0;
}

// `smsgw keys create NAME --scopes S,...`, `keys list`, `keys delete ID`.
int Keys(Context& ctx) {
  const std::string sub = ctx.args.size() >= 2 ? ctx.args[1] : "";
  const bool named = ctx.args.size() == 3;
  if (!((sub == "create" && named) || (sub == "list" && ctx.args.size() == 2) ||
        (sub == "delete" && named))) {
    return UsageError(ctx,
                      "keys create NAME --scopes S,... | keys list | keys "
                      "delete ID");
  }
  if (sub == "create" && ctx.options.scopes.empty()) {
    return UsageError(ctx, "keys create needs --scopes (e.g. messages:send)");
  }
  auto client = Connect(ctx.options, /*with_token=*/true);
  if (!client.ok()) return Refused(ctx, client.status());
  if (sub == "create") {
    auto response = (*client)->CreateApiKey(ctx.args[2], ctx.options.scopes);
    if (!response.ok()) return Refused(ctx, response.status());
    if (ctx.options.json) {
      ctx.out << ToJson(*response);
      return 0;
    }
    ctx.out << "created API key " << response->api_key().id() << " ("
            << response->api_key().name() << "): "
            << absl::StrJoin(response->api_key().scopes(), ",") << "\n"
            << "secret (shown only now): " << response->secret() << "\n";
    return 0;
  }
  if (sub == "delete") {
    auto response = (*client)->DeleteApiKey(ctx.args[2]);
    if (!response.ok()) return Refused(ctx, response.status());
    ctx.out << "deleted API key " << ctx.args[2] << "\n";
    return 0;
  }
  auto response = (*client)->ListApiKeys();
  if (!response.ok()) return Refused(ctx, response.status());
  if (ctx.options.json) {
    ctx.out << ToJson(*response);
    return 0;
  }
  if (response->api_keys().empty()) ctx.out << "no API keys\n";
  for (const v1::ApiKey& key : response->api_keys()) {
    ctx.out << key.id() << "  " << key.name() << "  "
            << absl::StrJoin(key.scopes(), ",") << "  created "
            << FormatTime(key.create_time()) << "  last used "
            << (key.has_last_use_time() ? FormatTime(key.last_use_time())
                                        : std::string("never"))
            << "\n";
  }
  return 0;
}

}  // namespace smsgw::cli
