// Outbound event webhooks from a real smsgw-server, received by local HTTP
// receivers and verified with the `standardwebhooks` npm library (the
// Standard Webhooks reference implementation):
//  - a receiver answering 500 then 200 sees the same webhook-id twice and
//    the event is delivered once afterwards, signatures valid each time;
//  - a receiver that holds requests open never slows SendMessage;
//  - kill -9 of the server mid-delivery loses no event: after a restart on
//    the same database every event arrives (by webhook-id), in cursor order.
// The server runs with --webhook_allow_private (the receivers are on
// 127.0.0.1 over http) and a short retry window.
// Run: SMSGW_BUILD_DIR=<build dir> node --test <this file> (ctest: interop.webhooks).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Webhook } = require('standardwebhooks');

const here = path.dirname(fileURLToPath(import.meta.url));
const buildDir = process.env.SMSGW_BUILD_DIR ?? path.resolve(here, '../../../build');
const serverBin = path.join(buildDir, 'smsgw-server');
const PEER = '+14155550100';
const cleanups = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

// smsgw-server on `dir` (kept across restarts); resolves to {http, kill, stop}.
async function startServer(dir) {
  const portFile = path.join(dir, 'ports');
  if (existsSync(portFile)) unlinkSync(portFile);
  const proc = spawn(serverBin, [
    `--db_path=${path.join(dir, 'smsgw.db')}`, '--grpc_addr=127.0.0.1:0',
    '--http_addr=127.0.0.1:0', '--metrics_addr=', '--simulator_port=0',
    `--port_file=${portFile}`, '--webhook_allow_private=true',
    '--webhook_retry_window=1h',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  let addr = '';
  for (let i = 0; i < 300 && !addr; i++) {
    if (proc.exitCode !== null) break;
    if (existsSync(portFile)) {
      const m = /^http=(.+)$/m.exec(readFileSync(portFile, 'utf8'));
      if (m) addr = m[1];
    }
    if (!addr) await new Promise((r) => setTimeout(r, 50));
  }
  if (!addr) {
    proc.kill('SIGKILL');
    await exited;
    throw new Error(`smsgw-server did not start:\n${log}`);
  }
  const server = {
    http: addr,
    log: () => log,
    async kill() { if (proc.exitCode === null) proc.kill('SIGKILL'); await exited; },
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.exitCode === null && proc.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(t);
    },
  };
  cleanups.push(() => server.kill());
  return server;
}

function tempDir(name) {
  const dir = mkdtempSync(path.join(tmpdir(), `smsgw-wh-${name}-`));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// A receiver: `answer(req, body)` resolves to the status to send. Every
// request is recorded with whether its signature verified.
async function startReceiver(answer) {
  const received = [];
  const receiver = { secret: '', received };
  const srv = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { body += c; });
    req.on('end', async () => {
      let verified = null;
      try {
        verified = new Webhook(receiver.secret).verify(body, req.headers);
      } catch (e) {
        verified = null;
      }
      const entry = { id: req.headers['webhook-id'], headers: req.headers, body, verified };
      received.push(entry);
      const status = await answer(entry);
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 200 ? 'ok' : 'try again');
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  receiver.url = `http://127.0.0.1:${srv.address().port}/hook`;
  cleanups.push(() => new Promise((r) => { srv.closeAllConnections(); srv.close(r); }));
  return receiver;
}

async function api(server, token, method, route, body) {
  const res = await fetch(`http://${server.http}${route}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  return { status: res.status, json };
}

async function signUp(server, username) {
  const r = await api(server, null, 'POST', '/v1/auth:signUp', { username, password: 'hopper-1906' });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.accessToken;
}

async function until(what, predicate, ms = 30000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (predicate()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('a 500 then 200 receiver sees the same webhook-id twice, signed, and the event once after', async () => {
  const server = await startServer(tempDir('retry'));
  let failures = 0;
  const receiver = await startReceiver(async () => (failures++ === 0 ? 500 : 200));
  const token = await signUp(server, 'hooks-retry');
  const created = await api(server, token, 'POST', '/v1/webhooks',
                            { url: receiver.url, eventTypes: ['message.created'] });
  assert.equal(created.status, 200, JSON.stringify(created.json));
  assert.match(created.json.secret, /^whsec_[A-Za-z0-9+/]{32}$/);
  receiver.secret = created.json.secret;
  const listed = await api(server, token, 'GET', '/v1/webhooks');
  assert.equal(listed.json.webhooks.length, 1);
  assert.equal(listed.json.webhooks[0].url, receiver.url);
  assert.equal(JSON.stringify(listed.json).includes('whsec_'), false, 'List never shows the secret');

  const sent = await api(server, token, 'POST', '/v1/messages', { to: PEER, body: 'hello hooks' });
  assert.equal(sent.status, 200, JSON.stringify(sent.json));
  await until('the retry', () => receiver.received.length >= 2);
  await new Promise((r) => setTimeout(r, 500));  // nothing more may come
  const [first, second] = receiver.received;
  assert.equal(receiver.received.length, 2, 'delivered once after the 2xx');
  assert.equal(first.id, second.id, 'same webhook-id on the retry');
  assert.match(first.id, /^msg_\d+_\d+$/);
  for (const r of receiver.received) {
    assert.ok(r.verified, `standardwebhooks verified ${r.id}`);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.verified.type, 'message.created');
    assert.equal(r.verified.data.message.id, sent.json.message.id);
    assert.equal(r.verified.data.message.body, 'hello hooks');
    assert.match(r.verified.data.cursor, /^\d+$/);
  }
  // A wrong secret does not verify: the check can fail.
  assert.throws(() => new Webhook('whsec_' + Buffer.alloc(24, 7).toString('base64'))
    .verify(second.body, second.headers));

  const id = created.json.webhook.id;
  const log = await api(server, token, 'GET', `/v1/webhooks/${id}/deliveries`);
  assert.equal(log.status, 200);
  assert.equal(log.json.deliveries.length, 2);
  assert.equal(log.json.deliveries[0].success, true);
  assert.equal(log.json.deliveries[1].httpStatus, 500);

  // Another user sees nothing of it.
  const other = await signUp(server, 'hooks-other');
  assert.equal((await api(server, other, 'GET', `/v1/webhooks/${id}/deliveries`)).status, 404);
  assert.equal((await api(server, other, 'DELETE', `/v1/webhooks/${id}`)).status, 404);
  // Rotation: the new secret verifies the next delivery.
  const rotated = await api(server, token, 'POST', `/v1/webhooks/${id}:rotateSecret`, {});
  assert.equal(rotated.status, 200);
  assert.notEqual(rotated.json.secret, created.json.secret);
  receiver.secret = rotated.json.secret;
  await api(server, token, 'POST', '/v1/messages', { to: PEER, body: 'after rotation' });
  await until('the delivery after rotation', () => receiver.received.length >= 3);
  assert.ok(receiver.received[2].verified, 'new secret verifies');
  assert.equal(receiver.received[2].headers['webhook-signature'].split(' ').length, 2,
               'signed with the new and the previous secret during the rotation');
  assert.equal((await api(server, token, 'DELETE', `/v1/webhooks/${id}`)).status, 200);
  await server.stop();
});

test('a receiver that holds requests open never slows SendMessage', async () => {
  const server = await startServer(tempDir('slow'));
  const held = [];
  const receiver = await startReceiver(() => new Promise((resolve) => held.push(() => resolve(200))));
  const token = await signUp(server, 'hooks-slow');
  const created = await api(server, token, 'POST', '/v1/webhooks', { url: receiver.url });
  receiver.secret = created.json.secret;
  await api(server, token, 'POST', '/v1/messages', { to: PEER, body: 'first' });
  await until('the receiver to hold a request', () => held.length >= 1);
  for (let i = 0; i < 5; i++) {
    const sent = await api(server, token, 'POST', '/v1/messages', { to: PEER, body: `while held ${i}` });
    assert.equal(sent.status, 200);
  }
  // All sends completed while the one delivery is still held (in order: no
  // second request to the same endpoint while the first is open).
  assert.equal(held.length, 1, 'the held request is still open');
  for (const release of held.splice(0)) release();
  await until('more deliveries after release', () => receiver.received.length >= 2);
  for (const release of held.splice(0)) release();
  await server.stop();
});

test('kill -9 mid-delivery loses no event; the restart redelivers in cursor order', async () => {
  const dir = tempDir('kill');
  let server = await startServer(dir);
  // Slow acks, so that the kill lands while deliveries are pending.
  const receiver = await startReceiver(() => new Promise((r) => setTimeout(() => r(200), 150)));
  const token = await signUp(server, 'hooks-kill');
  const created = await api(server, token, 'POST', '/v1/webhooks',
                            { url: receiver.url, eventTypes: ['message.created'] });
  receiver.secret = created.json.secret;
  const N = 6;
  const ids = [];
  for (let i = 0; i < N; i++) {
    const sent = await api(server, token, 'POST', '/v1/messages', { to: PEER, body: `kill ${i}` });
    assert.equal(sent.status, 200);
    ids.push(sent.json.message.id);
  }
  await until('a first delivery', () => receiver.received.length >= 1);
  await server.kill();
  const before = receiver.received.length;
  server = await startServer(dir);
  const got = () => new Set(receiver.received.filter((r) => r.verified)
    .map((r) => r.verified.data.message.id));
  await until('every event after the restart', () => ids.every((id) => got().has(id)));
  assert.ok(before < N || receiver.received.length >= N, 'the kill landed mid-way or all were out');
  const cursors = receiver.received.map((r) => Number(r.verified.data.cursor));
  for (let i = 1; i < cursors.length; i++) {
    assert.ok(cursors[i] >= cursors[i - 1], `cursor order: ${cursors.join(',')}`);
  }
  // Same webhook-id for a redelivered event.
  const byCursor = new Map();
  for (const r of receiver.received) {
    const c = r.verified.data.cursor;
    if (byCursor.has(c)) assert.equal(byCursor.get(c), r.id);
    byCursor.set(c, r.id);
  }
  await server.stop();
});
