#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/<target>/ (run from anywhere).

The seeds are the inputs of the unit tests of each parser (tests/server/...),
shaped to the fuzz target's input format (see each *_fuzzer.cc). Files are
named seed-<n>; crash reproducers added by hand are named crash-<what> and
are kept when this script is rerun.
"""
import base64
import hashlib
import hmac
import json
import os
import struct
from urllib.parse import quote

HERE = os.path.dirname(os.path.abspath(__file__))


def form(pairs):
    return "&".join(quote(k, safe="") + "=" + quote(v, safe="") for k, v in pairs).encode()


def varint(n):
    n &= (1 << 64) - 1
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def pb(*fields):
    """fields: (number, value) with str/bytes -> length-delimited, int -> varint,
    tuple -> nested message."""
    out = b""
    for num, value in fields:
        if isinstance(value, bool) or isinstance(value, int):
            out += varint(num << 3) + varint(int(value))
        else:
            if isinstance(value, tuple):
                value = pb(*value)
            if isinstance(value, str):
                value = value.encode()
            out += varint(num << 3 | 2) + varint(len(value)) + value
    return out


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):
        if name.startswith("seed-"):
            os.remove(os.path.join(d, name))
    for i, s in enumerate(seeds):
        if isinstance(s, str):
            s = s.encode()
        with open(os.path.join(d, "seed-%02d" % i), "wb") as f:
            f.write(s)


ACCOUNT = "AC0123456789abcdef0123456789abcdef"
OUR = "+15005550006"
PEER = "+14155550100"


def status_params(sid, status, **extra):
    p = [("AccountSid", ACCOUNT), ("ApiVersion", "2010-04-01"), ("From", OUR),
         ("MessageSid", sid), ("MessageStatus", status), ("SmsSid", sid),
         ("SmsStatus", status), ("To", PEER)]
    return p + list(extra.items())


def inbound_params(sid, body, frm=PEER, to=OUR, media=()):
    p = [("AccountSid", ACCOUNT), ("ApiVersion", "2010-04-01"), ("Body", body),
         ("From", frm), ("FromCountry", "US"), ("MessageSid", sid),
         ("NumMedia", str(len(media))), ("NumSegments", "1"),
         ("SmsMessageSid", sid), ("SmsSid", sid), ("SmsStatus", "received"),
         ("To", to)]
    for i, (url, kind) in enumerate(media):
        p += [("MediaUrl%d" % i, url), ("MediaContentType%d" % i, kind)]
    return p


forms = [
    form(status_params("SM00000000000000000000000000000001", "delivered")),
    form(inbound_params("SM0123456789abcdef0123456789abcdef", "Hello, World! ñ 👍")),
    b"a=1&&b=2", b"a", b"=", b"a+b=c%20d", b"x=%E2%82%AC%f0%9f%91%8d",
    b"MediaUrl=https%3A%2F%2Fm.example.com%2Fa.png&MediaUrl=https%3A%2F%2Fm.example.com%2Fb.png",
    b"bad=%zz", b"nul=%00", b"overlong=%C0%AF", b"",
]
write("form_encoding", forms)

sig_seeds = [
    b"\x01" + b"12345\nhttps://mycompany.com/myapp.php?foo=1&bar=2\nRSOYDt4T1cUTdK1PDd93/VVr8B8=\n"
    + form([("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"),
            ("From", "+14158675309"), ("To", "+18005551212")]),
    b"\x00" + b"12345\nhttps://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256="
    b"0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620\n"
    b"a9nBmqA0ju/hNViExpshrM61xv4=\n" + b'{"property": "value", "boolean": true}',
    b"\x01" + b"9f8e7d6c5b4a39281706f5e4d3c2b1a0\nhttps://hooks.example.com:8443/twilio/status?tenant=acme&msg=42#rc=3\n"
    b"KKAJzp3ZQnbkKMBbR5RIIx9FaQY=\n" + form(status_params("SMfedcba9876543210fedcba9876543210", "undelivered")),
    b"\x00token\nhttp://h\n\n",
]
write("twilio_signature", sig_seeds)

write("phone_number", [
    b"\x00+14155550100", b"\x00(415) 555-0100", b"\x00415.555.0100 ext. 12",
    b"\x01+44 20 7946 0958", b"\x0107911 123456", b"\x02+49 30 901820",
    b"\x03+15005550006", b"\x00+1", b"\x00tel:+1-415-555-0100", b"\x00\xef\xbc\x8b1 415 555 0100",
    b"\x00+999999999999999999999",
])

write("segments", [
    b"hello", "€uro [x]".encode(), "Hello, World! ñ 👍".encode(), b"a" * 161,
    "é".encode() * 71, "e\u0301\u0301".encode(), "👍🏽 👨‍👩‍👧 🇺🇸".encode(),
    b"\xc0\xaf", b"\xed\xa0\x80", "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ".encode(),
])

# Tokens: the fuzzer's key and clock (flags 0: now = 1'800'000'000 - 8 h).
KEY = b"fuzz-secret-key-0123456789abcdef0123456789"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=")


def jwt(header, claims, key=KEY):
    h = b64u(json.dumps(header, separators=(",", ":")).encode())
    c = b64u(json.dumps(claims, separators=(",", ":")).encode())
    mac = b64u(hmac.new(key, h + b"." + c, hashlib.sha256).digest())
    return h + b"." + c + b"." + mac


now = 1_800_000_000 - 8 * 3600
good = {"sub": "42", "iss": "smsgw", "iat": now - 60, "exp": now + 86400,
        "jti": "00112233445566778899aabbccddeeff"}
write("token_service", [
    b"\x00" + jwt({"alg": "HS256", "typ": "JWT"}, good),
    b"\x00" + jwt({"alg": "none", "typ": "JWT"}, good).rsplit(b".", 1)[0] + b".",
    b"\x00" + jwt({"alg": "HS256", "typ": "JWT"}, good, key=b"another-key" * 4),
    b"\x00" + jwt({"alg": "HS256"}, dict(good, exp=now - 10)),
    b"\x00" + jwt({"alg": "HS256"}, dict(good, iat=now + 3600)),
    b"\x00" + jwt({"alg": "RS256"}, good), b"\x00a.b.c", b"\x00...", b"\x00",
    b"\x01ann", b"\x0142", b"\x01" + "ü".encode() * 10,
])

webhook = []
for i, status in enumerate(["sent", "delivered", "undelivered", "failed", "queued", "read"]):
    sid = "SM%032d" % (i % 4 + 1)
    extra = {"ErrorCode": "30003"} if status in ("undelivered", "failed") else {}
    webhook.append(b"\x02" + form(status_params(sid, status, **extra)))
webhook.append(b"\x02" + form(status_params("SM%032d" % 1, "delivered", RawDlrDoneDate="2701150800")))
for body in ["Hello", "STOP", "start", "HELP", "unstop", "Hello, World! ñ 👍"]:
    webhook.append(b"\x03" + form(inbound_params("SM0123456789abcdef0123456789abcd%02x" % len(body), body)))
webhook.append(b"\x03" + form(inbound_params("MM0123456789abcdef0123456789abcdef", "",
                                             media=[("https://api.twilio.com/m/1", "image/png")])))
webhook += [b"\x00" + form(status_params("SM%032d" % 1, "delivered")), b"\x06a=1", b"\x0a{}", b"\x02"]
write("twilio_webhook", webhook)

write("page_token", [
    b"\x00\x01", b"\x00\x01" + b64u(b"m1|5|0123456789abcdef"), b"\x00\x02" + b64u(b"m1|-1|x"),
    b"\x01\x02" + b64u(b"c1|1800000000000000|conv-3"), b"\x01\x01" + b64u(b"c1|x|y"),
    b"\x02\x01" + b64u(b"g1|hikers"), b"\x02\x00" + b64u(b"g1|"),
    b"\x03\x01" + b64u(b"gm1|1|3"), b"\x03\x01" + b64u(b"gm1|1|99999999999999999999"),
    b"\x04\x00" + b"42", b"\x04\x00" + b"0", b"\x04\x00" + b"007", b"\x04\x00" + b"9223372036854775807",
    b"\x00\x00!!!", b"\x01\x00" + b"=",
])

ts = lambda s, n=0: ((1, s), (2, n))  # google.protobuf.Timestamp
write("rpc_auth", [
    b"\x00\x02" + pb((1, "newuser"), (2, "password123"), (3, "+14155550199")),
    b"\x00\x02" + pb((1, "A"), (2, "short")),
    b"\x01\x02" + pb((1, "fuzzuser"), (2, "fuzz-password-1")),
    b"\x01\x02" + pb((1, "fuzzuser"), (2, "wrong-password")),
    b"\x02\x00", b"\x02\x02", b"\x03\x00" + pb((1, "+14155550123")), b"\x03\x00",
    b"\x04\x00" + pb((1, "042917")), b"\x04\x00" + pb((1, "12ab")),
])
write("rpc_messaging", [
    b"\x00\x00" + pb((1, "+14155550100"), (2, "hello")),
    b"\x00\x04key-1\n" + pb((1, "(415) 555-0100"), (2, "€uro"), (4, "chat:1"), (6, "key-1")),
    b"\x00\x00" + pb((1, "+14155550100"), (2, "later"), (7, ts(1_900_000_000))),
    b"\x00\x00" + pb((1, "+14155550100"), (5, "https://m.example.com/a.png"), (8, True)),
    b"\x01\x00" + pb((1, "00000000-0000-4000-8000-000000000000")),
    b"\x02\x00" + pb((1, "not-a-uuid"), (2, True)),
    b"\x03\x00" + pb((2, "+14155550100"), (3, 1), (4, 3), (5, ts(0)), (6, ts(2_000_000_000)),
                     (7, '"see you" OR bye'), (10, 2)),
    b"\x03\x01" + pb((8, "fuzzuser"), (12, True)), b"\x03\x00" + pb((7, "AND OR (")),
    b"\x03\x00" + pb((11, "bTF8NXx4")),
    b"\x04\x00" + pb((1, 1), (2, b64u(b"c1|1800000000000000|conv-3").decode())),
    b"\x05\x00" + pb((1, "00000000-0000-4000-8000-000000000000")),
    b"\x06\x00" + pb((1, "chat:1")), b"\x06\x01" + pb((2, "fuzzuser")),
    b"\x07\x00" + pb((1, ts(1_700_000_000)), (2, ts(1_800_000_000))),
    b"\x07\x01" + pb((1, ts(-62135596801)), (3, "nobody")),
])
write("rpc_groups", [
    b"\x00\x00" + pb((1, "hikers"), (2, "weekend walks")), b"\x00\x00" + pb((1, " lead")),
    b"\x01\x00" + pb((1, "hikers")), b"\x02\x00" + pb((1, "hikers")),
    b"\x03\x00" + pb((1, "HIKERS")), b"\x04\x00" + pb((1, 2), (2, b64u(b"g1|h").decode())),
    b"\x05\x00" + pb((1, "hikers"), (2, "hi all"), (3, "k1")),
    b"\x06\x00" + pb((1, "hikers"), (2, 1), (3, b64u(b"gm1|1|3").decode())),
])
