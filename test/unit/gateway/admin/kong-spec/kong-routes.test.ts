// Cases translated from Kong 3.x spec/02-integration/04-admin_api/02-kong_routes_spec.lua
// ("/" and "/status" describes; titles cite the Kong `it`).
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { admin } from './helpers.js';

test('02-kong_routes "/" "returns headers with HEAD method": same headers as GET, no body', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const get = await call('GET', '/');
  const head = await call('HEAD', '/');
  assert.equal(get.status, 200);
  assert.notEqual(get.raw, '');
  assert.deepEqual([head.status, head.raw], [200, '']);
  const strip = (h: Record<string, unknown>) => {
    const { date: _d, 'x-kong-admin-latency': _l, ...rest } = h;
    void _d;
    void _l;
    return rest;
  };
  assert.deepEqual(strip(head.headers), strip(get.headers));
});

test('02-kong_routes "/" "returns 405 on invalid method" (POST, PUT, DELETE, PATCH and GEEEET over a socket)', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  for (const m of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    const r = await call(m, '/', {});
    assert.deepEqual([m, r.status, r.body], [m, 405, { message: 'Method not allowed' }]);
  }
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const text = await new Promise<string>((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let d = '';
    s.on('data', (c: Buffer) => (d += c.toString()));
    s.on('end', () => resolve(d));
    s.on('error', reject);
    s.write('GEEEET / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
  });
  assert.match(text, /^HTTP\/1\.1 405 /);
  assert.deepEqual(JSON.parse(text.split('\r\n\r\n')[1]!), { message: 'Method not allowed' });
});

test('02-kong_routes "/" "returns a UUID as the node_id", "enabled_in_cluster property is an array", "returns process ids", "does not return PRNG seeds"', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const b = (await call('GET', '/')).body as {
    node_id: string;
    plugins: { enabled_in_cluster: unknown };
    pids: { master: number; workers: number[] };
    prng_seeds?: unknown;
    version: string;
    edition: string;
    tagline: string;
  };
  assert.match(b.node_id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.ok(Array.isArray(b.plugins.enabled_in_cluster));
  assert.match(String(b.pids.master), /^\d+$/);
  for (const w of b.pids.workers) assert.match(String(w), /^\d+$/);
  assert.equal(b.prng_seeds, undefined);
  assert.equal(typeof b.version, 'string');
  assert.equal(b.edition, 'community');
  assert.equal(b.tagline, 'Welcome to gw', 'a deliberate difference: docs/admin-api.md');
});

test('02-kong_routes "/status" "returns status info", memory stats: "unit", "bytes are numbers", "scale", "HTTP 400 on invalid unit"', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const s = (await call('GET', '/status')).body as {
    server: Record<string, number>;
    database: { reachable: boolean };
    memory: { workers_lua_vms: { http_allocated_gc: unknown; pid: number }[] };
  };
  for (const k of [
    'connections_accepted',
    'connections_active',
    'connections_handled',
    'connections_reading',
    'connections_writing',
    'connections_waiting',
    'total_requests',
  ])
    assert.equal(typeof s.server[k], 'number', k);
  assert.equal(s.database.reachable, true);
  assert.match(String(s.memory.workers_lua_vms[0]!.http_allocated_gc), /^\d+\.\d{2} MiB$/);
  const gc = async (q: string) => ((await call('GET', `/status?${q}`)).body as typeof s).memory.workers_lua_vms[0]!.http_allocated_gc;
  assert.match(String(await gc('unit=k')), /^\d+\.\d+ KiB$/);
  assert.equal(typeof (await gc('unit=b')), 'number');
  assert.match(String(await gc('scale=3')), /^\d+\.\d{3} MiB$/);
  const bad = await call('GET', '/status?unit=V');
  assert.deepEqual([bad.status, bad.body], [400, { message: "invalid unit 'V' (expected 'k/K', 'm/M', or 'g/G')" }]);
});
