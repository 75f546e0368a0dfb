/**
 * Bookkeeping every algorithm shares, written once: parsed targets, the
 * health seam (availability and slow-start factor), in-flight counts and the
 * pre-built pick results (a pick allocates nothing on the common path).
 */
import { splitHostPort } from '../entities/hosts.js';
import type { Target } from '../entities/types.js';
import type { BalancerTarget, PickContext, PickResult } from './balancer.js';

/** Kong's port when a target has none. */
export const DEFAULT_TARGET_PORT = 8000;
/** Smallest slow-start factor honoured: a factor of 0 still lets a trickle through. */
export const MIN_FACTOR = 0.01;

/**
 * Parse a target's `host:port` (`[v6]:port`, bare IPv6 or a host without a
 * port get port 8000). Throws a RangeError naming the target when it is not
 * an address (entity validation normally makes that impossible).
 */
export function toBalancerTarget(t: Pick<Target, 'id' | 'target' | 'weight'>): BalancerTarget {
  const s = t.target;
  const parts = splitHostPort(s);
  const portText = parts?.port ?? String(DEFAULT_TARGET_PORT);
  const port = Number(portText);
  if (!parts || !parts.host || !/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) throw new RangeError(`invalid target address '${s}'`);
  if (!Number.isInteger(t.weight) || t.weight < 0) throw new RangeError(`invalid weight ${t.weight} for target '${s}'`);
  return { id: t.id, address: s, host: parts.host, port, weight: t.weight };
}

/** Per-upstream target state shared by all algorithms; indices are positions in `targets`. */
export class TargetSet {
  readonly targets: readonly BalancerTarget[];
  /** target id → index in `targets` */
  readonly index = new Map<string, number>();
  readonly available: Uint8Array;
  /** slow-start factor in [MIN_FACTOR, 1] */
  readonly factor: Float64Array;
  /** requests in flight, as reported by onRequestStart/End */
  readonly active: Int32Array;
  /** `{ target }` per index, built once and handed out by every pick */
  readonly results: readonly PickResult[];
  /** bumped whenever a target's availability flips (algorithms rebuild lazily) */
  version = 0;
  #availableCount = 0;

  constructor(targets: readonly Pick<Target, 'id' | 'target' | 'weight'>[]) {
    this.targets = targets.map(toBalancerTarget);
    this.targets.forEach((t, i) => this.index.set(t.id, i));
    const n = this.targets.length;
    this.available = new Uint8Array(n).fill(1);
    this.factor = new Float64Array(n).fill(1);
    this.active = new Int32Array(n);
    this.results = this.targets.map((target) => Object.freeze({ target }));
    for (const t of this.targets) if (t.weight > 0) this.#availableCount++;
  }

  /** Take availability and factors of the targets `prev` also has (a rebuild keeps health state). */
  adopt(prev: TargetSet): void {
    for (const [id, i] of this.index) {
      const j = prev.index.get(id);
      if (j === undefined) continue;
      this.#setAvailable(i, prev.available[j] === 1);
      this.factor[i] = prev.factor[j]!;
    }
  }

  /** Whether target `i` may take a new request (weight > 0, available). */
  live(i: number): boolean {
    return this.available[i] === 1 && this.targets[i]!.weight > 0;
  }

  /** Whether target `i` may take this request: live and not tried yet. */
  usable(i: number, ctx: PickContext): boolean {
    return this.available[i] === 1 && this.targets[i]!.weight > 0 && (ctx.tried.size === 0 || !ctx.tried.has(this.targets[i]!.id));
  }

  /** weight × slow-start factor */
  effectiveWeight(i: number): number {
    return this.targets[i]!.weight * this.factor[i]!;
  }

  /**
   * The health seam. Returns the target's index, or -1 for an unknown id
   * (a target removed since: nothing to do). Throws a RangeError for a factor
   * that is not a number in [0, 1]; 0 is raised to {@link MIN_FACTOR}.
   */
  setAvailability(id: string, available: boolean, factor = 1): number {
    if (typeof factor !== 'number' || !(factor >= 0 && factor <= 1)) throw new RangeError(`availability factor must be a number in [0, 1], got ${factor}`);
    const i = this.index.get(id);
    if (i === undefined) return -1;
    this.#setAvailable(i, available);
    this.factor[i] = Math.max(MIN_FACTOR, factor);
    return i;
  }

  availableCount(): number {
    return this.#availableCount;
  }

  /** Count a request started; returns the index or -1. */
  start(id: string): number {
    const i = this.index.get(id);
    if (i === undefined) return -1;
    this.active[i]!++;
    return i;
  }

  /** Count a request ended; returns the index or -1. */
  end(id: string): number {
    const i = this.index.get(id);
    if (i === undefined) return -1;
    if (this.active[i]! > 0) this.active[i]!--;
    return i;
  }

  #setAvailable(i: number, available: boolean): void {
    const v = available ? 1 : 0;
    if (this.available[i] === v) return;
    this.available[i] = v;
    this.version++;
    if (this.targets[i]!.weight > 0) this.#availableCount += available ? 1 : -1;
  }
}
