#!/usr/bin/python3
"""smsgw's REST/JSON API from Python `requests`, against the real smsgw-server.

Every route of the google.api.http annotations is called over plain HTTP on
the server's HTTP port, as a PHP app or a shell script would: sign-up and
login, sending (with the Idempotency-Key header), reading, listing with query
parameters, cancelling, deleting, conversations, stats, groups, phone
verification, the Server-Sent Events watch stream (with Last-Event-ID
resumption), errors as google.rpc.Status JSON, CORS and the OpenAPI document.

The suite starts its own servers (loopback, ephemeral ports, embedded Twilio
simulator, temporary database) and stops them by PID.

usage: /usr/bin/python3 tests/interop/python/test_rest_api.py <build dir> [unittest args]
"""

import json
import os
import socket
import sys
import time
import unittest
import uuid

import requests

from test_smsgw import SmsgwServer, _build_dir, check

PEER = "+14155550100"
PASSWORD = "lovelace-1815"
TIMEOUT = 20  # seconds, every request
SIM_SID = "AC5ea7c0de5ea7c0de5ea7c0de5ea7c0de"  # the simulator's account
SIM_TOKEN = "5ea7c0de5ea7c0de5ea7c0de5ea7c0de"

_server = None
_sim_port = None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(*args):
    return SmsgwServer(os.path.join(_build_dir(), "smsgw-server"), extra_args=args)


def setUpModule():
    global _server, _sim_port
    _sim_port = free_port()
    _server = start_server(f"--simulator_port={_sim_port}",
                           "--cors_origins=https://app.example.com")


def tearDownModule():
    if _server is not None:
        _server.stop()


class Api:
    """A REST client of one server: JSON in and out, an optional bearer token."""

    def __init__(self, server, token=None):
        self.base = f"http://{server.http_address}"
        self.token = token

    def call(self, method, path, body=None, params=None, headers=None, **kw):
        h = dict(headers or {})
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        return requests.request(method, self.base + path, json=body, params=params,
                                headers=h, timeout=TIMEOUT, **kw)

    def ok(self, method, path, body=None, params=None, headers=None):
        r = self.call(method, path, body, params, headers)
        if r.status_code != 200:
            raise AssertionError(f"{method} {path}: {r.status_code} {r.text}")
        return r.json()


def sign_up(server=None, name=None, phone=None):
    """A new user signed up over REST; returns (Api with its token, username)."""
    server = server or _server
    name = name or f"u{uuid.uuid4().hex[:12]}"
    body = {"username": name, "password": PASSWORD}
    if phone:
        body["phoneNumber"] = phone
    got = Api(server).ok("POST", "/v1/auth:signUp", body)
    return Api(server, got["accessToken"]), name


def verification_code(phone):
    """The newest verification code the simulator delivered to `phone`."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        r = requests.get(
            f"http://127.0.0.1:{_sim_port}/2010-04-01/Accounts/{SIM_SID}/Messages.json",
            params={"To": phone}, auth=(SIM_SID, SIM_TOKEN), timeout=TIMEOUT)
        for m in r.json().get("messages", []):
            marker = "verification code is "
            if marker in m["body"]:
                at = m["body"].index(marker) + len(marker)
                return m["body"][at:at + 6]
        time.sleep(0.1)
    raise AssertionError(f"no verification code reached {phone}")


def assert_error(test, response, http_status, grpc_code):
    """The response is a google.rpc.Status JSON error with these codes."""
    test.assertEqual(response.status_code, http_status, response.text)
    test.assertTrue(response.headers["Content-Type"].startswith("application/json"))
    body = response.json()
    test.assertEqual(body["code"], grpc_code, body)
    test.assertIsInstance(body["message"], str)
    test.assertTrue(body["message"])
    test.assertEqual(body["details"], [])
    return body


class AuthTest(unittest.TestCase):
    def test_sign_up_log_in_and_me(self):
        name = f"ada{uuid.uuid4().hex[:8]}"
        signed = Api(_server).ok("POST", "/v1/auth:signUp",
                                 {"username": name, "password": PASSWORD})
        self.assertTrue(signed["accessToken"])
        self.assertIn("T", signed["expireTime"])  # RFC 3339
        login = Api(_server).ok("POST", "/v1/auth:login",
                                {"username": name, "password": PASSWORD})
        me = Api(_server, login["accessToken"]).ok("GET", "/v1/me")
        self.assertEqual(me["user"]["username"], name)
        check("POST /v1/auth:signUp, POST /v1/auth:login, GET /v1/me with the bearer token")

        assert_error(self, Api(_server).call("GET", "/v1/me"), 401, 16)
        assert_error(self, Api(_server, "not-a-token").call("GET", "/v1/me"), 401, 16)
        check("GET /v1/me without or with a bad token: 401, code 16")

        again = Api(_server).call("POST", "/v1/auth:signUp",
                                  {"username": name, "password": PASSWORD})
        assert_error(self, again, 409, 6)
        wrong = Api(_server).call("POST", "/v1/auth:login",
                                  {"username": name, "password": "wrong-password-1"})
        self.assertEqual(wrong.status_code, 401, wrong.text)
        check("a taken username is 409 ALREADY_EXISTS; a wrong password 401")

    def test_original_field_names_are_accepted_too(self):
        name = f"snake{uuid.uuid4().hex[:8]}"
        api = Api(_server)
        got = api.ok("POST", "/v1/auth:signUp", {"username": name, "password": PASSWORD})
        user = Api(_server, got["accessToken"])
        sent = user.ok("POST", "/v1/messages",
                       {"to": PEER, "body": "snake", "validate_only": True})
        self.assertEqual(sent["message"]["body"], "snake")
        check("request bodies take proto field names (validate_only) as well as camelCase")


class ApiKeysTest(unittest.TestCase):
    def test_create_use_list_and_revoke(self):
        user, name = sign_up()
        created = user.ok("POST", "/v1/apiKeys",
                          {"name": "billing server", "scopes": ["messages:send"]})
        secret = created["secret"]
        self.assertRegex(secret, r"^sk_[A-Za-z0-9_-]{43}$")
        key = created["apiKey"]
        self.assertRegex(key["id"], r"^key_[0-9a-f]{16}$")
        self.assertEqual(key["scopes"], ["messages:send"])
        check("POST /v1/apiKeys returns the key and its sk_ secret once")

        server = Api(_server, secret)
        sent = server.ok("POST", "/v1/messages", {"to": PEER, "body": "sent with a key"})
        self.assertEqual(sent["message"]["ownerUsername"], name)
        self.assertEqual(server.ok("GET", "/v1/me")["user"]["username"], name)
        check("Authorization: Bearer sk_... sends SMS and reads /v1/me as its user")

        denied = assert_error(self, server.call("GET", "/v1/messages"), 403, 7)
        self.assertIn("messages:read", denied["message"])
        assert_error(self, server.call("GET", f"/v1/messages/{sent['message']['id']}"), 403, 7)
        assert_error(self, server.call("POST", "/v1/groups", {"name": f"g{uuid.uuid4().hex[:8]}"}),
                     403, 7)
        assert_error(self, server.call("GET", "/v1/apiKeys"), 403, 7)
        assert_error(self, server.call("POST", "/v1/apiKeys",
                                       {"name": "escalate", "scopes": ["messages:read"]}),
                     403, 7)
        check("beyond its scopes a key gets 403 PERMISSION_DENIED, and it never manages keys")

        listed = user.ok("GET", "/v1/apiKeys")["apiKeys"]
        self.assertEqual([k["id"] for k in listed], [key["id"]])
        self.assertNotIn("secret", json.dumps(listed))
        self.assertNotIn(secret[3:], json.dumps(listed))
        self.assertIn("T", listed[0]["lastUseTime"])
        check("GET /v1/apiKeys shows name, scopes, creation and last use, never the secret")

        bad = [({"name": "", "scopes": ["messages:send"]}, 400, 3),
               ({"name": "x", "scopes": []}, 400, 3),
               ({"name": "x", "scopes": ["root"]}, 400, 3),
               ({"name": "billing server", "scopes": ["groups"]}, 409, 6)]
        for body, http_status, code in bad:
            assert_error(self, user.call("POST", "/v1/apiKeys", body), http_status, code)
        self.assertEqual(len(user.ok("GET", "/v1/apiKeys")["apiKeys"]), 1)
        check("a bad name or scope is 400, a repeated name 409, and nothing is stored")

        other, _ = sign_up()
        assert_error(self, other.call("DELETE", f"/v1/apiKeys/{key['id']}"), 404, 5)
        self.assertEqual(user.call("DELETE", f"/v1/apiKeys/{key['id']}").status_code, 200)
        assert_error(self, server.call("POST", "/v1/messages", {"to": PEER, "body": "x"}),
                     401, 16)
        assert_error(self, user.call("DELETE", f"/v1/apiKeys/{key['id']}"), 404, 5)
        check("DELETE /v1/apiKeys/{id} revokes at once: the next call is 401")


# The scope each operation needs (AuthService's comment in auth.proto): None =
# no credentials, "any" = any key, "login" = a login token only. Written out
# here, not derived from the server, so that a route that changes scope or a
# new route without one fails the test below.
SCOPE_OF = {
    "AuthService_SignUp": None, "AuthService_Login": None,
    "AuthService_GetCurrentUser": "any",
    "AuthService_StartPhoneVerification": "login",
    "AuthService_ConfirmPhoneVerification": "login",
    "AuthService_SetUserQuota": "login", "AuthService_CreateApiKey": "login",
    "AuthService_ListApiKeys": "login", "AuthService_DeleteApiKey": "login",
    "MessagingService_SendMessage": "messages:send",
    "MessagingService_CancelMessage": "messages:send",
    "MessagingService_GetMessage": "messages:read",
    "MessagingService_ListMessages": "messages:read",
    "MessagingService_ListConversations": "messages:read",
    "MessagingService_WatchMessages": "messages:read",
    "MessagingService_GetMessageStats": "messages:read",
    "MessagingService_DeleteMessage": "messages:delete",
    "MessagingService_DeleteMessages": "messages:delete",
}
GRANTABLE = ["messages:send", "messages:read", "messages:delete", "groups", "webhooks"]


def scope_of(operation):
    """The scope an OpenAPI operation (tagged with its service) needs."""
    service = operation["tags"][0]
    if service == "GroupService":
        return "groups"
    if service == "WebhookService":
        return "webhooks"
    return SCOPE_OF[f"{service}_{operation['operationId']}"]


class ApiKeyScopesTest(unittest.TestCase):
    def test_every_operation_refuses_keys_without_its_scope(self):
        user, _ = sign_up()
        keys = {scope: user.ok("POST", "/v1/apiKeys", {"name": scope, "scopes": [scope]})["secret"]
                for scope in GRANTABLE}
        doc = Api(_server).ok("GET", "/v1/openapi.json")
        samples = {"id": str(uuid.uuid4()), "name": "no-such-group", "username": "nobody-here"}
        operations = 0
        for route, item in doc["paths"].items():
            path = route
            for var, value in samples.items():
                path = path.replace("{" + var + "}", value)
            for method, op in item.items():
                needed = scope_of(op)
                if needed is None:
                    continue
                operations += 1
                has_body = any(p["in"] == "body" for p in op.get("parameters", []))
                for scope, secret in keys.items():
                    r = Api(_server, secret).call(method.upper(), path, {} if has_body else None,
                                                  stream=True)
                    refused = r.status_code == 403
                    r.close()
                    allowed = needed == "any" or needed == scope
                    self.assertEqual(refused, not allowed,
                                     f"{method} {route} with a {scope} key: {r.status_code}")
        self.assertGreaterEqual(operations, 23)
        check(f"all {operations} authenticated operations: 403 exactly for keys without their scope")


class MessagesTest(unittest.TestCase):
    def setUp(self):
        self.api, self.name = sign_up()

    def test_send_get_list_and_delete(self):
        sent = self.api.ok("POST", "/v1/messages", {"to": PEER, "body": "hello over REST"})
        m = sent["message"]
        self.assertEqual(m["status"], "MESSAGE_STATUS_QUEUED")
        self.assertRegex(m["providerSid"], r"^SM[0-9a-f]{32}$")
        self.assertEqual(m["direction"], "MESSAGE_DIRECTION_OUTBOUND")
        self.assertEqual(sent["nonGsmCharacters"], [])  # defaults are printed
        check("POST /v1/messages queues the SMS with a Twilio SID")

        got = self.api.ok("GET", f"/v1/messages/{m['id']}", params={"includeEvents": "true"})
        self.assertEqual(got["message"]["id"], m["id"])
        self.assertTrue(any(e["providerStatus"] == "queued" for e in got["events"]), got)
        check("GET /v1/messages/{id}?includeEvents=true shows the provider's events")

        self.api.ok("POST", "/v1/messages", {"to": PEER, "body": "second one"})
        page = self.api.ok("GET", "/v1/messages", params={"pageSize": 1})
        self.assertEqual(len(page["messages"]), 1)
        self.assertTrue(page["nextPageToken"])
        rest = self.api.ok("GET", "/v1/messages",
                           params={"pageSize": 1, "pageToken": page["nextPageToken"]})
        self.assertEqual(len(rest["messages"]), 1)
        self.assertNotEqual(rest["messages"][0]["id"], page["messages"][0]["id"])
        found = self.api.ok("GET", "/v1/messages", params={"query": "hello"})
        self.assertEqual([x["id"] for x in found["messages"]], [m["id"]])
        by_status = self.api.ok("GET", "/v1/messages", params=[
            ("statuses", "MESSAGE_STATUS_QUEUED"), ("statuses", "MESSAGE_STATUS_SENT"),
            ("statuses", "MESSAGE_STATUS_DELIVERED"), ("page_size", "10")])
        self.assertEqual(len(by_status["messages"]), 2)
        check("GET /v1/messages pages, searches, and takes repeated and snake_case parameters")

        deleted = self.api.call("DELETE", f"/v1/messages/{m['id']}")
        self.assertEqual(deleted.status_code, 200, deleted.text)
        assert_error(self, self.api.call("GET", f"/v1/messages/{m['id']}"), 404, 5)
        check("DELETE /v1/messages/{id}, then GET is 404 NOT_FOUND")

        other, _ = sign_up()
        theirs = other.ok("POST", "/v1/messages", {"to": PEER, "body": "private"})
        assert_error(self, self.api.call("GET", f"/v1/messages/{theirs['message']['id']}"),
                     404, 5)
        check("another user's message is 404 over REST as over gRPC")

    def test_idempotency_key_header(self):
        key = f"order-{uuid.uuid4()}"
        first = self.api.ok("POST", "/v1/messages", {"to": PEER, "body": "once"},
                            headers={"Idempotency-Key": key})
        again = self.api.ok("POST", "/v1/messages", {"to": PEER, "body": "once"},
                            headers={"Idempotency-Key": key})
        self.assertEqual(again["message"]["id"], first["message"]["id"])
        self.assertTrue(again["idempotentReplay"])
        self.assertEqual(first["message"]["idempotencyKey"], key)
        listed = self.api.ok("GET", "/v1/messages")
        self.assertEqual(len(listed["messages"]), 1)
        check("a repeated Idempotency-Key returns the first message, stored once")
        other = self.api.call("POST", "/v1/messages", {"to": PEER, "body": "different"},
                              headers={"Idempotency-Key": key})
        assert_error(self, other, 409, 6)
        mismatch = self.api.call("POST", "/v1/messages",
                                 {"to": PEER, "body": "x", "idempotencyKey": "a"},
                                 headers={"Idempotency-Key": "b"})
        assert_error(self, mismatch, 400, 3)
        check("the same key for another request is 409; header and field disagreeing is 400")

    def test_schedule_and_cancel(self):
        later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        sent = self.api.ok("POST", "/v1/messages",
                           {"to": PEER, "body": "later", "sendAt": later})
        m = sent["message"]
        self.assertEqual(m["status"], "MESSAGE_STATUS_SCHEDULED")
        canceled = self.api.ok("POST", f"/v1/messages/{m['id']}:cancel")
        self.assertEqual(canceled["message"]["status"], "MESSAGE_STATUS_CANCELED")
        twice = self.api.call("POST", f"/v1/messages/{m['id']}:cancel", {})
        self.assertIn(twice.status_code, (400, 409), twice.text)
        check("POST /v1/messages/{id}:cancel cancels a scheduled message, once")

    def test_conversations_stats_and_batch_delete(self):
        self.api.ok("POST", "/v1/messages", {"to": PEER, "body": "one"})
        self.api.ok("POST", "/v1/messages", {"to": PEER, "body": "two"})
        convs = self.api.ok("GET", "/v1/conversations")["conversations"]
        self.assertEqual(len(convs), 1)
        self.assertEqual(convs[0]["peerNumber"], PEER)
        self.assertEqual(convs[0]["messageCount"], "2")  # int64 is a JSON string
        stats = self.api.ok("GET", "/v1/stats")
        self.assertEqual(stats["outboundCount"], "2")
        self.assertEqual(stats["inboundCount"], "0")  # zeros are printed
        check("GET /v1/conversations and GET /v1/stats")
        deleted = self.api.ok("POST", "/v1/messages:batchDelete",
                              {"conversationId": convs[0]["id"]})
        self.assertEqual(deleted["deletedCount"], "2")
        self.assertEqual(self.api.ok("GET", "/v1/messages")["messages"], [])
        check("POST /v1/messages:batchDelete deletes a conversation")


class GroupsTest(unittest.TestCase):
    def test_verify_phone_create_join_send_and_list(self):
        phone = f"+1415555{int(uuid.uuid4().int % 10000):04d}"
        api, name = sign_up(phone=phone)
        refused = api.call("POST", "/v1/groups", {"name": f"g{uuid.uuid4().hex[:8]}"})
        assert_error(self, refused, 400, 9)  # phone not verified
        started = api.ok("POST", "/v1/me/phoneVerification:start", {"phoneNumber": phone})
        self.assertEqual(started["phoneNumber"], phone)
        api.ok("POST", "/v1/me/phoneVerification:confirm", {"code": verification_code(phone)})
        check("phone verification over REST (code read from the simulator)")

        group = f"club{uuid.uuid4().hex[:8]}"
        created = api.ok("POST", "/v1/groups", {"name": group, "description": "books"})
        self.assertEqual(created["group"]["name"], group)
        self.assertIn(group, [g["name"] for g in api.ok("GET", "/v1/groups")["groups"]])
        got = api.ok("GET", f"/v1/groups/{group}")
        self.assertEqual(got["group"]["description"], "books")
        joined = api.ok("POST", f"/v1/groups/{group}:join")
        self.assertTrue(joined["membership"]["proxyNumber"].startswith("+"))
        sent = api.ok("POST", f"/v1/groups/{group}/messages", {"body": "meeting at 7"},
                      headers={"Idempotency-Key": "meeting-7"})
        again = api.ok("POST", f"/v1/groups/{group}/messages", {"body": "meeting at 7"},
                       headers={"Idempotency-Key": "meeting-7"})
        self.assertEqual(json.dumps(sent["deliveries"], sort_keys=True),
                         json.dumps(again["deliveries"], sort_keys=True))
        history = api.ok("GET", f"/v1/groups/{group}/messages")
        self.assertEqual([m["body"] for m in history["messages"]], ["meeting at 7"])
        api.ok("POST", f"/v1/groups/{group}:leave")
        assert_error(self, api.call("GET", "/v1/groups/no-such-group-here"), 404, 5)
        check("groups: create, list, get, join, send (idempotent), history, leave")


class WatchTest(unittest.TestCase):
    def read_events(self, response, count, timeout=15):
        """The first `count` SSE events of a streaming response: [(id, data)]."""
        events, event_id, data = [], None, None
        deadline = time.monotonic() + timeout
        for line in response.iter_lines(decode_unicode=True):
            if time.monotonic() > deadline:
                break
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
            elif line == "" and data is not None:
                events.append((event_id, data))
                event_id, data = None, None
                if len(events) == count:
                    break
        return events

    def test_events_stream_and_resume_with_last_event_id(self):
        api, _ = sign_up()
        stream = api.call("GET", "/v1/messages:watch", stream=True)
        self.assertEqual(stream.status_code, 200)  # (.text would read forever)
        self.assertTrue(stream.headers["Content-Type"].startswith("text/event-stream"))
        sent = api.ok("POST", "/v1/messages", {"to": PEER, "body": "watched"})
        # created, then the simulator's sending/sent/delivered callbacks.
        events = self.read_events(stream, 2)
        stream.close()
        self.assertEqual(len(events), 2, events)
        first_id, first = events[0]
        self.assertEqual(first["event"]["type"], "MESSAGE_EVENT_TYPE_CREATED")
        self.assertEqual(first["event"]["message"]["id"], sent["message"]["id"])
        self.assertEqual(first_id, first["event"]["cursor"])
        check("GET /v1/messages:watch streams events as SSE, id: = the cursor")

        resumed = api.call("GET", "/v1/messages:watch", stream=True,
                           headers={"Last-Event-ID": first_id})
        self.assertEqual(resumed.status_code, 200)
        replay = self.read_events(resumed, 1)
        resumed.close()
        self.assertEqual(replay[0][0], events[1][0])
        check("Last-Event-ID resumes right after that event")

    def test_refused_watch_gets_its_http_status(self):
        assert_error(self, Api(_server).call("GET", "/v1/messages:watch"), 401, 16)
        api, _ = sign_up()
        bad = api.call("GET", "/v1/messages:watch", params={"afterCursor": "garbage!"})
        assert_error(self, bad, 400, 3)
        check("a refused watch is an HTTP error, not an empty stream")


class ErrorsTest(unittest.TestCase):
    def setUp(self):
        self.api, _ = sign_up()

    def count(self):
        return len(self.api.ok("GET", "/v1/messages")["messages"])

    def test_bad_requests_are_400s_and_store_nothing(self):
        h = {"Authorization": f"Bearer {self.api.token}", "Content-Type": "application/json"}
        url = self.api.base + "/v1/messages"
        cases = [
            ("malformed JSON", requests.post(url, data='{"to": ', headers=h, timeout=TIMEOUT)),
            ("a JSON array", requests.post(url, data='[1]', headers=h, timeout=TIMEOUT)),
            ("an unknown field", self.api.call("POST", "/v1/messages",
                                               {"to": PEER, "body": "x", "bogus": 1})),
            ("a wrong type", self.api.call("POST", "/v1/messages", {"to": PEER, "body": 7})),
            ("a query parameter on a body route",
             self.api.call("POST", "/v1/messages", {"to": PEER, "body": "x"},
                           params={"body": "y"})),
            ("an invalid number", self.api.call("POST", "/v1/messages",
                                                {"to": "not-a-number", "body": "x"})),
        ]
        for what, r in cases:
            with self.subTest(what):
                assert_error(self, r, 400, 3)
        check("malformed JSON, non-objects, unknown fields, wrong types: 400 INVALID_ARGUMENT")

        wrong_type = requests.post(url, data="to=%2B14155550100&body=x",
                                   headers={"Authorization": h["Authorization"],
                                            "Content-Type": "application/x-www-form-urlencoded"},
                                   timeout=TIMEOUT)
        self.assertEqual(wrong_type.status_code, 415, wrong_type.text)
        self.assertEqual(wrong_type.json()["code"], 3)
        big = requests.post(url, data=json.dumps({"to": PEER, "body": "x" * 200000}),
                            headers=h, timeout=TIMEOUT)
        self.assertEqual(big.status_code, 413)
        self.assertEqual(self.count(), 0)
        check("a form body is 415, an oversized body 413; nothing was stored")

        for params, what in [({"pageSize": "ten"}, "a bad integer"),
                             ({"includeEvents": "maybe"}, "a bad bool"),
                             ({"nope": "1"}, "an unknown parameter")]:
            with self.subTest(what):
                r = self.api.call("GET", "/v1/messages/" + str(uuid.uuid4()), params=params)
                assert_error(self, r, 400, 3)
        body_on_get = requests.get(self.api.base + "/v1/me", data='{"a":1}', headers=h,
                                   timeout=TIMEOUT)
        assert_error(self, body_on_get, 400, 3)
        check("bad query parameters and a body on GET: 400")

    def test_routes_and_methods(self):
        assert_error(self, self.api.call("GET", "/v1/nothing/here"), 404, 5)
        wrong = self.api.call("PUT", "/v1/messages", {})
        self.assertEqual(wrong.status_code, 405)
        self.assertEqual(wrong.headers["Allow"], "POST, GET")
        outside = self.api.call("GET", "/metrics")
        self.assertEqual(outside.status_code, 404)
        check("unknown routes 404, wrong methods 405 with Allow, /metrics not on this port")

    def test_rate_limits_are_429(self):
        server = start_server("--signup_peer_max=2")
        try:
            sign_up(server)
            sign_up(server)
            third = Api(server).call("POST", "/v1/auth:signUp",
                                     {"username": "third1", "password": PASSWORD})
            assert_error(self, third, 429, 8)
        finally:
            server.stop()
        check("the sign-up throttle counts REST clients and answers 429")


class CorsAndOpenApiTest(unittest.TestCase):
    def test_cors_allows_configured_origins_only(self):
        base = f"http://{_server.http_address}/v1/messages"
        pre = requests.options(base, headers={
            "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"}, timeout=TIMEOUT)
        self.assertEqual(pre.status_code, 204)
        self.assertEqual(pre.headers["Access-Control-Allow-Origin"], "https://app.example.com")
        self.assertIn("POST", pre.headers["Access-Control-Allow-Methods"])
        self.assertIn("Authorization", pre.headers["Access-Control-Allow-Headers"])
        got = requests.get(base, headers={"Origin": "https://app.example.com"}, timeout=TIMEOUT)
        self.assertEqual(got.headers["Access-Control-Allow-Origin"], "https://app.example.com")
        evil = requests.get(base, headers={"Origin": "https://evil.example"}, timeout=TIMEOUT)
        self.assertNotIn("Access-Control-Allow-Origin", evil.headers)
        evil_pre = requests.options(base, headers={"Origin": "https://evil.example"},
                                    timeout=TIMEOUT)
        self.assertEqual(evil_pre.status_code, 403)
        self.assertNotIn("Access-Control-Allow-Origin", evil_pre.headers)
        check("CORS: the configured origin is allowed, others get no CORS headers")

    def test_openapi_document(self):
        doc = Api(_server).ok("GET", "/v1/openapi.json")
        self.assertEqual(doc["swagger"], "2.0")
        for path in ["/v1/messages", "/v1/messages/{id}", "/v1/messages/{id}:cancel",
                     "/v1/auth:signUp", "/v1/groups/{name}/messages", "/v1/stats"]:
            self.assertIn(path, doc["paths"])
        self.assertIn("post", doc["paths"]["/v1/messages"])
        check("GET /v1/openapi.json serves the OpenAPI 2.0 document")


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        os.environ["SMSGW_BUILD_DIR"] = sys.argv.pop(1)
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() else 1)
