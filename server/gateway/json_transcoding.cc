#include "server/gateway/json_transcoding.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/status.pb.h"
#include "nlohmann/json.hpp"

namespace smsgw::gateway {
namespace {

namespace pb = ::google::protobuf;
using Json = nlohmann::json;

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(std::string(what));
}

// The field of `message` called `name` in either spelling (proto name or
// its JSON name), or nullptr.
const pb::FieldDescriptor* FieldNamed(const pb::Descriptor* message,
                                      absl::string_view name) {
  const std::string key(name);
  if (const pb::FieldDescriptor* field = message->FindFieldByName(key)) {
    return field;
  }
  for (int i = 0; i < message->field_count(); ++i) {
    if (message->field(i)->json_name() == key) return message->field(i);
  }
  return nullptr;
}

// Walks `path` ("a.b") from `message`: the object in `root` that holds the
// last field (created as needed) and that field. InvalidArgument naming the
// parameter when a part names no field or passes through a non-message or
// repeated field.
absl::Status Resolve(const pb::Descriptor* message, absl::string_view path,
                     Json* root, Json** holder,
                     const pb::FieldDescriptor** field) {
  std::vector<absl::string_view> parts = absl::StrSplit(path, '.');
  Json* at = root;
  for (size_t i = 0; i < parts.size(); ++i) {
    const pb::FieldDescriptor* f = FieldNamed(message, parts[i]);
    if (f == nullptr) {
      return Invalid(absl::StrCat("unknown field \"", path, "\" in ",
                                  message->full_name()));
    }
    if (i + 1 == parts.size()) {
      *holder = at;
      *field = f;
      return absl::OkStatus();
    }
    if (f->message_type() == nullptr || f->is_repeated()) {
      return Invalid(absl::StrCat("\"", path, "\": ", f->name(),
                                  " has no fields"));
    }
    // One spelling per field, or the JSON parser sees it twice.
    if (f->json_name() != f->name()) at->erase(f->name());
    Json& next = (*at)[f->json_name()];
    if (next.is_null()) next = Json::object();
    if (!next.is_object()) {
      return Invalid(absl::StrCat("\"", path, "\": ", f->name(),
                                  " is not an object"));
    }
    at = &next;
    message = f->message_type();
  }
  return Invalid(absl::StrCat("empty field path \"", path, "\""));
}

// The JSON value of query/path text `value` for `field`.
absl::StatusOr<Json> ScalarValue(const pb::FieldDescriptor* field,
                                 absl::string_view value,
                                 absl::string_view name) {
  switch (field->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      if (value == "true" || value == "1") return Json(true);
      if (value == "false" || value == "0") return Json(false);
      return Invalid(absl::StrCat("\"", name, "\" must be true or false, got \"",
                                  value, "\""));
    case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
      const std::string& type = field->message_type()->full_name();
      if (type == "google.protobuf.Timestamp" ||
          type == "google.protobuf.Duration" ||
          type == "google.protobuf.FieldMask") {
        return Json(std::string(value));
      }
      return Invalid(absl::StrCat("\"", name, "\" is a message (", type,
                                  "): it cannot be a query parameter"));
    }
    default:
      // Numbers and enums too: proto3 JSON takes numbers as strings.
      return Json(std::string(value));
  }
}

// Sets `path` of `root` to `value`: appended when the field is repeated.
absl::Status SetField(const pb::Descriptor* message, absl::string_view path,
                      absl::string_view value, Json* root, bool from_path) {
  Json* holder = nullptr;
  const pb::FieldDescriptor* field = nullptr;
  if (absl::Status s = Resolve(message, path, root, &holder, &field); !s.ok()) {
    return s;
  }
  if (field->is_map()) {
    return Invalid(absl::StrCat("\"", path, "\" is a map: send it in a body"));
  }
  absl::StatusOr<Json> json = ScalarValue(field, value, path);
  if (!json.ok()) return json.status();
  if (field->json_name() != field->name()) holder->erase(field->name());
  Json& slot = (*holder)[field->json_name()];
  if (field->is_repeated()) {
    if (!slot.is_array()) slot = Json::array();
    slot.push_back(*std::move(json));
  } else {
    if (!from_path && !slot.is_null()) {
      return Invalid(absl::StrCat("\"", path, "\" is given twice"));
    }
    slot = *std::move(json);
  }
  return absl::OkStatus();
}

// `json` as text. nlohmann throws on strings that are not UTF-8 (a
// percent-decoded query value can be anything): InvalidArgument then.
absl::StatusOr<std::string> Dump(const Json& json) {
  try {
    return json.dump();
  } catch (const Json::exception&) {
    return Invalid("a parameter is not valid UTF-8");
  }
}

}  // namespace

absl::Status BuildRequest(const HttpRoute& route, const PathBindings& bindings,
                          const QueryParams& query, absl::string_view body,
                          pb::Message* request) {
  const pb::Descriptor* input = request->GetDescriptor();
  Json root = Json::object();
  const bool has_body = !absl::StripAsciiWhitespace(body).empty();
  if (route.body.empty()) {
    if (has_body) {
      return Invalid(absl::StrCat(route.http_method, " ", route.path.text(),
                                  " takes no body: pass fields as query "
                                  "parameters"));
    }
  } else if (has_body) {
    Json parsed = Json::parse(body.begin(), body.end(), nullptr,
                              /*allow_exceptions=*/false);
    if (parsed.is_discarded()) return Invalid("the body is not valid JSON");
    if (route.body == "*") {
      if (!parsed.is_object()) return Invalid("the body must be a JSON object");
      root = std::move(parsed);
    } else {
      const pb::FieldDescriptor* field = input->FindFieldByName(route.body);
      root[field->json_name()] = std::move(parsed);
    }
  }
  if (route.body == "*" && !query.empty()) {
    return Invalid(absl::StrCat("unexpected query parameter \"",
                                query.front().first, "\": ", route.http_method,
                                " ", route.path.text(),
                                " takes its fields in the JSON body"));
  }
  for (const auto& [name, value] : query) {
    for (const auto& [bound, unused] : bindings) {
      if (name == bound) {
        return Invalid(absl::StrCat("\"", name, "\" is set by the path"));
      }
    }
    if (absl::Status s = SetField(input, name, value, &root, false); !s.ok()) {
      return s;
    }
  }
  for (const auto& [name, value] : bindings) {
    if (absl::Status s = SetField(input, name, value, &root, true); !s.ok()) {
      return s;
    }
  }
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  absl::StatusOr<std::string> text = Dump(root);
  if (!text.ok()) return text.status();
  auto parsed = pb::util::JsonStringToMessage(*text, request, options);
  if (!parsed.ok()) {
    return Invalid(absl::StrCat("invalid request for ",
                                input->full_name(), ": ",
                                std::string(parsed.message())));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ToJson(const pb::Message& message) {
  pb::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string out;
  auto printed = pb::util::MessageToJsonString(message, &out, options);
  if (!printed.ok()) {
    return absl::InternalError(absl::StrCat("cannot print ",
                                            message.GetTypeName(), ": ",
                                            std::string(printed.message())));
  }
  return out;
}

std::string ErrorBody(int grpc_code, absl::string_view message,
                      absl::string_view serialized_details) {
  // In google.rpc.Status's field order.
  nlohmann::ordered_json body = {{"code", grpc_code},
                                 {"message", std::string(message)},
                                 {"details", nlohmann::ordered_json::array()}};
  google::rpc::Status details;
  if (!serialized_details.empty() &&
      details.ParseFromArray(serialized_details.data(),
                             static_cast<int>(serialized_details.size()))) {
    for (const auto& any : details.details()) {
      std::string json;
      if (!pb::util::MessageToJsonString(any, &json).ok()) continue;
      auto detail = nlohmann::ordered_json::parse(json, nullptr,
                                                  /*allow_exceptions=*/false);
      if (!detail.is_discarded()) body["details"].push_back(std::move(detail));
    }
  }
  // The message may quote what the client sent, valid UTF-8 or not.
  return body.dump(-1, ' ', false,
                   nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace smsgw::gateway
