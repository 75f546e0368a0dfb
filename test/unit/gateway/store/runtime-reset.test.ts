/** The runtime follows a store reset (a resync it cannot be given change by change) with a full rebuild. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEntity } from '../../../../gateway/src/entities/index.js';
import type { AnyEntity, Route, Service, Target, Upstream } from '../../../../gateway/src/entities/types.js';
import { silentLogger } from '../../../../gateway/src/observability/log.js';
import { Runtime } from '../../../../gateway/src/runtime/runtime.js';
import { MemoryStore } from '../../../../gateway/src/store/memory.js';

const entity = (kind: 'upstreams' | 'targets' | 'services' | 'routes', input: Record<string, unknown>): AnyEntity => {
  const r = parseEntity(kind, input, { mode: 'create', now: 1 });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  return r.value as unknown as AnyEntity;
};
const tick = () => new Promise((r) => setImmediate(r));

test('store.load() (a resync) reaches the runtime as a reset and rebuilds router and balancers', async () => {
  const store = new MemoryStore();
  const a = entity('upstreams', { name: 'a' }) as Upstream;
  const ta = { ...(entity('targets', { target: '127.0.0.1:80', upstream: { id: a.id } }) as Target), upstream: { id: a.id } };
  const s = entity('services', { name: 's', host: 'a' }) as Service;
  const r = entity('routes', { name: 'r', paths: ['/r'], service: { id: s.id } }) as Route;
  await store.apply([
    { op: 'put', kind: 'upstreams', entity: a },
    { op: 'put', kind: 'targets', entity: ta },
    { op: 'put', kind: 'services', entity: s },
    { op: 'put', kind: 'routes', entity: r },
  ]);
  const rt = new Runtime({ store, logger: silentLogger() });
  rt.start();
  const before = rt.snapshot;
  assert.ok(before.upstreams.has('a'));
  const resets: number[] = [];
  store.subscribe(() => assert.fail('this subscriber asked for resets'), { onReset: (x) => resets.push(x.revision) });
  const diff: string[] = [];
  store.subscribe((ev) => diff.push(...ev.map((e) => `${e.op}:${e.kind}`)));
  // the new truth: upstream b with a target instead of a, no routes
  const b = entity('upstreams', { name: 'b' }) as Upstream;
  const tb = { ...(entity('targets', { target: '127.0.0.2:80', upstream: { id: b.id } }) as Target), upstream: { id: b.id } };
  await store.load({ services: [s], routes: [], upstreams: [b], targets: [tb] });
  await tick();
  assert.deepEqual(resets, [store.revision]);
  assert.deepEqual(
    diff.sort(),
    ['create:targets', 'create:upstreams', 'delete:routes', 'delete:targets', 'delete:upstreams'].sort(),
    'subscribers without onReset get the difference',
  );
  const after = rt.snapshot;
  assert.deepEqual([...after.upstreams.keys()], ['b']);
  assert.deepEqual(
    after.upstreams.get('b')!.balancer.targets.map((t) => t.id),
    [tb.id],
  );
  assert.notEqual(after.router, before.router);
  rt.stop();
});
