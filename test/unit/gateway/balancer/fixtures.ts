/** Entities and pick contexts for the balancer tests, built through the real entity parser. */
import assert from 'node:assert/strict';
import { parseEntity } from '../../../../gateway/src/entities/index.js';
import type { Target, Upstream } from '../../../../gateway/src/entities/types.js';
import type { Balancer, PickContext } from '../../../../gateway/src/balancer/balancer.js';
import { LocalStatusTable } from '../../../../gateway/src/balancer/local-status.js';

export const UPSTREAM_ID = '6f0b6a2e-3c47-4b8e-9d0a-1b2c3d4e5f60';

export function upstream(fields: Record<string, unknown> = {}): Upstream {
  const r = parseEntity('upstreams', { name: 'up', ...fields }, { mode: 'create', now: 1 });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  return r.value as unknown as Upstream;
}

/** One target per weight, addresses 10.0.x.y:80 in order. */
export function targets(...weights: number[]): Target[] {
  return weights.map((weight, i) => {
    const target = `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}:80`;
    const r = parseEntity('targets', { target, weight, upstream: { id: UPSTREAM_ID } }, { mode: 'create', now: 1 });
    assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
    return r.value as unknown as Target;
  });
}

export const equal = (n: number, weight = 100): Target[] => targets(...Array.from({ length: n }, () => weight));

export function ctx(over: Partial<PickContext> = {}): PickContext {
  return { clientIp: '127.0.0.1', headers: {}, path: '/', query: '', tried: new Set(), ...over };
}

/** `n` picks as target indices into `ts` (-1 for "no target"). */
export function picks(b: Balancer, ts: readonly Target[], n: number, c: PickContext = ctx()): number[] {
  return Array.from({ length: n }, () => {
    const r = b.pick(c);
    return r ? ts.findIndex((t) => t.id === r.target.id) : -1;
  });
}

/** How often each index occurs. */
export function tally(xs: readonly number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

const tables = new WeakMap<Balancer, LocalStatusTable>();

/**
 * The per-target records a balancer reads, for a balancer without health:
 * `status(b).set(id, available, factor)`, `.start(id)`, `.end(id, ms, ok)`
 * play health's part (health/target-runtime.ts in the gateway).
 */
export function status(b: Balancer): LocalStatusTable {
  let t = tables.get(b);
  if (!t) tables.set(b, (t = new LocalStatusTable(b)));
  return t;
}

/** Bind `next` (a rebuilt balancer) to the records of `prev`, as health does after a rebuild. */
export function rebind(prev: Balancer, next: Balancer): void {
  const t = status(prev);
  t.bindTo(next);
  tables.set(next, t);
}
