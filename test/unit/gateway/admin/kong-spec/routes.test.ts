// Cases translated from Kong 3.x spec/02-integration/04-admin_api/09-routes_routes_spec.lua
// (each test title cites the Kong `describe`/`it`), run against gw's admin server.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { admin, CONTENT_TYPES } from './helpers.js';

const PROTOCOL_ERR = 'expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp';

test('09-routes "POST creates a route" with a whole service object as `service` (json and form)', async (t) => {
  const { app, call, send } = await admin();
  t.after(() => app.close());
  for (const type of ['application/json', 'application/x-www-form-urlencoded'] as const) {
    const service = (await call('POST', '/services', { host: `svc-${type.length}.test` })).body;
    const r = await send(
      'POST',
      '/routes',
      { protocols: ['http'], hosts: ['my.route.test'], headers: { location: ['my-location'] }, service },
      type,
    );
    assert.equal(r.status, 201, `${type}: ${r.raw}`);
    assert.deepEqual(r.body.hosts, ['my.route.test']);
    assert.deepEqual(r.body.headers, { location: ['my-location'] });
    assert.deepEqual(r.body.service, { id: service.id });
    assert.equal(r.body.name, null);
    assert.equal(r.body.paths, null);
    assert.equal(r.body.preserve_host, false);
    assert.equal(r.body.strip_path, true);
  }
});

test('09-routes "POST creates a route without service" and "#grpc" (strip_path false)', async (t) => {
  const { app, send } = await admin();
  t.after(() => app.close());
  const r = await send('POST', '/routes', { protocols: ['grpc', 'grpcs'], hosts: ['my.route.test'] }, 'application/json');
  assert.equal(r.status, 201);
  assert.equal(r.body.service, null);
  assert.equal(r.body.strip_path, false);
  assert.deepEqual(r.body.protocols, ['grpc', 'grpcs']);
});

test('09-routes "POST errors handles invalid input" (json and form): Kong bodies, 1-based indices, foreign fields', async (t) => {
  const { app, send } = await admin();
  t.after(() => app.close());
  for (const type of ['application/json', 'application/x-www-form-urlencoded'] as const) {
    let r = await send('POST', '/routes', {}, type);
    assert.deepEqual(r.body, {
      code: 2,
      name: 'schema violation',
      message: "schema violation (must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https')",
      fields: { '@entity': ["must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'"] },
    });
    r = await send('POST', '/routes', { methods: ['GET'], protocols: ['foo', 'http'] }, type);
    assert.deepEqual(r.body, {
      code: 2,
      name: 'schema violation',
      message: `schema violation (protocols.1: ${PROTOCOL_ERR})`,
      fields: { protocols: [PROTOCOL_ERR] },
    });
    // Invalid foreign entity
    r = await send('POST', '/routes', { methods: ['GET'], protocols: ['foo', 'http'], service: { protocol: 'foo' } }, type);
    assert.deepEqual(r.body, {
      code: 2,
      name: 'schema violation',
      message: `2 schema violations (protocols.1: ${PROTOCOL_ERR}; service.protocol: ${PROTOCOL_ERR})`,
      fields: { protocols: [PROTOCOL_ERR], service: { protocol: PROTOCOL_ERR } },
    });
    // Invalid foreign entity reference
    r = await send('POST', '/routes', { methods: ['GET'], service: { name: 'non-existing' } }, type);
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, {
      code: 13,
      name: 'foreign keys unresolved',
      message:
        "foreign key unresolved (service.name: the foreign key cannot be resolved with '{name=\"non-existing\"}' for an existing 'services' entity)",
      fields: { service: { name: "the foreign key cannot be resolved with '{name=\"non-existing\"}' for an existing 'services' entity" } },
    });
    // service.name null (json) or empty (form) is no reference at all
    const missingPk = {
      code: 2,
      name: 'schema violation',
      message: 'schema violation (service.id: missing primary key)',
      fields: { service: { id: 'missing primary key' } },
    };
    r = await send('POST', '/routes', { methods: ['GET'], service: { name: type === 'application/json' ? null : '' } }, type);
    assert.deepEqual(r.body, missingPk);
    // Foreign entity cannot be resolved
    r = await send('POST', '/routes', { methods: ['GET'], service: { protocol: 'http' } }, type);
    assert.deepEqual(r.body, missingPk);
  }
});

test('09-routes "GET with no data": data is an empty array; "handles invalid filters"/"ignores an invalid body"', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const r = await call('GET', '/routes');
  assert.match(r.raw, /"data":\[\]/);
  assert.deepEqual(r.body, { data: [], next: null });
  assert.deepEqual((await call('GET', '/routes?foo=bar')).body, { data: [], next: null });
  assert.equal((await call('GET', '/routes', 'this fails if decoded as json', { 'content-type': 'application/json' })).status, 200);
});

test('09-routes "GET paginates a set": 10 routes in pages of 3, 3, 3, 1', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  for (let i = 1; i <= 10; i++) await call('POST', '/routes', { paths: [`/route-${i}`] });
  let offset: string | undefined;
  const sizes: number[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await call('GET', `/routes?size=3${offset ? `&offset=${encodeURIComponent(offset)}` : ''}`);
    sizes.push((r.body.data as unknown[]).length);
    offset = r.body.offset as string | undefined;
    if (i < 3) assert.equal(r.body.next, `/routes?offset=${encodeURIComponent(offset!)}&size=3`);
    else assert.equal(r.body.next, null);
  }
  assert.deepEqual(sizes, [3, 3, 3, 1]);
});

test('09-routes "GET errors handles invalid size" and "handles invalid offsets"', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  assert.deepEqual((await call('GET', '/routes?size=x')).body, { code: 9, name: 'invalid size', message: 'size must be a number' });
  assert.equal((await call('GET', '/routes?size=potato')).body.code, 9);
  assert.deepEqual((await call('GET', '/routes?offset=x')).body, {
    code: 7,
    name: 'invalid offset',
    message: "'x' is not a valid offset: bad base64 encoding",
  });
  assert.equal((await call('GET', '/routes?offset=%7Cpotato%7C')).body.code, 7);
});

test('09-routes "returns HTTP 405 on invalid method" (DELETE, PUT, PATCH on /routes)', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  for (const m of ['DELETE', 'PUT', 'PATCH']) {
    const r = await call(m, '/routes', {});
    assert.deepEqual([m, r.status, r.body], [m, 405, { message: 'Method not allowed' }]);
  }
});

test('09-routes "retrieves by utf-8 name and percent-escaped utf-8 name"', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const created = (await call('POST', '/routes', { methods: ['GET'], name: '円' })).body;
  const raw = await call('GET', '/routes/円');
  assert.equal(raw.status, 200);
  assert.deepEqual(raw.body, created);
  const escaped = await call('GET', '/routes/%E5%86%86');
  assert.deepEqual(escaped.body, created);
});

test('09-routes PUT "creates if not found" (with the service object), "by name", "updates if found"', async (t) => {
  const { app, call, send } = await admin();
  t.after(() => app.close());
  const service = (await call('POST', '/services', { host: 'a.test' })).body;
  const id = randomUUID();
  let r = await send('PUT', `/routes/${id}`, { paths: ['/updated-paths'], service }, 'application/json');
  assert.equal(r.status, 200, r.raw);
  assert.deepEqual([r.body.id, r.body.paths, r.body.hosts, r.body.methods], [id, ['/updated-paths'], null, null]);
  r = await send('PUT', '/routes/my-route', { paths: ['/updated-paths'], service }, 'application/x-www-form-urlencoded');
  assert.equal(r.status, 200, r.raw);
  assert.equal(r.body.name, 'my-route');
  r = await send('PUT', `/routes/${id}`, { paths: ['/again'], service: { id: service.id } }, 'application/json');
  assert.deepEqual([r.status, r.body.id, r.body.paths], [200, id, ['/again']]);
});

test('09-routes PUT "handles same parameter in url and params gracefully" and "handles invalid input"', async (t) => {
  const { app, call, send } = await admin();
  t.after(() => app.close());
  for (const type of CONTENT_TYPES) {
    const r = await send('PUT', '/routes/my-put-route', { routes: { test: [{ test: 'test' }] }, tags: 'test' }, type);
    assert.equal(r.status, 400, type);
  }
  const r = await call('PUT', `/routes/${randomUUID()}`, { methods: ['GET'], protocols: ['foo', 'http'] });
  assert.equal(r.body.message, `schema violation (protocols.1: ${PROTOCOL_ERR})`);
  const prio = await call('PUT', `/routes/${randomUUID()}`, { paths: ['/'], regex_priority: 'foobar' });
  assert.deepEqual(prio.body.fields, { regex_priority: 'expected an integer' });
});

test('09-routes /routes/{route}/service PATCH "updates with url" and "returns 404 if not found"', async (t) => {
  const { app, call, send } = await admin();
  t.after(() => app.close());
  const s = (await call('POST', '/services', { host: 'example.com', path: '/' })).body;
  const route = (await call('POST', '/routes', { paths: ['/my-route'], service: { id: s.id } })).body;
  for (const type of CONTENT_TYPES) {
    const r = await send('PATCH', `/routes/${String(route.id)}/service`, { url: 'http://edited2.test:1234/foo' }, type);
    assert.deepEqual([type, r.status, r.body.host, r.body.port, r.body.path], [type, 200, 'edited2.test', 1234, '/foo']);
    const missing = await send('PATCH', `/routes/${randomUUID()}/service`, { name: 'edited', host: 'edited.test' }, type);
    assert.equal(missing.status, 404);
  }
  const bad = await call('PATCH', `/routes/${String(route.id)}/service`, { connect_timeout: 'foobar' });
  assert.deepEqual(bad.body, {
    code: 2,
    name: 'schema violation',
    message: 'schema violation (connect_timeout: expected an integer)',
    fields: { connect_timeout: 'expected an integer' },
  });
});

test('09-routes /routes/{route}/service DELETE: 405 on a referenced service, 404 with a non-existing route (by id and name)', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const s = (await call('POST', '/services', { host: 'example.com' })).body;
  const route = (await call('POST', '/routes', { paths: ['/my-route'], service: { id: s.id } })).body;
  const r = await call('DELETE', `/routes/${String(route.id)}/service`);
  assert.deepEqual([r.status, r.body], [405, { message: 'Method not allowed' }]);
  assert.equal((await call('DELETE', `/routes/${randomUUID()}/service`)).status, 404);
  assert.equal((await call('DELETE', '/routes/in-existent-route/service')).status, 404);
});

test('06-routes schema (spec/01-unit/01-db/01-schema/06-routes_spec.lua) "rejects invalid hostnames", "rejects values with an invalid port", "accepts valid hosts" (punycode)', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  for (const h of [
    '/example',
    '.example',
    'example:',
    'mock;bin',
    'example.com/org',
    'example-.org',
    'example.org-',
    'hello..example.com',
    'hello-.example.com',
  ]) {
    const r = await call('POST', '/routes', { hosts: [h], protocols: ['http'] });
    assert.deepEqual(r.body.fields, { hosts: [`invalid hostname: ${h}`] }, h);
    assert.equal(r.body.message, `schema violation (hosts.1: invalid hostname: ${h})`);
  }
  const port = await call('POST', '/routes', { hosts: ['example.com:1000000'], protocols: ['http'] });
  assert.deepEqual(port.body.fields, { hosts: ['invalid port number'] });
  const empty = await call('POST', '/routes', { hosts: [''], protocols: ['http'] });
  assert.deepEqual(empty.body.fields, { hosts: ['length must be at least 1'] });
  const valid = [
    'hello.com',
    'example.123',
    'example_api.com',
    'localhost',
    'example.com:8080',
    '3B-ww4c5e180e575a65lsy2b',
    '-with-SUPER-MONKEYS-pc58ag80a8qai00g7n9n',
    'Hello-Another-Way--fc4qua05auwb3674vfr0b',
    'MajiKoi5-783gue6qz075azm5e',
    'xn--80ak6aa92e.com',
  ];
  for (const h of valid) assert.equal((await call('POST', '/routes', { hosts: [h], protocols: ['http'] })).status, 201, h);
});

test('09-routes PATCH "updates if found (by name)", "updates multiple fields at once", "removes service association" (json and form)', async (t) => {
  const { app, call, send } = await admin();
  t.after(() => app.close());
  const s = (await call('POST', '/services', { host: 'a.test' })).body;
  for (const type of ['application/json', 'application/x-www-form-urlencoded'] as const) {
    const name = `my-patch-route-${type.length}`;
    const route = (await call('POST', '/routes', { name, paths: ['/my-route'], service: { id: s.id } })).body;
    let r = await send('PATCH', `/routes/${String(route.id)}`, { paths: ['/my-updated-path'], hosts: ['my-updated.tld'] }, type);
    assert.deepEqual(
      [r.status, r.body.paths, r.body.hosts, r.body.methods, r.body.id],
      [200, ['/my-updated-path'], ['my-updated.tld'], null, route.id],
    );
    r = await send('PATCH', `/routes/${name}`, { methods: null, hosts: null, service: null, paths: ['/updated-paths'] }, type);
    assert.equal(r.status, 200, r.raw);
    assert.deepEqual([r.body.paths, r.body.hosts, r.body.methods, r.body.service], [['/updated-paths'], null, null, null]);
    assert.deepEqual((await call('GET', `/routes/${name}`)).body, r.body);
  }
});

test('09-routes PATCH "removes optional field with ngx.null", "allows updating sets and arrays with en empty array", errors "returns 404", "handles invalid input"', async (t) => {
  const { app, call, send } = await admin();
  t.after(() => app.close());
  const route = (await call('POST', '/routes', { paths: ['/my-route'] })).body;
  let r = await call('PATCH', `/routes/${String(route.id)}`, { paths: null, hosts: ['my-updated.tld'] });
  assert.deepEqual([r.body.paths, r.body.hosts], [null, ['my-updated.tld']]);
  r = await call('PATCH', `/routes/${String(route.id)}`, { methods: [], paths: [], hosts: ['my-updated.tld'] });
  assert.match(r.raw, /"methods":\[\]/);
  assert.match(r.raw, /"paths":\[\]/);
  for (const type of CONTENT_TYPES) {
    assert.equal((await send('PATCH', `/routes/${randomUUID()}`, { paths: ['/my-updated-path'] }, type)).status, 404);
    assert.deepEqual((await send('PATCH', `/routes/${String(route.id)}`, { regex_priority: 'foobar' }, type)).body, {
      code: 2,
      name: 'schema violation',
      message: 'schema violation (regex_priority: expected an integer)',
      fields: { regex_priority: 'expected an integer' },
    });
  }
});

// kong/db/schema/entities/routes.lua validate_route (traditional_compatible): the route's router expression must
// parse, and a `~*` header value is a regex in it (kong/router/transform.lua); Kong's spec has no case for a bad one
test('routes.lua validate_route: a `~*` header value that is not a regex is refused (POST, PUT, PATCH); a valid one is stored as written', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const reason = (re: string) =>
    new RegExp(`^Router Expression failed validation: regex parse error in headers\\.X-Ver: '${re}' \\(.+\\)$`);
  const refused = (r: { status: number; body: Record<string, unknown> }, re: string) => {
    assert.equal(r.status, 400);
    assert.deepEqual([r.body.code, r.body.name], [2, 'schema violation']);
    const entity = (r.body.fields as { '@entity': string[] })['@entity'];
    assert.equal(entity.length, 1);
    assert.match(entity[0]!, reason(re));
    assert.equal(r.body.message, `schema violation (${entity[0]!})`);
  };
  refused(await call('POST', '/routes', { headers: { 'X-Ver': ['v1', '~*(V1'] } }), '\\(v1');
  refused(await call('PUT', '/routes/r1', { headers: { 'X-Ver': ['~*[v'] } }), '\\[v');
  // lower-cased as Kong lower-cases it, (?P<v>…) is (?p<v>…): no group in Rust's regex either
  refused(await call('POST', '/routes', { headers: { 'X-Ver': ['~*(?P<v>x)'] } }), '\\(\\?p<v>x\\)');
  const ok = await call('POST', '/routes', { name: 'ok', headers: { user_agent: ['~*Linux'], 'X-Ver': ['~*^V[0-9]+$', '~(plain'] } });
  assert.equal(ok.status, 201, ok.raw);
  assert.deepEqual(ok.body.headers, { user_agent: ['~*Linux'], 'X-Ver': ['~*^V[0-9]+$', '~(plain'] });
  refused(await call('PATCH', '/routes/ok', { headers: { 'X-Ver': ['~*v1)'] } }), 'v1\\)');
  assert.deepEqual((await call('GET', '/routes/ok')).body.headers, ok.body.headers);
});

test('25-max_safe_integer "the maximum safe integer can be accurately represented as a decimal number": regex_priority 2^53', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const created = await call('POST', '/routes', { paths: ['/route_with_max_safe_integer_priority'], regex_priority: 9007199254740992 });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const got = await call('GET', `/routes/${String(created.body.id)}`);
  assert.equal(got.status, 200);
  assert.match(got.raw, /"regex_priority":9007199254740992\b/);
  assert.equal((await call('POST', '/routes', { paths: ['/neg'], regex_priority: -9007199254740992 })).status, 201);
  const over = await call('POST', '/routes', { paths: ['/over'], regex_priority: 2 ** 53 * 4 });
  assert.equal(over.status, 400, 'beyond what JSON carries exactly');
  assert.equal(
    (await call('POST', '/routes', { paths: ['/frac'], regex_priority: 1.5 })).body.message,
    'schema violation (regex_priority: expected an integer)',
  );
});
