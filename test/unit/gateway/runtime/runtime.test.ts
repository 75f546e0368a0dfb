import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEntity } from '../../../../gateway/src/entities/index.js';
import type { AnyEntity, Target, Upstream } from '../../../../gateway/src/entities/types.js';
import { silentLogger } from '../../../../gateway/src/observability/log.js';
import { LocalStatusTable } from '../../../../gateway/src/balancer/local-status.js';
import { Runtime } from '../../../../gateway/src/runtime/runtime.js';
import { MemoryStore } from '../../../../gateway/src/store/memory.js';
import type { WriteOp } from '../../../../gateway/src/store/store.js';

const entity = (kind: 'upstreams' | 'targets' | 'services', input: Record<string, unknown>): AnyEntity => {
  const r = parseEntity(kind, input, { mode: 'create', now: 1 });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  return r.value as unknown as AnyEntity;
};
const tick = () => new Promise((r) => setImmediate(r));
/** Wait until `cond` holds (the runtime may batch a rebuild after a slow one: d ms after a rebuild of d ms); at most 5 s. */
async function until(cond: () => boolean, what = 'condition'): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

test('only what changed is rebuilt: a lease renewal keeps the balancer, a weight change rebuilds only its upstream', async () => {
  const store = new MemoryStore();
  const a = entity('upstreams', { name: 'a' }) as Upstream;
  const b = entity('upstreams', { name: 'b' }) as Upstream;
  const ta = entity('targets', { target: '127.0.0.1:80', upstream: { id: a.id } }) as Target;
  await store.apply([
    { op: 'put', kind: 'upstreams', entity: a },
    { op: 'put', kind: 'upstreams', entity: b },
    { op: 'put', kind: 'targets', entity: ta },
  ]);
  const rt = new Runtime({ store, logger: silentLogger() });
  rt.start();
  const s1 = rt.snapshot;
  await store.apply([{ op: 'put', kind: 'targets', entity: { ...ta, updated_at: 99 } }]);
  await tick();
  assert.equal(rt.snapshot.upstreams.get('a')!.balancer, s1.upstreams.get('a')!.balancer);
  await store.apply([{ op: 'put', kind: 'targets', entity: { ...ta, weight: 5 } }]);
  await until(() => rt.snapshot.upstreams.get('a')!.balancer !== s1.upstreams.get('a')!.balancer, 'the weight change');
  const s3 = rt.snapshot;
  assert.notEqual(s3.upstreams.get('a')!.balancer, s1.upstreams.get('a')!.balancer);
  assert.equal(s3.upstreams.get('b')!.balancer, s1.upstreams.get('b')!.balancer);
  assert.equal(s3.router, s1.router, 'target changes do not recompile the router');
  // availability lives in health's per-target records, not in the balancer: a rebuilt balancer bound to them sees it
  const records = new LocalStatusTable(s3.upstreams.get('a')!.balancer);
  records.set(ta.id, false);
  assert.equal(s3.upstreams.get('a')!.balancer.availableCount(), 0);
  await store.apply([{ op: 'put', kind: 'targets', entity: { ...ta, weight: 6 } }]);
  await until(() => rt.snapshot.upstreams.get('a')!.balancer !== s3.upstreams.get('a')!.balancer, 'the second weight change');
  assert.notEqual(rt.snapshot.upstreams.get('a')!.balancer, s3.upstreams.get('a')!.balancer);
  records.bindTo(rt.snapshot.upstreams.get('a')!.balancer);
  assert.equal(rt.snapshot.upstreams.get('a')!.balancer.availableCount(), 0);
  await store.apply([{ op: 'put', kind: 'services', entity: entity('services', { name: 's', host: 'a' }) }]);
  await until(() => rt.snapshot.router !== s3.router, 'the router');
  assert.notEqual(rt.snapshot.router, s3.router);
  assert.ok(rt.snapshot.version > s1.version);
  rt.stop();
});

test('a burst of store changes produces one snapshot swap', async () => {
  const store = new MemoryStore();
  const rt = new Runtime({ store, logger: silentLogger() });
  rt.start();
  let swaps = 0;
  rt.onSnapshot(() => swaps++);
  const ups = Array.from({ length: 20 }, (_, i) => entity('upstreams', { name: `u${i}` }));
  await Promise.all(ups.map((u) => store.apply([{ op: 'put', kind: 'upstreams', entity: u }])));
  await tick();
  assert.equal(swaps, 1);
  assert.equal(rt.snapshot.upstreams.size, 20);
  rt.stop();
});

test('a change the runtime cannot build never throws: the last good balancer keeps serving and the failure is counted', async () => {
  const store = new MemoryStore();
  const u = entity('upstreams', { name: 'u' }) as Upstream;
  const good = entity('targets', { target: '127.0.0.1:81', upstream: { id: u.id } }) as Target;
  await store.apply([
    { op: 'put', kind: 'upstreams', entity: u },
    { op: 'put', kind: 'targets', entity: good },
  ]);
  const rt = new Runtime({ store, logger: silentLogger() });
  rt.start();
  const before = rt.snapshot.upstreams.get('u')!.balancer;
  // bypass entity validation, as a corrupt row or a validation bug would
  const bad = { ...good, id: '00000000-0000-4000-8000-000000000001', target: '127.0.0.1:0' } as Target;
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  try {
    await store.apply([{ op: 'put', kind: 'targets', entity: bad }]);
    await tick();
  } finally {
    process.off('uncaughtException', onUncaught);
  }
  assert.deepEqual(uncaught, []);
  assert.equal(rt.buildFailures, 1);
  assert.equal(rt.snapshot.upstreams.get('u')!.balancer, before, 'the last good balancer is kept');
  assert.equal(
    rt.snapshot.upstreams.get('u')!.balancer.pick({ clientIp: '127.0.0.1', headers: {}, path: '/', query: '', tried: new Set() })?.target
      .address,
    '127.0.0.1:81',
  );
  rt.stop();
});

test('target changes derive the balancer in place (only those targets in its derivation); upstream changes and consistent-hashing rebuild', async () => {
  const store = new MemoryStore();
  const rr = entity('upstreams', { name: 'rr' }) as Upstream;
  const ch = entity('upstreams', { name: 'ch', algorithm: 'consistent-hashing', hash_on: 'ip' }) as Upstream;
  const t1 = entity('targets', { target: '127.0.0.1:81', upstream: { id: rr.id } }) as Target;
  const c1 = entity('targets', { target: '127.0.0.1:91', upstream: { id: ch.id } }) as Target;
  await store.apply([
    { op: 'put', kind: 'upstreams', entity: rr },
    { op: 'put', kind: 'upstreams', entity: ch },
    { op: 'put', kind: 'targets', entity: t1 },
    { op: 'put', kind: 'targets', entity: c1 },
  ]);
  const rt = new Runtime({ store, logger: silentLogger() });
  rt.start();
  const b1 = rt.snapshot.upstreams.get('rr')!.balancer;
  const t2 = entity('targets', { target: '127.0.0.1:82', upstream: { id: rr.id } }) as Target;
  const c2 = entity('targets', { target: '127.0.0.1:92', upstream: { id: ch.id } }) as Target;
  await store.apply([
    { op: 'put', kind: 'targets', entity: t2 },
    { op: 'put', kind: 'targets', entity: { ...t1, weight: 7 } },
    { op: 'put', kind: 'targets', entity: c2 },
  ]);
  await until(() => rt.snapshot.upstreams.get('rr')!.balancer !== b1 && rt.snapshot.upstreams.get('ch')!.balancer.targets.length === 2);
  const b2 = rt.snapshot.upstreams.get('rr')!.balancer;
  assert.notEqual(b2, b1);
  assert.equal(b2.derivation?.from, b1);
  assert.deepEqual(new Set(b2.derivation?.changed.map((t) => `${t.address} ${t.weight}`)), new Set(['127.0.0.1:82 100', '127.0.0.1:81 7']));
  assert.deepEqual(b2.derivation?.removed, []);
  assert.equal(rt.snapshot.upstreams.get('ch')!.balancer.derivation, undefined, 'consistent-hashing is rebuilt');
  assert.equal(rt.snapshot.upstreams.get('ch')!.balancer.targets.length, 2);
  await store.apply([{ op: 'delete', kind: 'targets', id: t1.id }]);
  await until(() => rt.snapshot.upstreams.get('rr')!.balancer !== b2);
  const b3 = rt.snapshot.upstreams.get('rr')!.balancer;
  assert.equal(b3.derivation?.from, b2);
  assert.deepEqual(b3.derivation?.removed, [t1.id]);
  assert.deepEqual(
    b3.targets.map((t) => t.id),
    [t2.id],
  );
  // the upstream itself changed: built from scratch
  await store.apply([
    { op: 'put', kind: 'upstreams', entity: { ...rr, slots: 100 } },
    { op: 'put', kind: 'targets', entity: { ...t2, weight: 3 } },
  ]);
  await until(() => rt.snapshot.upstreams.get('rr')!.balancer !== b3);
  const b4 = rt.snapshot.upstreams.get('rr')!.balancer;
  assert.notEqual(b4, b3);
  assert.equal(b4.derivation, undefined);
  assert.equal(b4.targets[0]!.weight, 3);
  rt.stop();
});

test('a route-only change recompiles the router but keeps the services map (so the proxy skips its O(targets) pool scan); a service change replaces it', async () => {
  const store = new MemoryStore();
  const svc = entity('services', { name: 's', host: '127.0.0.1', port: 9 }) as unknown as { id: string; host: string };
  await store.apply([{ op: 'put', kind: 'services', entity: svc as unknown as AnyEntity }]);
  const rt = new Runtime({ store, logger: silentLogger() });
  rt.start();
  const s1 = rt.snapshot;
  const r = parseEntity('routes', { paths: ['/a'], service: { id: svc.id } }, { mode: 'create', now: 1 });
  assert.ok(r.ok);
  await store.apply([{ op: 'put', kind: 'routes', entity: r.value as unknown as AnyEntity }]);
  await until(() => rt.snapshot.router !== s1.router, 'the router to be recompiled');
  assert.equal(rt.snapshot.router.size, 1);
  assert.equal(rt.snapshot.servicesById, s1.servicesById, 'route-only change keeps the services map');
  const s2 = rt.snapshot;
  await store.apply([{ op: 'put', kind: 'services', entity: { ...svc, host: '127.0.0.2' } as unknown as AnyEntity }]);
  await until(() => rt.snapshot.servicesById !== s2.servicesById, 'the services map to be replaced');
  assert.equal(rt.snapshot.servicesById.get(svc.id)!.host, '127.0.0.2');
  assert.equal(rt.snapshot.router.match({ method: 'GET', host: undefined, path: '/a', headers: {}, port: 80 })!.service!.host, '127.0.0.2');
  rt.stop();
});

test('the proxy keeps its connection pools without an O(targets) scan unless an address left: new targets, new upstreams and route writes keep them; a removed target or service address does not', async () => {
  const { noAddressLeft } = await import('../../../../gateway/src/proxy/server.js');
  const store = new MemoryStore();
  const a = entity('upstreams', { name: 'a' }) as Upstream;
  const svc = entity('services', { name: 's', host: 'a', port: 80 }) as unknown as { id: string };
  const t1 = entity('targets', { target: '127.0.0.1:81', upstream: { id: a.id } }) as Target;
  await store.apply([
    { op: 'put', kind: 'upstreams', entity: a },
    { op: 'put', kind: 'services', entity: svc as unknown as AnyEntity },
    { op: 'put', kind: 'targets', entity: t1 },
  ]);
  const rt = new Runtime({ store, logger: silentLogger() });
  rt.start();
  const step = async (ops: Parameters<MemoryStore['apply']>[0]) => {
    const before = rt.snapshot;
    await store.apply(ops);
    await until(() => rt.snapshot !== before, 'a snapshot swap');
    return noAddressLeft(before, rt.snapshot);
  };
  const t2 = entity('targets', { target: '127.0.0.1:82', upstream: { id: a.id } }) as Target;
  assert.equal(await step([{ op: 'put', kind: 'targets', entity: t2 }]), true, 'a target added');
  const b = entity('upstreams', { name: 'b' }) as Upstream;
  assert.equal(await step([{ op: 'put', kind: 'upstreams', entity: b }]), true, 'an upstream added');
  const r = parseEntity('routes', { paths: ['/a'], service: { id: svc.id } }, { mode: 'create', now: 1 });
  assert.ok(r.ok);
  assert.equal(await step([{ op: 'put', kind: 'routes', entity: r.value as unknown as AnyEntity }]), true, 'a route added');
  assert.equal(await step([{ op: 'delete', kind: 'targets', id: t1.id }]), false, 'a target removed');
  assert.equal(
    await step([{ op: 'put', kind: 'services', entity: { ...svc, host: 'b' } as unknown as AnyEntity }]),
    false,
    'a service address left',
  );
  rt.stop();
});

test('route writes are followed in an overlay, and compiled into one router once route writes have been quiet for a moment', async () => {
  const { isLayered } = await import('../../../../gateway/src/router/layered.js');
  const store = new MemoryStore();
  const svc = entity('services', { name: 's', host: '127.0.0.1', port: 9 }) as unknown as { id: string };
  await store.apply([{ op: 'put', kind: 'services', entity: svc as unknown as AnyEntity }]);
  const rt = new Runtime({ store, logger: silentLogger() });
  rt.start();
  const s1 = rt.snapshot;
  for (const p of ['/a', '/b', '/c']) {
    const r = parseEntity('routes', { paths: [p], service: { id: svc.id } }, { mode: 'create', now: 1 });
    assert.ok(r.ok);
    await store.apply([{ op: 'put', kind: 'routes', entity: r.value as unknown as AnyEntity }]);
  }
  await until(() => rt.snapshot.router !== s1.router && rt.snapshot.router.size === 3, 'the three routes');
  assert.ok(isLayered(rt.snapshot.router), 'followed in an overlay');
  await until(() => !isLayered(rt.snapshot.router), 'the compaction');
  assert.equal(rt.snapshot.router.size, 3);
  for (const p of ['/a', '/b', '/c'])
    assert.ok(rt.snapshot.router.match({ method: 'GET', host: undefined, path: p, headers: {}, port: 80 }), p);
  rt.stop();
});

test('hostname targets: one balancer entry per resolved address; a DNS change is derived in place (kept addresses stay); an unresolvable name has none', async () => {
  const { DnsCache, DnsError } = await import('../../../../gateway/src/dns/resolver.js');
  const store = new MemoryStore();
  const u = entity('upstreams', { name: 'users' }) as Upstream;
  const th = entity('targets', { target: 'users.prod.local:8080', weight: 20, upstream: { id: u.id } }) as Target;
  const tbad = entity('targets', { target: 'nope.prod.local:80', upstream: { id: u.id } }) as Target;
  const tip = entity('targets', { target: '127.0.0.9:80', upstream: { id: u.id } }) as Target;
  await store.apply([
    { op: 'put', kind: 'upstreams', entity: u },
    { op: 'put', kind: 'targets', entity: th },
    { op: 'put', kind: 'targets', entity: tbad },
    { op: 'put', kind: 'targets', entity: tip },
  ]);
  const zone = new Map<string, string[]>([['users.prod.local', ['127.0.0.2', '127.0.0.3']]]);
  const ref: { rt?: Runtime } = {};
  const dns = new DnsCache({
    query: async (name) => {
      const ips = zone.get(name);
      if (!ips) throw new DnsError('dns server error: 3 name error', true);
      return { type: 'A', ttl: 3600, addresses: ips.map((ip) => ({ ip })) };
    },
    onChange: (n) => ref.rt?.dnsChanged(n),
  });
  const rt = (ref.rt = new Runtime({ store, logger: silentLogger(), dns }));
  rt.start();
  const addrs = () =>
    rt.snapshot.upstreams
      .get('users')!
      .balancer.targets.map((t) => `${t.address}/${t.weight}/${t.name ?? '-'}`)
      .sort();
  await until(() => addrs().length === 3, 'the first answers');
  assert.deepEqual(addrs(), ['127.0.0.2:8080/20/users.prod.local', '127.0.0.3:8080/20/users.prod.local', '127.0.0.9:80/100/-']);
  assert.equal(rt.addressesOf(tip.id), undefined, 'an IP target is not resolved');
  assert.deepEqual(rt.addressesOf(tbad.id)?.entries, []);
  assert.deepEqual(
    rt.unresolvedTargets(u.id).map((t) => t.target),
    ['nope.prod.local:80'],
  );
  const before = rt.snapshot.upstreams.get('users')!.balancer;
  zone.set('users.prod.local', ['127.0.0.3', '127.0.0.4']);
  // re-resolution at the TTL, here forced by forgetting the cached answer
  dns.forget('users.prod.local');
  dns.lookup('users.prod.local');
  await until(() => addrs().includes('127.0.0.4:8080/20/users.prod.local'), 'the new address');
  const after = rt.snapshot.upstreams.get('users')!.balancer;
  assert.deepEqual(addrs(), ['127.0.0.3:8080/20/users.prod.local', '127.0.0.4:8080/20/users.prod.local', '127.0.0.9:80/100/-']);
  assert.equal(after.derivation?.from, before, 'derived in place, like a target change');
  assert.deepEqual(after.derivation?.removed, [`${th.id}@127.0.0.2:8080`]);
  // the target is deleted: its name is no longer re-resolved
  await store.apply([{ op: 'delete', kind: 'targets', id: th.id }]);
  await until(() => addrs().length === 1, 'the deletion');
  assert.equal(rt.addressesOf(th.id), undefined);
  rt.stop();
  dns.close();
});

test('flushed() resolves once every change given to the runtime is in its snapshot, also when a rebuild is held back to batch writes', async () => {
  const store = new MemoryStore();
  const svc = entity('services', { name: 's', host: '127.0.0.1', port: 9 }) as unknown as { id: string; host: string };
  const ops: WriteOp[] = [{ op: 'put', kind: 'services', entity: svc as unknown as AnyEntity }];
  for (let i = 0; i < 5000; i++) {
    const r = parseEntity('routes', { paths: [`/r${i}`], service: { id: svc.id } }, { mode: 'create', now: 1 });
    assert.ok(r.ok);
    ops.push({ op: 'put', kind: 'routes', entity: r.value as unknown as AnyEntity });
  }
  await store.apply(ops);
  const rt = new Runtime({ store, logger: silentLogger() });
  rt.start();
  await rt.flushed(); // nothing pending: at once
  // a service change compiles all 5,000 routes (well over 1 ms), so the next rebuild waits to batch
  await store.apply([{ op: 'put', kind: 'services', entity: { ...svc, host: '127.0.0.2' } as unknown as AnyEntity }]);
  await rt.flushed(10_000);
  const r = parseEntity('routes', { paths: ['/late'], service: { id: svc.id } }, { mode: 'create', now: 1 });
  assert.ok(r.ok);
  await store.apply([{ op: 'put', kind: 'routes', entity: r.value as unknown as AnyEntity }]);
  await rt.flushed(10_000);
  assert.ok(rt.snapshot.router.match({ method: 'GET', host: undefined, path: '/late', headers: {}, port: 80 }), 'the route is routable');
  rt.stop();
});
