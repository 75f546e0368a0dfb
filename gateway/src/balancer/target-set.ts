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
export function toBalancerTarget(t: TargetInput): BalancerTarget {
  const s = t.target;
  const parts = splitHostPort(s);
  const portText = parts?.port ?? String(DEFAULT_TARGET_PORT);
  const port = Number(portText);
  if (!parts || !parts.host || !/^\d{1,5}$/.test(portText) || port < 1 || port > 65535)
    throw new RangeError(`invalid target address '${s}'`);
  if (!Number.isInteger(t.weight) || t.weight < 0) throw new RangeError(`invalid weight ${t.weight} for target '${s}'`);
  const b: BalancerTarget = { id: t.id, address: s, host: parts.host, port, weight: t.weight };
  return t.targetId === undefined ? b : { ...b, targetId: t.targetId, name: t.name };
}

/** What a balancer is built from: a target entity, or one address of a hostname target (dns/targets.ts). */
export type TargetInput = Pick<Target, 'id' | 'target' | 'weight'> & { readonly targetId?: string; readonly name?: string };

/** Hooks of the algorithm that owns a {@link TargetSet}. */
export interface TargetSetHooks {
  changed(i: number): void;
  started(i: number): void;
  ended(i: number, latencyMs: number, ok: boolean): void;
  /** {@link TargetSet.apply}: target `i` was appended (the set's own bookkeeping is done) */
  added(i: number): void;
  /** {@link TargetSet.apply}: target `i` is about to leave (still readable) */
  removing(i: number): void;
  /** {@link TargetSet.apply}: after a removal, the last target moved from index `from` to the freed index `to` */
  moved(from: number, to: number): void;
  /** {@link TargetSet.apply}: target `i` got a new weight or address (`before` is the old one) */
  updated(i: number, before: BalancerTarget): void;
}

/** Where a record that left the set reports (an in-flight try ending on a removed target): nowhere. */
const DETACHED: StatusWatcher = { changed() {}, started() {}, ended() {} };

/**
 * Per-upstream target list shared by all algorithms; indices are positions
 * in `targets`. The targets' runtime state is not kept here: `status[i]` is
 * the target's record (health's, once bound; a {@link LocalStatus} before),
 * read on every pick. The set only keeps what it derives for O(1) picks
 * (how many are available, and a version bumped on every flip).
 *
 * {@link apply} changes the targets in place at a cost proportional to the
 * change: appends, swap-removes (the last target takes the freed index) and
 * replacements, each reported to the algorithm's hooks so that it updates
 * its own indexes likewise.
 */
export class TargetSet implements StatusWatcher {
  readonly #targets: BalancerTarget[];
  /** target id → index in `targets` */
  readonly index = new Map<string, number>();
  /** each target's runtime record */
  readonly status: TargetStatus[];
  /** `{ target }` per index, built once and handed out by every pick */
  readonly #results: PickResult[];
  /** bumped whenever a target's availability flips (algorithms rebuild lazily) */
  version = 0;
  /** availability as last counted in {@link availableCount} (1/0), updated on `changed` */
  readonly #counted: number[];
  #availableCount = 0;
  #hooks: TargetSetHooks | undefined;

  constructor(targets: readonly TargetInput[]) {
    this.#targets = targets.map(toBalancerTarget);
    this.#targets.forEach((t, i) => this.index.set(t.id, i));
    const n = this.#targets.length;
    this.status = this.#targets.map(() => new LocalStatus());
    this.status.forEach((s, i) => s.watch(this, i));
    this.#counted = new Array<number>(n).fill(1);
    this.#results = this.#targets.map((target) => Object.freeze({ target }));
    for (const t of this.#targets) if (t.weight > 0) this.#availableCount++;
  }

  get targets(): readonly BalancerTarget[] {
    return this.#targets;
  }

  get results(): readonly PickResult[] {
    return this.#results;
  }

  /**
   * Apply target changes in place: `removed` ids leave (unknown ones are
   * ignored), then each of `upserts` replaces the target of its id or is
   * appended. Cost O(changes) plus the algorithm's hooks. Never throws
   * (targets are parsed by the caller, before anything changes). Returns
   * the targets whose address is no longer used by them: the removed ones
   * and the old versions of those whose address changed.
   */
  apply(upserts: readonly BalancerTarget[], removed: readonly string[]): BalancerTarget[] {
    const left: BalancerTarget[] = [];
    for (const id of removed) {
      const i = this.index.get(id);
      if (i === undefined) continue;
      left.push(this.#targets[i]!);
      this.#remove(i);
    }
    for (const t of upserts) {
      const i = this.index.get(t.id);
      if (i === undefined) this.#add(t);
      else {
        const before = this.#targets[i]!;
        if (before.address !== t.address) left.push(before);
        this.#replace(i, t);
      }
    }
    return left;
  }

  #add(t: BalancerTarget): void {
    const i = this.#targets.length;
    this.#targets.push(t);
    this.index.set(t.id, i);
    const s = new LocalStatus();
    this.status.push(s);
    s.watch(this, i);
    this.#counted.push(1);
    this.#results.push(Object.freeze({ target: t }));
    if (t.weight > 0) this.#availableCount++;
    this.#hooks?.added(i);
  }

  #remove(i: number): void {
    this.#hooks?.removing(i);
    const t = this.#targets[i]!;
    if (t.weight > 0 && this.#counted[i] === 1) this.#availableCount--;
    this.status[i]!.watch(DETACHED, -1);
    this.index.delete(t.id);
    const last = this.#targets.length - 1;
    if (i !== last) {
      this.#targets[i] = this.#targets[last]!;
      this.status[i] = this.status[last]!;
      this.#results[i] = this.#results[last]!;
      this.#counted[i] = this.#counted[last]!;
      this.index.set(this.#targets[i]!.id, i);
      this.status[i]!.watch(this, i);
    }
    this.#targets.pop();
    this.status.pop();
    this.#results.pop();
    this.#counted.pop();
    if (i !== last) this.#hooks?.moved(last, i);
  }

  #replace(i: number, t: BalancerTarget): void {
    const before = this.#targets[i]!;
    this.#targets[i] = t;
    this.#results[i] = Object.freeze({ target: t });
    if (this.#counted[i] === 1) this.#availableCount += (t.weight > 0 ? 1 : 0) - (before.weight > 0 ? 1 : 0);
    this.#hooks?.updated(i, before);
  }

  /** Set by the algorithm (its constructor); called after the set's own bookkeeping. */
  hooks(h: TargetSetHooks): void {
    this.#hooks = h;
  }

  /**
   * Read every target's record from `statusOf` (those it knows) and watch
   * it; every index is re-read. With `only`, just those target ids (the
   * others keep the records they have).
   */
  bind(statusOf: (targetId: string) => TargetStatus | undefined, only?: readonly string[]): void {
    if (only) {
      for (const id of only) {
        const i = this.index.get(id);
        if (i === undefined) continue;
        const s = statusOf(id);
        if (s) this.status[i] = s;
        this.status[i]!.watch(this, i);
        this.changed(i);
      }
      return;
    }
    for (let i = 0; i < this.#targets.length; i++) {
      const s = statusOf(this.#targets[i]!.id);
      if (s) this.status[i] = s;
      this.status[i]!.watch(this, i);
    }
    for (let i = 0; i < this.#targets.length; i++) this.changed(i);
  }

  /** Whether target `i` may take a new request (weight > 0, available). */
  live(i: number): boolean {
    return this.status[i]!.available && this.#targets[i]!.weight > 0;
  }

  /** Whether target `i` may take this request: live and not tried yet. */
  usable(i: number, ctx: PickContext): boolean {
    return this.status[i]!.available && this.#targets[i]!.weight > 0 && (ctx.tried.size === 0 || !ctx.tried.has(this.#targets[i]!.id));
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
    return this.#targets[i]!.weight * this.factor(i);
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
      if (this.#targets[i]!.weight > 0) this.#availableCount += v === 1 ? 1 : -1;
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

/** A copy of `a` with room for `capacity` entries (the new ones 0). */
export function grown(a: Float64Array, capacity: number): Float64Array {
  const b = new Float64Array(capacity);
  b.set(a);
  return b;
}
