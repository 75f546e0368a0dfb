/**
 * Bookkeeping every algorithm shares, written once: parsed targets, the
 * health seam (each target's runtime record: availability, slow-start
 * factor, in-flight count) and the pre-built pick results (a pick allocates
 * nothing on the common path).
 */
import { splitHostPort } from '../entities/hosts.js';
import type { Target } from '../entities/types.js';
import type { BalancerTarget, PickContext, PickResult, StatusWatcher, TargetStatus } from './balancer.js';
import { LocalStatus } from './local-status.js';

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
  if (!parts || !parts.host || !/^\d{1,5}$/.test(portText) || port < 1 || port > 65535)
    throw new RangeError(`invalid target address '${s}'`);
  if (!Number.isInteger(t.weight) || t.weight < 0) throw new RangeError(`invalid weight ${t.weight} for target '${s}'`);
  return { id: t.id, address: s, host: parts.host, port, weight: t.weight };
}

/** Hooks of the algorithm that owns a {@link TargetSet}. */
export interface TargetSetHooks {
  changed(i: number): void;
  started(i: number): void;
  ended(i: number, latencyMs: number, ok: boolean): void;
}

/**
 * Per-upstream target list shared by all algorithms; indices are positions
 * in `targets`. The targets' runtime state is not kept here: `status[i]` is
 * the target's record (health's, once bound; a {@link LocalStatus} before),
 * read on every pick. The set only keeps what it derives for O(1) picks
 * (how many are available, and a version bumped on every flip).
 */
export class TargetSet implements StatusWatcher {
  readonly targets: readonly BalancerTarget[];
  /** target id → index in `targets` */
  readonly index = new Map<string, number>();
  /** each target's runtime record */
  readonly status: TargetStatus[];
  /** `{ target }` per index, built once and handed out by every pick */
  readonly results: readonly PickResult[];
  /** bumped whenever a target's availability flips (algorithms rebuild lazily) */
  version = 0;
  /** availability as last counted in {@link availableCount} (1/0), updated on `changed` */
  readonly #counted: Uint8Array;
  #availableCount = 0;
  #hooks: TargetSetHooks | undefined;

  constructor(targets: readonly Pick<Target, 'id' | 'target' | 'weight'>[]) {
    this.targets = targets.map(toBalancerTarget);
    this.targets.forEach((t, i) => this.index.set(t.id, i));
    const n = this.targets.length;
    this.status = this.targets.map(() => new LocalStatus());
    this.status.forEach((s, i) => s.watch(this, i));
    this.#counted = new Uint8Array(n).fill(1);
    this.results = this.targets.map((target) => Object.freeze({ target }));
    for (const t of this.targets) if (t.weight > 0) this.#availableCount++;
  }

  /** Set by the algorithm (its constructor); called after the set's own bookkeeping. */
  hooks(h: TargetSetHooks): void {
    this.#hooks = h;
  }

  /** Read every target's record from `statusOf` (those it knows) and watch it; every index is re-read. */
  bind(statusOf: (targetId: string) => TargetStatus | undefined): void {
    for (let i = 0; i < this.targets.length; i++) {
      const s = statusOf(this.targets[i]!.id);
      if (s) this.status[i] = s;
      this.status[i]!.watch(this, i);
    }
    for (let i = 0; i < this.targets.length; i++) this.changed(i);
  }

  /** Whether target `i` may take a new request (weight > 0, available). */
  live(i: number): boolean {
    return this.status[i]!.available && this.targets[i]!.weight > 0;
  }

  /** Whether target `i` may take this request: live and not tried yet. */
  usable(i: number, ctx: PickContext): boolean {
    return this.status[i]!.available && this.targets[i]!.weight > 0 && (ctx.tried.size === 0 || !ctx.tried.has(this.targets[i]!.id));
  }

  /** slow-start factor in [MIN_FACTOR, 1] */
  factor(i: number): number {
    const f = this.status[i]!.factor;
    return f < MIN_FACTOR ? MIN_FACTOR : f;
  }

  /** tries in flight to target `i` */
  active(i: number): number {
    return this.status[i]!.inFlight;
  }

  /** weight × slow-start factor */
  effectiveWeight(i: number): number {
    return this.targets[i]!.weight * this.factor(i);
  }

  availableCount(): number {
    return this.#availableCount;
  }

  // ---- StatusWatcher: the records report here ------------------------------

  changed(i: number): void {
    const v = this.status[i]!.available ? 1 : 0;
    if (this.#counted[i] !== v) {
      this.#counted[i] = v;
      this.version++;
      if (this.targets[i]!.weight > 0) this.#availableCount += v === 1 ? 1 : -1;
    }
    this.#hooks?.changed(i);
  }

  started(i: number): void {
    this.#hooks?.started(i);
  }

  ended(i: number, latencyMs: number, ok: boolean): void {
    this.#hooks?.ended(i, latencyMs, ok);
  }
}
