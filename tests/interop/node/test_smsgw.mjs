// smsgw from Node.js: the user flow against the real smsgw-server, with
// @grpc/grpc-js and @grpc/proto-loader reading protos/ at run time (no code
// generation). The suite starts its own smsgw-server (loopback, ephemeral
// ports, embedded Twilio simulator, temporary database) and stops it by PID.
//
// usage: SMSGW_BUILD_DIR=<build dir> node --test test_smsgw.mjs
//        (or `npm test` in tests/interop/node; default build dir ./build)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const protosDir = path.join(root, 'protos');
// google/api/annotations.proto (the REST routes the protos declare), from
// Debian's golang-github-grpc-ecosystem-grpc-gateway-dev.
const googleapisDir =
  '/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis';
const buildDir = path.resolve(process.env.SMSGW_BUILD_DIR || path.join(root, 'build'));
const PEER = '+14155550100';
const PASSWORD = 'hopper-1906';
const SM_SID = /^SM[0-9a-f]{32}$/;
const CALL_TIMEOUT_MS = 20000;

// The smsgw.v1 package, loaded from the .proto files.
// README:begin node-load
const definition = protoLoader.loadSync(
  ['smsgw/v1/auth.proto', 'smsgw/v1/messaging.proto'],
  { includeDirs: [protosDir, googleapisDir], keepCase: true, longs: String, enums: String, defaults: true });
const { smsgw } = grpc.loadPackageDefinition(definition);
// README:end node-load

let server; // { child, dir, address }

function log(text) { process.stdout.write(`  ok: ${text}\n`); }

// Starts smsgw-server; extraEnv (e.g. SMSGW_TLS_CERT) is added to a
// scrubbed environment.
async function startServer(extraEnv = {}) {
  const binary = path.join(buildDir, 'smsgw-server');
  fs.accessSync(binary, fs.constants.X_OK);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smsgw-node-'));
  const portFile = path.join(dir, 'ports');
  const env = Object.fromEntries(Object.entries(process.env).filter(
    ([name]) => !/^(TWILIO_|SMSGW_|JWT_)/.test(name)));
  Object.assign(env, extraEnv);
  const logFd = fs.openSync(path.join(dir, 'server.log'), 'w');
  const child = spawn(binary, [
    `--db_path=${dir}/smsgw.db`, '--grpc_addr=127.0.0.1:0', '--http_addr=127.0.0.1:0', '--metrics_addr=',
    '--simulator_port=0', `--port_file=${portFile}`,
    // The suite signs up every user from 127.0.0.1: lift the sign-up
    // throttle and the SMS-pumping guard (tested in tests/attack/).
    '--signup_peer_max=1000000', '--signup_max=1000000',
    '--verify_max_per_prefix_per_hour=1000000',
    '--verify_max_per_country_per_hour=1000000',
    '--verify_max_per_hour=1000000',
  ], { env, stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  let exited = null;
  child.on('exit', (code, signal) => { exited = code ?? signal; });
  const serverLog = () => fs.readFileSync(path.join(dir, 'server.log'), 'utf8');
  for (const deadline = Date.now() + 30000; Date.now() < deadline;) {
    if (exited !== null) throw new Error(`smsgw-server exited (${exited}):\n${serverLog()}`);
    if (fs.existsSync(portFile)) {
      const match = /^grpc=(.+)$/m.exec(fs.readFileSync(portFile, 'utf8'));
      if (match) return { child, dir, address: match[1] };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  process.kill(child.pid, 'SIGKILL');
  throw new Error(`smsgw-server did not report its ports:\n${serverLog()}`);
}

async function stopServer({ child, dir }) {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid, 'SIGTERM');
    const timer = setTimeout(() => process.kill(child.pid, 'SIGKILL'), 15000);
    await exited;
    clearTimeout(timer);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

// README:begin node-call
// Calls a unary RPC and resolves with its response (rejects with the gRPC error).
function call(client, method, request, metadata = new grpc.Metadata()) {
  return new Promise((resolve, reject) => {
    client[method](request, metadata, (error, response) => (error ? reject(error) : resolve(response)));
  });
}
// README:end node-call

// Makes a self-signed certificate for localhost and 127.0.0.1 in dir with the
// openssl CLI; returns the PEM paths.
function makeSelfSignedCert(dir) {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key,
    '-out', cert, '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '1'], { stdio: 'ignore' });
  return { cert, key };
}

function bearer(token) {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

async function expectCode(code, promise) {
  await assert.rejects(promise, (error) => {
    assert.equal(error.code, code, `expected ${grpc.status[code]}, got ${grpc.status[error.code]}: ${error.details}`);
    return true;
  });
}

describe('smsgw from Node.js', () => {
  let auth;
  let messaging;

  before(async () => {
    server = await startServer();
    process.stdout.write(`smsgw-server pid ${server.child.pid} on ${server.address}\n`);
    const creds = grpc.credentials.createInsecure();
    auth = new smsgw.v1.AuthService(server.address, creds);
    messaging = new smsgw.v1.MessagingService(server.address, creds);
  });

  after(async () => {
    auth?.close();
    messaging?.close();
    if (server) await stopServer(server);
  });

  const deadline = () => ({ deadline: Date.now() + CALL_TIMEOUT_MS });

  async function signUp(prefix = 'js') {
    const username = `${prefix}-${randomUUID().slice(0, 12)}`;
    const reply = await call(auth, 'SignUp', { username, password: PASSWORD });
    return { username, md: bearer(reply.access_token) };
  }

  function send(md, body, fields = {}) {
    return call(messaging, 'SendMessage', { to: PEER, body, ...fields }, md);
  }

  it('runs the README snippet: sign up, log in, send, get with events', async () => {
    const address = server.address;
    // README:begin node
    const creds = grpc.credentials.createInsecure();
    const auth = new smsgw.v1.AuthService(address, creds); // e.g. '127.0.0.1:50051'
    const messaging = new smsgw.v1.MessagingService(address, creds);

    await call(auth, 'SignUp', { username: 'grace', password: 'hopper-1906' });
    const login = await call(auth, 'Login', { username: 'grace', password: 'hopper-1906' });
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${login.access_token}`);

    const sent = await call(messaging, 'SendMessage',
      { to: '+14155550100', body: 'Hello from Node' }, metadata);
    console.log(sent.message.id, sent.message.status, sent.message.provider_sid);

    const got = await call(messaging, 'GetMessage',
      { id: sent.message.id, include_events: true }, metadata);
    for (const event of got.events) console.log(event.status, event.provider_status);
    // README:end node
    auth.close();
    messaging.close();
    assert.equal(sent.message.status, 'MESSAGE_STATUS_QUEUED');
    assert.equal(got.message.id, sent.message.id);
    assert.equal(got.events[0].provider_status, 'queued');
    log('README Node snippet: sign up, log in, send (QUEUED), get with events');
  });

  it('signs up, logs in and gets the current user', async () => {
    const username = `js-${randomUUID().slice(0, 12)}`;
    const signup = await call(auth, 'SignUp', { username: username.toUpperCase(), password: PASSWORD });
    assert.equal(signup.user.username, username);
    assert.ok(signup.access_token);
    assert.ok(Number(signup.expire_time.seconds) > Date.now() / 1000);
    log('SignUp returns the case-folded user, a token and its expiry');

    const login = await call(auth, 'Login', { username, password: PASSWORD });
    const me = await call(auth, 'GetCurrentUser', {}, bearer(login.access_token));
    assert.equal(me.user.username, username);
    assert.equal(me.user.admin, false);
    log('Login, then GetCurrentUser with its token returns the user');

    await expectCode(grpc.status.UNAUTHENTICATED,
      call(auth, 'Login', { username, password: 'wrong-password' }));
    await expectCode(grpc.status.ALREADY_EXISTS, call(auth, 'SignUp', { username, password: PASSWORD }));
    log('wrong password -> UNAUTHENTICATED, taken username -> ALREADY_EXISTS');
  });

  it('sends a message that is QUEUED with a Twilio SID and gets it with events', async () => {
    const { username, md } = await signUp();
    const sent = await send(md, 'hello from node', { to: '(415) 555-0100' });
    const m = sent.message;
    assert.equal(m.status, 'MESSAGE_STATUS_QUEUED');
    assert.match(m.provider_sid, SM_SID);
    assert.equal(m.to, PEER);
    assert.equal(m.owner_username, username);
    assert.equal(m.direction, 'MESSAGE_DIRECTION_OUTBOUND');
    assert.equal(m.encoding, 'MESSAGE_ENCODING_GSM7');
    assert.equal(m.num_segments, 1);
    assert.match(m.from, /^\+\d+$/);
    assert.equal(sent.idempotent_replay, false);
    log(`SendMessage -> QUEUED, sid ${m.provider_sid}, national number stored as ${m.to}`);

    const got = await call(messaging, 'GetMessage', { id: m.id, include_events: true }, md);
    assert.equal(got.message.provider_sid, m.provider_sid);
    assert.ok(got.events.length >= 1);
    assert.equal(got.events[0].source, 'DELIVERY_REPORT_SOURCE_PROVIDER_RESPONSE');
    assert.equal(got.events[0].provider_status, 'queued');
    assert.equal(got.events[0].applied, true);
    log(`GetMessage include_events: ${got.events.length} event(s), first is the provider's 'queued' answer`);
  });

  it('pages through messages and searches their bodies', async () => {
    const { md } = await signUp();
    const bodies = ['alpha apple', 'bravo banana', 'charlie pineapple', 'delta date', 'echo elder'];
    const ids = [];
    for (const body of bodies) ids.push((await send(md, body)).message.id);

    const pages = [];
    let page_token = '';
    do {
      const page = await call(messaging, 'ListMessages', { page_size: 2, page_token }, md);
      pages.push(page.messages.map((m) => m.id));
      page_token = page.next_page_token;
    } while (page_token && pages.length <= 5);
    assert.deepEqual(pages.map((p) => p.length), [2, 2, 1]);
    assert.deepEqual(pages.flat(), [...ids].reverse());
    log('ListMessages page_size 2 over 5 messages: pages of 2, 2, 1, newest first, last without token');

    const found = await call(messaging, 'ListMessages', { query: 'pineapple' }, md);
    assert.deepEqual(found.messages.map((m) => m.body), ['charlie pineapple']);
    const either = await call(messaging, 'ListMessages', { query: 'apple OR banana' }, md);
    assert.deepEqual(either.messages.map((m) => m.body).sort(), ['alpha apple', 'bravo banana']);
    const prefix = await call(messaging, 'ListMessages', { query: 'del*' }, md);
    assert.deepEqual(prefix.messages.map((m) => m.body), ['delta date']);
    log('ListMessages full-text query: word, OR, prefix*');
  });

  it('lists conversations, most recently updated first', async () => {
    const { md } = await signUp();
    await send(md, 'first to ann');
    await send(md, 'to bob', { to: '+14155550101' });
    const last = (await send(md, 'second to ann')).message;
    const listed = await call(messaging, 'ListConversations', {}, md);
    assert.deepEqual(listed.conversations.map((c) => [c.peer_number, c.message_count]),
      [[PEER, '2'], ['+14155550101', '1']]);
    assert.equal(listed.conversations[0].last_message.id, last.id);
    log('ListConversations: one per peer, most recent first, with counts');
  });

  it('deletes a message', async () => {
    const { md } = await signUp();
    const keep = (await send(md, 'keep me')).message;
    const gone = (await send(md, 'delete me')).message;
    await call(messaging, 'DeleteMessage', { id: gone.id }, md);
    await expectCode(grpc.status.NOT_FOUND, call(messaging, 'GetMessage', { id: gone.id }, md));
    await expectCode(grpc.status.NOT_FOUND, call(messaging, 'DeleteMessage', { id: gone.id }, md));
    const listed = await call(messaging, 'ListMessages', {}, md);
    assert.deepEqual(listed.messages.map((m) => m.id), [keep.id]);
    log('DeleteMessage: then GetMessage and a second delete -> NOT_FOUND; the other message stays');
  });

  it('replays an idempotent retry instead of sending again', async () => {
    const { md } = await signUp();
    const key = `order-${randomUUID()}`;
    const first = await send(md, 'your order shipped', { idempotency_key: key });
    const again = await send(md, 'your order shipped', { idempotency_key: key });
    assert.equal(first.idempotent_replay, false);
    assert.equal(again.idempotent_replay, true);
    assert.equal(again.message.id, first.message.id);
    assert.equal(again.message.provider_sid, first.message.provider_sid);
    log('same idempotency_key twice -> same id and sid, idempotent_replay true');

    const withHeader = md.clone();
    withHeader.set('idempotency-key', key);
    const byHeader = await send(withHeader, 'your order shipped');
    assert.equal(byHeader.idempotent_replay, true);
    assert.equal(byHeader.message.id, first.message.id);
    log('the key as `idempotency-key` metadata replays too');

    await expectCode(grpc.status.ALREADY_EXISTS, send(md, 'something else', { idempotency_key: key }));
    const listed = await call(messaging, 'ListMessages', {}, md);
    assert.equal(listed.messages.length, 1);
    log('same key with another body -> ALREADY_EXISTS; one message stored');
  });

  it('answers bad calls with the documented status codes', async () => {
    const { md } = await signUp();
    const other = await signUp('js-other');
    const theirs = (await send(other.md, 'private')).message;

    await expectCode(grpc.status.UNAUTHENTICATED, call(messaging, 'ListMessages', {}));
    await expectCode(grpc.status.UNAUTHENTICATED, call(auth, 'GetCurrentUser', {}));
    log('no token -> UNAUTHENTICATED');
    for (const bad of ['Bearer not.a.jwt', 'Basic dXNlcjpwYXNz']) {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', bad);
      await expectCode(grpc.status.UNAUTHENTICATED, call(messaging, 'ListMessages', {}, metadata));
    }
    log('malformed token or scheme -> UNAUTHENTICATED');

    await expectCode(grpc.status.INVALID_ARGUMENT, send(md, 'x', { to: 'not a number' }));
    await expectCode(grpc.status.INVALID_ARGUMENT, send(md, ''));
    log('bad number, empty body -> INVALID_ARGUMENT');

    await expectCode(grpc.status.NOT_FOUND, call(messaging, 'GetMessage', { id: theirs.id }, md));
    await expectCode(grpc.status.NOT_FOUND, call(messaging, 'DeleteMessage', { id: theirs.id }, md));
    await call(messaging, 'GetMessage', { id: theirs.id }, other.md);
    log("another user's message -> NOT_FOUND (get and delete); its owner still has it");

    await expectCode(grpc.status.PERMISSION_DENIED,
      call(messaging, 'ListMessages', { username: other.username }, md));
    log('username filter by a non-admin -> PERMISSION_DENIED');
  });

  it('streams message events with WatchMessages', async (t) => {
    const { md } = await signUp();
    // Collects the stream's events and its end into one queue.
    const watch = (request) => {
      const stream = messaging.WatchMessages(request, md, { deadline: Date.now() + 60000 });
      const items = [];
      let wake = null;
      const push = (item) => { items.push(item); if (wake) { wake(); wake = null; } };
      stream.on('data', (response) => push(response.event));
      stream.on('error', (error) => push(error));
      const next = async (ms) => {
        if (items.length === 0) {
          await new Promise((resolve) => { wake = resolve; setTimeout(resolve, ms); });
          wake = null;
        }
        return items.shift();
      };
      return { stream, next };
    };

    const live = watch({});
    let first;
    const sentIds = [];
    try {
      // Events only flow once the server has registered the call: keep
      // sending until the first event arrives.
      for (const end = Date.now() + 15000; !first && Date.now() < end;) {
        const item = await live.next(sentIds.length === 0 ? 50 : 1000);
        if (item === undefined) {
          sentIds.push((await send(md, `watch me ${sentIds.length}`)).message.id);
        } else if (item instanceof Error) {
          if (item.code === grpc.status.UNIMPLEMENTED) {
            t.skip(`WatchMessages answers UNIMPLEMENTED: ${item.details}`);
            return;
          }
          assert.fail(`WatchMessages failed: ${grpc.status[item.code]} ${item.details}`);
        } else {
          assert.ok(sentIds.includes(item.message.id), 'an event of a message never sent');
          // A status change of an earlier send may come first.
          if (item.type === 'MESSAGE_EVENT_TYPE_CREATED') first = item;
        }
      }
      assert.ok(first, 'no CREATED event within 15 s');
      assert.ok(first.cursor);
      log('WatchMessages streams a CREATED event with a cursor for a sent message');
    } finally {
      live.stream.cancel();
    }
    const later = (await send(md, 'after the cursor')).message;
    const resumed = watch({ after_cursor: first.cursor });
    try {
      let replayed = false;
      for (const end = Date.now() + 15000; !replayed && Date.now() < end;) {
        const item = await resumed.next(1000);
        if (item instanceof Error) assert.fail(`resumed stream failed: ${item.details}`);
        replayed = item?.type === 'MESSAGE_EVENT_TYPE_CREATED' && item.message.id === later.id;
      }
      assert.ok(replayed, 'the resumed stream did not replay the message sent after the cursor');
      log('WatchMessages after_cursor replays the events after that cursor');
    } finally {
      resumed.stream.cancel();
    }
  });
});

describe('smsgw from Node.js over TLS', () => {
  let tlsServer;
  let certDir;
  let rootCert;

  before(async () => {
    certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'smsgw-node-tls-'));
    const { cert, key } = makeSelfSignedCert(certDir);
    rootCert = fs.readFileSync(cert);
    tlsServer = await startServer({ SMSGW_TLS_CERT: cert, SMSGW_TLS_KEY: key });
    process.stdout.write(`smsgw-server (TLS) pid ${tlsServer.child.pid} on ${tlsServer.address}\n`);
  });

  after(async () => {
    if (tlsServer) await stopServer(tlsServer);
    if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
  });

  it('signs up, gets the current user and sends over TLS', async () => {
    const creds = grpc.credentials.createSsl(rootCert);
    // Check the cert's DNS:localhost name: Node rejects an IP as TLS SNI name.
    const options = { 'grpc.ssl_target_name_override': 'localhost' };
    const auth = new smsgw.v1.AuthService(tlsServer.address, creds, options);
    const messaging = new smsgw.v1.MessagingService(tlsServer.address, creds, options);
    try {
      const username = `js-tls-${randomUUID().slice(0, 12)}`;
      const signup = await call(auth, 'SignUp', { username, password: PASSWORD });
      const md = bearer(signup.access_token);
      const me = await call(auth, 'GetCurrentUser', {}, md);
      assert.equal(me.user.username, username);
      log("TLS (trusting the test's self-signed cert): SignUp, then GetCurrentUser returns the user");

      const sent = await call(messaging, 'SendMessage', { to: PEER, body: 'hello over tls' }, md);
      assert.equal(sent.message.status, 'MESSAGE_STATUS_QUEUED');
      assert.match(sent.message.provider_sid, SM_SID);
      log(`TLS: SendMessage -> QUEUED, sid ${sent.message.provider_sid}`);
    } finally {
      auth.close();
      messaging.close();
    }
  });

  it('refuses a plaintext client', async () => {
    const auth = new smsgw.v1.AuthService(tlsServer.address, grpc.credentials.createInsecure());
    try {
      await expectCode(grpc.status.UNAVAILABLE,
        call(auth, 'SignUp', { username: `js-plain-${randomUUID().slice(0, 8)}`, password: PASSWORD }));
      log('plaintext client against the TLS port -> UNAVAILABLE');
    } finally {
      auth.close();
    }
  });

  it('refuses a TLS client that does not trust the certificate', async () => {
    // createSsl() with no root uses Node's bundled CAs, which lack the self-signed cert.
    const auth = new smsgw.v1.AuthService(tlsServer.address, grpc.credentials.createSsl(),
      { 'grpc.ssl_target_name_override': 'localhost' });
    try {
      const refused = call(auth, 'SignUp',
        { username: `js-untrusted-${randomUUID().slice(0, 8)}`, password: PASSWORD });
      await expectCode(grpc.status.UNAVAILABLE, refused);
      await assert.rejects(refused, /self-signed certificate/);
      log('TLS client that does not trust the certificate -> UNAVAILABLE (self-signed certificate)');
    } finally {
      auth.close();
    }
  });
});
