#include "server/twilio/form_encoding.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace smsgw::twilio {
namespace {

int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Validates UTF-8 per RFC 3629 (Unicode Table 3-7): no overlong forms, no
// surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
bool IsValidUtf8(absl::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // > U+10FFFF
    } else {
      return false;  // continuation byte, C0/C1 overlong, or F5..FF
    }
    if (n - i < len) return false;
    if (p[i + 1] < lo || p[i + 1] > hi) return false;
    for (size_t k = 2; k < len; ++k) {
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return false;
    }
    i += len;
  }
  return true;
}

// Decodes one name or value that starts at `offset` in the whole body, so
// errors can point at the exact byte.
absl::StatusOr<std::string> DecodeComponent(absl::string_view text,
                                            size_t offset,
                                            absl::string_view what) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      const int hi = i + 1 < text.size() ? HexDigitValue(text[i + 1]) : -1;
      const int lo = i + 2 < text.size() ? HexDigitValue(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "form body: '%' at offset ", offset + i,
            " is not followed by two hex digits"));
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  if (out.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "form body: ", what, " at offset ", offset, " contains a NUL byte"));
  }
  if (!IsValidUtf8(out)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "form body: ", what, " at offset ", offset,
        " is not valid UTF-8 after decoding"));
  }
  return out;
}

}  // namespace

absl::StatusOr<FormParams> ParseForm(absl::string_view body,
                                     const FormLimits& limits) {
  if (body.size() > limits.max_total_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("form body: ", body.size(), " bytes exceeds the limit of ",
                     limits.max_total_bytes));
  }
  FormParams params;
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('&', start);
    if (end == absl::string_view::npos) end = body.size();
    const absl::string_view pair = body.substr(start, end - start);
    if (!pair.empty()) {
      if (params.size() >= limits.max_params) {
        return absl::InvalidArgumentError(absl::StrCat(
            "form body: more than ", limits.max_params, " parameters"));
      }
      const size_t eq = pair.find('=');
      const absl::string_view raw_name = pair.substr(0, eq);
      absl::StatusOr<std::string> name =
          DecodeComponent(raw_name, start, "name");
      if (!name.ok()) return name.status();
      if (name->size() > limits.max_name_bytes) {
        return absl::InvalidArgumentError(absl::StrCat(
            "form body: name at offset ", start, " is ", name->size(),
            " bytes, over the limit of ", limits.max_name_bytes));
      }
      std::string value;
      if (eq != absl::string_view::npos) {
        absl::StatusOr<std::string> decoded =
            DecodeComponent(pair.substr(eq + 1), start + eq + 1, "value");
        if (!decoded.ok()) return decoded.status();
        value = *std::move(decoded);
      }
      params.emplace_back(*std::move(name), std::move(value));
    }
    start = end + 1;
  }
  return params;
}

std::string PercentEncode(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                            c == '_' || c == '~';
    if (unreserved) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0x0F]);
    }
  }
  return out;
}

std::string EncodeForm(const FormParams& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out.push_back('&');
    absl::StrAppend(&out, PercentEncode(name), "=", PercentEncode(value));
  }
  return out;
}

std::optional<std::string> FormValue(const FormParams& params,
                                     absl::string_view name) {
  for (const auto& [n, v] : params) {
    if (n == name) return v;
  }
  return std::nullopt;
}

std::vector<std::string> FormValues(const FormParams& params,
                                    absl::string_view name) {
  std::vector<std::string> values;
  for (const auto& [n, v] : params) {
    if (n == name) values.push_back(v);
  }
  return values;
}

}  // namespace smsgw::twilio
