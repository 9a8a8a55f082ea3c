#!/usr/bin/env bash
# Server reflection, as grpcurl users meet it: `buf curl` (from @bufbuild/buf,
# the same reflection protocol grpcurl speaks) lists the services over both
# reflection versions (v1, and v1alpha as older grpcurl asks), calls SignUp,
# GetCurrentUser, SendMessage and GetMessage with no .proto files, and asks
# the reflection service itself for messaging.proto to check that the
# descriptor carries the proto comments (what `grpcurl describe` prints),
# against the real server (embedded Twilio simulator on a free port).
# usage: reflection_test.sh <build dir>
set -euo pipefail
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
buf="$root/tests/interop/node/node_modules/.bin/buf"
[[ -x $buf ]] || { echo "buf not installed: run scripts/buf-lint.sh first" >&2; exit 1; }

# shellcheck source=tests/interop/smsgw_server.sh
source "$root/tests/interop/smsgw_server.sh"
start_smsgw "$build"
url="http://$grpc"
curl_args=(--protocol grpc --http2-prior-knowledge --timeout 10s)

checks=0
expect() {  # expect <description> <pattern> <text>
  if grep -q -- "$2" <<<"$3"; then
    echo "ok: $1"; checks=$((checks + 1))
  else
    echo "FAILED: $1: expected /$2/ in:"; echo "$3"; exit 1
  fi
}

services=$("$buf" curl "${curl_args[@]}" --list-services "$url")
expect "reflection lists AuthService" "smsgw.v1.AuthService" "$services"
expect "reflection lists MessagingService" "smsgw.v1.MessagingService" "$services"
expect "reflection lists GroupService" "smsgw.v1.GroupService" "$services"
expect "reflection lists WebhookService" "smsgw.v1.WebhookService" "$services"
expect "reflection lists the health service" "grpc.health.v1.Health" "$services"
expect "reflection lists itself (v1)" "grpc.reflection.v1.ServerReflection" "$services"
expect "reflection lists itself (v1alpha)" "grpc.reflection.v1alpha.ServerReflection" "$services"

# grpcurl before v1.8.8 and other older clients speak only v1alpha.
services_v1alpha=$("$buf" curl "${curl_args[@]}" --reflect-protocol grpc-v1alpha \
  --list-services "$url")
expect "v1alpha reflection lists MessagingService" "smsgw.v1.MessagingService" "$services_v1alpha"

methods=$("$buf" curl "${curl_args[@]}" --list-methods "$url")
expect "reflection lists AuthService/SignUp" "smsgw.v1.AuthService/SignUp" "$methods"
expect "reflection lists MessagingService/SendMessage" "smsgw.v1.MessagingService/SendMessage" "$methods"

# The descriptors carry source info: the file defining SendMessage, asked of
# the reflection service itself (buf curl learns its schema by reflection
# too), has the rpc's leading comment from protos/smsgw/v1/messaging.proto.
described=$("$buf" curl "${curl_args[@]}" \
  -d '{"fileContainingSymbol":"smsgw.v1.MessagingService.SendMessage"}' \
  "$url/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
comment=$(/usr/bin/python3 -c '
import base64, json, sys
from google.protobuf import descriptor_pb2
answer = json.load(sys.stdin)
file = descriptor_pb2.FileDescriptorProto.FromString(
    base64.b64decode(answer["fileDescriptorResponse"]["fileDescriptorProto"][0]))
for s, service in enumerate(file.service):
    for m, method in enumerate(service.method):
        if (service.name, method.name) == ("MessagingService", "SendMessage"):
            path = [6, s, 2, m]  # FileDescriptorProto.service, .method
for location in file.source_code_info.location:
    if list(location.path) == path:
        print(file.name + ": " + location.leading_comments)' <<<"$described")
expect "reflection serves messaging.proto first" "^smsgw/v1/messaging.proto: " "$comment"
expect "SendMessage keeps its proto comment" "Sends one SMS (or MMS with media_urls)" "$comment"

signup=$("$buf" curl "${curl_args[@]}" -d '{"username":"grace","password":"hopper-1906"}' \
  "$url/smsgw.v1.AuthService/SignUp")
expect "SignUp through reflection returns a token" '"accessToken"' "$signup"
token=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])' <<<"$signup")

me=$("$buf" curl "${curl_args[@]}" -H "authorization: Bearer $token" \
  "$url/smsgw.v1.AuthService/GetCurrentUser")
expect "GetCurrentUser with the token" '"username": "grace"' "$me"

# Proto JSON: enums by name, camelCase fields.
sent=$("$buf" curl "${curl_args[@]}" -H "authorization: Bearer $token" \
  -d '{"to":"+14155550100","body":"hi from buf curl"}' \
  "$url/smsgw.v1.MessagingService/SendMessage")
expect "SendMessage through reflection is queued" '"status": "MESSAGE_STATUS_QUEUED"' "$sent"
expect "SendMessage answers a Twilio SID" '"providerSid": "SM[0-9a-f]\{32\}"' "$sent"
expect "SendMessage keeps the body" '"body": "hi from buf curl"' "$sent"
read -r id sid < <(python3 -c '
import json, sys
m = json.load(sys.stdin)["message"]
print(m["id"], m["providerSid"])' <<<"$sent")
[[ -n $id ]] || { echo "FAILED: no message id in: $sent"; exit 1; }

got=$("$buf" curl "${curl_args[@]}" -H "authorization: Bearer $token" \
  -d "{\"id\":\"$id\",\"includeEvents\":true}" \
  "$url/smsgw.v1.MessagingService/GetMessage")
expect "GetMessage returns the sent message by id" "\"id\": \"$id\"" "$got"
expect "GetMessage shows the same SID ($sid)" "\"providerSid\": \"$sid\"" "$got"
expect "GetMessage includes the provider's queued answer" '"providerStatus": "queued"' "$got"

set +e
denied=$("$buf" curl "${curl_args[@]}" "$url/smsgw.v1.AuthService/GetCurrentUser" 2>&1)
set -e
expect "GetCurrentUser without a token is unauthenticated" "unauthenticated" "$denied"

health=$("$buf" curl "${curl_args[@]}" "$url/grpc.health.v1.Health/Check")
expect "health reports SERVING" "SERVING" "$health"

echo "reflection: $checks passed, 0 failed"
