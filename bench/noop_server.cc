#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <fstream>
#include <memory>

#include "bench/serve_modes.h"
#include "noop.grpc.pb.h"

namespace smsgw::bench {
namespace {

class NoopServiceImpl final : public NoopService::CallbackService {
  grpc::ServerUnaryReactor* Noop(grpc::CallbackServerContext* context,
                                 const NoopRequest*, NoopResponse*) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

}  // namespace

void WritePortFile(const std::string& path, int port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << "port=" << port << "\n";
  }
  std::rename(tmp.c_str(), path.c_str());
}

int RunNoopServer(const std::string& port_file) {
  NoopServiceImpl service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) return 1;
  WritePortFile(port_file, port);
  server->Wait();
  return 0;
}

}  // namespace smsgw::bench
