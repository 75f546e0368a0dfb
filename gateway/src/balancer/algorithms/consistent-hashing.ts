/**
 * Consistent hashing (Kong's ketama-like continuum): each target gets about
 * 160 × weight/average-weight points on a ring of xxHash32 values of
 * `host:port N`; a request hashes its value (hash-input.ts) and walks the
 * ring clockwise to the first usable target. Adding a target moves only the
 * keys that now land on its points. O(log n) per pick.
 */
import type { Target, Upstream } from '../../entities/types.js';
import type { PickContext, PickResult } from '../balancer.js';
import { xxhash32 } from '../hash.js';
import { hashValue } from '../hash-input.js';
import { TargetSetBalancer } from '../target-set-balancer.js';

const POINTS_PER_TARGET = 160;

export class ConsistentHashingBalancer extends TargetSetBalancer {
  override readonly algorithm = 'consistent-hashing';
  readonly #upstream: Upstream;
  /** ring positions, ascending, and the target index at each */
  readonly #points: Uint32Array;
  readonly #owners: Uint32Array;

  constructor(upstream: Upstream, targets: readonly Target[]) {
    super(targets);
    this.#upstream = upstream;
    const live = this.set.targets.filter((t) => t.weight > 0);
    const total = live.reduce((a, t) => a + t.weight, 0);
    const ring: [number, number][] = [];
    this.set.targets.forEach((t, idx) => {
      if (t.weight === 0) return;
      const n = Math.max(1, Math.round((POINTS_PER_TARGET * t.weight * live.length) / total));
      for (let j = 0; j < n; j++) ring.push([xxhash32(`${t.address} ${j}`), idx]);
    });
    ring.sort((a, b) => a[0] - b[0]);
    this.#points = Uint32Array.from(ring, (p) => p[0]);
    this.#owners = Uint32Array.from(ring, (p) => p[1]);
  }

  pick(ctx: PickContext): PickResult | undefined {
    const n = this.#points.length;
    if (n === 0) return undefined;
    const hv = hashValue(this.#upstream, ctx);
    const h = xxhash32(hv.value);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#points[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    for (let k = 0; k < n; k++) {
      const idx = this.#owners[(lo + k) % n]!;
      if (this.set.usable(idx, ctx)) {
        const target = this.set.targets[idx]!;
        return hv.setCookie ? { target, setCookie: hv.setCookie } : { target };
      }
    }
    return undefined;
  }
}
