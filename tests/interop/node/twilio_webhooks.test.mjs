// Twilio webhooks as Twilio's own library signs them: requests signed with
// twilio-node's getExpectedTwilioSignature (npm `twilio`, pinned in
// package-lock.json) are posted over real HTTP to a real smsgw-server that
// this test starts (embedded simulator, temp database, loopback ports) and
// stops by PID. Run: SMSGW_BUILD_DIR=<build dir> node --test <this file>
// (ctest: interop.twilio_webhooks; scripts/buf-lint.sh installs node_modules).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { startServer } from './smsgw_server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
let twilio;
try {
  twilio = require('twilio');
} catch (e) {
  throw new Error('npm package twilio not installed: run scripts/buf-lint.sh first');
}


// The embedded simulator's account (server/twilio/simulator.h,
// TwilioSimulator::Options): the server checks webhooks against these.
const ACCOUNT_SID = 'AC5ea7c0de5ea7c0de5ea7c0de5ea7c0de';
const AUTH_TOKEN = '5ea7c0de5ea7c0de5ea7c0de5ea7c0de';
const OUR_NUMBER = '+15005550006';
const PEER = '+14155550100';
const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

const INBOUND = '/twilio/sms/inbound';
const STATUS = '/twilio/sms/status';

let checks = 0;
function check(what, fn) {
  fn();
  checks += 1;
  console.log(`ok: ${what}`);
}

// Encodes params ({name: value | [values]}) as a form body, repeated names
// as repeated pairs.
function formBody(params) {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const v of Array.isArray(value) ? value : [value]) form.append(name, v);
  }
  return form.toString();
}

// POSTs `params` to `target` on `server`, signed by twilio-node on
// `signedUrl`.
async function post(server, target, params, signedUrl) {
  const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, signedUrl, params);
  return fetch(`http://${server.http}${target}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8',
      'X-Twilio-Signature': signature,
    },
    body: formBody(params),
  });
}

function inbound(sid, body, extra = {}) {
  return {
    AccountSid: ACCOUNT_SID,
    ApiVersion: '2010-04-01',
    Body: body,
    From: PEER,
    FromCountry: 'US',
    MessageSid: sid,
    NumMedia: '0',
    NumSegments: '1',
    SmsMessageSid: sid,
    SmsSid: sid,
    SmsStatus: 'received',
    To: OUR_NUMBER,
    ...extra,
  };
}

function statusCallback(sid, status, extra = {}) {
  return {
    AccountSid: ACCOUNT_SID,
    ApiVersion: '2010-04-01',
    From: OUR_NUMBER,
    MessageSid: sid,
    MessageStatus: status,
    SmsSid: sid,
    SmsStatus: status,
    To: PEER,
    ...extra,
  };
}

async function expectTwiml(res, what) {
  const text = await res.text();
  check(`${what}: 200 with empty TwiML`, () => {
    assert.equal(res.status, 200, text);
    assert.match(res.headers.get('content-type') ?? '', /^text\/xml/);
    assert.equal(text, EMPTY_TWIML);
  });
}

async function expectStatus(res, code, what) {
  const text = await res.text();
  check(`${what}: ${code}`, () => assert.equal(res.status, code, text));
}

// --- The default public URL: http://127.0.0.1:<bound port> -----------------

let local;
let https;
before(async () => {
  local = await startServer('local', []);
  https = await startServer('https', ['--public_url=https://sms.example.com']);
});
after(async () => {
  await local?.stop();
  await https?.stop();
  console.log(`twilio_webhooks: ${checks} checks passed`);
});

test('library-signed inbound with repeated custom parameters is accepted', async () => {
  const base = `http://${local.http}`;
  const params = inbound('SMnode0000000000000000000000000001', 'hello from twilio-node 👍', {
    Tag: ['beta', 'alpha', 'beta'],
  });
  await expectTwiml(await post(local, INBOUND, params, base + INBOUND),
    'inbound with Tag repeated 3 times (one duplicate value), signed by twilio-node');
  // The same MessageSid again (Twilio's retry) is answered the same way.
  await expectTwiml(await post(local, INBOUND, params, base + INBOUND),
    'the same MessageSid again');
});

test('a query string on the webhook URL is signed byte for byte', async () => {
  const base = `http://${local.http}`;
  const target = `${INBOUND}?tenant=acme&b=2`;
  await expectTwiml(
    await post(local, target, inbound('SMnode0000000000000000000000000002', 'query'), base + target),
    'inbound posted to ?tenant=acme&b=2 and signed on that URL');
  await expectStatus(
    await post(local, target, inbound('SMnode0000000000000000000000000003', 'query'),
      `${base}${INBOUND}?b=2&tenant=acme`),
    403, 'the same query re-ordered in the signed URL');
  await expectStatus(
    await post(local, target, inbound('SMnode0000000000000000000000000004', 'query'), base + INBOUND),
    403, 'query string left out of the signed URL');
});

test('GET inbound with the params in the query is signed on the URL alone', async () => {
  const base = `http://${local.http}`;
  const target = `${INBOUND}?${formBody(inbound('SMnode0000000000000000000000000005', 'via GET'))}`;
  const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, base + target, {});
  check('twilio-node validates its own GET signature', () =>
    assert.ok(twilio.validateRequest(AUTH_TOKEN, signature, base + target, {})));
  const res = await fetch(`http://${local.http}${target}`, {
    headers: { 'X-Twilio-Signature': signature },
  });
  await expectTwiml(res, 'GET inbound');
});

test('status callbacks: kept for an unknown SID, refused when tampered or malformed', async () => {
  const base = `http://${local.http}`;
  await expectStatus(
    await post(local, STATUS, statusCallback('SMnode00000000000000000000000000aa', 'delivered'), base + STATUS),
    204, 'status callback for a SID not stored yet');
  const params = statusCallback('SMnode00000000000000000000000000bb', 'undelivered', { ErrorCode: '30003' });
  const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, base + STATUS, params);
  const tampered = { ...params, ErrorCode: '30005' };
  const res = await fetch(`${base}${STATUS}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': signature },
    body: formBody(tampered),
  });
  await expectStatus(res, 403, 'ErrorCode changed after twilio-node signed the callback');
  const unsigned = await fetch(`${base}${STATUS}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: formBody(params),
  });
  await expectStatus(unsigned, 403, 'no X-Twilio-Signature');
  await expectStatus(
    await post(local, STATUS, statusCallback('SMnode00000000000000000000000000cc', 'delivrd'), base + STATUS),
    400, 'signed callback with an unknown status word');
  await expectStatus(
    await post(local, STATUS, { ...statusCallback('SMnode00000000000000000000000000dd', 'sent'),
      AccountSid: 'AC00000000000000000000000000000000' }, base + STATUS),
    403, 'signed callback naming another AccountSid');
  const json = await fetch(`${base}${STATUS}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Twilio-Signature': signature },
    body: JSON.stringify(params),
  });
  await expectStatus(json, 415, 'JSON body');
});

// --- --public_url=https://sms.example.com (a proxy in front) ---------------

test('https public URL: signed with and without :443 both accepted', async () => {
  await expectTwiml(
    await post(https, INBOUND, inbound('SMnode0000000000000000000000000010', 'no port'),
      `https://sms.example.com${INBOUND}`),
    'inbound signed on https://sms.example.com/twilio/sms/inbound');
  await expectTwiml(
    await post(https, INBOUND, inbound('SMnode0000000000000000000000000011', 'port 443'),
      `https://sms.example.com:443${INBOUND}`),
    'inbound signed on https://sms.example.com:443/twilio/sms/inbound');
  await expectStatus(
    await post(https, STATUS, statusCallback('SMnode0000000000000000000000000012', 'sent'),
      `https://sms.example.com:443${STATUS}`),
    204, 'status callback signed on https://sms.example.com:443/twilio/sms/status');
  await expectStatus(
    await post(https, STATUS, statusCallback('SMnode0000000000000000000000000013', 'sent'),
      `https://sms.example.com${STATUS}`),
    204, 'status callback signed on https://sms.example.com/twilio/sms/status');
});

test('https public URL: other spellings are refused', async () => {
  const cases = [
    ['http://sms.example.com', 'http instead of https'],
    ['https://sms.example.com:8443', 'port 8443'],
    [`http://${https.http}`, 'the local address the request really reached'],
    ['https://other.example.com', 'another host'],
  ];
  for (const [base, what] of cases) {
    await expectStatus(
      await post(https, INBOUND, inbound('SMnode0000000000000000000000000020', 'refused'), base + INBOUND),
      403, `inbound signed on ${base} (${what})`);
  }
  // The refused SID was never stored: now signed right, it is accepted.
  await expectTwiml(
    await post(https, INBOUND, inbound('SMnode0000000000000000000000000020', 'accepted'),
      `https://sms.example.com${INBOUND}`),
    'the refused MessageSid, now signed right');
});
