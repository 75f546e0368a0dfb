/**
 * Balancers derived in place (registry.ts `updateBalancer`) behave like
 * balancers built from scratch over the resulting targets: random sequences
 * of target adds, removes, weight changes, availability flips, in-flight
 * tries and latency samples, with picks in between, then the same selection
 * behaviour per algorithm.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LatencyBalancer } from '../../../../gateway/src/balancer/algorithms/latency.js';
import type { Balancer } from '../../../../gateway/src/balancer/balancer.js';
import { LocalStatusTable } from '../../../../gateway/src/balancer/local-status.js';
import { createBalancer, updateBalancer } from '../../../../gateway/src/balancer/registry.js';
import { parseEntity } from '../../../../gateway/src/entities/index.js';
import type { Target, Upstream } from '../../../../gateway/src/entities/types.js';
import { ctx, UPSTREAM_ID, upstream } from './fixtures.js';

/** Target `n` (address 10.1.x.y:80) with `weight`; ids are fixed per `n`, as the store keeps them across updates. */
function target(n: number, weight: number): Target {
  const id = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  const r = parseEntity(
    'targets',
    { id, target: `10.1.${Math.floor(n / 250)}.${(n % 250) + 1}:80`, weight, upstream: { id: UPSTREAM_ID } },
    { mode: 'create', now: 1 },
  );
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  return r.value as unknown as Target;
}

type Op =
  | { op: 'add'; weight: number }
  | { op: 'remove'; k: number }
  | { op: 'weight'; k: number; weight: number }
  | { op: 'available'; k: number; available: boolean }
  | { op: 'start'; k: number }
  | { op: 'sample'; k: number; ms: number }
  | { op: 'pick'; n: number };

/** Weights small (a materialised wheel) or large (a generated sequence: Σw > MAX_WHEEL). */
const weight = fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 900, max: 3000 }));
const k = fc.nat(20);
const ops = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('add' as const), weight }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), k }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('weight' as const), k, weight }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('available' as const), k, available: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('start' as const), k }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('sample' as const), k, ms: fc.integer({ min: 1, max: 500 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('pick' as const), n: fc.integer({ min: 1, max: 400 }) }) },
  ),
  { maxLength: 40 },
);
/** the targets a run starts with */
const initial = fc.array(weight, { maxLength: 5 });

/** What a run leaves: the incremental balancer, its records, and the targets it should have. */
interface Run {
  balancer: Balancer;
  /** the first balancer: every derived one shares its state (the latency averages are read from it) */
  core: Balancer;
  table: LocalStatusTable;
  current: Map<string, Target>;
  /** availability and in-flight tries per id, to give a scratch balancer the same records */
  available: Map<string, boolean>;
  inFlight: Map<string, number>;
}

/**
 * Apply `seq` to a balancer through `updateBalancer` (one change per
 * derivation, bound like health binds: only the changed ids), starting from
 * targets of weights `start`. Returns undefined when the algorithm does not derive.
 */
function run(u: Upstream, start: readonly number[], seq: readonly Op[], now: () => number, advance = (): void => {}): Run | undefined {
  let next = 0;
  const current = new Map<string, Target>();
  for (const w of start) {
    const t = target(next++, w);
    current.set(t.id, t);
  }
  const core = createBalancer(u, [...current.values()], { seed: 7, now });
  const table = new LocalStatusTable(core);
  const available = new Map<string, boolean>();
  const inFlight = new Map<string, number>();
  let balancer = core;
  const nth = (i: number): Target | undefined => [...current.values()][i % Math.max(1, current.size)];
  const derive = (upserts: Target[], removed: string[]): boolean => {
    const d = updateBalancer(balancer, u, upserts, removed);
    if (!d) return false;
    assert.notEqual(d, balancer, 'a derived balancer is a new object');
    assert.equal(d.derivation?.from, balancer);
    assert.deepEqual(
      d.derivation?.changed.map((t) => t.id),
      upserts.map((t) => t.id),
    );
    table.bindTo(d); // new ids get records; LocalStatusTable binds all (a full bind must agree too)…
    d.bind(
      (id) => table.get(id),
      d.derivation?.changed.map((t) => t.id),
    ); // …and health's narrow one
    balancer = d;
    return true;
  };
  for (const o of seq) {
    switch (o.op) {
      case 'add': {
        const t = target(next++, o.weight);
        current.set(t.id, t);
        if (!derive([t], [])) return undefined;
        break;
      }
      case 'remove': {
        const t = nth(o.k);
        if (!t) break;
        current.delete(t.id);
        available.delete(t.id);
        inFlight.delete(t.id);
        if (!derive([], [t.id])) return undefined;
        break;
      }
      case 'weight': {
        const t = nth(o.k);
        if (!t) break;
        const n = Number(t.id.slice(-12));
        const nt = target(n, o.weight);
        current.set(nt.id, nt);
        if (!derive([nt], [])) return undefined;
        break;
      }
      case 'available': {
        const t = nth(o.k);
        if (!t) break;
        available.set(t.id, o.available);
        table.set(t.id, o.available);
        break;
      }
      case 'start': {
        const t = nth(o.k);
        if (!t) break;
        inFlight.set(t.id, (inFlight.get(t.id) ?? 0) + 1);
        table.start(t.id);
        break;
      }
      case 'sample': {
        const t = nth(o.k);
        if (!t) break;
        table.start(t.id);
        advance();
        table.end(t.id, o.ms, true);
        break;
      }
      case 'pick':
        for (let i = 0; i < o.n; i++) balancer.pick(ctx());
        break;
    }
  }
  return { balancer, core, table, current, available, inFlight };
}

/** A balancer built from scratch over `r`'s targets (in the incremental one's order), with the same records. */
function scratch(u: Upstream, r: Run, now: () => number, previous?: Balancer): Balancer {
  const ts = r.balancer.targets.map((t) => r.current.get(t.id)!);
  const b = createBalancer(u, ts, { seed: 3, now, ...(previous ? { previous } : {}) });
  const table = new LocalStatusTable(b);
  for (const [id, a] of r.available) table.set(id, a);
  for (const [id, n] of r.inFlight) for (let i = 0; i < n; i++) table.start(id);
  return b;
}

/** Live targets (weight > 0, available) by id → weight. */
function live(r: Run): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of r.current.values()) if (t.weight > 0 && r.available.get(t.id) !== false) m.set(t.id, t.weight);
  return m;
}

function tally(xs: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of [...xs].sort()) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

function pickIds(b: Balancer, n: number): string[] {
  return Array.from({ length: n }, () => b.pick(ctx())?.target.id ?? '-');
}

const sameTargets = (r: Run): void => {
  assert.deepEqual(new Set(r.balancer.targets.map((t) => t.id)), new Set(r.current.keys()));
  for (const t of r.balancer.targets) assert.equal(t.weight, r.current.get(t.id)!.weight, 'weights follow');
};

test('round-robin derived in place: over a full period each live target is picked `weight` times, as from scratch', () => {
  const u = upstream();
  fc.assert(
    fc.property(initial, ops, (start, seq) => {
      const r = run(u, start, seq, () => 0);
      assert.ok(r, 'round-robin derives');
      sameTargets(r);
      const want = live(r);
      const period = [...want.values()].reduce((a, b) => a + b, 0);
      assert.equal(r.balancer.availableCount(), want.size);
      const s = scratch(u, r, () => 0);
      assert.equal(s.availableCount(), want.size);
      const got = tally(pickIds(r.balancer, period));
      const base = tally(pickIds(s, period));
      if (period === 0) {
        assert.equal(r.balancer.pick(ctx()), undefined);
        return;
      }
      assert.deepEqual(got, new Map([...want].sort()), 'incremental: a full period');
      assert.deepEqual(base, got, 'same multiset as from scratch');
    }),
    { numRuns: 150 },
  );
});

test('least-connections derived in place: the least-loaded targets are picked, in rotation, as from scratch', () => {
  const u = upstream({ algorithm: 'least-connections' });
  fc.assert(
    fc.property(initial, ops, (start, seq) => {
      const r = run(u, start, seq, () => 0);
      assert.ok(r, 'least-connections derives');
      sameTargets(r);
      const want = live(r);
      const s = scratch(u, r, () => 0);
      assert.equal(r.balancer.availableCount(), want.size);
      assert.equal(s.availableCount(), want.size);
      // the lowest (in flight + 1) / weight wins; picks do not start tries, so that group rotates
      let best = Infinity;
      for (const [id, w] of want) best = Math.min(best, ((r.inFlight.get(id) ?? 0) + 1) / w);
      const group = [...want].filter(([id, w]) => ((r.inFlight.get(id) ?? 0) + 1) / w === best).map(([id]) => id);
      if (group.length === 0) {
        assert.equal(r.balancer.pick(ctx()), undefined);
        assert.equal(s.pick(ctx()), undefined);
        return;
      }
      assert.deepEqual(new Set(pickIds(r.balancer, group.length)), new Set(group), 'incremental');
      assert.deepEqual(new Set(pickIds(s, group.length)), new Set(group), 'scratch');
    }),
    { numRuns: 150 },
  );
});

test('latency derived in place: the same averages and live targets as a rebuild that carries them over', () => {
  let t = 0;
  const now = () => t;
  const u = upstream({ algorithm: 'latency' });
  fc.assert(
    fc.property(initial, ops, (start, seq) => {
      const r = run(u, start, seq, now, () => (t += 700));
      assert.ok(r, 'latency derives');
      sameTargets(r);
      const core = r.core as LatencyBalancer;
      const s = scratch(u, r, now, r.balancer) as LatencyBalancer;
      const want = live(r);
      assert.equal(r.balancer.availableCount(), want.size);
      assert.equal(s.availableCount(), want.size);
      for (const id of r.current.keys()) {
        const a = core.ewma(id);
        const b = s.ewma(id);
        assert.ok(Number.isNaN(a) ? Number.isNaN(b) : Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${id}: ${a} vs ${b}`);
      }
      const p = r.balancer.pick(ctx());
      if (want.size === 0) assert.equal(p, undefined);
      else assert.ok(p && want.has(p.target.id), 'picks a live target');
    }),
    { numRuns: 150 },
  );
});

test('consistent-hashing is not derived in place: updateBalancer declines and the caller rebuilds', () => {
  const u = upstream({ algorithm: 'consistent-hashing', hash_on: 'ip' });
  const b = createBalancer(u, [target(0, 10), target(1, 10)]);
  assert.equal(updateBalancer(b, u, [target(2, 10)], []), undefined);
  assert.deepEqual(
    b.targets.map((x) => x.id),
    [target(0, 10).id, target(1, 10).id],
    'left as it was',
  );
});

test('an invalid target makes updateBalancer throw with nothing changed (the runtime keeps the last good balancer)', () => {
  const u = upstream();
  const b = createBalancer(u, [target(0, 10), target(1, 10)], { seed: 0 });
  const bad = { ...target(2, 10), target: 'not an address:99999' };
  assert.throws(() => updateBalancer(b, u, [target(3, 10), bad], [target(0, 10).id]), RangeError);
  assert.deepEqual(
    b.targets.map((x) => x.id),
    [target(0, 10).id, target(1, 10).id],
  );
  assert.deepEqual(new Set(pickIds(b, 2)), new Set([target(0, 10).id, target(1, 10).id]));
});

test('a balancer from an older snapshot picks from the current targets once a newer one is derived from it', () => {
  const u = upstream();
  const b0 = createBalancer(u, [target(0, 10), target(1, 10)], { seed: 0 });
  const b1 = updateBalancer(b0, u, [target(2, 10)], [target(0, 10).id])!;
  assert.deepEqual(
    b1.derivation?.left.map((t) => t.address),
    [target(0, 10).target],
    'what left (the proxy closes its pool)',
  );
  const want = new Set([target(1, 10).id, target(2, 10).id]);
  assert.deepEqual(new Set(pickIds(b0, 2)), want, 'the old snapshot’s balancer');
  assert.deepEqual(new Set(pickIds(b1, 2)), want);
  assert.equal(b0.derivation, undefined);
  const b2 = updateBalancer(b1, u, [target(3, 10)], [])!;
  assert.equal(b1.derivation, undefined, 'only the newest derivation is kept (no chain of balancers in memory)');
  assert.equal(b2.derivation?.from, b1);
  const full = createBalancer(u, [target(1, 10), target(2, 10), target(3, 10)], { previous: b2 });
  assert.equal(full.derivation, undefined);
});
