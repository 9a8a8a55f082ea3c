#!/usr/bin/python3
"""smsgw from Python: the user flow against the real smsgw-server.

Uses Debian's python3-grpcio and python3-protobuf (run with /usr/bin/python3;
a pyenv or venv python usually lacks them). Stubs are generated from protos/
into a temporary directory when the suite starts, with protoc and Debian's
grpc_python_plugin, so they always match the .proto files of this tree.

The suite starts its own smsgw-server (loopback, ephemeral ports, embedded
Twilio simulator, temporary database) and stops it by PID at the end.

usage: /usr/bin/python3 tests/interop/python/test_smsgw.py <build dir> [unittest args]
       (the build dir may also come from SMSGW_BUILD_DIR; default ./build)
"""

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

import grpc

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
PROTOS = os.path.join(ROOT, "protos")
# google/api/annotations.proto (the REST routes), from Debian's
# golang-github-grpc-ecosystem-grpc-gateway-dev.
GOOGLEAPIS = "/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis"
PEER = "+14155550100"
PASSWORD = "lovelace-1815"
SM_SID = re.compile(r"^SM[0-9a-f]{32}$")
CALL_TIMEOUT = 20  # seconds, every unary call

# Filled by setUpModule.
auth_pb2 = auth_pb2_grpc = messaging_pb2 = messaging_pb2_grpc = common_pb2 = None
_server = None
_stub_dir = None
_checks = []


def check(what):
    """Records and prints one verified behaviour."""
    _checks.append(what)
    print(f"  ok: {what}", flush=True)


def _build_dir():
    return os.path.abspath(os.environ.get("SMSGW_BUILD_DIR") or os.path.join(ROOT, "build"))


def generate_stubs(out_dir):
    """Compiles protos/smsgw/v1/*.proto to Python modules in out_dir."""
    protos = sorted(
        os.path.join("smsgw", "v1", name)
        for name in os.listdir(os.path.join(PROTOS, "smsgw", "v1"))
        if name.endswith(".proto"))
    # Their imports: google/api/*_pb2 join the `google` namespace package.
    subprocess.run(
        ["protoc", f"-I{GOOGLEAPIS}", f"--python_out={out_dir}",
         "google/api/http.proto", "google/api/annotations.proto"], check=True)
    subprocess.run(
        ["protoc", f"-I{PROTOS}", f"-I{GOOGLEAPIS}", f"--python_out={out_dir}", f"--grpc_python_out={out_dir}",
         "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin", *protos],
        check=True)


class SmsgwServer:
    """One smsgw-server process on 127.0.0.1 ephemeral ports with a temp DB."""

    def __init__(self, binary, extra_env=None, extra_args=()):
        self.dir = tempfile.mkdtemp(prefix="smsgw-py-")
        self.log_path = os.path.join(self.dir, "server.log")
        port_file = os.path.join(self.dir, "ports")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TWILIO_", "SMSGW_", "JWT_"))}
        env.update(extra_env or {})
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [binary, f"--db_path={self.dir}/smsgw.db", "--grpc_addr=127.0.0.1:0",
                 "--http_addr=127.0.0.1:0", "--metrics_addr=", "--simulator_port=0", f"--port_file={port_file}",
                 # The suite signs up every user from 127.0.0.1: lift the
                 # sign-up throttle and the SMS-pumping guard (tested in
                 # tests/attack/).
                 "--signup_peer_max=1000000", "--signup_max=1000000",
                 "--verify_max_per_prefix_per_hour=1000000",
                 "--verify_max_per_country_per_hour=1000000",
                 "--verify_max_per_hour=1000000", *extra_args],
                stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + 30
        ports = {}
        while time.monotonic() < deadline and "grpc" not in ports:
            if self.process.poll() is not None:
                raise RuntimeError(f"smsgw-server exited ({self.process.returncode}):\n{self.log()}")
            if os.path.exists(port_file):
                with open(port_file) as f:
                    ports = dict(line.strip().split("=", 1) for line in f if "=" in line)
            time.sleep(0.05)
        if "grpc" not in ports:
            self.stop()
            raise RuntimeError(f"smsgw-server did not report its ports:\n{self.log()}")
        self.grpc_address = ports["grpc"]
        self.http_address = ports.get("http")

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def make_self_signed_cert(out_dir):
    """Makes a self-signed localhost/127.0.0.1 certificate with the openssl CLI.

    Returns (cert path, key path) of PEM files in out_dir.
    """
    cert = os.path.join(out_dir, "cert.pem")
    key = os.path.join(out_dir, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
         "-out", cert, "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "1"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def setUpModule():
    global auth_pb2, auth_pb2_grpc, messaging_pb2, messaging_pb2_grpc, common_pb2
    global _server, _stub_dir
    binary = os.path.join(_build_dir(), "smsgw-server")
    if not os.access(binary, os.X_OK):
        raise RuntimeError(f"{binary} not found: build the smsgw-server target first")
    _stub_dir = tempfile.mkdtemp(prefix="smsgw-py-stubs-")
    generate_stubs(_stub_dir)
    sys.path.insert(0, _stub_dir)
    # Bound as module globals (see the global statement above).
    from smsgw.v1 import auth_pb2, auth_pb2_grpc, common_pb2
    from smsgw.v1 import messaging_pb2, messaging_pb2_grpc
    _server = SmsgwServer(binary)
    print(f"smsgw-server pid {_server.process.pid} on {_server.grpc_address}", flush=True)


def tearDownModule():
    if _server is not None:
        _server.stop()
    if _stub_dir is not None:
        shutil.rmtree(_stub_dir, ignore_errors=True)


class SmsgwTest(unittest.TestCase):
    """The user flow of smsgw's gRPC API, one fresh user per test."""

    def setUp(self):
        self.channel = grpc.insecure_channel(_server.grpc_address)
        self.auth = auth_pb2_grpc.AuthServiceStub(self.channel)
        self.messaging = messaging_pb2_grpc.MessagingServiceStub(self.channel)

    def tearDown(self):
        self.channel.close()

    def sign_up(self, prefix="py"):
        """Signs up a new user; returns (username, call metadata with its token)."""
        username = f"{prefix}-{uuid.uuid4().hex[:12]}"
        reply = self.auth.SignUp(auth_pb2.SignUpRequest(username=username, password=PASSWORD),
                                 timeout=CALL_TIMEOUT)
        return username, [("authorization", f"Bearer {reply.access_token}")]

    def send(self, creds, body, to=PEER, **fields):
        return self.messaging.SendMessage(
            messaging_pb2.SendMessageRequest(to=to, body=body, **fields),
            metadata=creds, timeout=CALL_TIMEOUT)

    def assert_code(self, code, call, *args, **kwargs):
        with self.assertRaises(grpc.RpcError) as raised:
            call(*args, timeout=CALL_TIMEOUT, **kwargs)
        self.assertEqual(raised.exception.code(), code, raised.exception.details())
        return raised.exception

    def test_readme_quick_start(self):
        address = _server.grpc_address
        # README:begin python
        channel = grpc.insecure_channel(address)  # e.g. "127.0.0.1:50051"
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        messaging = messaging_pb2_grpc.MessagingServiceStub(channel)

        auth.SignUp(auth_pb2.SignUpRequest(username="ada", password="lovelace-1815"))
        login = auth.Login(auth_pb2.LoginRequest(username="ada", password="lovelace-1815"))
        creds = [("authorization", f"Bearer {login.access_token}")]

        sent = messaging.SendMessage(
            messaging_pb2.SendMessageRequest(to="+14155550100", body="Hello from Python"),
            metadata=creds)
        print(sent.message.id, common_pb2.MessageStatus.Name(sent.message.status),
              sent.message.provider_sid)

        got = messaging.GetMessage(
            messaging_pb2.GetMessageRequest(id=sent.message.id, include_events=True),
            metadata=creds)
        for event in got.events:
            print(common_pb2.MessageStatus.Name(event.status), event.provider_status)
        # README:end python
        channel.close()
        self.assertEqual(sent.message.status, common_pb2.MESSAGE_STATUS_QUEUED)
        self.assertEqual(got.message.id, sent.message.id)
        self.assertEqual(got.events[0].provider_status, "queued")
        check("README Python snippet: sign up, log in, send (QUEUED), get with events")

    def test_sign_up_log_in_and_get_current_user(self):
        username = f"py-{uuid.uuid4().hex[:12]}"
        signup = self.auth.SignUp(
            auth_pb2.SignUpRequest(username=username.upper(), password=PASSWORD),
            timeout=CALL_TIMEOUT)
        self.assertEqual(signup.user.username, username)
        self.assertTrue(signup.access_token)
        self.assertGreater(signup.expire_time.seconds, time.time())
        check("SignUp returns the case-folded user, a token and its expiry")

        login = self.auth.Login(auth_pb2.LoginRequest(username=username, password=PASSWORD),
                                timeout=CALL_TIMEOUT)
        self.assertEqual(login.user.username, username)
        check("Login returns a token")

        me = self.auth.GetCurrentUser(
            auth_pb2.GetCurrentUserRequest(),
            metadata=[("authorization", f"Bearer {login.access_token}")], timeout=CALL_TIMEOUT)
        self.assertEqual(me.user.username, username)
        self.assertFalse(me.user.admin)
        check("GetCurrentUser with the login token returns the user")

        self.assert_code(grpc.StatusCode.UNAUTHENTICATED, self.auth.Login,
                         auth_pb2.LoginRequest(username=username, password="wrong-password"))
        self.assert_code(grpc.StatusCode.ALREADY_EXISTS, self.auth.SignUp,
                         auth_pb2.SignUpRequest(username=username, password=PASSWORD))
        check("wrong password -> UNAUTHENTICATED, taken username -> ALREADY_EXISTS")

    def test_api_key_works_on_grpc_within_its_scopes(self):
        username, creds = self.sign_up()
        created = self.auth.CreateApiKey(
            auth_pb2.CreateApiKeyRequest(name="reporting", scopes=["messages:read"]),
            metadata=creds, timeout=CALL_TIMEOUT)
        self.assertTrue(created.secret.startswith("sk_"))
        key = [("authorization", f"Bearer {created.secret}")]
        self.send(creds, "sent with the login token")
        listed = self.messaging.ListMessages(messaging_pb2.ListMessagesRequest(),
                                             metadata=key, timeout=CALL_TIMEOUT)
        self.assertEqual(len(listed.messages), 1)
        self.assertEqual(listed.messages[0].owner_username, username)
        check("an API key (metadata authorization: Bearer sk_...) reads its user's messages")

        denied = self.assert_code(grpc.StatusCode.PERMISSION_DENIED, self.messaging.SendMessage,
                                  messaging_pb2.SendMessageRequest(to=PEER, body="no"),
                                  metadata=key)
        self.assertIn("messages:send", denied.details())
        self.assert_code(grpc.StatusCode.PERMISSION_DENIED, self.auth.ListApiKeys,
                         auth_pb2.ListApiKeysRequest(), metadata=key)
        sender = self.auth.CreateApiKey(
            auth_pb2.CreateApiKeyRequest(name="sender", scopes=["messages:send"]),
            metadata=creds, timeout=CALL_TIMEOUT)
        stream = self.messaging.WatchMessages(
            messaging_pb2.WatchMessagesRequest(),
            metadata=[("authorization", f"Bearer {sender.secret}")], timeout=CALL_TIMEOUT)
        with self.assertRaises(grpc.RpcError) as raised:
            next(iter(stream))
        self.assertEqual(raised.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
        check("beyond its scopes (SendMessage, ListApiKeys, WatchMessages) a key is PERMISSION_DENIED")

        self.auth.DeleteApiKey(auth_pb2.DeleteApiKeyRequest(id=created.api_key.id),
                               metadata=creds, timeout=CALL_TIMEOUT)
        self.assert_code(grpc.StatusCode.UNAUTHENTICATED, self.messaging.ListMessages,
                         messaging_pb2.ListMessagesRequest(), metadata=key)
        check("DeleteApiKey revokes the key at once: UNAUTHENTICATED")

    def test_send_is_queued_with_a_twilio_sid_and_get_shows_its_events(self):
        username, creds = self.sign_up()
        sent = self.send(creds, "hello from python", to="(415) 555-0100")
        m = sent.message
        self.assertEqual(m.status, common_pb2.MESSAGE_STATUS_QUEUED)
        self.assertRegex(m.provider_sid, SM_SID)
        self.assertEqual(m.to, PEER)
        self.assertEqual(m.owner_username, username)
        self.assertEqual(m.direction, common_pb2.MESSAGE_DIRECTION_OUTBOUND)
        self.assertEqual(m.encoding, common_pb2.MESSAGE_ENCODING_GSM7)
        self.assertEqual(m.num_segments, 1)
        self.assertTrue(getattr(m, "from").startswith("+"))
        self.assertFalse(sent.idempotent_replay)
        check(f"SendMessage -> QUEUED, sid {m.provider_sid}, national number stored as {m.to}")

        got = self.messaging.GetMessage(
            messaging_pb2.GetMessageRequest(id=m.id, include_events=True),
            metadata=creds, timeout=CALL_TIMEOUT)
        self.assertEqual(got.message.id, m.id)
        self.assertEqual(got.message.provider_sid, m.provider_sid)
        self.assertGreaterEqual(got.message.status, common_pb2.MESSAGE_STATUS_QUEUED)
        self.assertGreaterEqual(len(got.events), 1)
        first = got.events[0]
        self.assertEqual(first.source, common_pb2.DELIVERY_REPORT_SOURCE_PROVIDER_RESPONSE)
        self.assertEqual(first.provider_status, "queued")
        self.assertTrue(first.applied)
        check(f"GetMessage include_events: {len(got.events)} event(s), first is the "
              "provider's 'queued' answer")

        plain = self.messaging.GetMessage(messaging_pb2.GetMessageRequest(id=m.id),
                                          metadata=creds, timeout=CALL_TIMEOUT)
        self.assertEqual(len(plain.events), 0)
        check("GetMessage without include_events carries no events")

    def test_list_pages_through_messages_and_searches_bodies(self):
        _, creds = self.sign_up()
        bodies = ["alpha apple", "bravo banana", "charlie pineapple", "delta date", "echo elder"]
        ids = [self.send(creds, body).message.id for body in bodies]

        pages, token = [], ""
        while True:
            page = self.messaging.ListMessages(
                messaging_pb2.ListMessagesRequest(page_size=2, page_token=token),
                metadata=creds, timeout=CALL_TIMEOUT)
            pages.append([message.id for message in page.messages])
            token = page.next_page_token
            if not token or len(pages) > 5:
                break
        self.assertEqual([len(p) for p in pages], [2, 2, 1])
        self.assertEqual([i for p in pages for i in p], list(reversed(ids)))
        check("ListMessages page_size 2 over 5 messages: pages of 2, 2, 1, newest first, "
              "last page without next_page_token")

        found = self.messaging.ListMessages(
            messaging_pb2.ListMessagesRequest(query="pineapple"),
            metadata=creds, timeout=CALL_TIMEOUT)
        self.assertEqual([m.body for m in found.messages], ["charlie pineapple"])
        either = self.messaging.ListMessages(
            messaging_pb2.ListMessagesRequest(query="apple OR banana"),
            metadata=creds, timeout=CALL_TIMEOUT)
        self.assertEqual(sorted(m.body for m in either.messages), ["alpha apple", "bravo banana"])
        prefix = self.messaging.ListMessages(
            messaging_pb2.ListMessagesRequest(query="del*"), metadata=creds, timeout=CALL_TIMEOUT)
        self.assertEqual([m.body for m in prefix.messages], ["delta date"])
        check("ListMessages full-text query: word, OR, prefix*")

    def test_list_conversations_newest_first(self):
        _, creds = self.sign_up()
        self.send(creds, "first to ann")
        self.send(creds, "to bob", to="+14155550101")
        last = self.send(creds, "second to ann").message
        listed = self.messaging.ListConversations(
            messaging_pb2.ListConversationsRequest(), metadata=creds, timeout=CALL_TIMEOUT)
        self.assertEqual([(c.peer_number, c.message_count) for c in listed.conversations],
                         [(PEER, 2), ("+14155550101", 1)])
        self.assertEqual(listed.conversations[0].last_message.id, last.id)
        check("ListConversations: one per peer, most recently updated first, with counts")

    def test_delete_removes_the_message(self):
        _, creds = self.sign_up()
        keep = self.send(creds, "keep me").message
        gone = self.send(creds, "delete me").message
        self.messaging.DeleteMessage(messaging_pb2.DeleteMessageRequest(id=gone.id),
                                     metadata=creds, timeout=CALL_TIMEOUT)
        self.assert_code(grpc.StatusCode.NOT_FOUND, self.messaging.GetMessage,
                         messaging_pb2.GetMessageRequest(id=gone.id), metadata=creds)
        self.assert_code(grpc.StatusCode.NOT_FOUND, self.messaging.DeleteMessage,
                         messaging_pb2.DeleteMessageRequest(id=gone.id), metadata=creds)
        listed = self.messaging.ListMessages(messaging_pb2.ListMessagesRequest(),
                                             metadata=creds, timeout=CALL_TIMEOUT)
        self.assertEqual([m.id for m in listed.messages], [keep.id])
        check("DeleteMessage: then GetMessage and a second delete -> NOT_FOUND; the other "
              "message stays")

    def test_idempotent_retry_returns_the_first_message(self):
        _, creds = self.sign_up()
        key = f"order-{uuid.uuid4()}"
        first = self.send(creds, "your order shipped", idempotency_key=key)
        again = self.send(creds, "your order shipped", idempotency_key=key)
        self.assertFalse(first.idempotent_replay)
        self.assertTrue(again.idempotent_replay)
        self.assertEqual(again.message.id, first.message.id)
        self.assertEqual(again.message.provider_sid, first.message.provider_sid)
        self.assertEqual(again.message.idempotency_key, key)
        check("same idempotency_key twice -> same id and sid, idempotent_replay true")

        by_header = self.send(creds + [("idempotency-key", key)], "your order shipped")
        self.assertTrue(by_header.idempotent_replay)
        self.assertEqual(by_header.message.id, first.message.id)
        check("the key as `idempotency-key` metadata replays too")

        self.assert_code(grpc.StatusCode.ALREADY_EXISTS, self.messaging.SendMessage,
                         messaging_pb2.SendMessageRequest(to=PEER, body="something else",
                                                          idempotency_key=key),
                         metadata=creds)
        listed = self.messaging.ListMessages(messaging_pb2.ListMessagesRequest(),
                                             metadata=creds, timeout=CALL_TIMEOUT)
        self.assertEqual(len(listed.messages), 1)
        check("same key with another body -> ALREADY_EXISTS; one message stored")

    def test_bad_calls_get_the_documented_status_codes(self):
        _, creds = self.sign_up()
        other, other_creds = self.sign_up("py-other")
        theirs = self.send(other_creds, "private").message
        list_all = messaging_pb2.ListMessagesRequest()

        self.assert_code(grpc.StatusCode.UNAUTHENTICATED, self.messaging.ListMessages, list_all)
        self.assert_code(grpc.StatusCode.UNAUTHENTICATED, self.auth.GetCurrentUser,
                         auth_pb2.GetCurrentUserRequest())
        check("no token -> UNAUTHENTICATED")
        for bad in ("Bearer not.a.jwt", "Basic dXNlcjpwYXNz", "Bearer "):
            self.assert_code(grpc.StatusCode.UNAUTHENTICATED, self.messaging.ListMessages,
                             list_all, metadata=[("authorization", bad)])
        check("malformed token or scheme -> UNAUTHENTICATED")

        error = self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.messaging.SendMessage,
                                 messaging_pb2.SendMessageRequest(to="not a number", body="x"),
                                 metadata=creds)
        self.assertIn("to", error.details())
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.messaging.SendMessage,
                         messaging_pb2.SendMessageRequest(to=PEER, body=""), metadata=creds)
        check("bad number, empty body -> INVALID_ARGUMENT")

        self.assert_code(grpc.StatusCode.NOT_FOUND, self.messaging.GetMessage,
                         messaging_pb2.GetMessageRequest(id=theirs.id), metadata=creds)
        self.assert_code(grpc.StatusCode.NOT_FOUND, self.messaging.DeleteMessage,
                         messaging_pb2.DeleteMessageRequest(id=theirs.id), metadata=creds)
        self.messaging.GetMessage(messaging_pb2.GetMessageRequest(id=theirs.id),
                                  metadata=other_creds, timeout=CALL_TIMEOUT)
        check("another user's message -> NOT_FOUND (get and delete); its owner still has it")

        self.assert_code(grpc.StatusCode.PERMISSION_DENIED, self.messaging.ListMessages,
                         messaging_pb2.ListMessagesRequest(username=other), metadata=creds)
        check("username filter by a non-admin -> PERMISSION_DENIED")

    def test_watch_streams_created_events(self):
        _, creds = self.sign_up()
        events = queue.Queue()
        stream = self.messaging.WatchMessages(messaging_pb2.WatchMessagesRequest(),
                                              metadata=creds, timeout=60)

        def read():
            try:
                for response in stream:
                    events.put(response.event)
            except grpc.RpcError as error:
                events.put(error)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            # The stream only carries events after the server registers the
            # call, so keep sending until the first event arrives.
            sent_ids, first = [], None
            deadline = time.monotonic() + 15
            while first is None and time.monotonic() < deadline:
                try:
                    item = events.get(timeout=0.05 if not sent_ids else 1.0)
                except queue.Empty:
                    sent_ids.append(self.send(creds, f"watch me {len(sent_ids)}").message.id)
                    continue
                if isinstance(item, grpc.RpcError):
                    if item.code() == grpc.StatusCode.UNIMPLEMENTED:
                        self.skipTest(f"WatchMessages answers UNIMPLEMENTED: {item.details()}")
                    self.fail(f"WatchMessages failed: {item.code()} {item.details()}")
                self.assertIn(item.message.id, sent_ids, "an event of a message never sent")
                # A status change of an earlier send may come first.
                if item.type == messaging_pb2.MESSAGE_EVENT_TYPE_CREATED:
                    first = item
            self.assertIsNotNone(first, "no CREATED event within 15 s")
            self.assertTrue(first.cursor)
            check("WatchMessages streams a CREATED event with a cursor for a sent message")

            later = self.send(creds, "after the first event").message
            deadline = time.monotonic() + 15
            seen = None
            while seen is None and time.monotonic() < deadline:
                try:
                    item = events.get(timeout=max(0.1, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if isinstance(item, grpc.RpcError):
                    self.fail(f"WatchMessages failed: {item.code()} {item.details()}")
                if (item.type == messaging_pb2.MESSAGE_EVENT_TYPE_CREATED
                        and item.message.id == later.id):
                    seen = item
            self.assertIsNotNone(seen, "no CREATED event for the second message")
            check("the same stream carries the next message's CREATED event")
        finally:
            stream.cancel()
            reader.join(timeout=5)

        resumed = self.messaging.WatchMessages(
            messaging_pb2.WatchMessagesRequest(after_cursor=first.cursor),
            metadata=creds, timeout=15)
        try:
            for response in resumed:
                if (response.event.type == messaging_pb2.MESSAGE_EVENT_TYPE_CREATED
                        and response.event.message.id == later.id):
                    break
            else:
                self.fail("resumed stream ended without replaying the second message")
        finally:
            resumed.cancel()
        check("WatchMessages after_cursor replays the events after that cursor")


class SmsgwTlsTest(unittest.TestCase):
    """gRPC over TLS: a server started with SMSGW_TLS_CERT/SMSGW_TLS_KEY.

    The class starts its own server with a certificate made by `openssl req`
    for localhost and 127.0.0.1, and trusts exactly that certificate.
    """

    @classmethod
    def setUpClass(cls):
        cls.cert_dir = tempfile.mkdtemp(prefix="smsgw-py-tls-")
        cert, key = make_self_signed_cert(cls.cert_dir)
        with open(cert, "rb") as f:
            cls.root_pem = f.read()
        try:
            cls.server = SmsgwServer(os.path.join(_build_dir(), "smsgw-server"),
                                     {"SMSGW_TLS_CERT": cert, "SMSGW_TLS_KEY": key})
        except Exception:
            shutil.rmtree(cls.cert_dir, ignore_errors=True)
            raise
        print(f"smsgw-server (TLS) pid {cls.server.process.pid} on {cls.server.grpc_address}",
              flush=True)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.cert_dir, ignore_errors=True)

    def test_sign_up_get_current_user_and_send_over_tls(self):
        credentials = grpc.ssl_channel_credentials(root_certificates=self.root_pem)
        with grpc.secure_channel(self.server.grpc_address, credentials) as channel:
            auth = auth_pb2_grpc.AuthServiceStub(channel)
            messaging = messaging_pb2_grpc.MessagingServiceStub(channel)
            username = f"py-tls-{uuid.uuid4().hex[:12]}"
            signup = auth.SignUp(auth_pb2.SignUpRequest(username=username, password=PASSWORD),
                                 timeout=CALL_TIMEOUT)
            creds = [("authorization", f"Bearer {signup.access_token}")]
            me = auth.GetCurrentUser(auth_pb2.GetCurrentUserRequest(), metadata=creds,
                                     timeout=CALL_TIMEOUT)
            self.assertEqual(me.user.username, username)
            check("TLS (trusting the test's self-signed cert): SignUp, then GetCurrentUser "
                  "returns the user")

            sent = messaging.SendMessage(
                messaging_pb2.SendMessageRequest(to=PEER, body="hello over tls"),
                metadata=creds, timeout=CALL_TIMEOUT)
            self.assertEqual(sent.message.status, common_pb2.MESSAGE_STATUS_QUEUED)
            self.assertRegex(sent.message.provider_sid, SM_SID)
            check(f"TLS: SendMessage -> QUEUED, sid {sent.message.provider_sid}")

    def test_plaintext_client_is_refused(self):
        with grpc.insecure_channel(self.server.grpc_address) as channel:
            auth = auth_pb2_grpc.AuthServiceStub(channel)
            with self.assertRaises(grpc.RpcError) as raised:
                auth.SignUp(auth_pb2.SignUpRequest(username=f"py-plain-{uuid.uuid4().hex[:8]}",
                                                   password=PASSWORD),
                            timeout=CALL_TIMEOUT)
        self.assertEqual(raised.exception.code(), grpc.StatusCode.UNAVAILABLE,
                         raised.exception.details())
        check("plaintext client against the TLS port -> UNAVAILABLE")

    def test_client_not_trusting_the_certificate_is_refused(self):
        # Default roots (the system's) do not include the self-signed cert.
        with grpc.secure_channel(self.server.grpc_address,
                                 grpc.ssl_channel_credentials()) as channel:
            auth = auth_pb2_grpc.AuthServiceStub(channel)
            with self.assertRaises(grpc.RpcError) as raised:
                auth.SignUp(auth_pb2.SignUpRequest(username=f"py-untrusted-{uuid.uuid4().hex[:8]}",
                                                   password=PASSWORD),
                            timeout=CALL_TIMEOUT)
        self.assertEqual(raised.exception.code(), grpc.StatusCode.UNAVAILABLE,
                         raised.exception.details())
        self.assertIn("certificate verify failed", raised.exception.details())
        check("TLS client that does not trust the certificate -> UNAVAILABLE "
              "(certificate verify failed)")


def main():
    args = sys.argv[1:]
    if args and not args[0].startswith("-"):
        os.environ["SMSGW_BUILD_DIR"] = args.pop(0)
    program = unittest.main(argv=[sys.argv[0], "-v", *args], exit=False)
    result = program.result
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    print(f"python interop: {len(_checks)} checks in {passed} tests")
    for test, reason in result.skipped:
        print(f"python interop: skipped {test.id().rsplit('.', 1)[-1]}: {reason}")
    print(f"python interop: {passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 and result.testsRun > 0 else 1)


if __name__ == "__main__":
    main()
