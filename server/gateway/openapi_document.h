// File: openapi_document.h
//
// The OpenAPI 2.0 document of the REST routes, generated at build time by
// protoc-gen-swagger from the protos' google.api.http annotations and
// comments (CMakeLists.txt), served at GET /v1/openapi.json.
#ifndef SMSGW_SERVER_GATEWAY_OPENAPI_DOCUMENT_H_
#define SMSGW_SERVER_GATEWAY_OPENAPI_DOCUMENT_H_

#include "absl/strings/string_view.h"

namespace smsgw::gateway {

// The document's JSON text. Static data, valid for the whole program.
// Defined by a source that scripts/embed_bytes.cmake generates.
absl::string_view OpenApiDocument();

}  // namespace smsgw::gateway

#endif  // SMSGW_SERVER_GATEWAY_OPENAPI_DOCUMENT_H_
