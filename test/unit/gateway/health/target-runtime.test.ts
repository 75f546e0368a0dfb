/**
 * One record per target (health/target-runtime.ts): the in-flight count is
 * kept once, survives a balancer rebuild, and is what least-connections
 * reads; the stall guard sees tries waiting here and in other processes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createBalancer } from '../../../../gateway/src/balancer/registry.js';
import { UpstreamHealth } from '../../../../gateway/src/health/upstream-health.js';
import { WaitQueue } from '../../../../gateway/src/health/target-runtime.js';
import { ctx, equal, upstream } from '../balancer/fixtures.js';

function setup() {
  let now = 1_000;
  const u = upstream({ algorithm: 'least-connections', healthchecks: { passive: { unhealthy: { tcp_failures: 2 } } } });
  const targets = equal(2);
  const h = new UpstreamHealth(
    u,
    () => now,
    () => undefined,
  );
  const b = createBalancer(u, targets);
  h.sync(b.targets, true);
  h.attach(b);
  return { h, u, targets, b, ids: targets.map((t) => t.id), tick: (ms: number) => (now += ms) };
}

test('a try is counted once in its target record, and least-connections reads that count', () => {
  const { h, b, ids } = setup();
  const toks = [h.tryStarted(ids[0]!), h.tryStarted(ids[0]!)];
  assert.equal(h.targets.get(ids[0]!)!.inFlight, 2);
  assert.equal(b.pick(ctx())!.target.id, ids[1], 'the idle target wins');
  for (const t of toks) h.tryEnded(ids[0]!, t, 5, true);
  assert.equal(h.targets.get(ids[0]!)!.inFlight, 0);
  h.tryEnded(ids[0]!, 999, 5, true);
  assert.equal(h.targets.get(ids[0]!)!.inFlight, 0, 'never below 0');
});

test('a rebuilt balancer bound to the records sees the in-flight counts and availability of targets still present', () => {
  const { h, u, targets, ids } = setup();
  h.tryStarted(ids[0]!);
  h.tryStarted(ids[0]!);
  h.outcome(ids[1]!, 'tcp_failure');
  h.outcome(ids[1]!, 'tcp_failure');
  assert.equal(h.targets.get(ids[1]!)!.available, false);
  const extra = equal(3)[2]!;
  const b2 = createBalancer(u, [...targets, { ...extra, target: '127.9.9.9:80' }]);
  h.sync(b2.targets, true);
  h.attach(b2);
  assert.equal(b2.availableCount(), 2, 'the ejected target stays out after the rebuild');
  const picked = new Set(Array.from({ length: 6 }, () => b2.pick(ctx())!.target.id));
  assert.deepEqual([...picked], [extra.id], 'the busy target (2 in flight) loses to the new idle one');
});

test('the stall guard reads the oldest try waiting for headers, here or reported by another process; an answer stops the wait', () => {
  const { h, ids, tick } = setup();
  const r = h.targets.get(ids[0]!)!;
  const tok = h.tryStarted(ids[0]!);
  assert.equal(r.oldestWaiting(), 1_000);
  tick(50);
  h.outcome(ids[0]!, 'success', 200, 50, tok);
  assert.equal(r.oldestWaiting(), undefined, 'answered: no longer waiting');
  assert.equal(r.inFlight, 1, 'but still in flight until the body is relayed');
  r.remoteOldest = 900;
  assert.equal(r.oldestWaiting(), 900);
  const ws = h.tryStarted(ids[0]!, true);
  assert.equal(r.inFlight, 2);
  assert.equal(r.oldestLocal(), 0, 'a long-lived try (WebSocket) is not watched');
  h.tryEnded(ids[0]!, ws, 0, true);
});

test('WaitQueue: the oldest waiting start is always what an insertion-ordered Map says, whatever order tries end in', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(40)), { maxLength: 300 }), (ops) => {
      const q = new WaitQueue();
      const model = new Map<number, number>();
      let token = 0;
      let now = 0;
      for (const [start, pick] of ops) {
        if (start || model.size === 0) {
          token++;
          now += 1 + (pick % 3);
          q.push(token, now);
          model.set(token, now);
        } else {
          // end the pick-th waiting try (mostly near the front), or one that is not waiting
          const waiting = [...model.keys()];
          const t = pick % 7 === 6 ? token + 1000 : waiting[pick % waiting.length]!;
          q.remove(t);
          model.delete(t);
        }
        assert.equal(q.size, model.size);
        assert.equal(q.oldest(), model.values().next().value);
      }
    }),
    { numRuns: 300 },
  );
});
