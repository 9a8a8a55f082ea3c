#include "server/rpc/reflection_service.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"

namespace smsgw::rpc {
namespace {

namespace pb = ::google::protobuf;

// Collects what the pool says about a file that does not build; only the
// first error is reported, the rest usually follow from it.
class FirstError final : public pb::DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& filename, const std::string& element_name,
                const pb::Message* /*descriptor*/, ErrorLocation /*location*/,
                const std::string& message) override {
    if (error_.empty()) {
      error_ = absl::StrCat(filename, ": ", element_name, ": ", message);
    }
  }
  const std::string& error() const { return error_; }

 private:
  std::string error_;
};

// Builds the files of a set into a pool, each after the files it imports
// (protoc writes them in that order, but the set's contract does not say so).
class PoolBuilder {
 public:
  PoolBuilder(const absl::flat_hash_map<std::string, const pb::FileDescriptorProto*>*
                  files,
              pb::DescriptorPool* pool)
      : files_(files), pool_(pool) {}

  absl::Status Build(const std::string& name) {
    if (pool_->FindFileByName(name) != nullptr) return absl::OkStatus();
    if (!in_progress_.insert(name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("descriptor set: ", name, " imports itself"));
    }
    auto it = files_->find(name);
    const pb::FileDescriptorProto& proto = *it->second;
    for (const std::string& dependency : proto.dependency()) {
      if (!files_->contains(dependency)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "descriptor set: ", name, " imports ", dependency,
            ", which the set does not hold (protoc --include_imports)"));
      }
      SMSGW_RETURN_IF_ERROR(Build(dependency));
    }
    FirstError errors;
    if (pool_->BuildFileCollectingErrors(proto, &errors) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("descriptor set: ", name, " does not build: ",
                       errors.error()));
    }
    in_progress_.erase(name);
    return absl::OkStatus();
  }

 private:
  const absl::flat_hash_map<std::string, const pb::FileDescriptorProto*>* files_;
  pb::DescriptorPool* pool_;
  absl::flat_hash_set<std::string> in_progress_;
};

// The numbers of the fields in `request` that its schema does not know (a
// request kind from a later version of the protocol), comma-separated; empty
// when there are none.
std::string UnknownFieldNumbers(const pb::Message& request) {
  const pb::UnknownFieldSet& unknown =
      request.GetReflection()->GetUnknownFields(request);
  std::vector<int> numbers;
  for (int i = 0; i < unknown.field_count(); ++i) {
    numbers.push_back(unknown.field(i).number());
  }
  return absl::StrJoin(numbers, ", ");
}

void SetError(const absl::Status& status, auto* response) {
  auto* error = response->mutable_error_response();
  error->set_error_code(static_cast<int>(status.code()));
  error->set_error_message(std::string(status.message()));
}

void SetFiles(const std::vector<absl::string_view>& files, auto* response) {
  auto* out = response->mutable_file_descriptor_response();
  for (absl::string_view file : files) {
    out->add_file_descriptor_proto(std::string(file));
  }
}

// One answer for both package names: their generated classes differ only in
// namespace.
template <typename Request, typename Response>
void AnswerRequest(const ReflectionIndex& index, const Request& request,
                   Response* response) {
  response->Clear();
  response->set_valid_host(request.host());
  *response->mutable_original_request() = request;
  absl::StatusOr<std::vector<absl::string_view>> files;
  switch (request.message_request_case()) {
    case Request::kFileByFilename:
      files = index.FileByFilename(request.file_by_filename());
      break;
    case Request::kFileContainingSymbol:
      files = index.FileContainingSymbol(request.file_containing_symbol());
      break;
    case Request::kFileContainingExtension:
      files = index.FileContainingExtension(
          request.file_containing_extension().containing_type(),
          request.file_containing_extension().extension_number());
      break;
    case Request::kAllExtensionNumbersOfType: {
      absl::StatusOr<std::vector<int>> numbers =
          index.ExtensionNumbersOfType(request.all_extension_numbers_of_type());
      if (!numbers.ok()) {
        SetError(numbers.status(), response);
        return;
      }
      auto* out = response->mutable_all_extension_numbers_response();
      out->set_base_type_name(std::string(absl::StripPrefix(
          request.all_extension_numbers_of_type(), ".")));
      for (int number : *numbers) out->add_extension_number(number);
      return;
    }
    case Request::kListServices: {
      auto* out = response->mutable_list_services_response();
      for (const std::string& name : index.services()) {
        out->add_service()->set_name(name);
      }
      return;
    }
    case Request::MESSAGE_REQUEST_NOT_SET: {
      // A kind from a later version of the protocol arrives as an unknown
      // field; a request with nothing in it is the client's mistake.
      const std::string unknown = UnknownFieldNumbers(request);
      SetError(unknown.empty()
                   ? absl::InvalidArgumentError(
                         "the request sets none of file_by_filename, "
                         "file_containing_symbol, file_containing_extension, "
                         "all_extension_numbers_of_type, list_services")
                   : absl::UnimplementedError(absl::StrCat(
                         "this server does not know the request kind with "
                         "field number ",
                         unknown)),
               response);
      return;
    }
  }
  if (files.ok()) {
    SetFiles(*files, response);
  } else {
    SetError(files.status(), response);
  }
}

// One ServerReflectionInfo stream: read a request, write its answer, until
// the client half-closes. One operation in flight at a time, so no lock.
// Deletes itself in OnDone().
template <typename Request, typename Response>
class ReflectionReactor final
    : public ::grpc::ServerBidiReactor<::grpc::ByteBuffer, ::grpc::ByteBuffer> {
 public:
  explicit ReflectionReactor(const ReflectionIndex* index) : index_(index) {
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // half-close (the normal end) or a broken stream
      Finish(::grpc::Status::OK);
      return;
    }
    Request request;
    Response response;
    if (::grpc::SerializationTraits<Request>::Deserialize(&in_, &request)
            .ok()) {
      AnswerRequest(*index_, request, &response);
    } else {
      SetError(absl::InvalidArgumentError(
                   "the request is not a serialized ServerReflectionRequest"),
               &response);
    }
    // The previous answer's write is done; a large answer is written into
    // the buffer piecewise, which needs it empty.
    out_.Clear();
    bool own_buffer = false;
    ::grpc::Status serialized = ::grpc::SerializationTraits<Response>::Serialize(
        response, &out_, &own_buffer);
    if (!serialized.ok()) {
      Finish(serialized);
      return;
    }
    StartWrite(&out_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(::grpc::Status(::grpc::StatusCode::CANCELLED,
                            "the reflection stream is gone"));
      return;
    }
    StartRead(&in_);
  }

  void OnDone() override { delete this; }

 private:
  const ReflectionIndex* const index_;
  ::grpc::ByteBuffer in_;
  ::grpc::ByteBuffer out_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ReflectionIndex>> ReflectionIndex::Create(
    absl::string_view descriptor_set, std::vector<std::string> services) {
  pb::FileDescriptorSet set;
  if (!set.ParseFromArray(descriptor_set.data(),
                          static_cast<int>(descriptor_set.size()))) {
    return absl::InvalidArgumentError(
        "descriptor set: not a serialized FileDescriptorSet");
  }
  std::unique_ptr<ReflectionIndex> index(new ReflectionIndex());
  absl::flat_hash_map<std::string, const pb::FileDescriptorProto*> files;
  for (const pb::FileDescriptorProto& file : set.file()) {
    if (!files.emplace(file.name(), &file).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("descriptor set: ", file.name(), " is in it twice"));
    }
    index->serialized_[file.name()] = file.SerializeAsString();
  }
  PoolBuilder builder(&files, &index->pool_);
  for (const pb::FileDescriptorProto& file : set.file()) {
    SMSGW_RETURN_IF_ERROR(builder.Build(file.name()));
  }
  for (const std::string& name : services) {
    if (index->pool_.FindServiceByName(name) == nullptr) {
      return absl::NotFoundError(absl::StrCat(
          "reflection: service ", name, " is not in the descriptor set"));
    }
  }
  index->services_ = std::move(services);
  return index;
}

std::vector<absl::string_view> ReflectionIndex::WithImports(
    const pb::FileDescriptor* file) const {
  std::vector<absl::string_view> out;
  absl::flat_hash_set<const pb::FileDescriptor*> seen;
  std::vector<const pb::FileDescriptor*> stack = {file};
  // Depth first, imports in their order: push them reversed.
  while (!stack.empty()) {
    const pb::FileDescriptor* next = stack.back();
    stack.pop_back();
    if (!seen.insert(next).second) continue;
    out.push_back(serialized_.at(next->name()));
    for (int i = next->dependency_count() - 1; i >= 0; --i) {
      stack.push_back(next->dependency(i));
    }
  }
  return out;
}

absl::StatusOr<std::vector<absl::string_view>> ReflectionIndex::FileByFilename(
    absl::string_view filename) const {
  const pb::FileDescriptor* file =
      pool_.FindFileByName(std::string(filename));
  if (file == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("file not found: \"", filename, "\""));
  }
  return WithImports(file);
}

absl::StatusOr<std::vector<absl::string_view>>
ReflectionIndex::FileContainingSymbol(absl::string_view symbol) const {
  const pb::FileDescriptor* file = pool_.FindFileContainingSymbol(
      std::string(absl::StripPrefix(symbol, ".")));
  if (file == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("symbol not found: \"", symbol, "\""));
  }
  return WithImports(file);
}

absl::StatusOr<std::vector<absl::string_view>>
ReflectionIndex::FileContainingExtension(absl::string_view containing_type,
                                         int number) const {
  const pb::Descriptor* type = pool_.FindMessageTypeByName(
      std::string(absl::StripPrefix(containing_type, ".")));
  if (type == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("message type not found: \"", containing_type, "\""));
  }
  const pb::FieldDescriptor* extension =
      pool_.FindExtensionByNumber(type, number);
  if (extension == nullptr) {
    return absl::NotFoundError(absl::StrCat("extension not found: ", number,
                                            " of ", type->full_name()));
  }
  return WithImports(extension->file());
}

absl::StatusOr<std::vector<int>> ReflectionIndex::ExtensionNumbersOfType(
    absl::string_view type_name) const {
  const pb::Descriptor* type = pool_.FindMessageTypeByName(
      std::string(absl::StripPrefix(type_name, ".")));
  if (type == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("message type not found: \"", type_name, "\""));
  }
  std::vector<const pb::FieldDescriptor*> extensions;
  pool_.FindAllExtensions(type, &extensions);
  std::vector<int> numbers;
  numbers.reserve(extensions.size());
  for (const pb::FieldDescriptor* extension : extensions) {
    numbers.push_back(extension->number());
  }
  std::sort(numbers.begin(), numbers.end());
  return numbers;
}

void ReflectionIndex::Answer(
    const ::grpc::reflection::v1alpha::ServerReflectionRequest& request,
    ::grpc::reflection::v1alpha::ServerReflectionResponse* response) const {
  AnswerRequest(*this, request, response);
}

void ReflectionIndex::Answer(
    const ::grpc::reflection::v1::ServerReflectionRequest& request,
    ::grpc::reflection::v1::ServerReflectionResponse* response) const {
  AnswerRequest(*this, request, response);
}

::grpc::ServerBidiReactor<::grpc::ByteBuffer, ::grpc::ByteBuffer>*
ReflectionGrpcService::ServerReflectionInfo(
    ::grpc::CallbackServerContext* /*context*/) {
  return new ReflectionReactor<
      ::grpc::reflection::v1alpha::ServerReflectionRequest,
      ::grpc::reflection::v1alpha::ServerReflectionResponse>(index_);
}

::grpc::ServerBidiReactor<::grpc::ByteBuffer, ::grpc::ByteBuffer>*
ReflectionV1GrpcService::ServerReflectionInfo(
    ::grpc::CallbackServerContext* /*context*/) {
  return new ReflectionReactor<::grpc::reflection::v1::ServerReflectionRequest,
                               ::grpc::reflection::v1::ServerReflectionResponse>(
      index_);
}

}  // namespace smsgw::rpc
