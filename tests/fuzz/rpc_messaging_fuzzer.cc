// Fuzzes the requests of smsgw.v1.MessagingService's unary RPCs through the real
// server (see rpc_harness.h for the input format and the properties).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/fuzz/rpc_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::string>* const methods =
      new std::vector<std::string>{
          "/smsgw.v1.MessagingService/SendMessage",
          "/smsgw.v1.MessagingService/CancelMessage",
          "/smsgw.v1.MessagingService/GetMessage",
          "/smsgw.v1.MessagingService/ListMessages",
          "/smsgw.v1.MessagingService/ListConversations",
          "/smsgw.v1.MessagingService/DeleteMessage",
          "/smsgw.v1.MessagingService/DeleteMessages",
          "/smsgw.v1.MessagingService/GetMessageStats",
      };
  smsgw::fuzz::RunRpcInput(*methods, data, size);
  return 0;
}
