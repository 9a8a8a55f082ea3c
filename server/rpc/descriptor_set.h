// File: descriptor_set.h
//
// The schema of smsgw's gRPC API as compiled into the binary: one serialized
// google.protobuf.FileDescriptorSet that protoc writes at build time
// (CMakeLists.txt, SMSGW_SERVED_PROTOS) with --include_imports and
// --include_source_info, over protos/smsgw/v1/*.proto, the health schema and
// the reflection schemas. Unlike the generated pool it keeps the comments of
// the .proto files; server reflection (reflection_service.h) serves it.
#ifndef SMSGW_SERVER_RPC_DESCRIPTOR_SET_H_
#define SMSGW_SERVER_RPC_DESCRIPTOR_SET_H_

#include "absl/strings/string_view.h"

namespace smsgw::rpc {

// The embedded FileDescriptorSet's bytes: every served file and every file it
// imports (transitively), each with its source_code_info, dependencies before
// the files that import them. Static data, valid for the whole program;
// thread-safe. Defined by a source that scripts/embed_bytes.cmake generates.
absl::string_view EmbeddedDescriptorSet();

}  // namespace smsgw::rpc

#endif  // SMSGW_SERVER_RPC_DESCRIPTOR_SET_H_
