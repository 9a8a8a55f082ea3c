// Attack suite, header injection (issue 9): `authorization` values with
// CR/LF, tabs, NULs and smuggled second headers, which gRPC's own client
// refuses to send, are sent over a hand-made HTTP/2 connection (literal
// HPACK, no Huffman) to the real server. Whether the server refuses the
// stream or the call, it must never answer as the user: the test looks for
// the user's name in the response DATA, and a clean request is the control
// that the raw client works.
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "client/smsgw_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/attack/attack_helpers.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_clients.h"

namespace smsgw::attack {
namespace {

std::string Frame(uint8_t type, uint8_t flags, uint32_t stream,
                  const std::string& payload) {
  std::string out;
  const uint32_t len = static_cast<uint32_t>(payload.size());
  out.push_back(static_cast<char>((len >> 16) & 0xff));
  out.push_back(static_cast<char>((len >> 8) & 0xff));
  out.push_back(static_cast<char>(len & 0xff));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  out.push_back(static_cast<char>((stream >> 24) & 0x7f));
  out.push_back(static_cast<char>((stream >> 16) & 0xff));
  out.push_back(static_cast<char>((stream >> 8) & 0xff));
  out.push_back(static_cast<char>(stream & 0xff));
  return out + payload;
}

// HPACK string length: 7-bit prefix integer, Huffman bit off (RFC 7541 5.1).
std::string HpackLength(size_t value) {
  std::string out;
  if (value < 127) {
    out.push_back(static_cast<char>(value));
    return out;
  }
  out.push_back(static_cast<char>(127));
  value -= 127;
  while (value >= 128) {
    out.push_back(static_cast<char>((value % 128) + 128));
    value /= 128;
  }
  out.push_back(static_cast<char>(value));
  return out;
}

// Literal header field without indexing, new name (RFC 7541 6.2.2).
std::string Literal(const std::string& name, const std::string& value) {
  return absl::StrCat(std::string(1, '\0'), HpackLength(name.size()), name,
                      HpackLength(value.size()), value);
}

struct RawAnswer {
  std::string data;  // DATA payloads of stream 1
  bool ended = false;   // stream 1 ended (END_STREAM or RST_STREAM)
  bool goaway = false;  // the connection was refused as a whole
  bool closed = false;
};

// GetCurrentUser over a raw HTTP/2 connection with `authorization` = value.
RawAnswer RawGetCurrentUser(const std::string& address,
                            const std::string& authorization) {
  RawAnswer answer;
  const int fd = ConnectTcp(address);
  if (fd < 0) return answer;
  std::string headers = absl::StrCat(
      Literal(":method", "POST"), Literal(":scheme", "http"),
      Literal(":path", "/smsgw.v1.AuthService/GetCurrentUser"),
      Literal(":authority", address),
      Literal("content-type", "application/grpc"), Literal("te", "trailers"),
      Literal("authorization", authorization));
  const std::string request = absl::StrCat(
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Frame(0x4, 0, 0, ""),
      Frame(0x1, 0x4, 1, headers),
      Frame(0x0, 0x1, 1, std::string(5, '\0')));  // empty gRPC message
  if (!SendAll(fd, request)) {
    ::close(fd);
    return answer;
  }
  std::string buffer;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!answer.ended && !answer.goaway && absl::Now() < deadline) {
    ReadResult chunk = ReadUntilClose(fd, absl::Milliseconds(100));
    buffer += chunk.bytes;
    while (buffer.size() >= 9) {
      const size_t len = (static_cast<uint8_t>(buffer[0]) << 16) |
                         (static_cast<uint8_t>(buffer[1]) << 8) |
                         static_cast<uint8_t>(buffer[2]);
      if (buffer.size() < 9 + len) break;
      const uint8_t type = static_cast<uint8_t>(buffer[3]);
      const uint8_t flags = static_cast<uint8_t>(buffer[4]);
      const uint32_t stream = ((static_cast<uint8_t>(buffer[5]) & 0x7f) << 24) |
                              (static_cast<uint8_t>(buffer[6]) << 16) |
                              (static_cast<uint8_t>(buffer[7]) << 8) |
                              static_cast<uint8_t>(buffer[8]);
      const std::string payload = buffer.substr(9, len);
      buffer.erase(0, 9 + len);
      if (type == 0x4 && (flags & 0x1) == 0) {
        SendAll(fd, Frame(0x4, 0x1, 0, ""));  // SETTINGS ACK
      } else if (type == 0x6 && (flags & 0x1) == 0) {
        SendAll(fd, Frame(0x6, 0x1, 0, payload));  // PING ACK
      } else if (type == 0x7) {
        answer.goaway = true;
      } else if (stream == 1) {
        if (type == 0x0) answer.data += payload;
        if (type == 0x3 || ((type == 0x0 || type == 0x1) && (flags & 0x1))) {
          answer.ended = true;
        }
      }
    }
    if (chunk.closed) {
      answer.closed = true;
      break;
    }
  }
  ::close(fd);
  return answer;
}

// A GetCurrentUserResponse for "ann" holds user { username: "ann" }.
bool AnsweredAsAnn(const RawAnswer& answer) {
  return answer.data.find("\x0a\x03" "ann") != std::string::npos;
}

TEST(HeaderInjectionAttackTest, SmuggledAuthorizationValuesNeverAuthenticate) {
  testing::TempDir dir;
  auto server = StartServer(dir);
  ASSERT_NE(server, nullptr);
  auto ann = testing::SignedUpClient(*server, "ann");
  const std::string token = ann->access_token();
  ASSERT_FALSE(token.empty());

  // Control: the raw client gets ann's user back with a clean header.
  const RawAnswer clean =
      RawGetCurrentUser(server->grpc_address(), absl::StrCat("Bearer ", token));
  ASSERT_TRUE(AnsweredAsAnn(clean)) << "raw HTTP/2 control request failed";

  for (const std::string& value : std::vector<std::string>{
           absl::StrCat("Bearer garbage\r\nauthorization: Bearer ", token),
           absl::StrCat("Bearer garbage\nauthorization: Bearer ", token),
           absl::StrCat("Bearer ", token, "\r\nx-smsgw-admin: true"),
           absl::StrCat("Bearer ", token.substr(0, 30), "\n",
                        token.substr(30)),
           absl::StrCat("Bearer\t", token),
           absl::StrCat("Bearer ", token, std::string(1, '\0'), "x"),
           absl::StrCat("Bearer ", std::string(1, '\0'), token),
           absl::StrCat("Bearer ", token.substr(0, 30), "\t",
                        token.substr(30)),
           absl::StrCat("Bearer ", token.substr(0, token.size() - 5),
                        "\r\n\r\n", token.substr(token.size() - 5)),
       }) {
    const RawAnswer answer = RawGetCurrentUser(server->grpc_address(), value);
    EXPECT_FALSE(AnsweredAsAnn(answer))
        << "authenticated with authorization: " << absl::CEscape(value);
    EXPECT_TRUE(answer.ended || answer.goaway || answer.closed)
        << "no answer for " << absl::CEscape(value);
  }
  // The server still serves.
  EXPECT_TRUE(ann->GetCurrentUser().ok());
}

}  // namespace
}  // namespace smsgw::attack
