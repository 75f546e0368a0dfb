import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBalancer } from '../../../../gateway/src/balancer/registry.js';
import type { Balancer } from '../../../../gateway/src/balancer/balancer.js';
import type { Target } from '../../../../gateway/src/entities/types.js';
import { balancerHealthy } from '../../../../gateway/src/health/threshold.js';
import { UpstreamHealth, type HealthEvent } from '../../../../gateway/src/health/upstream-health.js';
import { ctx, equal, upstream } from '../balancer/fixtures.js';

const PASSIVE = { passive: { unhealthy: { tcp_failures: 2, timeouts: 2, http_failures: 2 } } };
const ACTIVE = {
  active: { healthy: { interval: 1, successes: 2 }, unhealthy: { interval: 1, tcp_failures: 2, http_failures: 2, timeouts: 2 } },
};

function setup(fields: Record<string, unknown>, n = 3, initial = true) {
  let t = 1_000_000;
  const clock = { now: () => t, advance: (ms: number) => (t += ms) };
  const events: HealthEvent[] = [];
  const u = upstream(fields);
  const targets: Target[] = equal(n);
  const balancer: Balancer = createBalancer(u, targets);
  const h = new UpstreamHealth(u, clock.now, (e) => events.push(e));
  h.sync(balancer.targets, initial);
  h.attach(balancer);
  const ids = targets.map((x) => x.id);
  const picks = (k = 30) => {
    const seen = new Set<string>();
    for (let i = 0; i < k; i++) {
      const r = balancer.pick(ctx());
      if (r) seen.add(r.target.id);
    }
    return seen;
  };
  return { h, clock, events, balancer, ids, picks, targets };
}

const states = (events: HealthEvent[]) =>
  events.filter((e) => e.kind === 'state').map((e) => (e.kind === 'state' ? `${e.from}→${e.to}` : ''));

test('passive failures reaching the threshold eject the target; the balancer stops picking it', () => {
  const { h, events, ids, picks } = setup({ healthchecks: PASSIVE });
  h.outcome(ids[0]!, 'tcp_failure');
  assert.equal(h.targets.get(ids[0]!)!.state(), 'healthy', 'one failure is below the threshold');
  h.outcome(ids[0]!, 'tcp_failure');
  assert.equal(h.targets.get(ids[0]!)!.state(), 'ejected');
  assert.deepEqual(states(events), ['healthy→ejected']);
  assert.ok(events.some((e) => e.kind === 'breaker' && e.from === 'closed' && e.to === 'open'));
  assert.equal(picks().has(ids[0]!), false);
  assert.equal(picks().size, 2);
});

test('a success resets the failure counters; statuses are classified by the passive lists', () => {
  const { h, ids } = setup({ healthchecks: PASSIVE });
  h.outcome(ids[0]!, 'timeout');
  h.outcome(ids[0]!, 'success', 200);
  h.outcome(ids[0]!, 'timeout');
  assert.equal(h.targets.get(ids[0]!)!.state(), 'healthy');
  h.outcome(ids[1]!, 'success', 500);
  h.outcome(ids[1]!, 'success', 404); // in neither list: ignored, does not reset
  h.outcome(ids[1]!, 'success', 503);
  assert.equal(h.targets.get(ids[1]!)!.state(), 'ejected', '500 then 503 are two http failures');
});

test('passive only: after the cool-down the target goes half-open, one trial decides, failures double the cool-down', () => {
  const { h, clock, ids, picks, events } = setup({ healthchecks: PASSIVE, gw: { breaker_cooldown: 10 } });
  const id = ids[0]!;
  h.outcome(id, 'tcp_failure');
  h.outcome(id, 'tcp_failure');
  const t = h.targets.get(id)!;
  const st = (): string => t.breaker.state.state;
  clock.advance(9_999);
  h.tick();
  assert.equal(st(), 'open');
  clock.advance(1);
  h.tick();
  assert.equal(st(), 'half-open');
  assert.ok(picks(60).has(id), 'half-open admits a trial');
  const token = h.tryStarted(id);
  assert.equal(picks(60).has(id), false, 'no second request while the trial is in flight');
  h.outcome(id, 'tcp_failure', undefined, undefined, token);
  assert.equal(st(), 'open');
  assert.equal(t.breaker.until! - clock.now(), 20_000, 'second ejection: 20 s');
  clock.advance(20_000);
  h.tick();
  const token2 = h.tryStarted(id);
  h.outcome(id, 'success', 200, 5, token2);
  h.tryEnded(id, token2);
  assert.equal(t.state(), 'healthy');
  assert.ok(picks(60).has(id));
  const breakerFlips = events.filter((e) => e.kind === 'breaker').map((e) => (e.kind === 'breaker' ? e.to : ''));
  assert.deepEqual(breakerFlips, ['open', 'half-open', 'open', 'half-open', 'closed']);
});

test('max_ejection_percent caps passive ejection (at least one may always go)', () => {
  const { h, ids, events } = setup({ healthchecks: PASSIVE, gw: { max_ejection_percent: 50 } }, 4);
  for (const id of ids.slice(0, 3)) {
    h.outcome(id, 'http_failure');
    h.outcome(id, 'http_failure');
  }
  const ejected = ids.filter((id) => h.targets.get(id)!.state() === 'ejected');
  assert.equal(ejected.length, 2);
  assert.equal(events.filter((e) => e.kind === 'ejection-capped').length, 1);
  const single = setup({ healthchecks: PASSIVE, gw: { max_ejection_percent: 0 } }, 1);
  single.h.outcome(single.ids[0]!, 'timeout');
  single.h.outcome(single.ids[0]!, 'timeout');
  assert.equal(single.h.targets.get(single.ids[0]!)!.state(), 'ejected');
});

test('all targets unhealthy: fail-closed picks nothing, fail-open routes to all; both are reported', () => {
  for (const policy of ['fail-closed', 'fail-open'] as const) {
    const { h, ids, picks, events } = setup({ healthchecks: PASSIVE, gw: { all_unhealthy: policy, max_ejection_percent: 100 } }, 2);
    for (const id of ids) {
      h.outcome(id, 'tcp_failure');
      h.outcome(id, 'tcp_failure');
    }
    assert.equal(h.allUnhealthy, true);
    assert.equal(picks().size, policy === 'fail-open' ? 2 : 0, policy);
    assert.deepEqual(
      events.filter((e) => e.kind === 'all-unhealthy').map((e) => (e.kind === 'all-unhealthy' ? [e.on, e.policy] : [])),
      [[true, policy]],
    );
  }
});

test('warming: a target added at run time gets no traffic before its first good probe', () => {
  const { h, balancer, ids, targets } = setup({ healthchecks: ACTIVE }, 2);
  const added = equal(3)
    .slice(2)
    .map((t) => ({ ...t, target: '127.9.9.9:80' }));
  const b2 = createBalancer(upstream({ healthchecks: ACTIVE }), [...targets, ...added], { previous: balancer });
  h.sync(b2.targets, false);
  h.attach(b2);
  const newId = b2.targets[2]!.id;
  assert.equal(h.targets.get(newId)!.state(), 'warming');
  assert.equal(h.targets.get(ids[0]!)!.state(), 'healthy', 'targets present at start are not re-warmed');
  const seen = () => new Set(Array.from({ length: 30 }, () => b2.pick(ctx())?.target.id));
  assert.equal(seen().has(newId), false);
  h.probed(newId, 'tcp_failure');
  assert.equal(h.targets.get(newId)!.state(), 'warming');
  h.probed(newId, 'success');
  assert.equal(h.targets.get(newId)!.state(), 'healthy');
  assert.ok(seen().has(newId));
});

test('active checks: failures mark the target unhealthy, successes revive it and close an open breaker', () => {
  const { h, ids, events } = setup({ healthchecks: { ...ACTIVE, ...PASSIVE } });
  const id = ids[0]!;
  h.probed(id, 'http_failure');
  h.probed(id, 'http_failure');
  assert.equal(h.targets.get(id)!.state(), 'unhealthy');
  h.probed(id, 'success');
  assert.equal(h.targets.get(id)!.state(), 'unhealthy', 'successes threshold is 2');
  h.probed(id, 'success');
  assert.equal(h.targets.get(id)!.state(), 'healthy');
  h.outcome(id, 'tcp_failure');
  h.outcome(id, 'tcp_failure');
  assert.equal(h.targets.get(id)!.state(), 'ejected');
  h.probed(id, 'success');
  h.probed(id, 'success');
  assert.equal(h.targets.get(id)!.state(), 'healthy', 'active checks close the breaker');
  assert.deepEqual(states(events), ['healthy→unhealthy', 'unhealthy→healthy', 'healthy→ejected', 'ejected→healthy']);
});

test('manual unhealthy holds a target out until manual healthy, which also clears an open breaker', () => {
  const { h, ids, picks } = setup({ healthchecks: PASSIVE });
  assert.equal(h.manual(ids[0]!, false), true);
  assert.equal(h.targets.get(ids[0]!)!.state(), 'unhealthy');
  assert.equal(picks().has(ids[0]!), false);
  h.outcome(ids[1]!, 'tcp_failure');
  h.outcome(ids[1]!, 'tcp_failure');
  h.manual(ids[0]!, true);
  h.manual(ids[1]!, true);
  assert.equal(picks().size, 3);
  assert.equal(h.manual('nope', true), false);
});

test('slow start ramps the factor linearly after a recovery', () => {
  let t = 0;
  const u = upstream({ healthchecks: PASSIVE, gw: { slow_start: 10, breaker_cooldown: 1 } });
  const targets = equal(2);
  const h = new UpstreamHealth(
    u,
    () => t,
    () => undefined,
  );
  const balancer = createBalancer(u, targets);
  h.sync(balancer.targets, true);
  h.attach(balancer);
  const id = targets[0]!.id;
  h.outcome(id, 'tcp_failure');
  h.outcome(id, 'tcp_failure');
  t += 1_000;
  h.tick();
  const tok = h.tryStarted(id);
  h.outcome(id, 'success', 200, 1, tok);
  const factors: number[] = [];
  for (let s = 0; s <= 12; s += 3) {
    h.tick();
    // what the balancer reads: the target's record
    factors.push(+h.targets.get(id)!.factor.toFixed(2));
    t += 3_000;
  }
  assert.deepEqual(factors.slice(0, 4), [0, 0.3, 0.6, 0.9]);
  assert.ok(Number.isNaN(factors[4]!) || factors[4] === 1, 'the ramp ends at 1');
  assert.equal(h.targets.get(id)!.rampStart, null);
});

test('stall guard: a target whose oldest request waits 2 deadlines while others answer gets no new requests until it answers', () => {
  const { h, clock, ids, picks } = setup({ healthchecks: PASSIVE, gw: { hedge_min_delay: 100 } });
  for (let i = 0; i < 25; i++) h.outcome(ids[1]!, 'success', 200, 10);
  assert.equal(h.hedgeDelay(60_000), 100, 'floor');
  assert.equal(h.hedgeDelay(50), 50, 'never above the read timeout');
  const tok = h.tryStarted(ids[0]!);
  clock.advance(150);
  h.outcome(ids[1]!, 'success', 200, 10);
  h.tick();
  assert.equal(h.targets.get(ids[0]!)!.stalled, false, '150 ms < 2 × 100 ms');
  clock.advance(100);
  h.tick();
  assert.equal(h.targets.get(ids[0]!)!.stalled, true);
  assert.equal(picks().has(ids[0]!), false);
  h.outcome(ids[0]!, 'success', 200, 250, tok);
  assert.equal(h.targets.get(ids[0]!)!.stalled, false);
  assert.ok(picks().has(ids[0]!));
});

test('stall guard and ejections share max_ejection_percent: they never hold out more than that share together', () => {
  // three targets, default 50 %: one may be held out, a second would be 67 %
  const { h, clock, ids, picks, events } = setup({ healthchecks: PASSIVE, gw: { hedge_min_delay: 100 } });
  for (let i = 0; i < 25; i++) h.outcome(ids[2]!, 'success', 200, 10);
  const [a, b] = [h.tryStarted(ids[0]!), h.tryStarted(ids[1]!)];
  clock.advance(250);
  h.outcome(ids[2]!, 'success', 200, 10);
  h.tick();
  h.tick();
  const stalled = ids.filter((id) => h.targets.get(id)!.stalled);
  assert.equal(stalled.length, 1, 'one of the two waiting targets is held out, not both');
  const capped = events.filter((e) => e.kind === 'ejection-capped');
  assert.equal(capped.length, 1, 'the skipped one is told once, not on every tick');
  assert.match(
    capped[0]!.kind === 'ejection-capped' ? capped[0]!.reason : '',
    /^stall guard: oldest in-flight request waiting 250 ms .*max_ejection_percent 50 reached$/,
  );
  assert.equal(picks().size, 2);
  // a passive ejection of the third now would empty two thirds of the pool too
  h.outcome(ids[2]!, 'http_failure');
  h.outcome(ids[2]!, 'http_failure');
  assert.equal(h.targets.get(ids[2]!)!.state(), 'healthy');
  assert.equal(events.filter((e) => e.kind === 'ejection-capped').length, 2);
  // the stalled one answers: it is back, and the other may now be held out
  const [first] = stalled;
  h.outcome(first!, 'success', 200, 260, first === ids[0] ? a : b);
  const other = first === ids[0] ? ids[1]! : ids[0]!;
  // (that 260 ms answer raised the adaptive deadline: the other waits past it)
  clock.advance(1_000);
  h.outcome(ids[2]!, 'success', 200, 10);
  h.tick();
  assert.equal(h.targets.get(first!)!.stalled, false);
  assert.equal(h.targets.get(other)!.stalled, true);
});

test('the held-out share follows weight changes: max_ejection_percent is of the targets that have weight now', () => {
  const { h, ids, balancer, events } = setup({ healthchecks: PASSIVE, gw: { max_ejection_percent: 34 } }, 6);
  const weights = (drained: number) =>
    h.sync(
      balancer.targets.map((r, i) => (i >= 6 - drained ? { ...r, weight: 0 } : r)),
      false,
    );
  weights(3); // three drained: three with weight
  for (const id of ids.slice(0, 2)) {
    h.outcome(id, 'tcp_failure');
    h.outcome(id, 'tcp_failure');
  }
  assert.equal(h.targets.get(ids[0]!)!.state(), 'ejected', 'one of three');
  assert.equal(h.targets.get(ids[1]!)!.state(), 'healthy', 'two of three is over 34 %');
  assert.equal(events.filter((e) => e.kind === 'ejection-capped').length, 1);
  weights(0); // back to six with weight: two of six is under 34 %
  h.outcome(ids[1]!, 'tcp_failure');
  h.outcome(ids[1]!, 'tcp_failure');
  assert.equal(h.targets.get(ids[1]!)!.state(), 'ejected');
});

test('stall guard: time the process itself lost (a paused event loop) is not held against a target', () => {
  const { h, clock, ids } = setup({ healthchecks: PASSIVE, gw: { hedge_min_delay: 100 } });
  for (let i = 0; i < 25; i++) h.outcome(ids[1]!, 'success', 200, 10);
  const started = clock.now();
  h.tryStarted(ids[0]!);
  clock.advance(5);
  h.outcome(ids[1]!, 'success', 200, 10);
  // the process stops for 300 ms right after: the try waited 305 ms, 300 of them on us
  clock.advance(300);
  h.tick((t0) => (t0 === started ? 300 : 0));
  assert.equal(h.targets.get(ids[0]!)!.stalled, false, '5 ms of its own');
  clock.advance(200);
  h.tick((t0) => (t0 === started ? 300 : 0));
  assert.equal(h.targets.get(ids[0]!)!.stalled, true, '205 ms of its own > 2 × 100 ms');
});

test('no hedging before enough samples, or when the upstream turns it off', () => {
  const { h, ids } = setup({});
  for (let i = 0; i < 5; i++) h.outcome(ids[0]!, 'success', 200, 10);
  assert.equal(h.hedgeDelay(60_000), undefined);
  const off = setup({ gw: { hedging: false } });
  for (let i = 0; i < 30; i++) off.h.outcome(off.ids[0]!, 'success', 200, 10);
  assert.equal(off.h.hedgeDelay(60_000), undefined);
});

test('stall guard without any health check: a lost hedge race holds the target out for a cool-down, then it gets traffic again', () => {
  const { h, clock, ids, picks } = setup({ gw: { breaker_cooldown: 5 } });
  h.outcome(ids[0]!, 'timeout', undefined, 120);
  assert.equal(h.targets.get(ids[0]!)!.stalled, true);
  assert.equal(h.targets.get(ids[0]!)!.state(), 'unhealthy');
  assert.equal(picks().has(ids[0]!), false);
  clock.advance(4_999);
  h.tick();
  assert.equal(h.targets.get(ids[0]!)!.stalled, true);
  clock.advance(1);
  h.tick();
  assert.equal(h.targets.get(ids[0]!)!.stalled, false);
  assert.ok(picks().has(ids[0]!));
  const off = setup({ gw: { stall_guard: false } });
  off.h.outcome(off.ids[0]!, 'timeout', undefined, 120);
  assert.equal(off.h.targets.get(off.ids[0]!)!.stalled, false);
});

test('healthchecks.threshold: below that share of the weight available, the whole upstream is unhealthy', () => {
  const { h, ids, picks } = setup({ healthchecks: { ...PASSIVE, threshold: 60 }, gw: { max_ejection_percent: 100 } }, 4);
  h.outcome(ids[0]!, 'tcp_failure');
  h.outcome(ids[0]!, 'tcp_failure');
  assert.equal(h.allUnhealthy, false, '75 % available');
  assert.equal(picks().size, 3);
  h.outcome(ids[1]!, 'tcp_failure');
  h.outcome(ids[1]!, 'tcp_failure');
  assert.equal(h.allUnhealthy, true, '50 % < 60 %');
  assert.equal(picks().size, 0, 'fail-closed: nothing is picked');
});

test('healthchecks.threshold: exactly that share available is unhealthy too (Kong: healthy only above it)', () => {
  const { h, ids, picks } = setup({ healthchecks: { ...PASSIVE, threshold: 50 }, gw: { max_ejection_percent: 100 } }, 4);
  h.outcome(ids[0]!, 'tcp_failure');
  h.outcome(ids[0]!, 'tcp_failure');
  assert.equal(h.allUnhealthy, false, '75 % > 50 %');
  h.outcome(ids[1]!, 'tcp_failure');
  h.outcome(ids[1]!, 'tcp_failure');
  assert.equal(h.allUnhealthy, true, '50 % is not above 50 %');
  assert.equal(picks().size, 0);
  assert.equal(balancerHealthy(200, 100, 50), false);
  assert.equal(balancerHealthy(200, 101, 50), true);
  assert.equal(balancerHealthy(0, 0, 0), false);
  assert.equal(balancerHealthy(10, 10, 100), false, 'Kong: threshold 100 is never healthy');
});

test('a balancer derived in place is attached in O(changed) with what a full applyAll would publish (fast-check)', async () => {
  const fc = (await import('fast-check')).default;
  const { updateBalancer } = await import('../../../../gateway/src/balancer/registry.js');
  const { targets: make } = await import('../balancer/fixtures.js');
  const pool = make(...Array.from({ length: 12 }, () => 1)); // addresses and ids to draw from
  const op = fc.oneof(
    fc.record({ op: fc.constant('put' as const), k: fc.nat(11), weight: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ op: fc.constant('remove' as const), k: fc.nat(11) }),
    fc.record({ op: fc.constant('manual' as const), k: fc.nat(11), healthy: fc.boolean() }),
  );
  fc.assert(
    fc.property(fc.constantFrom(0, 34, 50, 75, 100), fc.array(op, { maxLength: 30 }), (threshold, ops) => {
      const u = upstream({ healthchecks: { threshold } });
      const h = new UpstreamHealth(
        u,
        () => 0,
        () => {},
      );
      let b: Balancer = createBalancer(u, [pool[0]!]);
      h.sync(b.targets, true);
      h.attach(b);
      const present = new Set([pool[0]!.id]);
      for (const o of ops) {
        const t = pool[o.k]!;
        if (o.op === 'manual') {
          h.manual(t.id, o.healthy);
          continue;
        }
        const d =
          o.op === 'put'
            ? updateBalancer(b, u, [{ ...t, weight: o.weight }], [])
            : updateBalancer(b, u, [], present.has(t.id) ? [t.id] : []);
        assert.ok(d?.derivation);
        if (o.op === 'put') present.add(t.id);
        else present.delete(t.id);
        h.syncChanges(d.derivation.changed, d.derivation.removed, false);
        h.attach(d, d.derivation.changed);
        b = d;
        // what the derived attach left must be what a full recount publishes
        const seen = new Map([...h.targets].map(([id, r]) => [id, `${r.available} ${r.factor}`]));
        const all = h.allUnhealthy;
        h.applyAll();
        assert.equal(h.allUnhealthy, all, 'all-unhealthy');
        assert.deepEqual(new Map([...h.targets].map(([id, r]) => [id, `${r.available} ${r.factor}`])), seen);
        assert.deepEqual(new Set(h.targets.keys()), present);
        assert.equal(b.availableCount(), [...h.targets.values()].filter((r) => r.available && r.weight > 0).length);
      }
    }),
    { numRuns: 200 },
  );
});
