// File: rpc_harness.h
//
// The shared body of the rpc_*_fuzzer targets: a whole smsgw server
// (ServerApp: real gRPC services, domain, SQLite on a temp file, dispatcher
// and the built-in Twilio simulator) runs inside the fuzzer process on
// loopback ephemeral ports, and each input is one unary call whose request
// bytes go to the server unparsed, so the server's own deserialisation and
// then its validation see exactly the fuzzer's bytes.
#ifndef SMSGW_TESTS_FUZZ_RPC_HARNESS_H_
#define SMSGW_TESTS_FUZZ_RPC_HARNESS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace smsgw::fuzz {

// Input: method selector byte (index into `methods`, modulo its size),
// caller byte (bit 0: the admin instead of a plain user; bit 1: no
// authorization metadata; bit 2: an idempotency-key metadata from the next
// input bytes up to '\n'), then the serialized request. `methods` are full
// gRPC method names ("/smsgw.v1.AuthService/Login"). Aborts if the server
// answers a code that no handler returns for a request problem (UNKNOWN,
// or INTERNAL for a request that parsed), or does not answer in time.
void RunRpcInput(const std::vector<std::string>& methods, const uint8_t* data,
                 size_t size);

}  // namespace smsgw::fuzz

#endif  // SMSGW_TESTS_FUZZ_RPC_HARNESS_H_
