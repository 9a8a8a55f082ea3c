// Fuzzes the requests of smsgw.v1.GroupService's unary RPCs through the real
// server (see rpc_harness.h for the input format and the properties).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/fuzz/rpc_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::string>* const methods =
      new std::vector<std::string>{
          "/smsgw.v1.GroupService/CreateGroup",
          "/smsgw.v1.GroupService/JoinGroup",
          "/smsgw.v1.GroupService/LeaveGroup",
          "/smsgw.v1.GroupService/GetGroup",
          "/smsgw.v1.GroupService/ListGroups",
          "/smsgw.v1.GroupService/SendGroupMessage",
          "/smsgw.v1.GroupService/ListGroupMessages",
      };
  smsgw::fuzz::RunRpcInput(*methods, data, size);
  return 0;
}
