#include "server/gateway/http_route.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/api/annotations.pb.h"
#include "google/api/http.pb.h"
#include "google/protobuf/descriptor.h"

namespace smsgw::gateway {
namespace {

namespace pb = ::google::protobuf;

absl::Status BadTemplate(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("path template \"", text, "\": ", why));
}

// The field `path` ("a.b") names in `message`, or nullptr.
const pb::FieldDescriptor* FieldAt(const pb::Descriptor* message,
                                   absl::string_view path) {
  const pb::FieldDescriptor* field = nullptr;
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    if (message == nullptr) return nullptr;
    field = message->FindFieldByName(std::string(part));
    if (field == nullptr) return nullptr;
    message = field->message_type();
  }
  return field;
}

}  // namespace

absl::StatusOr<PathTemplate> PathTemplate::Parse(absl::string_view text) {
  if (text.empty() || text[0] != '/') {
    return BadTemplate(text, "must start with '/'");
  }
  PathTemplate parsed;
  parsed.text_ = std::string(text);
  absl::string_view rest = text.substr(1);
  // The verb is what follows the last ':' outside braces.
  const size_t close = rest.rfind('}');
  const size_t colon = rest.rfind(':');
  if (colon != absl::string_view::npos &&
      (close == absl::string_view::npos || colon > close)) {
    parsed.verb_ = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (parsed.verb_.empty()) return BadTemplate(text, "empty verb");
  }
  for (absl::string_view part : absl::StrSplit(rest, '/')) {
    if (part.empty()) return BadTemplate(text, "empty segment");
    Segment segment;
    if (part.front() == '{') {
      if (part.back() != '}' || part.size() < 3) {
        return BadTemplate(text, "unclosed or empty variable");
      }
      absl::string_view name = part.substr(1, part.size() - 2);
      // {name=*} is the explicit form of {name}; other patterns would bind
      // several segments, which no route of ours needs.
      if (absl::EndsWith(name, "=*")) name.remove_suffix(2);
      if (name.find_first_of("=*/{}") != absl::string_view::npos) {
        return BadTemplate(text, "only single-segment variables are supported");
      }
      segment.is_variable = true;
      segment.variable = std::string(name);
    } else {
      if (part.find_first_of("{}*") != absl::string_view::npos) {
        return BadTemplate(text, "wildcards must be variables {field}");
      }
      segment.literal = std::string(part);
    }
    parsed.segments_.push_back(std::move(segment));
  }
  return parsed;
}

bool PathTemplate::Match(absl::string_view path, PathBindings* bindings) const {
  if (path.empty() || path[0] != '/') return false;
  path.remove_prefix(1);
  if (!verb_.empty()) {
    const std::string suffix = absl::StrCat(":", verb_);
    if (!absl::EndsWith(path, suffix)) return false;
    path.remove_suffix(suffix.size());
  }
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/');
  if (parts.size() != segments_.size()) return false;
  PathBindings found;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Segment& segment = segments_[i];
    if (segment.is_variable) {
      if (parts[i].empty()) return false;
      found.emplace_back(segment.variable, std::string(parts[i]));
    } else if (parts[i] != segment.literal) {
      return false;
    }
  }
  bindings->insert(bindings->end(), found.begin(), found.end());
  return true;
}

std::vector<std::string> PathTemplate::Variables() const {
  std::vector<std::string> names;
  for (const Segment& segment : segments_) {
    if (segment.is_variable) names.push_back(segment.variable);
  }
  return names;
}

absl::StatusOr<std::vector<HttpRoute>> RoutesOf(
    const std::vector<const pb::ServiceDescriptor*>& services) {
  std::vector<HttpRoute> routes;
  std::set<std::pair<std::string, std::string>> seen;
  for (const pb::ServiceDescriptor* service : services) {
    for (int i = 0; i < service->method_count(); ++i) {
      const pb::MethodDescriptor* method = service->method(i);
      if (!method->options().HasExtension(google::api::http)) continue;
      const google::api::HttpRule& rule =
          method->options().GetExtension(google::api::http);
      HttpRoute route;
      std::string path;
      switch (rule.pattern_case()) {
        case google::api::HttpRule::kGet:
          route.http_method = "GET", path = rule.get();
          break;
        case google::api::HttpRule::kPost:
          route.http_method = "POST", path = rule.post();
          break;
        case google::api::HttpRule::kDelete:
          route.http_method = "DELETE", path = rule.delete_();
          break;
        case google::api::HttpRule::kPatch:
          route.http_method = "PATCH", path = rule.patch();
          break;
        case google::api::HttpRule::kPut:
          route.http_method = "PUT", path = rule.put();
          break;
        default:
          return absl::InvalidArgumentError(absl::StrCat(
              method->full_name(), ": google.api.http has no supported verb"));
      }
      absl::StatusOr<PathTemplate> parsed = PathTemplate::Parse(path);
      if (!parsed.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(method->full_name(), ": ", parsed.status().message()));
      }
      route.path = *std::move(parsed);
      route.body = rule.body();
      route.method = method;
      route.grpc_path =
          absl::StrCat("/", service->full_name(), "/", method->name());
      const pb::Descriptor* input = method->input_type();
      if (!route.body.empty() && route.body != "*" &&
          input->FindFieldByName(route.body) == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            method->full_name(), ": body \"", route.body, "\" names no field"));
      }
      for (const std::string& variable : route.path.Variables()) {
        const pb::FieldDescriptor* field = FieldAt(input, variable);
        if (field == nullptr || field->is_repeated() ||
            field->type() != pb::FieldDescriptor::TYPE_STRING) {
          return absl::InvalidArgumentError(
              absl::StrCat(method->full_name(), ": path variable {", variable,
                           "} names no string field of ", input->full_name()));
        }
      }
      if (!seen.emplace(route.http_method, route.path.text()).second) {
        return absl::InvalidArgumentError(
            absl::StrCat(method->full_name(), ": ", route.http_method, " ",
                         route.path.text(), " is bound twice"));
      }
      routes.push_back(std::move(route));
    }
  }
  return routes;
}

absl::StatusOr<std::vector<const pb::ServiceDescriptor*>> GeneratedServices(
    const std::vector<std::string>& full_names) {
  std::vector<const pb::ServiceDescriptor*> services;
  for (const std::string& name : full_names) {
    const pb::ServiceDescriptor* service =
        pb::DescriptorPool::generated_pool()->FindServiceByName(name);
    if (service == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("service ", name, " is not compiled in"));
    }
    services.push_back(service);
  }
  return services;
}

absl::StatusOr<const HttpRoute*> FindRoute(const std::vector<HttpRoute>& routes,
                                           absl::string_view http_method,
                                           absl::string_view path,
                                           PathBindings* bindings,
                                           std::string* allowed) {
  std::vector<std::string> other_methods;
  for (const HttpRoute& route : routes) {
    PathBindings found;
    if (!route.path.Match(path, &found)) continue;
    if (route.http_method == http_method) {
      *bindings = std::move(found);
      return &route;
    }
    other_methods.push_back(route.http_method);
  }
  if (other_methods.empty()) {
    return absl::NotFoundError(absl::StrCat("no route for ", path));
  }
  *allowed = absl::StrJoin(other_methods, ", ");
  return absl::FailedPreconditionError(
      absl::StrCat(http_method, " is not allowed on ", path, "; use ", *allowed));
}

}  // namespace smsgw::gateway
