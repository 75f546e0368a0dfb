// Kong's Admin API endpoints besides the four entities, translated from
// Kong 3.x spec/02-integration/04-admin_api/02-kong_routes_spec.lua,
// 14-tags_spec.lua and 23-cors_spec.lua (test names cite the Kong `it`).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAdminServer } from '../../../../gateway/src/admin/server.js';
import { silentLogger } from '../../../../gateway/src/observability/log.js';
import { MemoryStore } from '../../../../gateway/src/store/memory.js';

async function admin(opts: { ready?: () => boolean } = {}) {
  const app = await createAdminServer({
    store: new MemoryStore(),
    logger: silentLogger(),
    isReady: opts.ready ?? (() => true),
    nodeId: '00000000-0000-4000-8000-000000000000',
  });
  const call = async (method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) => {
    const r = await app.inject({ method: method as 'GET', url, payload: payload as string, headers });
    return { status: r.statusCode, body: r.body ? (JSON.parse(r.body) as Record<string, unknown>) : {}, headers: r.headers, raw: r.body };
  };
  return { app, call };
}

test('kong_routes_spec "/": returns allow and CORS headers with OPTIONS method', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const r = await call('OPTIONS', '/');
  assert.equal(r.status, 204);
  assert.equal(r.raw, '');
  assert.equal(r.headers.allow, 'GET, HEAD, OPTIONS');
  assert.equal(r.headers['access-control-allow-methods'], 'GET, HEAD, OPTIONS');
  assert.equal(r.headers['access-control-allow-headers'], 'Content-Type');
  assert.equal(r.headers['access-control-allow-origin'], '*');
  assert.ok(r.headers['x-kong-admin-latency'] !== undefined);
});

test('cors_spec: different allow-methods per route, requested headers echoed, Origin reflected', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  assert.equal((await call('OPTIONS', '/routes')).headers['access-control-allow-methods'], 'GET, HEAD, OPTIONS, POST');
  assert.equal((await call('OPTIONS', '/routes/test')).headers.allow, 'DELETE, GET, HEAD, OPTIONS, PATCH, PUT');
  const asked = await call('OPTIONS', '/', undefined, { 'access-control-request-headers': 'X-Header-1,X-Header-2' });
  assert.equal(asked.headers['access-control-allow-headers'], 'X-Header-1,X-Header-2');
  const withOrigin = await call('GET', '/', undefined, { origin: 'http://example.com' });
  assert.equal(withOrigin.headers['access-control-allow-origin'], 'http://example.com');
  // "Main request: should not respond to AC-Request-Method or AC-Request-Headers headers"
  const main = await call('GET', '/', undefined, {
    'access-control-request-method': 'PATCH',
    'access-control-request-headers': 'X-Header-1',
  });
  assert.equal(main.status, 200);
  assert.equal(main.headers['access-control-allow-methods'], undefined);
  assert.equal(main.headers['access-control-allow-headers'], undefined);
});

test('kong_routes_spec "/non-existing": 404 with HEAD (no body), OPTIONS, GET, POST, PUT, DELETE', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const head = await call('HEAD', '/non-existing');
  assert.deepEqual([head.status, head.raw], [404, '']);
  for (const m of ['OPTIONS', 'GET', 'POST', 'PUT', 'DELETE']) {
    const r = await call(m, '/non-existing');
    assert.deepEqual([m, r.status, r.body.message], [m, 404, 'Not found']);
  }
});

test('kong_routes_spec "/endpoints": lists the base endpoints with Kong\'s {param} names', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const r = await call('GET', '/endpoints');
  assert.equal(r.status, 200);
  const data = r.body.data as string[];
  for (const e of [
    '/',
    '/plugins',
    '/services',
    '/services/{services}',
    '/services/{services}/routes/{routes}',
    '/upstreams/{upstreams}/targets/{targets}',
    '/upstreams/{upstreams}/health',
    '/tags/{tags}',
    '/schemas/{name}',
    '/status',
  ]) {
    assert.ok(data.includes(e), `missing ${e} in ${data.join(' ')}`);
  }
  assert.deepEqual(data, [...data].sort(), 'sorted');
});

test('kong_routes_spec "/schemas/:entity": the schema of every entity, 404 on a missing one, a foreign key carries no schema', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  for (const kind of ['services', 'routes', 'upstreams', 'targets']) {
    const r = await call('GET', `/schemas/${kind}`);
    assert.equal(r.status, 200, kind);
    assert.ok(Array.isArray(r.body.fields), kind);
    assert.ok(Array.isArray(r.body.entity_checks), kind);
  }
  const missing = await call('GET', '/schemas/not-present');
  assert.deepEqual([missing.status, missing.body], [404, { message: "No entity named 'not-present'" }]);
  const routes = (await call('GET', '/schemas/routes')).body.fields as Record<string, Record<string, unknown>>[];
  const service = routes.find((f) => 'service' in f)!.service!;
  assert.deepEqual([service.type, service.reference, service.schema], ['foreign', 'services', undefined]);
  const services = (await call('GET', '/schemas/services')).body.fields as Record<string, Record<string, unknown>>[];
  const field = (n: string) => services.find((f) => n in f)![n]!;
  assert.deepEqual(field('retries'), { type: 'integer', between: [0, 32767], default: 5 });
  assert.equal(field('host').required, true);
  assert.equal(field('id').auto, true);
  assert.equal(field('tags').type, 'set');
  assert.deepEqual((field('protocol').one_of as string[]).slice(0, 2), ['grpc', 'grpcs']);
});

test('kong_routes_spec "/schemas/:db_entity_name/validate": 200 on a valid entity, Kong\'s schema violation otherwise', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const ok = await call('POST', '/schemas/services/validate', { host: 'example.com' });
  assert.deepEqual([ok.status, ok.body], [200, { message: 'schema validation successful' }]);
  const bad = await call('POST', '/schemas/services/validate', { host: 'example.com', port: 70000 });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.name, 'schema violation');
  assert.deepEqual(bad.body.fields, { port: 'value should be between 0 and 65535' });
  assert.equal(
    (await call('GET', '/services')).body.data instanceof Array ? ((await call('GET', '/services')).body.data as unknown[]).length : -1,
    0,
    'nothing was created',
  );
});

test('tags_spec "/tags": every (entity, tag) pair; /tags/:tags filters; ?tags= is ignored on both', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  await call('PUT', '/services/s1', { host: 'a.test', tags: ['corp_ a', 'svc_ 1'] });
  await call('PUT', '/services/s2', { host: 'b.test', tags: ['corp_ a', 'svc_ 2'] });
  const all = await call('GET', '/tags');
  assert.equal(all.status, 200);
  assert.equal((all.body.data as unknown[]).length, 4);
  assert.equal(all.body.next, null);
  assert.equal(((await call('GET', '/tags?tags=not_a_tag')).body.data as unknown[]).length, 4);
  const one = await call('GET', '/tags/corp_%20a');
  const rows = one.body.data as { entity_name: string; tag: string; entity_id: string }[];
  assert.equal(rows.length, 2);
  assert.deepEqual(
    rows.map((r) => [r.entity_name, r.tag]),
    [
      ['services', 'corp_ a'],
      ['services', 'corp_ a'],
    ],
  );
  assert.equal(((await call('GET', '/tags/corp_%20a?tags=invalid@tag')).body.data as unknown[]).length, 2);
  assert.equal(((await call('GET', '/tags/does-not-exist')).body.data as unknown[]).length, 0);
  const paged = await call('GET', '/tags?size=3');
  assert.equal((paged.body.data as unknown[]).length, 3);
  assert.match(String(paged.body.next), /^\/tags\?offset=/);
});

test('/status/ready (Kong 3.3+): 200 "ready" once the configuration is loaded, 503 before', async (t) => {
  let ready = false;
  const { app, call } = await admin({ ready: () => ready });
  t.after(() => app.close());
  const before = await call('GET', '/status/ready');
  assert.equal(before.status, 503);
  assert.equal(typeof before.body.message, 'string');
  ready = true;
  assert.deepEqual([(await call('GET', '/status/ready')).status, (await call('GET', '/status/ready')).body], [200, { message: 'ready' }]);
});

test('/status carries a configuration_hash: 32 hex characters, zeros when empty, changing exactly when the configuration does', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const empty = (await call('GET', '/status')).body.configuration_hash;
  assert.equal(empty, '0'.repeat(32));
  await call('PUT', '/services/s1', { host: 'a.test' });
  const h1 = (await call('GET', '/status')).body.configuration_hash as string;
  assert.match(h1, /^[0-9a-f]{32}$/);
  assert.notEqual(h1, empty);
  await call('PATCH', '/services/s1', { host: 'a.test' });
  assert.equal((await call('GET', '/status')).body.configuration_hash, h1, 'the same values keep the hash');
  await call('PATCH', '/services/s1', { retries: 1 });
  assert.notEqual((await call('GET', '/status')).body.configuration_hash, h1);
});

test('entity kinds gw does not implement: empty pages to list, 400 naming the kind to create, /plugins/enabled empty', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  for (const kind of ['plugins', 'consumers', 'certificates', 'snis', 'ca_certificates', 'vaults', 'keys']) {
    assert.deepEqual((await call('GET', `/${kind}`)).body, { data: [], next: null }, kind);
    const create = await call('POST', `/${kind}`, { name: 'key-auth' });
    assert.equal(create.status, 400, kind);
    assert.match(String(create.body.message), new RegExp(`gw does not implement ${kind}`));
  }
  assert.deepEqual((await call('GET', '/plugins/enabled')).body, { enabled_plugins: [] });
  await call('PUT', '/services/s1', { host: 'a.test' });
  assert.deepEqual((await call('GET', '/services/s1/plugins')).body, { data: [], next: null });
  assert.equal((await call('GET', '/services/nope/plugins')).status, 404);
  assert.equal((await call('POST', '/services/s1/plugins', { name: 'key-auth' })).status, 400);
});
