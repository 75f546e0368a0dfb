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
  const r = await request(gw.proxyUrl + path, { reset: true });
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
  assert.deepEqual(after.filter((s) => s !== 200), [], 'the dead target costs no client error');
  await waitFor(async () => {
    const h = await admin.call<{ data: { target: string; gw: { state: string } }[] }>('GET', '/upstreams/w.up/health');
    return h.body.data.find((d) => d.target === a.address)?.gw.state === 'ejected';
  }, 5_000, 'ejection seen by the control process');
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
  const active = async () => (await admin.call<{ data: { gw: { active_requests: number } }[] }>('GET', '/upstreams/d.up/health')).body.data[0]!.gw.active_requests;
  await waitFor(async () => (await active()) === 4, 5_000, 'control sees 4 in flight');
  for (const r of held) r.end('done');
  assert.deepEqual(await Promise.all(pending), [200, 200, 200, 200]);
  await waitFor(async () => (await active()) === 0, 5_000, 'back to 0');
});

test('GET /metrics on the control process sums the workers\' request counts', async () => {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  const m = /^gw_http_requests_total\{service="w",route="[^"]+",status="200"\} (\d+)$/m.exec(text);
  assert.ok(m, text.slice(0, 500));
  assert.ok(Number(m[1]) >= 100, `counted ${m[1]}`);
});
