import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TargetSet, toBalancerTarget } from '../../../../gateway/src/balancer/target-set.js';
import { createBalancer } from '../../../../gateway/src/balancer/registry.js';
import { LocalStatus } from '../../../../gateway/src/balancer/local-status.js';
import { ctx, equal, picks, rebind, status, upstream } from './fixtures.js';

const parsed: { target: string; host: string; port: number }[] = [
  { target: '127.0.0.1:80', host: '127.0.0.1', port: 80 },
  { target: 'api.internal:8443', host: 'api.internal', port: 8443 },
  { target: 'api.internal', host: 'api.internal', port: 8000 },
  { target: '[::1]:9000', host: '::1', port: 9000 },
  { target: '[fe80::1]', host: 'fe80::1', port: 8000 },
  { target: 'fe80::1', host: 'fe80::1', port: 8000 },
];
for (const p of parsed) {
  test(`target ${p.target} is host ${p.host} port ${p.port}`, () => {
    const t = toBalancerTarget({ id: 'x', target: p.target, weight: 1 });
    assert.deepEqual(t, { id: 'x', address: p.target, host: p.host, port: p.port, weight: 1 });
  });
}

for (const bad of ['127.0.0.1:', '127.0.0.1:99999', '127.0.0.1:0', ':80', '[::1', '[]:80', '[::1]x', 'a:b']) {
  test(`target ${JSON.stringify(bad)} is a clear error`, () => {
    assert.throws(() => toBalancerTarget({ id: 'x', target: bad, weight: 1 }), {
      name: 'RangeError',
      message: `invalid target address '${bad}'`,
    });
  });
}

test('a negative or fractional weight is a clear error', () => {
  assert.throws(() => toBalancerTarget({ id: 'x', target: 'a:1', weight: -1 }), /invalid weight -1 for target 'a:1'/);
  assert.throws(() => toBalancerTarget({ id: 'x', target: 'a:1', weight: 1.5 }), /invalid weight 1.5/);
});

test('availableCount counts available targets with weight > 0, once per flip', () => {
  const s = new TargetSet([
    { id: 'a', target: 'a:1', weight: 1 },
    { id: 'b', target: 'b:1', weight: 0 },
    { id: 'c', target: 'c:1', weight: 5 },
  ]);
  // the set reads each target's record; before health binds its own, a LocalStatus
  const rec = (i: number) => s.status[i] as LocalStatus;
  assert.equal(s.availableCount(), 2);
  rec(0).set(false);
  rec(0).set(false);
  rec(1).set(false);
  assert.equal(s.availableCount(), 1);
  rec(1).set(true);
  rec(0).set(true, 0.5);
  assert.equal(s.availableCount(), 2);
  assert.equal(s.effectiveWeight(0), 0.5);
  assert.equal(s.usable(0, ctx({ tried: new Set(['a']) })), false);
});

test('an unknown algorithm is a clear error', () => {
  const u = { ...upstream(), algorithm: 'random' } as unknown as Parameters<typeof createBalancer>[0];
  assert.throws(() => createBalancer(u, []), /unknown balancer algorithm 'random'/);
});

for (const algorithm of ['round-robin', 'least-connections', 'consistent-hashing', 'latency']) {
  test(`${algorithm}: a rebuilt balancer keeps the health state of targets still present`, () => {
    const ts = equal(3);
    const before = createBalancer(upstream({ algorithm }), ts.slice(0, 2), { seed: 0 });
    status(before).set(ts[0]!.id, false);
    status(before).set(ts[1]!.id, true, 0.5);
    // the state is in the records (health's), which a rebuilt balancer is bound to
    const after = createBalancer(upstream({ algorithm }), ts, { previous: before, seed: 0 });
    rebind(before, after);
    assert.equal(after.availableCount(), 2);
    assert.ok(!picks(after, ts, 20).includes(0));
    assert.equal(after.algorithm, algorithm);
    assert.equal(after.targets.length, 3);
  });
}
