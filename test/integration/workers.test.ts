/**
 * `--workers N`: one control process (store, Admin API, health), N proxy
 * processes sharing the listener. Real forked workers.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { startTestGateway } from '../helpers/gateway.js';
import { startUpstream, waitFor, type TestUpstream } from '../helpers/upstream.js';

let gw: Awaited<ReturnType<typeof startTestGateway>>;
const ups: TestUpstream[] = [];

before(async () => {
  gw = await startTestGateway({ workers: 2, healthTickMs: 25 });
});
after(async () => {
  await gw.close(1_000);
  await Promise.all(ups.map((u) => u.close()));
});

async function get(path: string): Promise<number> {
  // bounded: a request the proxy never answers fails this test instead of hanging the run
  const r = await request(gw.proxyUrl + path, { reset: true, headersTimeout: 30_000, bodyTimeout: 30_000 });
  await r.body.dump();
  return r.statusCode;
}

test('a route created through the control Admin API is served by the workers, and an ejection reaches every worker', async () => {
  const a = await startUpstream('a');
  const b = await startUpstream('b');
  ups.push(a, b);
  const admin = gw.admin;
  assert.equal((await admin.call('PUT', '/upstreams/w.up', { healthchecks: { passive: { unhealthy: { tcp_failures: 1 } } } })).status, 200);
  for (const t of [a, b]) assert.equal((await admin.call('POST', '/upstreams/w.up/targets', { target: t.address })).status, 201);
  assert.equal((await admin.call('PUT', '/services/w', { host: 'w.up' })).status, 200);
  assert.equal((await admin.call('POST', '/services/w/routes', { paths: ['/w'] })).status, 201);
  await waitFor(async () => (await get('/w')) === 200, 5_000, 'routable through the workers');
  // new connection per request (reset) so both workers take some
  const statuses = await Promise.all(Array.from({ length: 40 }, () => get('/w')));
  assert.ok(statuses.every((s) => s === 200));
  assert.ok(a.count > 0 && b.count > 0, 'both targets served');
  await a.close();
  const after = [];
  for (let i = 0; i < 60; i++) after.push(await get('/w'));
  assert.deepEqual(
    after.filter((s) => s !== 200),
    [],
    'the dead target costs no client error',
  );
  await waitFor(
    async () => {
      const h = await admin.call<{ data: { target: string; gw: { state: string } }[] }>('GET', '/upstreams/w.up/health');
      return h.body.data.find((d) => d.target === a.address)?.gw.state === 'ejected';
    },
    5_000,
    'ejection seen by the control process',
  );
  const bBefore = b.count;
  for (let i = 0; i < 20; i++) assert.equal(await get('/w'), 200);
  assert.equal(b.count - bBefore, 20, 'every worker stopped sending to the ejected target');
});

test('in-flight counts are summed over workers, so a drain sees requests held by any worker', async () => {
  const held: ServerResponse[] = [];
  const slow = await startUpstream('slow', (_req, res) => void held.push(res));
  ups.push(slow);
  const admin = gw.admin;
  assert.equal((await admin.call('PUT', '/upstreams/d.up', {})).status, 200);
  assert.equal((await admin.call('POST', '/upstreams/d.up/targets', { target: slow.address })).status, 201);
  assert.equal((await admin.call('PUT', '/services/d', { host: 'd.up' })).status, 200);
  assert.equal((await admin.call('POST', '/services/d/routes', { paths: ['/d'] })).status, 201);
  await waitFor(async () => {
    const r = await admin.call<{ data: unknown[] }>('GET', '/routes');
    return r.body.data.length >= 2;
  });
  const pending = Array.from({ length: 4 }, () => get('/d'));
  await waitFor(() => held.length === 4, 5_000, 'four requests held');
  const active = async () =>
    (await admin.call<{ data: { gw: { active_requests: number } }[] }>('GET', '/upstreams/d.up/health')).body.data[0]!.gw.active_requests;
  await waitFor(async () => (await active()) === 4, 5_000, 'control sees 4 in flight');
  for (const r of held) r.end('done');
  assert.deepEqual(await Promise.all(pending), [200, 200, 200, 200]);
  await waitFor(async () => (await active()) === 0, 5_000, 'back to 0');
});

test("GET /metrics on the control process sums the workers' request counts", async () => {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  const m = /^gw_http_requests_total\{service="w",route="[^"]+",status="200"\} (\d+)$/m.exec(text);
  assert.ok(m, text.slice(0, 500));
  assert.ok(Number(m[1]) >= 100, `counted ${m[1]}`);
});

/** Two targets behind a route; `a` behaves as `mode` says (answer, fail with 500, or hold the response). */
async function pair(name: string, gwFields: Record<string, unknown>, passive: Record<string, unknown>) {
  const held: ServerResponse[] = [];
  const ctl = { mode: 'ok' as 'ok' | 'fail' | 'hold' };
  const a = await startUpstream(`${name}-a`, (_req, res) => {
    if (ctl.mode === 'hold') return void held.push(res);
    if (ctl.mode === 'fail') {
      res.writeHead(500).end('no');
      return;
    }
    return 'default';
  });
  const b = await startUpstream(`${name}-b`);
  ups.push(a, b);
  const admin = gw.admin;
  assert.equal((await admin.call('PUT', `/upstreams/${name}.up`, { healthchecks: { passive }, gw: gwFields })).status, 200);
  for (const t of [a, b]) assert.equal((await admin.call('POST', `/upstreams/${name}.up/targets`, { target: t.address })).status, 201);
  assert.equal((await admin.call('PUT', `/services/${name}`, { host: `${name}.up` })).status, 200);
  assert.equal((await admin.call('POST', `/services/${name}/routes`, { paths: [`/${name}`] })).status, 201);
  await waitFor(async () => (await get(`/${name}`)) === 200, 5_000, 'routable through the workers');
  const stateOfA = async () =>
    (await admin.call<{ data: { target: string; gw: { state: string } }[] }>('GET', `/upstreams/${name}.up/health`)).body.data.find(
      (d) => d.target === a.address,
    )?.gw.state;
  const release = () => {
    for (const r of held.splice(0)) r.end('late');
  };
  return { a, b, held, ctl, stateOfA, release };
}

test('--workers: a half-open target gets one trial request across all workers, as in one process', async () => {
  const p = await pair('ho', { breaker_cooldown: 1, hedging: false, stall_guard: false }, { unhealthy: { http_failures: 1 } });
  // one 500 ejects a (breaker open for 1 s)
  p.ctl.mode = 'fail';
  await waitFor(
    async () => {
      await get('/ho');
      return (await p.stateOfA()) === 'ejected';
    },
    5_000,
    'a ejected',
  );
  // from now on a holds whatever it gets: the trial stays in flight
  p.ctl.mode = 'hold';
  const aBefore = p.a.count;
  const pending: Promise<number>[] = [];
  // new connections, so both workers take requests; wait for the trial to reach a after the cool-down
  await waitFor(
    async () => {
      pending.push(get('/ho'));
      await new Promise((r) => setTimeout(r, 20));
      return p.held.length >= 1;
    },
    10_000,
    'the half-open trial reached a',
  );
  const statuses: number[] = [];
  for (let i = 0; i < 40; i++) statuses.push(await get('/ho'));
  assert.deepEqual(
    statuses.filter((s) => s !== 200),
    [],
    'every other request is answered by b',
  );
  assert.equal(p.a.count - aBefore, 1, 'exactly one trial request reached the half-open target over both workers');
  assert.equal(p.held.length, 1);
  // the trial succeeds: the circuit closes and a takes traffic again
  p.ctl.mode = 'ok';
  p.release();
  await waitFor(async () => (await p.stateOfA()) === 'healthy', 5_000, 'a healthy after its trial');
  const aAfter = p.a.count;
  for (let i = 0; i < 20; i++) assert.equal(await get('/ho'), 200);
  assert.ok(p.a.count > aAfter, 'a gets traffic again');
  assert.ok((await Promise.all(pending)).every((s) => s === 200));
});

test("--workers: the stall guard sees every worker's waiting tries and holds a hung target out", async () => {
  const p = await pair('st', { hedging: false, hedge_min_delay: 50, breaker_cooldown: 30 }, { unhealthy: { timeouts: 0 } });
  // latency samples for the adaptive deadline (20 needed), through both workers
  for (let i = 0; i < 40; i++) assert.equal(await get('/st'), 200);
  p.ctl.mode = 'hold';
  // steady traffic (the guard needs the other target to keep answering); a request stuck on a never blocks the loop
  const pending: Promise<number>[] = [];
  let load = true;
  const loadUntil = Date.now() + 60_000; // bounded even if an assertion below fails before load = false
  const loop = (async () => {
    while (load && Date.now() < loadUntil) {
      pending.push(get('/st'));
      await new Promise((r) => setTimeout(r, 15));
    }
  })();
  // the limit is 2× the adaptive deadline from the samples above, which a loaded CI machine can stretch to seconds
  await waitFor(async () => (await p.stateOfA()) === 'unhealthy', 30_000, 'the stall guard holds a out');
  assert.ok(p.held.length >= 1, 'a request got stuck on a');
  // whatever was already on its way may still land; then nothing more reaches a
  await new Promise((r) => setTimeout(r, 300));
  const stuck = p.held.length;
  const before = pending.length;
  // at least 20 more requests, answered, however slow the machine is
  await waitFor(() => pending.length - before >= 20, 20_000, '20 more requests sent');
  await Promise.all(pending.slice(before, before + 20));
  load = false;
  await loop;
  assert.equal(p.held.length, stuck, 'no worker sends the stalled target new requests');
  assert.ok(stuck <= 10, `only a handful of requests got stuck (${stuck})`);
  // it answers again: back in rotation
  p.ctl.mode = 'ok';
  p.release();
  await waitFor(async () => (await p.stateOfA()) === 'healthy', 5_000, 'a healthy once it answers');
  assert.ok((await Promise.all(pending)).every((s) => s === 200));
});
