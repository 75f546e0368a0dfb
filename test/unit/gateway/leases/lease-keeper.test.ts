import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAdminServer } from '../../../../gateway/src/admin/server.js';
import { LeaseKeeper, leaseExpiresAt } from '../../../../gateway/src/leases/lease-keeper.js';
import { silentLogger } from '../../../../gateway/src/observability/log.js';
import { MemoryStore } from '../../../../gateway/src/store/memory.js';
import { startTestGateway } from '../../../helpers/gateway.js';
import { waitFor } from '../../../helpers/upstream.js';

async function setup() {
  let now = 1000;
  // the store's clock is the one clock for timestamps and leases
  const store = new MemoryStore({ now: () => now });
  const app = await createAdminServer({ store, logger: silentLogger(), isReady: () => true, nodeId: 'n' });
  const keeper = new LeaseKeeper({ store, logger: silentLogger() });
  const call = async (method: string, url: string, payload?: unknown) => {
    const r = await app.inject({ method: method as 'GET', url, payload: payload as string });
    return { status: r.statusCode, body: r.body ? (JSON.parse(r.body) as Record<string, unknown>) : {} };
  };
  await call('PUT', '/upstreams/up', {});
  return { store, keeper, call, app, at: (t: number) => (now = t) };
}

test('a target with ttl expires ttl seconds after its last write; renewals push it back', async (t) => {
  const { store, keeper, call, app, at } = await setup();
  t.after(() => app.close());
  await call('PUT', '/upstreams/up/targets/127.0.0.1:80', { ttl: 30 });
  await call('PUT', '/upstreams/up/targets/127.0.0.2:80', {}); // no ttl: never expires
  at(1029);
  assert.equal(await keeper.sweep(), 0);
  // a heartbeat at 1025 would have moved the end to 1055; do one at 1029
  const hb = await call('POST', '/upstreams/up/targets/127.0.0.1:80/heartbeat');
  assert.equal(hb.status, 200);
  assert.equal(
    leaseExpiresAt(
      store,
      store.all('targets').find((x) => x.target === '127.0.0.1:80')!,
    ),
    1059,
  );
  // a renewal is not an entity write: no change emitted, updated_at stays at the PUT
  assert.equal((hb.body as { updated_at: number }).updated_at, 1000);
  at(1058);
  assert.equal(await keeper.sweep(), 0);
  // a PUT renews too
  await call('PUT', '/upstreams/up/targets/127.0.0.1:80', { ttl: 30 });
  at(1087);
  assert.equal(await keeper.sweep(), 0);
  at(1088);
  assert.equal(await keeper.sweep(), 1);
  assert.deepEqual(
    store.all('targets').map((x) => x.target),
    ['127.0.0.2:80'],
  );
  assert.equal(keeper.expired, 1);
  at(1_000_000);
  assert.equal(await keeper.sweep(), 0);
});

test('heartbeat on an unknown target is 404', async (t) => {
  const { call, app } = await setup();
  t.after(() => app.close());
  assert.equal((await call('POST', '/upstreams/up/targets/127.9.9.9:1/heartbeat')).status, 404);
  assert.equal((await call('POST', '/upstreams/nope/targets/127.9.9.9:1/heartbeat')).status, 404);
});

test('a real gateway removes a target whose lease runs out', async (t) => {
  const gw = await startTestGateway({ leaseSweepMs: 100 });
  t.after(() => gw.close(0));
  await gw.admin.call('PUT', '/upstreams/leased', {});
  const r = await gw.admin.call('PUT', '/upstreams/leased/targets/127.0.0.1:80', { ttl: 1 });
  assert.equal(r.status, 200);
  await waitFor(async () => (await gw.admin.call('GET', '/upstreams/leased/targets/127.0.0.1:80')).status === 404, 10_000, 'lease expiry');
  assert.equal(gw.leases.expired, 1);
});
