import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAdminServer } from '../../../../gateway/src/admin/server.js';
import { silentLogger } from '../../../../gateway/src/observability/log.js';
import { MemoryStore } from '../../../../gateway/src/store/memory.js';

interface Res {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, unknown>;
}

async function admin(opts: { adminToken?: string; kongOnly?: boolean; ready?: boolean } = {}) {
  const app = await createAdminServer({
    store: new MemoryStore(),
    logger: silentLogger(),
    isReady: () => opts.ready ?? true,
    nodeId: '00000000-0000-4000-8000-000000000000',
    adminToken: opts.adminToken,
    kongOnly: opts.kongOnly,
  });
  const call = async (method: string, url: string, payload?: unknown, headers: Record<string, string> = {}): Promise<Res> => {
    const r = await app.inject({ method: method as 'GET', url, payload: payload as string, headers });
    return { status: r.statusCode, body: r.body ? (JSON.parse(r.body) as Record<string, unknown>) : {}, headers: r.headers };
  };
  return { app, call };
}

test('creating a service returns 201 with every Kong field and defaults', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const r = await call('POST', '/services', { name: 'users', url: 'http://users.internal:3000/v1' });
  assert.equal(r.status, 201);
  assert.equal(r.body.host, 'users.internal');
  assert.equal(r.body.port, 3000);
  assert.equal(r.body.path, '/v1');
  assert.equal(r.body.retries, 5);
  assert.equal(r.body.connect_timeout, 60000);
  assert.equal(r.body.tags, null);
  assert.match(String(r.body.id), /^[0-9a-f-]{36}$/);
  assert.ok(typeof r.headers['x-kong-admin-latency'] === 'string');
});

test('entities are addressed by name or id; unknown ones are 404 Not found', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const s = await call('POST', '/services', { name: 'a', host: 'a.test' });
  assert.equal((await call('GET', '/services/a')).status, 200);
  assert.equal((await call('GET', `/services/${String(s.body.id)}`)).body.name, 'a');
  const missing = await call('GET', '/services/nope');
  assert.deepEqual([missing.status, missing.body], [404, { message: 'Not found' }]);
});

test('PUT upserts by name and by id with 200, replacing omitted fields by defaults', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const created = await call('PUT', '/services/by-name', { host: 'x.test', retries: 2 });
  assert.equal(created.status, 200);
  assert.equal(created.body.name, 'by-name');
  const replaced = await call('PUT', '/services/by-name', { host: 'y.test' });
  assert.equal(replaced.status, 200);
  assert.equal(replaced.body.id, created.body.id);
  assert.equal(replaced.body.retries, 5);
  const id = '6f0b6a2e-3c47-4b8e-9d0a-1b2c3d4e5f60';
  const byId = await call('PUT', `/services/${id}`, { host: 'z.test' });
  assert.equal(byId.status, 200);
  assert.equal(byId.body.id, id);
  assert.equal(byId.body.name, null);
});

test('PATCH updates a field, JSON null clears an optional one, 404 when absent', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  await call('POST', '/services', { name: 's', host: 'x.test', path: '/p', tags: ['a'] });
  const r = await call('PATCH', '/services/s', { port: 8080, path: null });
  assert.equal(r.status, 200);
  assert.equal(r.body.port, 8080);
  assert.equal(r.body.path, null);
  assert.deepEqual(r.body.tags, ['a']);
  assert.equal((await call('PATCH', '/services/none', { port: 1 })).status, 404);
});

test('validation errors are Kong schema violations naming the field', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const r = await call('POST', '/services', { host: 'x.test', retries: 'many' });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 2);
  assert.equal(r.body.name, 'schema violation');
  assert.deepEqual(Object.keys(r.body.fields as object), ['retries']);
  const unknown = await call('POST', '/services', { host: 'x.test', foo: 1 });
  assert.equal(unknown.body.message, 'schema violation (foo: unknown field)');
});

test('unique names give 409 unique constraint violation', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  await call('POST', '/upstreams', { name: 'up.test' });
  const r = await call('POST', '/upstreams', { name: 'up.test' });
  assert.equal(r.status, 409);
  assert.deepEqual(r.body, {
    code: 5,
    name: 'unique constraint violation',
    message: `UNIQUE violation detected on '{name="up.test"}'`,
    fields: { name: 'up.test' },
  });
});

test('a service referenced by routes cannot be deleted; DELETE of nothing is 204', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  await call('POST', '/services', { name: 's', host: 'x.test' });
  await call('POST', '/services/s/routes', { name: 'r', paths: ['/r'] });
  const r = await call('DELETE', '/services/s');
  assert.equal(r.status, 400);
  assert.deepEqual(r.body.fields, { '@referenced_by': 'routes' });
  assert.equal((await call('DELETE', '/routes/r')).status, 204);
  assert.equal((await call('DELETE', '/services/s')).status, 204);
  assert.equal((await call('DELETE', '/services/s')).status, 204);
});

test('nested routes: listed under their service, 404 under another, service forced on POST', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  await call('POST', '/services', { name: 's1', host: 'a.test' });
  await call('POST', '/services', { name: 's2', host: 'b.test' });
  const r = await call('POST', '/services/s1/routes', { name: 'r1', paths: ['/a'] });
  assert.equal(r.status, 201);
  assert.equal((await call('GET', '/services/s1/routes')).body.data instanceof Array, true);
  assert.equal(((await call('GET', '/services/s1/routes')).body.data as unknown[]).length, 1);
  assert.equal((await call('GET', '/services/s2/routes/r1')).status, 404);
  assert.equal((await call('GET', '/services/s1/routes/r1')).status, 200);
  assert.equal((await call('GET', '/services/nope/routes')).status, 404);
  assert.equal((await call('GET', '/routes/r1/service')).body.name, 's1');
  assert.deepEqual((await call('DELETE', '/routes/r1/service')).body, { message: 'Method not allowed' });
});

test('PUT /routes/{r}/service creates and links a service when the route has none', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  await call('POST', '/routes', { name: 'lonely', paths: ['/l'] });
  const s = await call('PUT', '/routes/lonely/service', { host: 'new.test' });
  assert.equal(s.status, 200);
  assert.match(String(s.body.id), /^[0-9a-f-]{36}$/);
  assert.equal(((await call('GET', '/routes/lonely')).body.service as { id: string }).id, s.body.id);
  const again = await call('PUT', '/routes/lonely/service', { host: 'newer.test' });
  assert.equal(again.body.id, s.body.id);
  assert.equal(((await call('GET', '/services')).body.data as unknown[]).length, 1);
});

test('a route naming a missing service is a foreign key error', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const byName = await call('POST', '/routes', { paths: ['/x'], service: { name: 'ghost' } });
  assert.equal(byName.status, 400);
  assert.equal(byName.body.code, 13);
  const byId = await call('POST', '/routes', { paths: ['/x'], service: { id: '6f0b6a2e-3c47-4b8e-9d0a-1b2c3d4e5f60' } });
  assert.equal(byId.status, 400);
  assert.equal(byId.body.code, 4);
  assert.equal(byId.body.name, 'foreign key violation');
});

test('pagination walks 250 services with size 100 and ends with next null', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  for (let i = 0; i < 250; i++) await call('POST', '/services', { name: `s${i}`, host: 'x.test' });
  const seen = new Set<string>();
  let url: string | null = '/services?size=100';
  let pages = 0;
  while (url) {
    const r: Res = await call('GET', url);
    assert.equal(r.status, 200);
    for (const s of r.body.data as { name: string }[]) seen.add(s.name);
    url = r.body.next as string | null;
    if (url) assert.match(url, /^\/services\?offset=[^&]+&size=100$/);
    else assert.equal('offset' in r.body, false);
    pages++;
  }
  assert.equal(pages, 3);
  assert.equal(seen.size, 250);
  const empty = await (await admin()).call('GET', '/upstreams');
  assert.deepEqual(empty.body, { data: [], next: null });
});

test('size is read as Lua tonumber() reads it (Kong get_page_size): 1e1, 0x2 and surrounding spaces are numbers', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  for (let i = 0; i < 12; i++) assert.equal((await call('POST', '/services', { name: `s${i}`, url: 'http://127.0.0.1:1' })).status, 201);
  const sizes: [string, number][] = [
    ['1e1', 10],
    ['0x2', 2],
    ['%203%20', 3],
    ['4.', 4],
    ['+5', 5],
  ];
  for (const [size, n] of sizes) {
    const res = await call('GET', `/services?size=${size}`);
    assert.equal(res.status, 200, size);
    assert.equal((res.body.data as unknown[]).length, n, size);
  }
  for (const size of ['inf', 'nan', '1e', '0x', '--1', '1_0']) {
    assert.equal((await call('GET', `/services?size=${size}`)).body.message, 'size must be a number', size);
  }
  assert.equal((await call('GET', '/services?size=1e400')).body.message, 'size must be an integer between 1 and 1000');
  assert.equal((await call('GET', '/services?size=2.5')).body.message, 'size must be an integer between 1 and 1000');
});

test('more than 1000 query or url-encoded body arguments is 400 Too many arguments (Kong 21-truncated_arguments_spec)', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const args = (n: number, k: string) => Array.from({ length: n }, (_, i) => `${k}=${i + 1}`).join('&');
  assert.deepEqual(await call('GET', `/services?${args(1001, 'a')}`).then((r) => [r.status, r.body]), [
    400,
    { message: 'Too many arguments' },
  ]);
  assert.equal((await call('GET', `/services?${args(1000, 'a')}`)).status, 200, 'exactly 1000 is fine');
  assert.equal((await call('GET', `/services?${args(1000, 'a')}&&&`)).status, 200, 'empty pieces are not arguments');
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const many = await call('POST', '/services', `name=many&host=h.test&${args(1001, 'tags')}`, form);
  assert.deepEqual([many.status, many.body], [400, { message: 'Too many arguments' }]);
  assert.equal((await call('GET', '/services/many')).status, 404, 'nothing was created');
  assert.equal((await call('POST', '/services', `name=few&host=h.test&${args(3, 'tags')}`, form)).status, 201);
});

test('pagination and tag errors use Kong codes', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  assert.deepEqual((await call('GET', '/services?size=x')).body, { code: 9, name: 'invalid size', message: 'size must be a number' });
  assert.equal((await call('GET', '/services?size=5000')).body.message, 'size must be an integer between 1 and 1000');
  assert.deepEqual((await call('GET', '/services?offset=x')).body, {
    code: 7,
    name: 'invalid offset',
    message: "'x' is not a valid offset: bad base64 encoding",
  });
  assert.equal((await call('GET', '/services?tags=')).body.code, 11);
});

test('tags filter with AND (,) and OR (/)', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  await call('POST', '/services', { name: 'ab', host: 'x.test', tags: ['a', 'b'] });
  await call('POST', '/services', { name: 'a', host: 'x.test', tags: ['a'] });
  await call('POST', '/services', { name: 'c', host: 'x.test', tags: ['c'] });
  const names = async (q: string) => ((await call('GET', `/services?tags=${q}`)).body.data as { name: string }[]).map((s) => s.name).sort();
  assert.deepEqual(await names('a,b'), ['ab']);
  assert.deepEqual(await names('b/c'), ['ab', 'c']);
  assert.deepEqual(await names('a'), ['a', 'ab']);
});

test('targets: normalised, newest first, 409 on duplicates, 405 on the collection, cascade with the upstream', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  await call('POST', '/upstreams', { name: 'up' });
  const first = await call('POST', '/upstreams/up/targets', { target: '127.0.0.1' });
  assert.equal(first.status, 201);
  assert.equal(first.body.target, '127.0.0.1:8000');
  assert.equal(first.body.weight, 100);
  await call('POST', '/upstreams/up/targets', { target: '127.0.0.2:80', weight: 5 });
  assert.equal((await call('POST', '/upstreams/up/targets', { target: '127.0.0.1:8000' })).status, 409);
  const list = await call('GET', '/upstreams/up/targets');
  assert.deepEqual(
    (list.body.data as { target: string }[]).map((x) => x.target),
    ['127.0.0.2:80', '127.0.0.1:8000'],
  );
  assert.equal((await call('GET', '/upstreams/up/targets/127.0.0.1:8000')).status, 200);
  assert.equal((await call('PATCH', '/upstreams/up/targets/127.0.0.2:80', { weight: 0 })).body.weight, 0);
  assert.equal((await call('PUT', '/upstreams/up/targets/127.0.0.3:81', { weight: 7 })).body.target, '127.0.0.3:81');
  assert.equal((await call('DELETE', '/upstreams/up/targets')).status, 405);
  assert.equal((await call('DELETE', '/upstreams/up/targets/127.9.9.9:1')).status, 404);
  assert.equal((await call('GET', '/targets')).status, 404);
  assert.equal((await call('DELETE', '/upstreams/up')).status, 204);
  assert.equal((await call('GET', '/upstreams/up/targets/all')).status, 404);
});

test('malformed JSON, prototype keys and oversize bodies are client errors, never 500', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const json = { 'content-type': 'application/json' };
  assert.deepEqual((await call('POST', '/services', '{bad', json)).body, { message: 'Cannot parse JSON body' });
  const proto = await call('POST', '/services', '{"host":"a.test","__proto__":{"polluted":true}}', json);
  assert.equal(proto.status, 400);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  const huge = await call('POST', '/services', JSON.stringify({ host: 'a.test', tags: ['x'.repeat(2 * 1024 * 1024)] }), json);
  assert.equal(huge.status, 413);
  const arr = await call('POST', '/routes', { paths: Array.from({ length: 5000 }, (_, i) => `/p${i}`) });
  assert.equal(arr.status, 400);
});

test('form-urlencoded bodies are accepted as Kong does', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const r = await call('POST', '/services', 'name=f&host=f.test&retries=3', { 'content-type': 'application/x-www-form-urlencoded' });
  assert.equal(r.status, 201);
  assert.equal(r.body.retries, 3);
  // multipart is accepted too since issue 12/13 (it was 415): simple fields, as `curl -F`
  const multipart = await call('POST', '/services', '--x\r\nContent-Disposition: form-data; name="host"\r\n\r\na.test\r\n--x--\r\n', {
    'content-type': 'multipart/form-data; boundary=x',
  });
  assert.equal(multipart.status, 201);
  assert.equal(multipart.body.host, 'a.test');
});

test('OPTIONS lists allowed methods; unknown methods are 405', async (t) => {
  const { app } = await admin();
  t.after(() => app.close());
  const r = await app.inject({ method: 'OPTIONS', url: '/services' });
  assert.equal(r.statusCode, 204);
  assert.equal(r.headers.allow, 'GET, HEAD, OPTIONS, POST');
  const e = await app.inject({ method: 'OPTIONS', url: '/services/x' });
  assert.equal(e.headers.allow, 'DELETE, GET, HEAD, OPTIONS, PATCH, PUT');
  assert.equal((await app.inject({ method: 'DELETE', url: '/services' })).statusCode, 405);
});

test('GET / identifies gw; Kong-only mode looks like Kong and refuses gw fields', async (t) => {
  const gw = await admin();
  const kong = await admin({ kongOnly: true });
  t.after(() => Promise.all([gw.app.close(), kong.app.close()]));
  const a = await gw.call('GET', '/');
  assert.equal(a.body.tagline, 'Welcome to gw');
  assert.equal(typeof (a.body.gw as { version: string }).version, 'string');
  const b = await kong.call('GET', '/');
  assert.equal(b.body.tagline, 'Welcome to kong');
  assert.equal('gw' in b.body, false);
  await kong.call('POST', '/upstreams', { name: 'up' });
  const r = await kong.call('POST', '/upstreams/up/targets', { target: '127.0.0.1:80', ttl: 30 });
  assert.equal(r.status, 400);
  assert.equal(r.body.message, 'schema violation (ttl: unknown field)');
});

test('GET /status is 200 only when ready', async (t) => {
  const ready = await admin();
  const notReady = await admin({ ready: false });
  t.after(() => Promise.all([ready.app.close(), notReady.app.close()]));
  assert.equal((await ready.call('GET', '/status')).status, 200);
  assert.equal((await notReady.call('GET', '/status')).status, 503);
});

test('the admin token is required in either header form', async (t) => {
  const { app, call } = await admin({ adminToken: 's3cret' });
  t.after(() => app.close());
  assert.equal((await call('GET', '/services')).status, 401);
  assert.equal((await call('GET', '/services', undefined, { authorization: 'Bearer wrong' })).status, 401);
  assert.equal((await call('GET', '/services', undefined, { authorization: 'Bearer s3cret' })).status, 200);
  assert.equal((await call('GET', '/services', undefined, { 'kong-admin-token': 's3cret' })).status, 200);
});

test('concurrent upserts of one name create exactly one entity', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const results = await Promise.all(Array.from({ length: 20 }, () => call('PUT', '/upstreams/shared', {})));
  assert.ok(results.every((r) => r.status === 200));
  assert.equal(new Set(results.map((r) => r.body.id)).size, 1);
  assert.equal(((await call('GET', '/upstreams')).body.data as unknown[]).length, 1);
});
