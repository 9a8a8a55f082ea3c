// File: serve_modes.h
//
// The child processes of smsgw-bench: the binary re-executes itself in one of
// these modes, so that the baseline server and the fake Twilio each run in a
// process of their own, as smsgw-server does (CPU is then measured alike).
// Each binds 127.0.0.1 on an ephemeral port, writes "port=N\n" to port_file
// (atomically, by rename) once serving, and runs until killed.
#ifndef SMSGW_BENCH_SERVE_MODES_H_
#define SMSGW_BENCH_SERVE_MODES_H_

#include <string>

namespace smsgw::bench {

// The no-op gRPC callback server (smsgw.bench.NoopService). Returns the
// process exit code: 1 when it cannot listen.
int RunNoopServer(const std::string& port_file);

// A fast fake of Twilio's Messages API for account `account_sid`:
//   POST /2010-04-01/Accounts/{sid}/Messages.json -> 201, a Twilio-shaped
//        Message resource (status "queued"), after `latency_ms` (0: at once;
//        the handler thread sleeps, so `threads` bounds the creates waiting
//        at the same time); nothing is stored;
//   GET  /2010-04-01/Accounts/{sid}/Messages.json -> 200, an empty page;
//   GET  /count -> the number of creates answered, as decimal text.
// Returns the process exit code: 1 when it cannot listen.
int RunFakeTwilio(const std::string& port_file, const std::string& account_sid,
                  int latency_ms, int threads);

// Writes "port=N\n" to `path` by way of a temporary file and a rename.
void WritePortFile(const std::string& path, int port);

}  // namespace smsgw::bench

#endif  // SMSGW_BENCH_SERVE_MODES_H_
