#!/usr/bin/env python3
"""Rewrites a FileDescriptorSet so that proto3 `optional` fields are plain.

protoc-gen-swagger 1.6 (Debian's golang-grpc-gateway) predates proto3
`optional` and protoc refuses to run it on files that use it. Presence does
not change a field's JSON shape, so for the OpenAPI document the fields are
made plain: proto3_optional cleared, their synthetic oneofs removed.

usage: strip_proto3_optional.py <in.pb> <out.pb>
"""
import sys

from google.protobuf import descriptor_pb2


def strip(message):
    synthetic = set()
    for field in message.field:
        if field.proto3_optional:
            field.proto3_optional = False
            synthetic.add(field.oneof_index)
            field.ClearField("oneof_index")
    # protoc puts synthetic oneofs after the real ones.
    real = len(message.oneof_decl) - len(synthetic)
    if synthetic and synthetic != set(range(real, len(message.oneof_decl))):
        sys.exit(f"strip_proto3_optional: {message.name}: synthetic oneofs not last")
    del message.oneof_decl[real:]
    for nested in message.nested_type:
        strip(nested)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    files = descriptor_pb2.FileDescriptorSet()
    with open(sys.argv[1], "rb") as f:
        files.ParseFromString(f.read())
    for file in files.file:
        for message in file.message_type:
            strip(message)
    with open(sys.argv[2], "wb") as f:
        f.write(files.SerializeToString())


if __name__ == "__main__":
    main()
