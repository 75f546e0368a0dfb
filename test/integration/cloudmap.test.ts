// Cloud Map discovery end to end (issue 15): the real gateway polls the local
// Cloud Map (test/helpers/cloud-map-server.ts: the real AWS JSON 1.1 wire
// protocol, SigV4 checked) through the real @aws-sdk client; instances are
// written by the SDK's Cloud Map backend or as ECS would; traffic goes
// through the real proxy to real upstream servers on 127.0.0.1.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { register, type Registration } from '../../sdk/src/register.js';
import type { RegisterOptions } from '../../sdk/src/options.js';
import { startCloudMapServer } from '../helpers/cloud-map-server.js';
import { startTestGateway } from '../helpers/gateway.js';
import { steadyLoad } from '../helpers/load.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startUpstream, waitFor, type TestUpstream } from '../helpers/upstream.js';
import type { GatewayOptions } from '../../gateway/src/gateway.js';

// the default credential chain finds these first; never IMDS, never a real account
process.env.AWS_ACCESS_KEY_ID = 'AKIAFAKEFAKEFAKEFAKE';
process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
delete process.env.AWS_PROFILE;

const NS = 'internal.local';
type Gw = Awaited<ReturnType<typeof startTestGateway>>;

async function world(t: { after: (fn: () => Promise<void>) => void }, cloudMap: Partial<NonNullable<GatewayOptions['cloudMap']>> = {}) {
  const cm = await startCloudMapServer();
  const regs: Registration[] = [];
  const ups: TestUpstream[] = [];
  const gw = await startTestGateway({
    cloudMap: { namespaces: [NS], region: 'eu-west-1', endpoint: cm.endpoint, intervalMs: 200, minDrainMs: 300, ...cloudMap },
  });
  t.after(async () => {
    await Promise.all(regs.map((r) => r.close()));
    await gw.close(1000);
    await Promise.all(ups.map((u) => u.close()));
    await cm.close();
  });
  /** an upstream answering `{ app }` (what steadyLoad counts) */
  const app = async (name: string): Promise<TestUpstream> => {
    const u = await startUpstream(name, (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ app: name }));
    });
    ups.push(u);
    return u;
  };
  const sdk = async (serviceId: string, up: TestUpstream, o: Partial<RegisterOptions>): Promise<Registration> => {
    const reg = await register({
      backend: 'cloudmap',
      cloudMap: { serviceId, region: 'eu-west-1', endpoint: cm.endpoint },
      host: '127.0.0.1',
      port: up.port,
      handleSignals: false,
      onShutdown: () => undefined,
      ...o,
    });
    regs.push(reg);
    return reg;
  };
  return { cm, gw, app, sdk };
}

async function get(url: string): Promise<{ status: number; app: string | undefined }> {
  const r = await request(url, { headersTimeout: 5000, bodyTimeout: 5000 });
  const text = await r.body.text();
  let app: string | undefined;
  try {
    app = (JSON.parse(text) as { app?: string }).app;
  } catch {
    app = undefined;
  }
  return { status: r.statusCode, app };
}

const targetsOf = (gw: Gw, upstream: string) => {
  const u = gw.store.getByName('upstreams', upstream);
  return u ? gw.store.targetsOf(u.id) : [];
};

test('an instance registered with the SDK Cloud Map backend is routable with no Admin API call; its target is not editable or exported', async (t) => {
  const { cm, gw, app, sdk } = await world(t);
  const sid = cm.addService({ name: 'users', namespace: NS });
  const up = await app('users-a');
  const started = Date.now();
  await sdk(sid, up, { service: 'users', routes: ['/api/users'], instanceId: 'users-a', deployment: 'users:1', drainDelay: 300 });
  const r = await waitFor(
    async () => {
      const x = await get(`${gw.proxyUrl}/api/users`);
      return x.status === 200 ? x : undefined;
    },
    10_000,
    'the SDK instance to be routed',
  );
  assert.equal(r?.app, 'users-a');
  const ms = Date.now() - started;
  assert.ok(ms < 5000, `routable within a few 200 ms intervals, took ${ms} ms`);
  // what the provider wrote, as the Admin API registration would have
  const svc = (await gw.admin.call('GET', '/services/users')).body;
  assert.equal(svc.host, `users.${NS}`);
  assert.ok((svc.tags as string[]).includes('gw-source:cloudmap'));
  assert.equal((await gw.admin.call('GET', '/routes/users-api-users')).status, 200, 'the route has the SDK route name');
  const [target] = targetsOf(gw, `users.${NS}`);
  assert.equal(target?.target, up.address);
  assert.ok(target?.tags?.includes('gw-source:cloudmap'));
  // Cloud Map is the source: Admin API writes to the target are 400 naming it
  for (const [method, body] of [
    ['PATCH', { weight: 5 }],
    ['PUT', { weight: 5 }],
    ['DELETE', undefined],
  ] as const) {
    const w = await gw.admin.call<{ message: string }>(method, `/upstreams/users.${NS}/targets/${up.address}`, body);
    assert.equal(w.status, 400, `${method}: ${JSON.stringify(w.body)}`);
    assert.match(w.body.message, /comes from AWS Cloud Map \(tag gw-source:cloudmap\)/);
  }
  assert.equal(targetsOf(gw, `users.${NS}`)[0]?.weight, 100, 'unchanged');
  // exports leave discovered entities out, even with include_registered
  for (const q of ['', '&include_registered=true']) {
    const res = await fetch(`${gw.adminUrl}/config?format=json${q}`);
    const doc = (await res.json()) as Record<string, unknown[] | undefined>;
    assert.equal(JSON.stringify(doc).includes('gw-source:cloudmap'), false, `export${q}: ${JSON.stringify(doc)}`);
  }
  // the AWS calls were signed for servicediscovery, to the endpoint as given (disableHostPrefix)
  const call = cm.calls.find((c) => c.operation === 'DiscoverInstances')!;
  assert.match(String(call.headers.authorization), /\/eu-west-1\/servicediscovery\/aws4_request/);
  assert.equal(call.headers.host, new URL(cm.endpoint).host);
});

test('an ECS-registered instance (only AWS_INSTANCE_* attributes) is routed by a service whose host is S.N; UNHEALTHY takes it out', async (t) => {
  const { cm, gw, app } = await world(t);
  const sid = cm.addService({ name: 'orders', namespace: NS, customHealth: true });
  const a = await app('orders-a');
  const b = await app('orders-b');
  // ECS service discovery registers each task: InstanceId = task id, only AWS_* attributes
  cm.putInstance(sid, 'task-0001', { AWS_INSTANCE_IPV4: '127.0.0.1', AWS_INSTANCE_PORT: String(a.port) }, 'HEALTHY');
  cm.putInstance(sid, 'task-0002', { AWS_INSTANCE_IPV4: '127.0.0.1', AWS_INSTANCE_PORT: String(b.port) }, 'HEALTHY');
  // the user points a service at the DNS name, as they would point Kong at it
  assert.equal((await gw.admin.call('PUT', '/services/orders', { host: `orders.${NS}`, retries: 0 })).status, 200);
  assert.equal((await gw.admin.call('PUT', '/services/orders/routes/orders', { paths: ['/orders'] })).status, 200);
  const seen = new Set<string>();
  await waitFor(
    async () => {
      const r = await get(`${gw.proxyUrl}/orders`);
      if (r.status === 200 && r.app) seen.add(r.app);
      return seen.size === 2;
    },
    10_000,
    'both ECS tasks to answer',
  );
  assert.equal(gw.store.getByName('services', 'orders')?.host, `orders.${NS}`, 'the hand-made service is left as it is');
  cm.setHealth(sid, 'task-0002', 'UNHEALTHY');
  await waitFor(() => targetsOf(gw, `orders.${NS}`).find((x) => x.target === b.address)?.weight === 0, 5000, 'UNHEALTHY applied');
  const apps = new Set<string>();
  for (let i = 0; i < 20; i++) apps.add((await get(`${gw.proxyUrl}/orders`)).app ?? '?');
  assert.deepEqual([...apps], ['orders-a'], 'no new requests to the UNHEALTHY task');
  cm.setHealth(sid, 'task-0002', 'HEALTHY');
  await waitFor(() => targetsOf(gw, `orders.${NS}`).find((x) => x.target === b.address)?.weight === 100, 5000, 'HEALTHY again');
});

test('closing an SDK registration under steady load drains it with 0 failed requests', async (t) => {
  const { cm, gw, app, sdk } = await world(t);
  const sid = cm.addService({ name: 'pay', namespace: NS });
  const a = await app('pay-a');
  const b = await app('pay-b');
  const common: Partial<RegisterOptions> = { service: 'pay', routes: ['/pay'], deployment: 'pay:1', drainDelay: 1000 };
  // as an app does: once drained and deregistered, it stops listening
  const regA = await sdk(sid, a, { ...common, instanceId: 'pay-a', onShutdown: () => a.server.close() });
  await sdk(sid, b, { ...common, instanceId: 'pay-b' });
  await waitFor(() => targetsOf(gw, `pay.${NS}`).length === 2, 10_000, 'both targets');
  await waitFor(async () => (await get(`${gw.proxyUrl}/pay`)).status === 200, 10_000, 'routed');
  const load = steadyLoad(`${gw.proxyUrl}/pay`, 4, 30_000);
  try {
    await waitFor(() => (load.byApp.get('pay-a') ?? 0) > 20 && (load.byApp.get('pay-b') ?? 0) > 20, 10_000, 'load on both');
    await regA.close(); // GW_WEIGHT 0, drainDelay, DeregisterInstance
    await waitFor(() => targetsOf(gw, `pay.${NS}`).every((x) => x.target !== a.address), 10_000, 'the closed instance removed');
    const atRemoval = a.count;
    const okAtRemoval = load.ok;
    await waitFor(() => load.ok > okAtRemoval + 100, 10_000, 'more load after the removal');
    assert.equal(a.count, atRemoval, 'no request reached the removed instance');
  } finally {
    await load.done();
  }
  assert.equal(load.failed, 0, `failed requests: ${load.failures.slice(0, 5).join('; ')}`);
  assert.ok(load.ok > 100);
});

test('a 30 s API outage (500s, then slow answers) changes nothing; the provider backs off and recovers (injected clock)', async (t) => {
  // the provider's clock is injected: 30 s of outage are 30 s of its time, driven here, not waited for
  const clock = new ManualClock();
  const { cm, gw, app } = await world(t, { clock, random: () => 0.5, requestTimeoutMs: 300, intervalMs: 5000 });
  const provider = gw.cloudMap!;
  const poll = async (): Promise<number> => {
    const d = provider.stats.nextDelayMs;
    clock.advance(d);
    await provider.idle();
    return d;
  };
  const sid = cm.addService({ name: 'stock', namespace: NS });
  const a = await app('stock-a');
  cm.putInstance(sid, 'task-a', { AWS_INSTANCE_IPV4: '127.0.0.1', AWS_INSTANCE_PORT: String(a.port) });
  clock.advance(0); // the first poll
  await provider.idle();
  assert.equal((await gw.admin.call('PUT', '/services/stock', { host: `stock.${NS}`, retries: 0 })).status, 200);
  assert.equal((await gw.admin.call('PUT', '/services/stock/routes/stock', { paths: ['/stock'] })).status, 200);
  await waitFor(async () => (await get(`${gw.proxyUrl}/stock`)).status === 200, 5000, 'routed');
  const before = JSON.stringify(targetsOf(gw, `stock.${NS}`));
  const load = steadyLoad(`${gw.proxyUrl}/stock`, 2, 30_000);
  let elapsed = 0;
  try {
    cm.fault({ kind: 'error500' });
    // meanwhile Cloud Map really changes: nothing of it can be read, so nothing changes here either
    cm.services.get(sid)!.instances.clear();
    cm.services.get(sid)!.revision++;
    while (elapsed < 10_000) elapsed += await poll();
    // then answers slower than the request timeout (300 ms here)
    cm.fault({ kind: 'slow', delayMs: 2000 });
    while (elapsed < 30_000) elapsed += await poll();
    assert.equal(JSON.stringify(targetsOf(gw, `stock.${NS}`)), before, 'the targets are exactly as before the outage');
    assert.ok(load.ok > 0);
  } finally {
    await load.done();
  }
  assert.equal(load.failed, 0, load.failures.slice(0, 3).join('; '));
  assert.ok(provider.stats.failedPolls >= 3, `failed polls: ${provider.stats.failedPolls}`);
  assert.ok(provider.stats.failedPolls <= 6, `backed off: only ${provider.stats.failedPolls} polls in 30 s (not 6 at 5 s each)`);
  const m = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  assert.match(m, /gw_cloudmap_api_errors_total\{operation="[A-Za-z]+",error="server"\} [1-9]/);
  assert.match(m, /gw_cloudmap_api_errors_total\{operation="[A-Za-z]+",error="timeout"\} [1-9]/);
  assert.match(m, /gw_cloudmap_polls_total\{result="failed"\} [1-9]/);
  // back: the real change (the task is gone) applies at the next poll
  cm.fault(undefined);
  await poll();
  assert.equal(provider.stats.failures, 0);
  assert.equal(targetsOf(gw, `stock.${NS}`)[0]?.weight, 0, 'after the outage the deregistration is seen: draining');
});

test('throttling backs off: far fewer calls than one poll per interval, counted in gw_cloudmap_api_errors_total', async (t) => {
  const { cm, gw } = await world(t, { intervalMs: 100, random: () => 0.5 });
  for (const name of ['t1', 't2', 't3']) cm.addService({ name, namespace: NS });
  await waitFor(() => cm.count('DiscoverInstancesRevision') >= 6, 5000, 'polling');
  cm.fault({ kind: 'throttle' });
  await waitFor(() => gw.cloudMap!.stats.failures >= 1, 5000, 'the first throttled poll');
  const start = cm.calls.length;
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, 2000));
  const calls = cm.calls.length - start;
  const elapsed = Date.now() - t0;
  // without backoff: about elapsed/100 polls of 4 calls; with it (150, 300, 600, 1200 ms …) a handful of single calls
  assert.ok(calls <= 8, `${calls} calls in ${elapsed} ms while throttled`);
  assert.ok(gw.cloudMap!.stats.nextDelayMs > 100, `next delay ${gw.cloudMap!.stats.nextDelayMs} ms`);
  const m = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  assert.match(m, /gw_cloudmap_api_errors_total\{operation="ListServices",error="throttled"\} [1-9]/);
  assert.match(m, /gw_cloudmap_polling 1/);
});
