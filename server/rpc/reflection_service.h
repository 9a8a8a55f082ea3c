// File: reflection_service.h
//
// gRPC server reflection, the protocol grpcurl, buf curl and Postman use to
// discover a server's API (grpc/grpc doc/server-reflection.md), served from
// a FileDescriptorSet that keeps the .proto files' comments (source info),
// so that `grpcurl describe smsgw.v1.MessagingService` prints them. gRPC's
// own plugin (libgrpc++_reflection) answers from the generated pool, which
// has no source info; smsgw links it no more (it defines the same v1alpha
// symbols as protos/grpc/reflection/v1alpha/reflection.proto).
//
// Both package names of the protocol are served, grpc.reflection.v1alpha
// (grpcurl, older clients) and grpc.reflection.v1 (buf curl tries it first),
// with the same answers:
//
//   SMSGW_ASSIGN_OR_RETURN(
//       std::unique_ptr<ReflectionIndex> index,
//       ReflectionIndex::Create(EmbeddedDescriptorSet(),
//                               {"smsgw.v1.AuthService", ...}));
//   ReflectionGrpcService reflection(index.get());
//   ReflectionV1GrpcService reflection_v1(index.get());
//   builder.RegisterService(&reflection);
//   builder.RegisterService(&reflection_v1);
#ifndef SMSGW_SERVER_RPC_REFLECTION_SERVICE_H_
#define SMSGW_SERVER_RPC_REFLECTION_SERVICE_H_

#include <google/protobuf/descriptor.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace smsgw::rpc {

// What server reflection knows: the files of one FileDescriptorSet, built
// into a private DescriptorPool (not the generated pool), and the names of
// the services the server exposes. Each lookup that finds a file answers the
// FileDescriptorProto bytes as they are in the set, source_code_info
// included, for that file and every file it imports. Immutable after
// Create(); thread-safe.
class ReflectionIndex {
 public:
  // Builds the index of `descriptor_set`, a serialized
  // google.protobuf.FileDescriptorSet that holds every file its files import
  // (protoc --include_imports), in any order. `services` are the fully
  // qualified names that list_services answers, in that order; each must be
  // a service of the set. Returns InvalidArgument when the set does not
  // parse, holds a file name twice, imports a file it does not hold, or a
  // file does not build (the message names the file and the error);
  // NotFound when a name in `services` is no service of the set.
  static absl::StatusOr<std::unique_ptr<ReflectionIndex>> Create(
      absl::string_view descriptor_set, std::vector<std::string> services);

  ReflectionIndex(const ReflectionIndex&) = delete;
  ReflectionIndex& operator=(const ReflectionIndex&) = delete;

  // The service names given to Create(), in that order.
  const std::vector<std::string>& services() const { return services_; }

  // The serialized FileDescriptorProto of the file named `filename` (as
  // imported: "smsgw/v1/messaging.proto"), then those of the files it
  // imports, transitively and each once, depth first in import order. The
  // views point into the index and live as long as it. Returns NotFound
  // when the set has no such file.
  absl::StatusOr<std::vector<absl::string_view>> FileByFilename(
      absl::string_view filename) const;

  // As FileByFilename, for the file that defines `symbol`: the fully
  // qualified name (a leading '.' is ignored) of a message, field, oneof,
  // enum, enum value, extension, service or method, nested ones included
  // ("smsgw.v1.MessagingService.SendMessage",
  // "smsgw.v1.SendMessageRequest.to"). Returns NotFound when the set
  // defines no such symbol.
  absl::StatusOr<std::vector<absl::string_view>> FileContainingSymbol(
      absl::string_view symbol) const;

  // As FileByFilename, for the file that declares the extension numbered
  // `number` of the message type `containing_type` (fully qualified).
  // Returns NotFound when `containing_type` is no message type of the set,
  // or the set declares no such extension of it.
  absl::StatusOr<std::vector<absl::string_view>> FileContainingExtension(
      absl::string_view containing_type, int number) const;

  // The field numbers of every extension of the message type `type` (fully
  // qualified) that the set declares, ascending; empty when it has none.
  // Returns NotFound when `type` is no message type of the set.
  absl::StatusOr<std::vector<int>> ExtensionNumbersOfType(
      absl::string_view type) const;

  // Answers one reflection request into `response` (cleared first), as the
  // protocol says: valid_host and original_request echo `request`, and one
  // of file_descriptor_response, all_extension_numbers_response,
  // list_services_response or error_response is set. Never fails: an
  // unanswerable request gets an error_response whose error_code is the
  // status code number and error_message says why: NOT_FOUND (as the
  // lookups above), UNIMPLEMENTED (a request kind this server does not know,
  // i.e. an unknown field), INVALID_ARGUMENT (no request kind set).
  void Answer(const ::grpc::reflection::v1alpha::ServerReflectionRequest& request,
              ::grpc::reflection::v1alpha::ServerReflectionResponse* response) const;
  void Answer(const ::grpc::reflection::v1::ServerReflectionRequest& request,
              ::grpc::reflection::v1::ServerReflectionResponse* response) const;

 private:
  ReflectionIndex() = default;

  // `file` and what it imports, as FileByFilename answers.
  std::vector<absl::string_view> WithImports(
      const ::google::protobuf::FileDescriptor* file) const;

  ::google::protobuf::DescriptorPool pool_;
  // File name -> its FileDescriptorProto, serialized.
  absl::flat_hash_map<std::string, std::string> serialized_;
  std::vector<std::string> services_;
};

// grpc.reflection.v1alpha.ServerReflection over the callback API: one bidi
// stream per call, each request answered by `index` in order (lookups are
// in memory, so they run on gRPC's callback threads). Requests are parsed
// here, not by gRPC, so that bytes that are no ServerReflectionRequest get
// an INVALID_ARGUMENT error_response and the stream goes on. `index` is not
// owned and must outlive the service. Thread-safe.
class ReflectionGrpcService final
    : public ::grpc::reflection::v1alpha::ServerReflection::
          WithRawCallbackMethod_ServerReflectionInfo<
              ::grpc::reflection::v1alpha::ServerReflection::Service> {
 public:
  explicit ReflectionGrpcService(const ReflectionIndex* index)
      : index_(index) {}
  ::grpc::ServerBidiReactor<::grpc::ByteBuffer, ::grpc::ByteBuffer>*
  ServerReflectionInfo(::grpc::CallbackServerContext* context) override;

 private:
  const ReflectionIndex* const index_;
};

// ReflectionGrpcService under the package name grpc.reflection.v1: the same
// messages, the same answers.
class ReflectionV1GrpcService final
    : public ::grpc::reflection::v1::ServerReflection::
          WithRawCallbackMethod_ServerReflectionInfo<
              ::grpc::reflection::v1::ServerReflection::Service> {
 public:
  explicit ReflectionV1GrpcService(const ReflectionIndex* index)
      : index_(index) {}
  ::grpc::ServerBidiReactor<::grpc::ByteBuffer, ::grpc::ByteBuffer>*
  ServerReflectionInfo(::grpc::CallbackServerContext* context) override;

 private:
  const ReflectionIndex* const index_;
};

}  // namespace smsgw::rpc

#endif  // SMSGW_SERVER_RPC_REFLECTION_SERVICE_H_
