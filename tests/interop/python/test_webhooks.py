#!/usr/bin/env python3
"""Outbound event webhooks verified from a second language: a real
smsgw-server delivers to a Python http.server receiver, which checks each
delivery's Standard Webhooks signature with the standard library's hmac
module (HMAC-SHA256 over "id.timestamp.body", keyed with the base64-decoded
secret after "whsec_") and answers 503 to the first attempt, 200 after.

usage: test_webhooks.py <build dir>   (ctest: interop.webhooks_python)
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from test_rest_api import PEER, sign_up, start_server


def verify(secret, headers, body):
    """The Standard Webhooks check, by hand: True when one v1 signature of
    the header matches and the timestamp is within 5 minutes."""
    key = base64.b64decode(secret[len("whsec_"):])
    msg_id = headers["webhook-id"]
    timestamp = headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > 300:
        return False
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for part in headers["webhook-signature"].split(" "):
        version, _, sig = part.partition(",")
        if version == "v1" and hmac.compare_digest(sig, expected):
            return True
    return False


class Receiver:
    def __init__(self):
        self.secret = ""
        self.received = []  # (headers dict, body bytes, verified)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    ok = verify(receiver.secret, headers, body)
                    receiver.received.append((headers, body, ok))
                    first = len(receiver.received) == 1
                self.send_response(503 if first else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class WebhookDeliveryTest(unittest.TestCase):
    def setUp(self):
        self.server = start_server("--webhook_allow_private=true")
        self.receiver = Receiver()

    def tearDown(self):
        self.receiver.stop()
        self.server.stop()

    def test_signed_deliveries_verify_with_stdlib_hmac_and_retry_keeps_the_id(self):
        api, _ = sign_up(self.server)
        created = api.ok("POST", "/v1/webhooks", {"url": self.receiver.url,
                                                  "eventTypes": ["message.created"]})
        self.receiver.secret = created["secret"]
        sent = api.ok("POST", "/v1/messages", {"to": PEER, "body": "from python"})
        deadline = time.time() + 30
        while time.time() < deadline and len(self.receiver.received) < 2:
            time.sleep(0.05)
        got = list(self.receiver.received)
        self.assertEqual(len(got), 2, "503 then 200")
        self.assertEqual(got[0][0]["webhook-id"], got[1][0]["webhook-id"])
        for headers, body, ok in got:
            self.assertTrue(ok, f"signature verifies: {headers}")
            event = json.loads(body)
            self.assertEqual(event["type"], "message.created")
            self.assertEqual(event["data"]["message"]["id"], sent["message"]["id"])
        # Negative control: the check fails with another secret or body.
        headers, body, _ = got[1]
        self.assertFalse(verify("whsec_" + base64.b64encode(b"x" * 24).decode(), headers, body))
        self.assertFalse(verify(created["secret"], headers, body + b" "))

    def test_create_refuses_bad_urls_and_unknown_types(self):
        api, _ = sign_up(self.server)
        for body in ({"url": "not a url"}, {"url": "ftp://example.com/"},
                     {"url": "https://user:pw@example.com/"},
                     {"url": self.receiver.url, "eventTypes": ["message.sent"]}):
            r = api.call("POST", "/v1/webhooks", body)
            self.assertEqual(r.status_code, 400, f"{body}: {r.text}")
            self.assertEqual(r.json()["code"], 3)
        self.assertEqual(api.ok("GET", "/v1/webhooks"), {"webhooks": []})


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        os.environ["SMSGW_BUILD_DIR"] = sys.argv.pop(1)
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() else 1)
