#!/usr/bin/env python3
"""Merges protoc-gen-swagger's per-file documents into one OpenAPI 2.0 file.

protoc-gen-swagger 1.6's own merge (allow_merge) drops the operations'
summaries and descriptions (the rpc comments) of every file but the first, so
each proto file gets its document and this script joins them: paths and
definitions together, one info block.

usage: merge_openapi.py <out.json> <version> <in.swagger.json>...
Exits non-zero when two files define one path operation differently.
"""
import json
import sys


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    out, version, inputs = sys.argv[1], sys.argv[2], sys.argv[3:]
    merged = {
        "swagger": "2.0",
        "info": {
            "title": "smsgw API",
            "version": version,
            "description": "The HTTP/JSON face of smsgw's gRPC services "
                           "(google.api.http routes). Authenticate with "
                           "`Authorization: Bearer <token>`; errors are "
                           "google.rpc.Status JSON.",
        },
        "schemes": ["http", "https"],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "securityDefinitions": {
            "bearer": {"type": "apiKey", "in": "header", "name": "Authorization",
                       "description": "Bearer <access token from /v1/auth:login>"},
        },
        "security": [{"bearer": []}],
        "paths": {},
        "definitions": {},
    }
    for path in inputs:
        with open(path) as f:
            doc = json.load(f)
        for route, item in doc.get("paths", {}).items():
            target = merged["paths"].setdefault(route, {})
            for method, op in item.items():
                if method in target and target[method] != op:
                    sys.exit(f"merge_openapi: {method} {route} defined twice")
                target[method] = op
        for name, schema in doc.get("definitions", {}).items():
            if name in merged["definitions"] and merged["definitions"][name] != schema:
                sys.exit(f"merge_openapi: definition {name} differs between files")
            merged["definitions"][name] = schema
    with open(out, "w") as f:
        json.dump(merged, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
