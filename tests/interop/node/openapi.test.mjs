// The OpenAPI document a real smsgw-server serves at GET /v1/openapi.json:
// valid by @apidevtools/swagger-parser (Swagger/OpenAPI 2.0 schema and
// references), documenting the routes of the issue, and every documented
// operation answered by the server on that route (a result or a
// google.rpc.Status error from the RPC, never "no route" or 405).
// Run: SMSGW_BUILD_DIR=<build dir> node --test <this file>
// (ctest: interop.openapi; scripts/buf-lint.sh installs node_modules).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startServer } from './smsgw_server.mjs';

const require = createRequire(import.meta.url);
const SwaggerParser = require('@apidevtools/swagger-parser');

let server;
let token;

before(async () => {
  server = await startServer('openapi');
  const signed = await fetch(`http://${server.http}/v1/auth:signUp`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'openapi', password: 'hopper-1906' }),
  });
  assert.equal(signed.status, 200);
  token = (await signed.json()).accessToken;
});

after(async () => {
  if (server) await server.stop();
});

async function documentOf() {
  const res = await fetch(`http://${server.http}/v1/openapi.json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  return res.json();
}

test('the document is valid OpenAPI 2.0 and lists the fixed routes', async () => {
  const doc = await documentOf();
  // validate() dereferences, so it gets a copy.
  await SwaggerParser.validate(structuredClone(doc));
  const fixed = {
    '/v1/auth:signUp': ['post'], '/v1/auth:login': ['post'], '/v1/me': ['get'],
    '/v1/messages': ['post', 'get'], '/v1/messages/{id}': ['get', 'delete'],
    '/v1/messages/{id}:cancel': ['post'], '/v1/conversations': ['get'],
    '/v1/stats': ['get'], '/v1/messages:watch': ['get'],
    '/v1/groups': ['post', 'get'], '/v1/groups/{name}': ['get'],
    '/v1/groups/{name}:join': ['post'], '/v1/groups/{name}:leave': ['post'],
    '/v1/groups/{name}/messages': ['post', 'get'],
    '/v1/apiKeys': ['post', 'get'], '/v1/apiKeys/{id}': ['delete'],
    '/v1/webhooks': ['post', 'get'], '/v1/webhooks/{id}': ['delete'],
    '/v1/webhooks/{id}/deliveries': ['get'], '/v1/webhooks/{id}:rotateSecret': ['post'],
    '/v1/webhooks/{id}:enable': ['post'],
  };
  for (const [route, methods] of Object.entries(fixed)) {
    assert.ok(doc.paths[route], `${route} is documented`);
    for (const m of methods) assert.ok(doc.paths[route][m], `${m} ${route} is documented`);
  }
  // The proto comments are the documentation.
  const send = doc.paths['/v1/messages'].post;
  assert.match(send.summary + (send.description ?? ''), /PENDING/);
  assert.ok(doc.definitions.v1Message, 'the Message schema is there');
  console.log(`ok: valid OpenAPI 2.0, ${Object.keys(doc.paths).length} paths`);
});

test('every documented operation is served on its route', async () => {
  const doc = await documentOf();
  const samples = { id: '00000000-0000-4000-8000-000000000000', name: 'no-such-group',
                    username: 'nobody-here' };
  let called = 0;
  for (const [route, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const url = `http://${server.http}` + route.replace(/\{(\w+)\}/g, (_, v) => samples[v]);
      const controller = new AbortController();
      const init = {
        method: method.toUpperCase(),
        headers: { Authorization: `Bearer ${token}` },
        signal: controller.signal,
      };
      if ((op.parameters ?? []).some((p) => p.in === 'body')) {
        init.headers['Content-Type'] = 'application/json';
        init.body = '{}';
      }
      const res = await fetch(url, init);
      const type = res.headers.get('content-type') ?? '';
      if (type.startsWith('text/event-stream')) {
        assert.equal(res.status, 200, `${method} ${route}`);
        controller.abort();
      } else {
        assert.match(type, /^application\/json/, `${method} ${route}`);
        const body = await res.json();
        assert.notEqual(res.status, 405, `${method} ${route}: ${JSON.stringify(body)}`);
        if (res.status !== 200) {
          // An error of the RPC itself, as google.rpc.Status.
          assert.equal(typeof body.code, 'number', `${method} ${route}`);
          assert.doesNotMatch(body.message, /no route/, `${method} ${route}`);
          assert.ok(Array.isArray(body.details), `${method} ${route}`);
        }
      }
      called += 1;
    }
  }
  // All 31 RPCs of the four services (tests/server/gateway checks that each
  // has a route).
  assert.equal(called, 31, `called ${called} operations`);
  console.log(`ok: all ${called} documented operations answered on their routes`);
});
