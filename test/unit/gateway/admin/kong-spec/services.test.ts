// Cases translated from Kong 3.x spec/02-integration/04-admin_api/10-services_routes_spec.lua
// (titles cite the Kong `it`), each with the three body encodings Kong's it_content_types uses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { admin, CONTENT_TYPES } from './helpers.js';

test('10-services POST "creates a service", "with url", "\'port\' defaults to 443 when \'url\' scheme is https"', async (t) => {
  const { app, send } = await admin();
  t.after(() => app.close());
  for (const type of CONTENT_TYPES) {
    const a = await send('POST', '/services', { protocol: 'http', host: 'service.test' }, type);
    assert.equal(a.status, 201, `${type}: ${a.raw}`);
    assert.deepEqual(
      [a.body.name, a.body.protocol, a.body.host, a.body.port, a.body.connect_timeout, a.body.write_timeout, a.body.read_timeout],
      [null, 'http', 'service.test', 80, 60000, 60000, 60000],
    );
    const b = await send('POST', '/services', { url: 'http://service.test/' }, type);
    assert.deepEqual([b.status, b.body.protocol, b.body.host, b.body.path, b.body.port], [201, 'http', 'service.test', '/', 80]);
    const c = await send('POST', '/services', { url: 'https://service.test/' }, type);
    assert.deepEqual([c.status, c.body.protocol, c.body.port], [201, 'https', 443]);
  }
});

test('10-services POST "client error with with empty url", "with invalid url", "handles invalid input", "handles invalid url"', async (t) => {
  const { app, send } = await admin();
  t.after(() => app.close());
  for (const type of CONTENT_TYPES) {
    assert.equal((await send('POST', '/services', { url: '' }, type)).status, 400, type);
    assert.equal((await send('POST', '/services', { url: ' ' }, type)).status, 400, type);
    assert.deepEqual((await send('POST', '/services', {}, type)).body.fields, { host: 'required field missing' });
    assert.deepEqual((await send('POST', '/services', { host: 'example.test', protocol: 'foo' }, type)).body.fields, {
      protocol: 'expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp',
    });
    assert.deepEqual((await send('POST', '/services', { url: 'invalid url' }, type)).body, {
      name: 'schema violation',
      code: 2,
      message: '2 schema violations (host: required field missing; path: should start with: /)',
      fields: { host: 'required field missing', path: 'should start with: /' },
    });
  }
});

test('10-services GET "propagate in next a page size", "paginates a set", "data property is an empty array"', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  assert.deepEqual((await call('GET', '/services')).body, { data: [], next: null });
  for (let i = 1; i <= 10; i++) await call('POST', '/services', { name: `svc-${i}`, host: 'a.test' });
  const r = await call('GET', '/services?size=3');
  assert.equal(r.body.next, `/services?offset=${encodeURIComponent(String(r.body.offset))}&size=3`);
  let offset: string | undefined;
  const seen = new Set<string>();
  for (let i = 0; i < 4; i++) {
    const page = await call('GET', `/services?size=3${offset ? `&offset=${encodeURIComponent(offset)}` : ''}`);
    for (const s of page.body.data as { id: string }[]) seen.add(s.id);
    offset = page.body.offset as string | undefined;
  }
  assert.equal(seen.size, 10);
});

test('10-services "retrieves by utf-8 name and percent-escaped utf-8 name", "returns 404 if not found (by name)", "returns HTTP 204 even if not found"', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const s = (await call('POST', '/services', { name: '円', host: 'a.test' })).body;
  assert.deepEqual((await call('GET', '/services/%E5%86%86')).body, s);
  assert.equal((await call('GET', '/services/00000000-0000-0000-0000-000000000001')).status, 404);
  assert.equal((await call('GET', '/services/not-found')).status, 404);
  assert.equal((await call('DELETE', '/services/not-found')).status, 204);
  assert.equal((await call('DELETE', '/services/00000000-0000-0000-0000-000000000001')).status, 204);
});

test('10-services "lists all routes belonging to service" (by id and name), PATCH "updates with url"', async (t) => {
  const { app, call, send } = await admin();
  t.after(() => app.close());
  const s = (await call('POST', '/services', { name: 'listed', host: 'a.test' })).body;
  const other = (await call('POST', '/services', { host: 'b.test' })).body;
  await call('POST', '/routes', { paths: ['/a'], service: { id: s.id } });
  await call('POST', '/routes', { paths: ['/b'], service: { id: s.id } });
  await call('POST', '/routes', { paths: ['/c'], service: { id: other.id } });
  for (const key of [String(s.id), 'listed']) {
    const r = await call('GET', `/services/${key}/routes`);
    assert.deepEqual([(r.body.data as unknown[]).length, r.body.next], [2, null]);
  }
  for (const type of CONTENT_TYPES) {
    const r = await send('PATCH', '/services/listed', { url: 'http://edited.test:1234/foo' }, type);
    assert.deepEqual([r.status, r.body.host, r.body.port, r.body.path], [200, 'edited.test', 1234, '/foo']);
  }
});
