// Upstream health semantics translated from Kong 3.x specs, against a real gateway:
// spec/02-integration/04-admin_api/08-targets_routes_spec.lua ("returns HEALTHCHECKS_OFF for target
// with weight 0", "return HEALTHY if weight of target turns from zero to non-zero") and
// spec/02-integration/05-proxy/10-balancer/01-healthchecks_spec.lua ("an upstream that is removed
// and readed keeps the health status").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestGateway } from '../helpers/gateway.js';
import { startUpstream, waitFor } from '../helpers/upstream.js';

interface HealthEntry {
  target: string;
  health: string;
  data: { addresses: { health: string }[] };
}

const PASSIVE = { healthchecks: { passive: { unhealthy: { tcp_failures: 1 } } } };

test('08-targets "returns HEALTHCHECKS_OFF for target with weight 0" (checks on), then HEALTHY once its weight turns non-zero', async (t) => {
  const gw = await startTestGateway();
  const a = await startUpstream('a');
  t.after(async () => {
    await gw.close(0);
    await a.close();
  });
  await gw.admin.call('PUT', '/upstreams/w0', PASSIVE);
  assert.equal((await gw.admin.call('POST', '/upstreams/w0/targets', { target: a.address, weight: 0 })).status, 201);
  const health = async () => (await gw.admin.call<{ data: HealthEntry[] }>('GET', '/upstreams/w0/health')).body.data;
  await waitFor(async () => (await health()).length === 1, 10_000, 'the target is listed');
  const zero = await health();
  assert.equal(zero[0]!.health, 'HEALTHCHECKS_OFF');
  assert.deepEqual(
    zero[0]!.data.addresses.map((x) => x.health),
    ['HEALTHCHECKS_OFF'],
  );
  assert.equal((await gw.admin.call('PATCH', `/upstreams/w0/targets/${a.address}`, { weight: 10 })).status, 200);
  await waitFor(async () => (await health())[0]?.data.addresses[0]?.health === 'HEALTHY', 10_000, 'HEALTHY after weight 10');
});

test('01-healthchecks "an upstream that is removed and readed keeps the health status": same name, same address', async (t) => {
  const gw = await startTestGateway();
  const a = await startUpstream('a');
  const b = await startUpstream('b');
  t.after(async () => {
    await gw.close(0);
    await a.close();
    await b.close();
  });
  const health = async () =>
    new Map((await gw.admin.call<{ data: HealthEntry[] }>('GET', '/upstreams/readded/health')).body.data.map((e) => [e.target, e.health]));
  await gw.admin.call('PUT', '/upstreams/readded', PASSIVE);
  await gw.admin.call('POST', '/upstreams/readded/targets', { target: a.address });
  await gw.admin.call('POST', '/upstreams/readded/targets', { target: b.address });
  await waitFor(async () => (await health()).get(a.address) === 'HEALTHY', 10_000, 'a HEALTHY');
  // Kong's put_target_address_health: mark one address unhealthy
  await waitFor(
    async () => (await gw.admin.call('PUT', `/upstreams/readded/targets/${a.address}/unhealthy`)).status === 204,
    10_000,
    'the runtime knows the target',
  );
  await waitFor(async () => (await health()).get(a.address) === 'UNHEALTHY', 10_000, 'a UNHEALTHY');
  const before = (await gw.admin.call('GET', '/upstreams/readded')).body.id;

  assert.equal((await gw.admin.call('DELETE', '/upstreams/readded')).status, 204);
  await waitFor(async () => (await gw.admin.call('GET', '/upstreams/readded/health')).status === 404, 10_000, 'deleted');
  // give the runtime the deletion before the upstream comes back
  await waitFor(async () => (await gw.admin.call('GET', '/upstreams')).body.data !== undefined, 10_000, 'admin answers');

  const again = await gw.admin.call('PUT', '/upstreams/readded', PASSIVE);
  assert.notEqual(again.body.id, before, 'upstreams are different');
  await gw.admin.call('POST', '/upstreams/readded/targets', { target: a.address });
  await gw.admin.call('POST', '/upstreams/readded/targets', { target: b.address });
  await waitFor(async () => (await health()).size === 2, 10_000, 'both targets listed');
  // the runtime picks the new targets up: b is HEALTHY, a keeps UNHEALTHY
  await waitFor(async () => (await health()).get(b.address) === 'HEALTHY', 10_000, 'b HEALTHY');
  const h = await health();
  assert.equal(h.get(a.address), 'UNHEALTHY', 'so health must be same as before');
  assert.equal(h.get(b.address), 'HEALTHY');
});
