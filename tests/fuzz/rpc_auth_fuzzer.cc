// Fuzzes the requests of smsgw.v1.AuthService's unary RPCs through the real
// server (see rpc_harness.h for the input format and the properties).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/fuzz/rpc_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::string>* const methods =
      new std::vector<std::string>{
          "/smsgw.v1.AuthService/SignUp",
          "/smsgw.v1.AuthService/Login",
          "/smsgw.v1.AuthService/GetCurrentUser",
          "/smsgw.v1.AuthService/StartPhoneVerification",
          "/smsgw.v1.AuthService/ConfirmPhoneVerification",
      };
  smsgw::fuzz::RunRpcInput(*methods, data, size);
  return 0;
}
