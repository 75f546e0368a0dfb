// Cloud Map discovery: the mapping (instances → targets, SDK attributes →
// service and routes), the backoff (injected random), and the poller driven
// by an injected clock against the local Cloud Map (real AWS client, real
// wire protocol) into a real MemoryStore.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, mapService, routeName, type DiscoveredInstance } from '../../../../gateway/src/discovery/cloudmap-mapping.js';
import { CloudMapProvider, errorKind } from '../../../../gateway/src/discovery/cloudmap.js';
import { MemoryStore } from '../../../../gateway/src/store/memory.js';
import { routeName as sdkRouteName } from '../../../../sdk/src/register.js';
import { startCloudMapServer } from '../../../helpers/cloud-map-server.js';
import { capturedLogger } from '../../../helpers/log.js';
import { ManualClock } from '../../../helpers/manual-clock.js';

process.env.AWS_ACCESS_KEY_ID = 'AKIAFAKEFAKEFAKEFAKE';
process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
delete process.env.AWS_PROFILE;

const inst = (id: string, attributes: Record<string, string>, health: DiscoveredInstance['health'] = 'UNKNOWN'): DiscoveredInstance => ({
  id,
  health,
  attributes,
});

test('mapping: an SDK instance becomes a target with its weight and tags, plus the service and routes it declares', () => {
  const m = mapService('users', 'internal.local', [
    inst('users-a', {
      AWS_INSTANCE_IPV4: '127.0.2.106',
      AWS_INSTANCE_PORT: '3000',
      GW_SERVICE: 'users',
      GW_ROUTES: '/api/v1/users,/api/v2/users',
      GW_WEIGHT: '40',
      GW_DEPLOYMENT: 'users:7',
      GW_INSTANCE: 'arn:aws:ecs:eu-west-1:1:task/c/abc',
    }),
    inst('users-b', {
      AWS_INSTANCE_IPV4: '127.0.2.107',
      AWS_INSTANCE_PORT: '3000',
      GW_SERVICE: 'users',
      GW_ROUTES: '/api/v3/users',
      GW_TAGS: 'team-a,bad/tag,canary',
    }),
  ]);
  assert.equal(m.upstream, 'users.internal.local');
  assert.deepEqual(
    m.targets.map((t) => [t.target, t.weight, t.tags]),
    [
      ['127.0.2.106:3000', 40, ['gw', 'gw-source:cloudmap', 'gw-cloudmap-instance:users-a', 'gw-deployment:users:7']],
      ['127.0.2.107:3000', 100, ['gw', 'gw-source:cloudmap', 'gw-cloudmap-instance:users-b', 'team-a', 'canary']],
    ],
  );
  assert.deepEqual(m.registration, {
    service: 'users',
    routes: ['/api/v1/users', '/api/v2/users', '/api/v3/users'].map((p) => ({ name: sdkRouteName('users', p), paths: [p] })),
  });
  assert.deepEqual(m.skipped, []);
  // the gateway's copy of the SDK's route naming agrees with it
  for (const p of ['/', '/a/b', '~/re/(x)$', 'weird path!']) assert.equal(routeName('svc', p), sdkRouteName('svc', p));
});

test('mapping: ECS-registered instances (only AWS_INSTANCE_*) get targets and no registration; UNHEALTHY is weight 0', () => {
  const m = mapService('orders', 'prod.local', [
    inst('task-1', { AWS_INSTANCE_IPV4: '127.0.10.1', AWS_INSTANCE_PORT: '8080' }, 'HEALTHY'),
    inst('task-2', { AWS_INSTANCE_IPV4: '127.0.10.2', AWS_INSTANCE_PORT: '8080' }, 'UNHEALTHY'),
  ]);
  assert.equal(m.registration, undefined);
  assert.deepEqual(
    m.targets.map((t) => [t.target, t.weight, t.tags.includes('gw-cloudmap-unhealthy')]),
    [
      ['127.0.10.1:8080', 100, false],
      ['127.0.10.2:8080', 0, true],
    ],
  );
});

test('mapping: instances that cannot be routed are skipped with a reason; the default port fills a missing one', () => {
  const instances = [
    inst('no-port', { AWS_INSTANCE_IPV4: '127.0.10.3' }),
    inst('cname', { AWS_INSTANCE_CNAME: 'x.example.com' }),
    inst('v6', { AWS_INSTANCE_IPV4: 'fe80::1', AWS_INSTANCE_PORT: '80' }),
    inst('bad-weight', { AWS_INSTANCE_IPV4: '127.0.10.4', AWS_INSTANCE_PORT: '80', GW_WEIGHT: 'heavy' }),
    inst('a-dup', { AWS_INSTANCE_IPV4: '127.0.10.5', AWS_INSTANCE_PORT: '80' }),
    inst('b-dup', { AWS_INSTANCE_IPV4: '127.0.10.5', AWS_INSTANCE_PORT: '80' }),
  ];
  const m = mapService('s', 'n', instances);
  assert.deepEqual(
    m.targets.map((t) => t.instanceId),
    ['a-dup'],
  );
  assert.deepEqual(
    m.skipped.map((s) => s.id),
    ['b-dup', 'bad-weight', 'cname', 'no-port', 'v6'],
  );
  assert.match(m.skipped.find((s) => s.id === 'no-port')!.reason, /--cloudmap-default-port/);
  // the same input in another order maps the same (the lowest id keeps a shared address)
  assert.deepEqual(mapService('s', 'n', [...instances].reverse()).targets, m.targets);
  const withDefault = mapService('s', 'n', instances, { defaultPort: 9000 });
  assert.ok(withDefault.targets.some((t) => t.target === '127.0.10.3:9000'));
});

test('backoff: exponential from the interval, capped, with equal jitter from the injected random', () => {
  const o = (r: number) => ({ baseMs: 5000, maxMs: 300_000, random: () => r });
  assert.equal(backoffDelay(0, o(0.9)), 5000, 'no failure: the interval');
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => backoffDelay(n, o(0))),
    [5000, 10_000, 20_000, 40_000],
    'random 0: half of each step',
  );
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => backoffDelay(n, o(0.999999))),
    [10_000, 20_000, 40_000, 80_000],
    'random near 1: the whole step',
  );
  assert.equal(backoffDelay(50, o(0.999999)), 300_000, 'capped at max');
  assert.ok(backoffDelay(50, o(0)) >= 150_000, 'never below half the cap');
});

test('errorKind: throttling, timeouts and 5xx are told apart', () => {
  assert.equal(errorKind(Object.assign(new Error('x'), { name: 'ThrottlingException' })), 'throttled');
  assert.equal(errorKind(Object.assign(new Error('x'), { name: 'RequestLimitExceeded' })), 'throttled');
  assert.equal(errorKind(Object.assign(new Error('x'), { name: 'TimeoutError' })), 'timeout');
  assert.equal(errorKind(Object.assign(new Error('x'), { name: 'InternalFailure', $metadata: { httpStatusCode: 500 } })), 'server');
  assert.equal(errorKind(Object.assign(new Error('x'), { name: 'AccessDeniedException' })), 'AccessDeniedException');
});

async function setup(t: { after: (fn: () => Promise<void>) => void }) {
  const cm = await startCloudMapServer();
  const store = new MemoryStore();
  const clock = new ManualClock();
  const { logger, lines } = capturedLogger();
  const provider = new CloudMapProvider({
    store,
    logger,
    namespaces: ['internal.local'],
    region: 'eu-west-1',
    endpoint: cm.endpoint,
    intervalMs: 5000,
    clock,
    random: () => 0.5,
  });
  t.after(async () => {
    await provider.stop();
    await cm.close();
  });
  return { cm, store, clock, provider, lines };
}

test('poller: an unchanged service costs one DiscoverInstancesRevision per poll; a change one DiscoverInstances', async (t) => {
  const { cm, store, provider } = await setup(t);
  const services = ['a', 'b', 'c'].map((name) => cm.addService({ name, namespace: 'internal.local' }));
  for (const [i, sid] of services.entries())
    cm.putInstance(sid, `task-${i}`, { AWS_INSTANCE_IPV4: `10.0.0.${i + 1}`, AWS_INSTANCE_PORT: '80' });
  await provider.poll();
  assert.deepEqual(
    store.all('upstreams').map((u) => u.name),
    ['a.internal.local', 'b.internal.local', 'c.internal.local'],
  );
  assert.equal(cm.count('DiscoverInstances'), 3);
  const before = cm.calls.length;
  for (let i = 0; i < 4; i++) await provider.poll();
  const ops = cm.calls.slice(before).map((c) => c.operation);
  assert.deepEqual(
    [...new Set(ops)].sort(),
    ['DiscoverInstancesRevision', 'ListServices'],
    'nothing changed: no DiscoverInstances, no ListNamespaces',
  );
  assert.equal(ops.length, 4 * (1 + 3), 'per poll: one ListServices, one revision per service');
  cm.putInstance(services[1]!, 'task-9', { AWS_INSTANCE_IPV4: '127.0.10.9', AWS_INSTANCE_PORT: '80' });
  await provider.poll();
  assert.equal(cm.count('DiscoverInstances'), 4, 'only the changed service is read again');
  assert.equal(store.targetsOf(store.getByName('upstreams', 'b.internal.local')!.id).length, 2);
});

test('poller: throttling backs off exponentially (injected clock and random), keeps the view, logs once each way', async (t) => {
  const { cm, store, clock, provider, lines } = await setup(t);
  const sids = ['a', 'b', 'c', 'd'].map((name) => cm.addService({ name, namespace: 'internal.local' }));
  for (const [i, sid] of sids.entries())
    cm.putInstance(sid, `task-${i}`, { AWS_INSTANCE_IPV4: `10.0.1.${i + 1}`, AWS_INSTANCE_PORT: '80' });
  provider.start();
  clock.advance(0);
  await provider.idle();
  assert.equal(store.all('targets').length, 4);
  const targetsBefore = JSON.stringify(store.all('targets'));
  cm.fault({ kind: 'throttle', operations: ['DiscoverInstancesRevision'] });
  const delays: number[] = [];
  const callsPerPoll: number[] = [];
  for (let i = 0; i < 5; i++) {
    const wait = provider.stats.nextDelayMs;
    assert.ok(clock.pending().includes(wait), `the next poll is scheduled ${wait} ms out (pending ${clock.pending().join(',')})`);
    const n = cm.count('DiscoverInstancesRevision');
    clock.advance(wait);
    await provider.idle();
    callsPerPoll.push(cm.count('DiscoverInstancesRevision') - n);
    delays.push(provider.stats.nextDelayMs);
  }
  // random 0.5: 3/4 of each step (5 s × 2^n)
  assert.deepEqual(delays, [7500, 15_000, 30_000, 60_000, 120_000]);
  assert.ok(
    callsPerPoll.every((n) => n <= 8),
    `a throttled poll stops calling (concurrency 8, 4 services): ${callsPerPoll.join(',')}`,
  );
  assert.equal(JSON.stringify(store.all('targets')), targetsBefore, 'the last good view is kept');
  assert.equal(provider.stats.errors.get('DiscoverInstancesRevision\0throttled')! > 0, true);
  cm.fault(undefined);
  clock.advance(provider.stats.nextDelayMs);
  await provider.idle();
  assert.equal(provider.stats.nextDelayMs, 5000, 'recovered: back to the interval');
  const warn = lines.filter((l) => l.msg === 'Cloud Map discovery failing; keeping the last good view and backing off');
  const recovered = lines.filter((l) => l.msg === 'Cloud Map discovery recovered');
  assert.equal(warn.length, 1, 'failing logged once for five failed polls');
  assert.equal(recovered.length, 1);
  assert.equal(warn[0]!.kind, 'throttled');
});

test('poller: a failing service keeps its targets while others update; a service deleted from the namespace drains', async (t) => {
  const { cm, store, provider } = await setup(t);
  const a = cm.addService({ name: 'a', namespace: 'internal.local' });
  const b = cm.addService({ name: 'b', namespace: 'internal.local' });
  cm.putInstance(a, 'a1', { AWS_INSTANCE_IPV4: '127.0.2.1', AWS_INSTANCE_PORT: '80' });
  cm.putInstance(b, 'b1', { AWS_INSTANCE_IPV4: '127.0.2.2', AWS_INSTANCE_PORT: '80' });
  await provider.poll();
  cm.fault({ kind: 'error500', operations: ['DiscoverInstances'] });
  cm.putInstance(a, 'a2', { AWS_INSTANCE_IPV4: '127.0.2.3', AWS_INSTANCE_PORT: '80' });
  cm.services.get(b)!.instances.clear();
  cm.services.get(b)!.revision++;
  await provider.poll();
  const targets = (name: string) => store.targetsOf(store.getByName('upstreams', name)!.id).map((x) => `${x.target}/${x.weight}`);
  assert.deepEqual(targets('a.internal.local'), ['127.0.2.1:80/100'], 'a could not be read: as it was');
  assert.deepEqual(targets('b.internal.local'), ['127.0.2.2:80/100'], 'b could not be read: as it was');
  assert.equal(provider.stats.failures, 1);
  cm.fault(undefined);
  await provider.poll();
  assert.deepEqual(targets('a.internal.local'), ['127.0.2.1:80/100', '127.0.2.3:80/100']);
  assert.deepEqual(targets('b.internal.local'), ['127.0.2.2:80/0'], 'b emptied in Cloud Map: draining at weight 0');
  cm.removeService(a);
  await provider.poll();
  assert.deepEqual(targets('a.internal.local'), ['127.0.2.1:80/0', '127.0.2.3:80/0'], 'a deleted: its targets drain');
});

test('drain: a gone instance is removed only when nothing is in flight (after minDrainMs), or at drainTimeoutMs; one that returns is restored', async (t) => {
  const cm = await startCloudMapServer();
  const store = new MemoryStore();
  const clock = new ManualClock();
  let inFlight = 3;
  const provider = new CloudMapProvider({
    store,
    logger: capturedLogger().logger,
    namespaces: ['internal.local'],
    region: 'eu-west-1',
    endpoint: cm.endpoint,
    clock,
    minDrainMs: 1000,
    drainTimeoutMs: 10_000,
    activeRequests: () => inFlight,
  });
  t.after(async () => {
    await provider.stop();
    await cm.close();
  });
  const sid = cm.addService({ name: 'w', namespace: 'internal.local' });
  const attrs = (ip: string, weight?: string) => ({
    AWS_INSTANCE_IPV4: ip,
    AWS_INSTANCE_PORT: '80',
    ...(weight ? { GW_WEIGHT: weight } : {}),
  });
  cm.putInstance(sid, 'i1', attrs('127.0.3.1'));
  cm.putInstance(sid, 'i2', attrs('127.0.3.2'));
  await provider.poll();
  const up = store.getByName('upstreams', 'w.internal.local')!;
  const view = () => store.targetsOf(up.id).map((x) => `${x.target}/${x.weight}${x.tags?.includes('gw-cloudmap-gone') ? '/gone' : ''}`);
  // a weight change applies at the next poll
  cm.putInstance(sid, 'i2', attrs('127.0.3.2', '30'));
  await provider.poll();
  assert.deepEqual(view(), ['127.0.3.1:80/100', '127.0.3.2:80/30']);
  // i1 deregistered: weight 0, then held while requests are in flight
  cm.services.get(sid)!.instances.delete('i1');
  cm.services.get(sid)!.revision++;
  await provider.poll();
  assert.deepEqual(view(), ['127.0.3.1:80/0/gone', '127.0.3.2:80/30']);
  clock.advance(500);
  inFlight = 0;
  await provider.checkDrains();
  assert.equal(view().length, 2, 'nothing in flight, but not yet minDrainMs: kept (other proxies may not have seen weight 0)');
  // it comes back before removal: restored
  cm.putInstance(sid, 'i1', attrs('127.0.3.1'));
  await provider.poll();
  assert.deepEqual(view(), ['127.0.3.1:80/100', '127.0.3.2:80/30']);
  // gone again, with requests in flight
  cm.services.get(sid)!.instances.delete('i1');
  cm.services.get(sid)!.revision++;
  await provider.poll();
  inFlight = 2;
  clock.advance(5000);
  await provider.checkDrains();
  assert.equal(view().length, 2, 'in flight: kept');
  inFlight = 0;
  await provider.checkDrains();
  assert.deepEqual(view(), ['127.0.3.2:80/30'], 'drained: removed');
  // i2 gone with a request that never ends: removed at drainTimeoutMs
  cm.services.get(sid)!.instances.delete('i2');
  cm.services.get(sid)!.revision++;
  await provider.poll();
  inFlight = 1;
  clock.advance(9000);
  await provider.checkDrains();
  assert.equal(view().length, 1, 'before the drain timeout: kept');
  clock.advance(1000);
  await provider.checkDrains();
  assert.deepEqual(view(), [], 'at the drain timeout: removed');
});
