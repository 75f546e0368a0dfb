import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEntity } from '../../../../gateway/src/entities/index.js';
import type { Target, Upstream } from '../../../../gateway/src/entities/types.js';
import type { PickContext } from '../../../../gateway/src/balancer/balancer.js';
import { buildWheel } from '../../../../gateway/src/balancer/algorithms/round-robin.js';
import { createBalancer } from '../../../../gateway/src/balancer/registry.js';

const upstream = (algorithm = 'round-robin'): Upstream => {
  const r = parseEntity('upstreams', { name: 'up', algorithm }, { mode: 'create', now: 1 });
  assert.ok(r.ok);
  return r.value as unknown as Upstream;
};
const targets = (...weights: number[]): Target[] =>
  weights.map((weight, i) => {
    const r = parseEntity('targets', { target: `10.0.0.${i + 1}:80`, weight, upstream: { id: '6f0b6a2e-3c47-4b8e-9d0a-1b2c3d4e5f60' } }, { mode: 'create', now: 1 });
    assert.ok(r.ok);
    return r.value as unknown as Target;
  });
const ctx = (tried: string[] = []): PickContext => ({ clientIp: '127.0.0.1', headers: {}, path: '/', query: '', tried: new Set(tried) });
const counts = (picks: (string | undefined)[]) => picks.reduce<Record<string, number>>((m, a) => ((m[a ?? 'none'] = (m[a ?? 'none'] ?? 0) + 1), m), {});

test('round-robin alternates exactly over equal weights', () => {
  const b = createBalancer(upstream(), targets(100, 100, 100));
  const picks = Array.from({ length: 9 }, () => b.pick(ctx())?.target.address);
  assert.deepEqual(picks.slice(3, 6), picks.slice(0, 3));
  assert.equal(new Set(picks.slice(0, 3)).size, 3);
});

test('round-robin honours weights 1:3 within 10% over 400 picks', () => {
  const b = createBalancer(upstream(), targets(1, 3));
  const c = counts(Array.from({ length: 400 }, () => b.pick(ctx())?.target.address));
  assert.ok(Math.abs(c['10.0.0.1:80']! - 100) <= 10, JSON.stringify(c));
  assert.ok(Math.abs(c['10.0.0.2:80']! - 300) <= 30, JSON.stringify(c));
});

test('weight 0 is never picked; all weight 0 means no peer', () => {
  const b = createBalancer(upstream(), targets(0, 10));
  for (let i = 0; i < 20; i++) assert.equal(b.pick(ctx())?.target.address, '10.0.0.2:80');
  assert.equal(createBalancer(upstream(), targets(0, 0)).pick(ctx()), undefined);
  assert.equal(createBalancer(upstream(), targets(0, 0)).availableCount(), 0);
});

test('unavailable targets are skipped until available again; tried targets are skipped', () => {
  const ts = targets(100, 100);
  const b = createBalancer(upstream(), ts);
  b.setAvailability(ts[0]!.id, false);
  for (let i = 0; i < 10; i++) assert.equal(b.pick(ctx())?.target.id, ts[1]!.id);
  assert.equal(b.pick(ctx([ts[1]!.id])), undefined);
  b.setAvailability(ts[0]!.id, true);
  assert.equal(b.pick(ctx([ts[1]!.id]))?.target.id, ts[0]!.id);
});

test('the wheel stays bounded for extreme weights and keeps proportions', () => {
  const wheel = buildWheel([65535, 1]);
  assert.ok(wheel.length <= 10_001);
  assert.ok(wheel.includes(1));
  assert.deepEqual(buildWheel([2, 4]), [1, 0, 1]);
});

test('least-connections prefers the target with fewer requests in flight', () => {
  const ts = targets(100, 100);
  const b = createBalancer(upstream('least-connections'), ts);
  b.onRequestStart(ts[0]!.id);
  b.onRequestStart(ts[0]!.id);
  for (let i = 0; i < 5; i++) assert.equal(b.pick(ctx())?.target.id, ts[1]!.id);
  b.onRequestEnd(ts[0]!.id, 1, true);
  b.onRequestEnd(ts[0]!.id, 1, true);
  const c = counts(Array.from({ length: 10 }, () => b.pick(ctx())?.target.id));
  assert.equal(Object.keys(c).length, 2, 'idle targets share ties');
});
