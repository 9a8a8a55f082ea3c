// File: settings.h
//
// The table of smsgw-server's settings (DESIGN.md §8, README
// "Configuration"): for each, its flag, its environment variable, its
// default, its parser and its help text. main.cc declares one flag per row
// and builds its ServerConfig with LoadServerConfig; the defaults themselves
// are ServerConfig's member initializers (config.h), from which each row's
// default text is formatted, so that every default is written once.
//
// Precedence, as smsgw-server has always had it: a flag given on the command
// line wins; else the environment variable when it is set, even to the empty
// string; else the default. Text flags carry it in their own default
// (FlagDefault); integer flags default to -1, meaning "not given".
#ifndef SMSGW_SERVER_APP_SETTINGS_H_
#define SMSGW_SERVER_APP_SETTINGS_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/app/config.h"

namespace smsgw::app {

// One row of the table.
struct Setting {
  std::string flag;  // without "--"; empty = environment only
  std::string env;   // environment variable; empty = flag only
  std::string help;  // --help text, without the "(env ...)" note
  // The value when neither the flag nor the environment gives one, as the
  // text the parser reads: formatted from a default ServerConfig.
  std::string default_text;
  // The flag is an int whose default, -1, means "not given" (so that a
  // malformed environment value is reported, not taken at flag set-up).
  bool integer_flag = false;
  // Sets the setting's ServerConfig field from `text`. InvalidArgument with
  // one sentence naming the setting when the text is malformed.
  std::function<absl::Status(absl::string_view text, ServerConfig& config)>
      parse;
};

// Every setting, in the order LoadServerConfig reads them (the first
// malformed one is the one reported).
const std::vector<Setting>& ServerSettings();

// The row whose flag is `name`, or, for a row without a flag, whose
// environment variable is `name`; nullptr when there is none.
const Setting* FindSetting(absl::string_view name);

// Looks a name up: the value when given, nullopt when not.
using SettingLookup =
    std::function<std::optional<std::string>(absl::string_view name)>;

// The text of `setting`: flags(setting.flag) when the setting has a flag and
// it is given, else env(setting.env) when the setting has a variable and it
// is set, else setting.default_text.
std::string ResolveSetting(const Setting& setting, const SettingLookup& flags,
                           const SettingLookup& env);

// A ServerConfig from every row of the table, resolved as ResolveSetting
// says. InvalidArgument from the first row whose text its parser refuses.
// Cross-field rules are ValidateConfig's (config.h), not checked here.
absl::StatusOr<ServerConfig> LoadServerConfig(const SettingLookup& flags,
                                              const SettingLookup& env);

// The process environment (getenv): set variables, even empty ones.
std::optional<std::string> ProcessEnv(absl::string_view name);

// The registered command-line flag `name` (main.cc's): a text flag's current
// value (its default is FlagDefault, so it is always given), an integer
// flag's when it is >= 0; nullopt otherwise or when no such flag exists.
std::optional<std::string> CommandLineFlag(absl::string_view name);

// For main.cc's flag declarations: the default of the text flag `flag` (the
// environment variable's value when set, else the default text), and the
// help of any flag, with its "(env NAME)" or "(env NAME, default D)" note.
// A name not in the table aborts: a flag main.cc declares must be a row.
std::string FlagDefault(absl::string_view flag);
std::string FlagHelp(absl::string_view flag);

}  // namespace smsgw::app

#endif  // SMSGW_SERVER_APP_SETTINGS_H_
