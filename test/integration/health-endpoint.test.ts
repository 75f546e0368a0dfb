import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { startTestGateway } from '../helpers/gateway.js';
import { startUpstream, waitFor } from '../helpers/upstream.js';

interface HealthEntry {
  target: string;
  health: string;
  data: { addresses: { ip: string; port: number; health: string }[] };
  gw?: { state: string; active_requests: number; ejected_until: null; lease_expires_at: number | null };
}

test('GET /upstreams/{u}/health reports Kong health words and gw in-flight counts, drain state and lease end', async (t) => {
  const gw = await startTestGateway();
  let release: (() => void) | undefined;
  const held = await startUpstream('held', (_req, res) => {
    release = () => res.end('done');
  });
  t.after(async () => {
    release?.();
    await gw.close(0);
    await held.close();
  });
  await gw.admin.call('PUT', '/upstreams/hu', {});
  await gw.admin.call('PUT', `/upstreams/hu/targets/${held.address}`, { ttl: 60 });
  await gw.admin.call('PUT', '/services/hs', { host: 'hu' });
  await gw.admin.call('PUT', '/services/hs/routes/hr', { paths: ['/held'] });

  const inflight = request(gw.proxyUrl + '/held');
  const health = async () =>
    (await gw.admin.call<{ data: HealthEntry[]; next: null; node_id: string }>('GET', '/upstreams/hu/health')).body;
  await waitFor(async () => (await health()).data[0]?.gw?.active_requests === 1, 10_000, 'one request in flight');
  // drain: weight 0 → no new requests, the one in flight still counts
  await gw.admin.call('PATCH', `/upstreams/hu/targets/${held.address}`, { weight: 0 });
  const h = await health();
  assert.equal(h.data[0]!.health, 'HEALTHCHECKS_OFF');
  assert.equal(h.data[0]!.gw!.state, 'draining');
  assert.equal(h.data[0]!.gw!.active_requests, 1);
  assert.equal(typeof h.data[0]!.gw!.lease_expires_at, 'number');
  assert.equal(h.next, null);
  assert.equal(await request(gw.proxyUrl + '/held').then((r) => r.body.text().then(() => r.statusCode)), 503);
  release!();
  assert.equal((await inflight).statusCode, 200);
  await waitFor(async () => (await health()).data[0]?.gw?.active_requests === 0, 10_000, 'in-flight back to 0');

  const bh = await gw.admin.call<{ data: { balancer_health: string; health: string; details: { healthy: boolean } } }>(
    'GET',
    '/upstreams/hu/health?balancer_health=1',
  );
  assert.equal(bh.body.data.balancer_health, 'UNHEALTHY'); // total weight 0
  assert.equal(bh.body.data.health, 'HEALTHCHECKS_OFF');
  assert.equal((await gw.admin.call('GET', '/upstreams/none/health')).status, 404);
});

test('in Kong-only mode the health entries carry no gw object', async (t) => {
  const gw = await startTestGateway({ kongOnly: true });
  t.after(() => gw.close(0));
  await gw.admin.call('PUT', '/upstreams/ku', { healthchecks: { passive: { unhealthy: { tcp_failures: 2 } } } });
  await gw.admin.call('PUT', '/upstreams/ku/targets/127.0.0.1:80', {});
  const h = await gw.admin.call<{ data: HealthEntry[] }>('GET', '/upstreams/ku/health');
  assert.equal(h.body.data[0]!.health, 'HEALTHY');
  assert.equal('gw' in h.body.data[0]!, false);
});

test('healthchecks.threshold exactly reached: the Admin API and the proxy agree (Kong: healthy only above it)', async (t) => {
  const gw = await startTestGateway();
  const a = await startUpstream('ta');
  const b = await startUpstream('tb');
  t.after(async () => {
    await gw.close(0);
    await Promise.all([a.close(), b.close()]);
  });
  // a checker (passive), two equal targets, threshold 50: one target out leaves exactly 50 % of the weight
  await gw.admin.call('PUT', '/upstreams/th', { healthchecks: { threshold: 50, passive: { unhealthy: { tcp_failures: 3 } } } });
  for (const u of [a, b]) await gw.admin.call('PUT', `/upstreams/th/targets/${u.address}`, {});
  await gw.admin.call('PUT', '/services/ths', { host: 'th' });
  await gw.admin.call('PUT', '/services/ths/routes/thr', { paths: ['/th'] });
  const status = async () => {
    const r = await request(gw.proxyUrl + '/th');
    await r.body.dump();
    return r.statusCode;
  };
  const balancer = async () =>
    (
      await gw.admin.call<{ data: { balancer_health: string; details: { weight: { available: number; total: number } } } }>(
        'GET',
        '/upstreams/th/health?balancer_health=1',
      )
    ).body.data;
  await waitFor(async () => (await status()) === 200, 10_000, 'routable');
  assert.equal((await balancer()).balancer_health, 'HEALTHY');
  assert.equal((await gw.admin.call('PUT', `/upstreams/th/targets/${a.address}/unhealthy`)).status, 204);
  const at = await balancer();
  assert.deepEqual([at.details.weight.available, at.details.weight.total], [100, 200]);
  assert.equal(at.balancer_health, 'UNHEALTHY', '50 % available is not above threshold 50');
  assert.equal(await status(), 503, 'the proxy agrees: the upstream is unhealthy (fail-closed)');
  // one point lower and the same weight is healthy for both
  await gw.admin.call('PATCH', '/upstreams/th', { healthchecks: { threshold: 49, passive: { unhealthy: { tcp_failures: 3 } } } });
  await waitFor(async () => (await balancer()).balancer_health === 'HEALTHY', 10_000, 'healthy at threshold 49');
  await waitFor(async () => (await status()) === 200, 10_000, 'the proxy routes again');
  assert.equal(b.count > 0, true);
});
