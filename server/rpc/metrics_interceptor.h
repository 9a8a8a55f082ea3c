// File: metrics_interceptor.h
//
// Counts every gRPC call the server answers and times it, by method and
// status code (issue "Hardening": RPC counts and latency histograms), with a
// gRPC server interceptor: one place sees every service, health and
// reflection included, and the status actually sent.
#ifndef SMSGW_SERVER_RPC_METRICS_INTERCEPTOR_H_
#define SMSGW_SERVER_RPC_METRICS_INTERCEPTOR_H_

#include <memory>

#include <grpcpp/support/server_interceptor.h>

#include "common/metrics.h"

namespace smsgw::rpc {

// Creates, per call, an interceptor that at PRE_SEND_STATUS records
//   smsgw_grpc_server_handled_total{grpc_method, grpc_code}
//   smsgw_grpc_server_handling_seconds{grpc_method, grpc_code}
// where grpc_method is the full path ("/smsgw.v1.MessagingService/SendMessage")
// and grpc_code the canonical name ("OK", "NOT_FOUND"); the time runs from the
// interceptor's creation (the call's arrival) to the status being sent, in
// seconds. For streams that is the stream's lifetime. `registry` must outlive
// the server.
std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface>
MakeMetricsInterceptorFactory(metrics::Registry* registry);

}  // namespace smsgw::rpc

#endif  // SMSGW_SERVER_RPC_METRICS_INTERCEPTOR_H_
