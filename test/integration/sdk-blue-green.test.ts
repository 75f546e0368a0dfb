import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { request } from 'undici';
import { GwSdkError, promote, register, rollback, type Registration } from '../../sdk/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { startUpstream, waitFor, type TestUpstream } from '../helpers/upstream.js';

const silent = pino({ level: 'silent' });
const base = { handleSignals: false, logger: silent, host: '127.0.0.1', onShutdown: () => undefined, mode: 'blue-green' as const };

interface ServiceBody {
  host: string;
  tags: string[];
}

/** Which app answers through the proxy. */
async function answeredBy(proxyUrl: string, path: string): Promise<string> {
  const r = await request(proxyUrl + path);
  const body = (await r.body.json()) as { name?: string; message?: string };
  return r.statusCode === 200 ? (body.name ?? '?') : `${r.statusCode}`;
}

async function apps(t: { after: (fn: () => Promise<unknown>) => void }, ...names: string[]): Promise<TestUpstream[]> {
  const list = await Promise.all(names.map((n) => startUpstream(n)));
  t.after(() => Promise.all(list.map((a) => a.close())));
  return list;
}

test('blue-green: the first deployment is live at once; the next one switches the service when healthy; rollback and promote switch back and forth, idempotently', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close(0));
  const [blue, green, green2] = await apps(t, 'blue', 'green', 'green2');
  const regs: Registration[] = [];
  t.after(() => Promise.all(regs.map((r) => r.close())));
  const common = { ...base, adminUrl: gw.adminUrl, service: 'shop', routes: ['/shop'] };

  regs.push(await register({ ...common, port: blue!.port, instanceId: 'blue-1', deployment: 'shop:1' }));
  assert.equal(regs[0]!.upstream, 'shop.shop-1.upstream');
  assert.equal(regs[0]!.promotion, 'live');
  assert.equal((await gw.admin.call<ServiceBody>('GET', '/services/shop')).body.host, 'shop.shop-1.upstream');
  assert.equal(await answeredBy(gw.proxyUrl, '/shop/a'), 'blue');

  // the new deployment registers into its own upstream and, with one healthy target (the default), takes over
  regs.push(await register({ ...common, port: green!.port, instanceId: 'green-1', deployment: 'shop:2' }));
  assert.equal(regs[1]!.upstream, 'shop.shop-2.upstream');
  assert.equal(regs[1]!.promotion, 'promoted');
  const svc = (await gw.admin.call<ServiceBody>('GET', '/services/shop')).body;
  assert.equal(svc.host, 'shop.shop-2.upstream');
  assert.ok(svc.tags.includes('gw-previous:shop.shop-1.upstream'), svc.tags.join(' '));
  await waitFor(async () => (await answeredBy(gw.proxyUrl, '/shop/a')) === 'green', 5000, 'traffic on green');
  // blue's target is still registered in its own upstream, ready for a rollback
  assert.equal((await gw.admin.call('GET', `/upstreams/shop.shop-1.upstream/targets/${blue!.address}`)).status, 200);

  const back = await rollback({ adminUrl: gw.adminUrl, service: 'shop' });
  assert.deepEqual(back, { service: 'shop', upstream: 'shop.shop-1.upstream', previous: 'shop.shop-2.upstream', changed: true });
  await waitFor(async () => (await answeredBy(gw.proxyUrl, '/shop/a')) === 'blue', 5000, 'traffic back on blue');
  assert.equal((await rollback({ adminUrl: gw.adminUrl, service: 'shop' })).changed, false, 'a second rollback changes nothing');
  assert.equal((await gw.admin.call<ServiceBody>('GET', '/services/shop')).body.host, 'shop.shop-1.upstream');

  // another instance of the rolled-back deployment does not promote it again by itself
  regs.push(await register({ ...common, port: green2!.port, instanceId: 'green-2', deployment: 'shop:2' }));
  assert.equal(regs[2]!.promotion, 'not-eligible');
  assert.equal((await gw.admin.call<ServiceBody>('GET', '/services/shop')).body.host, 'shop.shop-1.upstream');

  // an explicit promote does
  const fwd = await promote({ adminUrl: gw.adminUrl, service: 'shop', deployment: 'shop:2' });
  assert.deepEqual(fwd, { service: 'shop', upstream: 'shop.shop-2.upstream', previous: 'shop.shop-1.upstream', changed: true });
  assert.equal(
    (await promote({ adminUrl: gw.adminUrl, service: 'shop', deployment: 'shop:2' })).changed,
    false,
    'a second promote changes nothing',
  );
  await waitFor(async () => (await answeredBy(gw.proxyUrl, '/shop/a')).startsWith('green'), 5000, 'traffic on green again');
  const after = (await gw.admin.call<ServiceBody>('GET', '/services/shop')).body;
  assert.ok(!after.tags.some((x) => x.startsWith('gw-rolled-back:shop.shop-2')), 'promote lifts the rollback mark');
});

test('blue-green: promoteWhen waits for enough healthy targets; a restarted instance of an older deployment never takes traffic back', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close(0));
  const [v1, v2a, v2b, v1again] = await apps(t, 'v1', 'v2a', 'v2b', 'v1again');
  const regs: Registration[] = [];
  t.after(() => Promise.all(regs.map((r) => r.close())));
  const common = { ...base, adminUrl: gw.adminUrl, service: 'cart', routes: ['/cart'], promoteWhen: { healthyTargets: 2 } };
  regs.push(await register({ ...common, port: v1!.port, instanceId: 'v1-a', deployment: 'v1' }));
  assert.equal(regs[0]!.promotion, 'live');

  regs.push(await register({ ...common, port: v2a!.port, instanceId: 'v2-a', deployment: 'v2' }));
  assert.equal(regs[1]!.promotion, 'waiting', 'one healthy target of two');
  assert.equal((await gw.admin.call<ServiceBody>('GET', '/services/cart')).body.host, 'cart.v1.upstream');

  regs.push(await register({ ...common, port: v2b!.port, instanceId: 'v2-b', deployment: 'v2' }));
  assert.equal(regs[2]!.promotion, 'promoted');
  assert.equal((await gw.admin.call<ServiceBody>('GET', '/services/cart')).body.host, 'cart.v2.upstream');
  await waitFor(() => regs[1]!.promotion === 'live', 5000, 'the waiting instance sees its deployment live');

  // an old v1 task restarts (ECS replaces a crashed one) after v2 went live: it registers into v1's upstream, and stays out
  regs.push(await register({ ...common, port: v1again!.port, instanceId: 'v1-b', deployment: 'v1' }));
  assert.equal(regs[3]!.promotion, 'not-eligible');
  assert.equal((await gw.admin.call<ServiceBody>('GET', '/services/cart')).body.host, 'cart.v2.upstream');
  assert.equal((await gw.admin.call('GET', `/upstreams/cart.v1.upstream/targets/${v1again!.address}`)).status, 200);
});

test('blue-green: promoteWhen manual waits for promote(); promote refuses an empty deployment unless forced; errors name what is missing', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close(0));
  const [a, b] = await apps(t, 'a', 'b');
  const common = { ...base, adminUrl: gw.adminUrl, service: 'pay', routes: ['/pay'], promoteWhen: 'manual' as const };
  const ra = await register({ ...common, port: a!.port, instanceId: 'a', deployment: 'one' });
  t.after(() => ra.close());
  const rb = await register({ ...common, port: b!.port, instanceId: 'b', deployment: 'two' });
  assert.equal(rb.promotion, undefined);
  assert.equal((await gw.admin.call<ServiceBody>('GET', '/services/pay')).body.host, 'pay.one.upstream');

  await assert.rejects(
    rollback({ adminUrl: gw.adminUrl, service: 'pay' }),
    (e: unknown) => e instanceof GwSdkError && e.code === 'GW_ERR_SDK_NOTHING_TO_ROLL_BACK' && /nothing to roll back to/.test(e.message),
  );
  await assert.rejects(
    promote({ adminUrl: gw.adminUrl, service: 'pay', deployment: 'three' }),
    (e: unknown) =>
      e instanceof GwSdkError &&
      e.code === 'GW_ERR_SDK_UNKNOWN_DEPLOYMENT' &&
      /"three"/.test(e.message) &&
      /pay\.three\.upstream/.test(e.message),
  );
  await assert.rejects(
    promote({ adminUrl: gw.adminUrl, service: 'nope', deployment: 'one' }),
    (e: unknown) => e instanceof GwSdkError && e.code === 'GW_ERR_SDK_UNKNOWN_SERVICE',
  );

  await rb.close(); // deployment two has no target left
  await assert.rejects(
    promote({ adminUrl: gw.adminUrl, service: 'pay', deployment: 'two' }),
    (e: unknown) => e instanceof GwSdkError && e.code === 'GW_ERR_SDK_NOT_READY',
  );
  assert.equal((await promote({ adminUrl: gw.adminUrl, service: 'pay', deployment: 'two', force: true })).changed, true);
  assert.equal((await gw.admin.call<ServiceBody>('GET', '/services/pay')).body.host, 'pay.two.upstream');
  assert.equal((await rollback({ adminUrl: gw.adminUrl, service: 'pay' })).upstream, 'pay.one.upstream');
  assert.equal(await answeredBy(gw.proxyUrl, '/pay/x'), 'a');
});

test('blue-green: the upstream option is refused (each deployment has its own)', async () => {
  await assert.rejects(
    register({ ...base, adminUrl: 'http://127.0.0.1:1', service: 's', port: 1, upstream: 'x' }),
    /upstream: cannot be set with mode blue-green/,
  );
});

test('blue-green against a Kong-only gateway: Kong health words count (HEALTHCHECKS_OFF is routable), promotion and rollback work the same', async (t) => {
  const gw = await startTestGateway({ kongOnly: true });
  t.after(() => gw.close(0));
  const [one, two] = await apps(t, 'one', 'two');
  const common = { ...base, adminUrl: gw.adminUrl, service: 'legacy', routes: ['/legacy'], drainDelay: 10 };
  const r1 = await register({ ...common, port: one!.port, instanceId: 'k1', deployment: 'r1' });
  t.after(() => r1.close());
  assert.equal(r1.gateway, 'kong');
  assert.equal(r1.upstream, 'legacy.r1.upstream');
  const r2 = await register({ ...common, port: two!.port, instanceId: 'k2', deployment: 'r2' });
  t.after(() => r2.close());
  assert.equal(r2.promotion, 'promoted');
  await waitFor(async () => (await answeredBy(gw.proxyUrl, '/legacy/')) === 'two', 5000, 'traffic on r2');
  assert.equal((await rollback({ adminUrl: gw.adminUrl, service: 'legacy' })).upstream, 'legacy.r1.upstream');
  await waitFor(async () => (await answeredBy(gw.proxyUrl, '/legacy/')) === 'one', 5000, 'traffic back on r1');
});
