#include "server/rpc/metrics_interceptor.h"

#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "google/protobuf/descriptor.h"
#include "absl/time/time.h"

namespace smsgw::rpc {
namespace {

// gRPC's canonical code names, as grpc_code labels elsewhere use them.
const char* CodeName(::grpc::StatusCode code) {
  switch (code) {
    case ::grpc::StatusCode::OK: return "OK";
    case ::grpc::StatusCode::CANCELLED: return "CANCELLED";
    case ::grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case ::grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case ::grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case ::grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case ::grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case ::grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case ::grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case ::grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case ::grpc::StatusCode::ABORTED: return "ABORTED";
    case ::grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case ::grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case ::grpc::StatusCode::INTERNAL: return "INTERNAL";
    case ::grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case ::grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case ::grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
  }
}

// The method label: the path when it names a method this binary knows (the
// generated descriptor pool holds every compiled-in service), else "other",
// so that clients cannot grow the label set by calling made-up methods.
std::string MethodLabel(const char* path) {
  if (path == nullptr || path[0] != '/') return "other";
  std::string full(path + 1);  // "pkg.Service/Method"
  const size_t slash = full.find('/');
  if (slash == std::string::npos) return "other";
  full[slash] = '.';
  if (google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
          full) == nullptr) {
    return "other";
  }
  return path;
}

class MetricsInterceptor : public ::grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(std::string method, metrics::CounterFamily* handled,
                     metrics::HistogramFamily* seconds)
      : method_(std::move(method)),
        handled_(handled),
        seconds_(seconds),
        start_(absl::Now()) {}

  void Intercept(::grpc::experimental::InterceptorBatchMethods* methods)
      override {
    if (methods->QueryInterceptionHookPoint(
            ::grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const metrics::Labels labels = {
          method_, CodeName(methods->GetSendStatus().error_code())};
      handled_->Increment(labels);
      seconds_->Observe(labels, absl::ToDoubleSeconds(absl::Now() - start_));
    }
    methods->Proceed();
  }

 private:
  const std::string method_;
  metrics::CounterFamily* handled_;
  metrics::HistogramFamily* seconds_;
  const absl::Time start_;
};

class MetricsInterceptorFactory
    : public ::grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(metrics::Registry* registry)
      : handled_(registry->AddCounter(
            "smsgw_grpc_server_handled_total",
            "gRPC calls answered, by method and status code.",
            {"grpc_method", "grpc_code"})),
        seconds_(registry->AddHistogram(
            "smsgw_grpc_server_handling_seconds",
            "Time from a gRPC call's arrival to its status, by method and "
            "status code (for streams: the stream's lifetime).",
            {"grpc_method", "grpc_code"}, metrics::LatencyBuckets())) {}

  ::grpc::experimental::Interceptor* CreateServerInterceptor(
      ::grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(MethodLabel(info->method()), handled_,
                                  seconds_);
  }

 private:
  metrics::CounterFamily* handled_;
  metrics::HistogramFamily* seconds_;
};

}  // namespace

std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface>
MakeMetricsInterceptorFactory(metrics::Registry* registry) {
  return std::make_unique<MetricsInterceptorFactory>(registry);
}

}  // namespace smsgw::rpc
