#!/usr/bin/env python3
"""Fails when a source file includes what its layer must not see.

The layers and what each may include are the table below; CMake's link graph
(CMakeLists.txt, smsgw_layer) already stops a lower library from linking a
higher one, but an #include of a header-only piece (an interface, an inline
helper, a generated .pb.h) slips past the linker. This reads every #include
of the production tree and checks it against the table.

  check_layering.py ROOT        check the tree at ROOT; exit 1 on a violation
  check_layering.py --self-test check that a tree with violations fails and a
                                clean one passes (the negative control)
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tooling"))
import tree_check  # noqa: E402

# Project include prefixes, longest first so that "storage/sqlite/" wins over
# "storage/" when a file's layer is looked up.
PROJECT_PREFIXES = [
    "server/twilio/sms_provider.h",  # the provider port: header-only
    "storage/sqlite/",
    "storage/postgres/",
    "server/domain/",
    "server/dispatch/",
    "server/events/",
    "server/rpc/gateway_metadata.h",  # what the REST gateway and rpc share
    "server/rpc/",
    "server/gateway/",
    "server/webhooks/",
    "server/twilio/",
    "server/simulator/",
    "server/app/",
    "client/cli/",
    "client/",
    "common/",
    "storage/",
    "smsgw/v1/",  # generated from protos/
    "grpc/reflection/",  # generated from protos/grpc
    "tests/",
    "bench/",
]

# External headers by library: a layer lists the ones it must never include.
EXTERNAL = {
    "grpc": re.compile(r"^(grpcpp?/|grpc/)"),
    "protobuf": re.compile(r"^google/protobuf/"),
    "sqlite3": re.compile(r"^sqlite3\.h$"),
    "libpq": re.compile(r"^(libpq-fe\.h|postgresql/)"),
    "curl": re.compile(r"^curl/"),
    "httplib": re.compile(r"^httplib\.h$"),
}
ALL_ENGINES_AND_EDGES = ["grpc", "protobuf", "sqlite3", "libpq", "curl", "httplib"]

# layer (a folder; files directly in it) -> (project prefixes it may include
# besides its own, external libraries it must not include).
RULES = {
    "common/": ([], ALL_ENGINES_AND_EDGES),
    # The storage ports: engine-independent contracts.
    "storage/": (["common/"], ALL_ENGINES_AND_EDGES),
    "storage/sqlite/": (["common/", "storage/"],
                        ["grpc", "protobuf", "libpq", "curl", "httplib"]),
    "storage/postgres/": (["common/", "storage/"],
                          ["grpc", "protobuf", "sqlite3", "curl", "httplib"]),
    # Twilio adapters: REST client (curl), signature, wire formats; the HTTP
    # server that plays Twilio is server/simulator/.
    "server/twilio/": (["common/"], ["grpc", "protobuf", "sqlite3", "libpq",
                                     "httplib"]),
    # The Twilio simulator: Twilio's wire code and the domain's rules for
    # numbers and segments; an HTTP server, never gRPC, a database or curl.
    "server/simulator/": (["common/", "server/twilio/", "server/twilio/sms_provider.h",
                           "server/domain/"],
                          ["grpc", "protobuf", "sqlite3", "libpq", "curl"]),
    # The domain: rules only. It sees the storage ports and the provider port,
    # never an engine, a wire protocol or a generated API type.
    "server/domain/": (["common/", "storage/", "server/twilio/sms_provider.h"],
                       ALL_ENGINES_AND_EDGES),
    "server/dispatch/": (["common/", "storage/", "server/domain/",
                          "server/twilio/sms_provider.h"],
                         ALL_ENGINES_AND_EDGES),
    # Outbound event webhooks: rules, signatures, SSRF checks and the
    # delivery worker (curl) over the storage ports; no API types.
    "server/events/": (["common/", "storage/", "server/domain/"],
                       ["grpc", "protobuf", "sqlite3", "libpq", "httplib"]),
    "server/rpc/": (["common/", "storage/", "server/domain/", "server/events/",
                     "smsgw/v1/", "grpc/reflection/"],
                    ["sqlite3", "libpq", "curl", "httplib"]),
    # The REST gateway: generic HTTP/JSON <-> gRPC transcoding over the
    # server's in-process channel; it knows the protos only as descriptors,
    # never the domain.
    "server/gateway/": (["common/", "server/rpc/gateway_metadata.h"],
                        ["sqlite3", "libpq", "curl"]),
    "server/webhooks/": (["common/", "server/domain/", "server/twilio/"],
                         ["grpc", "protobuf", "sqlite3", "libpq", "curl"]),
    # The composition root wires every layer; it is the only one that may.
    "server/app/": (["common/", "storage/", "storage/sqlite/", "storage/postgres/",
                     "server/domain/", "server/dispatch/", "server/events/",
                     "server/rpc/", "server/rpc/gateway_metadata.h", "server/gateway/",
                     "server/webhooks/", "server/twilio/", "server/simulator/",
                     "smsgw/v1/", "grpc/reflection/"],
                    ["sqlite3", "libpq", "curl"]),
    # server/main.cc: the executable's flags, then server/app.
    "server/": (["common/", "server/app/", "server/dispatch/", "server/domain/"],
                ["sqlite3", "libpq", "curl"]),
    "client/": (["common/", "smsgw/v1/"], ["sqlite3", "libpq", "curl", "httplib"]),
    "client/cli/": (["common/", "client/", "server/twilio/", "server/simulator/",
                     "smsgw/v1/"],
                    ["sqlite3", "libpq", "curl"]),
}
SOURCE_DIRS = ["common", "storage", "server", "client"]
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]')


def layer_of(rel_path):
    folder = os.path.dirname(rel_path) + "/"
    return folder if folder in RULES else None


def project_prefix(header):
    for prefix in PROJECT_PREFIXES:
        if header == prefix or (prefix.endswith("/") and header.startswith(prefix)):
            return prefix
    return None


def check_file(root, rel_path):
    layer = layer_of(rel_path)
    if layer is None:
        return [f"{rel_path}: in no layer of check_layering.py's table"]
    allowed, banned = RULES[layer]
    problems = []
    with open(os.path.join(root, rel_path), encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            header = m.group(1)
            prefix = project_prefix(header)
            if prefix is not None:
                own = prefix == layer or os.path.dirname(prefix) + "/" == layer
                if not own and prefix not in allowed:
                    problems.append(f"{rel_path}:{number}: layer {layer} includes "
                                    f"{header} ({prefix} is not below it)")
                continue
            for lib in banned:
                if EXTERNAL[lib].search(header):
                    problems.append(f"{rel_path}:{number}: layer {layer} includes "
                                    f"{header} ({lib} does not belong there)")
    return problems


def check_tree(root):
    problems = []
    count = 0
    for top in SOURCE_DIRS:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if not name.endswith((".h", ".cc", ".inc")):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), root)
                if rel.endswith("_test.cc"):
                    continue
                count += 1
                problems.extend(check_file(root, rel))
    return count, problems


def self_test():
    cases = {
        # (file, text) -> must it be reported?
        ("server/domain/a.h", '#include "common/clock.h"\n#include "storage/message_store.h"\n'): False,
        ("server/domain/b.h", "#include <grpcpp/grpcpp.h>\n"): True,
        ("server/domain/c.cc", '#include "smsgw/v1/messaging.pb.h"\n'): True,
        ("server/domain/d.cc", "#include <sqlite3.h>\n"): True,
        ("server/domain/e.cc", "#include <curl/curl.h>\n"): True,
        ("server/domain/f.cc", '#include "httplib.h"\n'): True,
        ("server/domain/g.cc", '#include "storage/sqlite/database.h"\n'): True,
        ("server/domain/h.cc", '#include "server/twilio/twilio_rest_client.h"\n'): True,
        ("server/domain/i.cc", '#include "server/twilio/sms_provider.h"\n'): False,
        ("server/twilio/p.h", '#include "server/twilio/sms_provider.h"\n'): False,
        ("server/twilio/q.h", '#include "server/domain/message_status.h"\n'): True,
        ("storage/j.h", '#include "server/domain/message_status.h"\n'): True,
        ("common/k.h", '#include "storage/message_store.h"\n'): True,
        ("storage/sqlite/l.cc", "#include <sqlite3.h>\n"): False,
        ("server/rpc/m.cc", '#include "server/app/config.h"\n'): True,
        ("server/app/n.cc", '#include "server/rpc/status_mapping.h"\n'): False,
        ("server/simulator/r.cc", '#include "server/domain/segments.h"\n'): False,
        ("server/simulator/s.cc", "#include <curl/curl.h>\n"): True,
        ("server/twilio/t.cc", '#include "server/simulator/simulator.h"\n'): True,
        ("server/twilio/u.cc", '#include "httplib.h"\n'): True,
        ("server/elsewhere/o.cc", "int x;\n"): True,
    }
    def write_case(root, case):
        rel, text = case
        os.makedirs(os.path.join(root, os.path.dirname(rel)))
        with open(os.path.join(root, rel), "w", encoding="utf-8") as f:
            f.write(text)
    return tree_check.self_test(cases, write_case, check_tree)


def main(argv):
    return tree_check.main(argv, __doc__, self_test, check_tree,
                           ("files", "layering violations"))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
