// Kong's DAO and endpoint rules that its specs exercise only in passing, checked against Kong 3.x's source:
// POST is an insert (kong/db/errors.lua primary_key_violation), sets keep each element once (schema make_set),
// the upstream shorthands run on the request's input (entities/upstreams.lua shorthand_fields), the nested
// endpoints' ownership rules (api/endpoints.lua), and how targets and health are paged (dao/targets.lua).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { admin } from './helpers.js';

test('POST with the id of an existing entity is a primary key violation (400, code 3) and changes nothing', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const svc = await call('POST', '/services', { name: 'pk-s', host: 'a.test' });
  const id = svc.body.id as string;
  const again = await call('POST', '/services', { id, host: 'b.test' });
  assert.equal(again.status, 400);
  assert.deepEqual(again.body, {
    code: 3,
    name: 'primary key violation',
    message: `primary key violation on key '{id="${id}"}'`,
    fields: { id },
  });
  assert.equal((await call('GET', '/services/pk-s')).body.host, 'a.test', 'the service is unchanged');

  const route = await call('POST', '/routes', { name: 'pk-r', paths: ['/pk'] });
  assert.equal((await call('POST', '/routes', { id: route.body.id, paths: ['/other'] })).status, 400);
  assert.equal((await call('POST', '/services/pk-s/routes', { id: route.body.id, paths: ['/other'] })).status, 400);
  assert.deepEqual((await call('GET', '/routes/pk-r')).body.paths, ['/pk']);

  const up = await call('POST', '/upstreams', { name: 'pk-u' });
  assert.equal((await call('POST', '/upstreams', { id: up.body.id, name: 'pk-u2' })).status, 400);
  assert.equal((await call('GET', '/upstreams/pk-u')).status, 200);

  // a target id from another upstream: Kong refuses it; nothing moves
  await call('POST', '/upstreams', { name: 'pk-u3' });
  const target = await call('POST', '/upstreams/pk-u/targets', { target: '127.0.0.1:81' });
  const moved = await call('POST', '/upstreams/pk-u3/targets', { id: target.body.id, target: '127.0.0.2:81' });
  assert.equal(moved.status, 400);
  assert.equal(moved.body.code, 3);
  assert.deepEqual(
    ((await call('GET', '/upstreams/pk-u/targets')).body.data as { target: string }[]).map((x) => x.target),
    ['127.0.0.1:81'],
  );
  assert.deepEqual((await call('GET', '/upstreams/pk-u3/targets')).body.data, []);
});

test('set fields keep each element once, first occurrence first (protocols, methods, snis, tags)', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const r = await call('POST', '/routes', {
    paths: ['/a', '/a'],
    methods: ['GET', 'POST', 'GET'],
    protocols: ['https', 'http', 'https'],
    snis: ['x.test', 'x.test'],
    tags: ['b', 'a', 'b'],
  });
  assert.equal(r.status, 201);
  assert.deepEqual(r.body.methods, ['GET', 'POST']);
  assert.deepEqual(r.body.protocols, ['https', 'http']);
  assert.deepEqual(r.body.snis, ['x.test']);
  assert.deepEqual(r.body.tags, ['b', 'a']);
  assert.deepEqual(r.body.paths, ['/a', '/a'], 'paths is an array, not a set: kept as sent');
  const form = await call('POST', '/services', 'host=s.test&tags=t&tags=t', { 'content-type': 'application/x-www-form-urlencoded' });
  assert.deepEqual(form.body.tags, ['t']);
});

test('upstream shorthands run on the input: a hash_on sent sets the algorithm whatever was stored', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  for (const algorithm of ['least-connections', 'latency']) {
    const name = `sh-${algorithm}`;
    assert.equal((await call('PUT', `/upstreams/${name}`, { algorithm })).body.hash_on, 'none');
    const hashed = await call('PATCH', `/upstreams/${name}`, { hash_on: 'header', hash_on_header: 'X-A' });
    assert.deepEqual([hashed.body.algorithm, hashed.body.hash_on], ['consistent-hashing', 'header']);
    const back = await call('PATCH', `/upstreams/${name}`, { algorithm, hash_on: 'ip' });
    assert.deepEqual([back.body.algorithm, back.body.hash_on], [algorithm, 'none'], 'an algorithm sent with it wins, as in Kong');
    const none = await call('PATCH', `/upstreams/${name}`, { hash_on: 'none' });
    assert.deepEqual([none.body.algorithm, none.body.hash_on], ['round-robin', 'none']);
  }
  const slots = await call('PATCH', '/upstreams/sh-latency', { slots: 20 });
  assert.equal(slots.body.algorithm, 'round-robin', 'a PATCH without hash_on leaves the algorithm alone');
});

test('nested endpoints: PUT /services/{s}/routes/{r} moves a route of another service; DELETE /routes/{r}/service is 404 without a service', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  await call('PUT', '/services/svc-a', { host: 'a.test' });
  const b = await call('PUT', '/services/svc-b', { host: 'b.test' });
  await call('POST', '/services/svc-a/routes', { name: 'route-a', paths: ['/ra'] });
  const moved = await call('PUT', '/services/svc-b/routes/route-a', { paths: ['/rb'] });
  assert.equal(moved.status, 200);
  assert.deepEqual(moved.body.service, { id: b.body.id });
  assert.deepEqual(moved.body.paths, ['/rb']);
  assert.equal((await call('GET', '/services/svc-a/routes/route-a')).status, 404, 'GET keeps its ownership check');
  assert.equal((await call('GET', '/services/svc-b/routes/route-a')).status, 200);

  const lone = await call('POST', '/routes', { paths: ['/lone'] });
  assert.deepEqual((await call('DELETE', `/routes/${lone.body.id as string}/service`)).body, { message: 'Not found' });
  assert.equal((await call('DELETE', `/routes/${lone.body.id as string}/service`)).status, 404);
  assert.equal((await call('DELETE', '/routes/route-a/service')).status, 405, 'with a service: 405, as before');
});

test('/upstreams/{u}/targets and /health page with a plain index offset; /targets/all keeps the cursor', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  await call('PUT', '/upstreams/pg', {});
  for (let i = 1; i <= 5; i++) await call('POST', '/upstreams/pg/targets', { target: `127.0.3.${i}:80` });
  const names = (r: { body: Record<string, unknown> }) => (r.body.data as { target: string }[]).map((x) => x.target);

  const first = await call('GET', '/upstreams/pg/targets?size=3');
  assert.equal(first.body.offset, '3');
  assert.equal(first.body.next, '/upstreams/pg/targets?offset=3');
  assert.deepEqual(names(first), ['127.0.3.5:80', '127.0.3.4:80', '127.0.3.3:80'], 'newest first');
  const second = await call('GET', '/upstreams/pg/targets?size=3&offset=3');
  assert.deepEqual(names(second), ['127.0.3.2:80', '127.0.3.1:80']);
  assert.equal(second.body.next, null);
  assert.deepEqual(names(await call('GET', '/upstreams/pg/targets?offset=100')), [], 'past the end: an empty page');
  const bad = await call('GET', '/upstreams/pg/targets?offset=abc');
  assert.deepEqual([bad.status, bad.body.code], [400, 7]);
  // more than 1000 is 1000 there, not an error (targets.lua page_for_upstream: min(size, max_page_size)); /targets/all refuses it
  assert.deepEqual(
    [(await call('GET', '/upstreams/pg/targets?size=5000')).status, names(await call('GET', '/upstreams/pg/targets?size=5000')).length],
    [200, 5],
  );
  assert.equal((await call('GET', '/upstreams/pg/targets/all?size=5000')).status, 400);

  const health = await call('GET', '/upstreams/pg/health?size=2');
  assert.equal(health.body.next, '/upstreams/pg/health?offset=2');
  assert.deepEqual(names(await call('GET', '/upstreams/pg/health?size=2&offset=4')), ['127.0.3.1:80']);

  const all = await call('GET', '/upstreams/pg/targets/all?size=3');
  assert.notEqual(all.body.offset, '3', 'the DAO cursor, opaque');
  assert.equal(
    names(await call('GET', `/upstreams/pg/targets/all?size=3&offset=${encodeURIComponent(all.body.offset as string)}`)).length,
    2,
  );
});

test('/upstreams/{u}/health: addresses carry `health` in the list and `healthy` in the balancer view, which only ?balancer_health=1 gives', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  await call('PUT', '/upstreams/hv', {});
  await call('POST', '/upstreams/hv/targets', { target: '127.0.4.1:80', weight: 10 });
  const list = await call('GET', '/upstreams/hv/health');
  const data = list.body.data as { data: { addresses: Record<string, unknown>[] } }[];
  assert.deepEqual(data[0]!.data.addresses, [{ ip: '127.0.4.1', port: 80, weight: 10, health: 'HEALTHCHECKS_OFF' }]);
  const view = await call('GET', '/upstreams/hv/health?balancer_health=1');
  const hosts = (view.body.data as { details: { hosts: { addresses: Record<string, unknown>[] }[] } }).details.hosts;
  assert.deepEqual(hosts[0]!.addresses, [{ ip: '127.0.4.1', port: 80, weight: 10, healthy: true }]);
  const notOne = await call('GET', '/upstreams/hv/health?balancer_health=true');
  assert.ok(Array.isArray(notOne.body.data), '`true` is not `1`: the per-target list, as Kong');
});

test("a service url with user info: Kong's url shorthand (socket.url) drops it", async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const r = await call('POST', '/services', { url: 'http://user:pw@b.test:8080/p?x=1' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.deepEqual([r.body.protocol, r.body.host, r.body.port, r.body.path], ['http', 'b.test', 8080, '/p']);
  const plain = await call('POST', '/services', { url: 'https://user@c.test/' });
  assert.deepEqual([plain.body.host, plain.body.port], ['c.test', 443]);
});
