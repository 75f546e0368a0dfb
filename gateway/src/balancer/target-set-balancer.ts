/**
 * Base of the algorithms: the Balancer members that only delegate to the
 * shared {@link TargetSet}, written once. Subclasses implement `pick` and
 * override the `changed`/`started`/`ended` hooks to keep their own indexes;
 * the hooks run when a target's record (health's) reports a change.
 *
 * Target changes: an algorithm that can follow them in place overrides
 * `added`/`removing`/`moved`/`updated` (the {@link TargetSet.apply} hooks)
 * and leaves {@link incremental} true; {@link applyChanges} then costs
 * O(changes) instead of a rebuild (registry.ts `updateBalancer`).
 */
import type { Balancer, BalancerTarget, PickContext, PickResult, TargetStatus } from './balancer.js';
import type { BalancerOptions } from './options.js';
import { TargetSet, toBalancerTarget, type TargetInput } from './target-set.js';

export abstract class TargetSetBalancer implements Balancer {
  abstract readonly algorithm: string;
  protected readonly set: TargetSet;

  constructor(targets: readonly TargetInput[], _options?: BalancerOptions) {
    this.set = new TargetSet(targets);
    this.set.hooks({
      changed: (i) => this.changed(i),
      started: (i) => this.started(i),
      ended: (i, ms, ok) => this.ended(i, ms, ok),
      added: (i) => this.added(i),
      removing: (i) => this.removing(i),
      moved: (from, to) => this.moved(from, to),
      updated: (i, before) => this.updated(i, before),
    });
  }

  get targets(): readonly BalancerTarget[] {
    return this.set.targets;
  }

  abstract pick(ctx: PickContext): PickResult | undefined;

  bind(statusOf: (targetId: string) => TargetStatus | undefined, only?: readonly string[]): void {
    this.set.bind(statusOf, only);
  }

  availableCount(): number {
    return this.set.availableCount();
  }

  /** Whether {@link applyChanges} may change this balancer in place (false: the caller rebuilds). */
  get incremental(): boolean {
    return true;
  }

  /**
   * Change the targets in place: `removed` ids leave, each of `upserts`
   * replaces the target of its id or joins. All of `upserts` are parsed
   * first, so an invalid one throws (a RangeError) with nothing changed.
   * Returns the parsed upserts and the targets that left (see
   * {@link TargetSet.apply}), or undefined, changing nothing, when the
   * algorithm is not incremental.
   */
  applyChanges(
    upserts: readonly TargetInput[],
    removed: readonly string[],
  ): { changed: readonly BalancerTarget[]; left: readonly BalancerTarget[] } | undefined {
    if (!this.incremental) return undefined;
    const changed = upserts.map(toBalancerTarget);
    const left = this.set.apply(changed, removed);
    return { changed, left };
  }

  /** Target `i`'s availability or factor was set (maybe to the same values). */
  protected changed(_i: number): void {}
  /** A request started on target `i`. */
  protected started(_i: number): void {}
  /** A request ended on target `i`. */
  protected ended(_i: number, _latencyMs: number, _ok: boolean): void {}
  /** Target `i` joined (appended). */
  protected added(_i: number): void {}
  /** Target `i` is leaving (still readable at `i`). */
  protected removing(_i: number): void {}
  /** After a removal the last target moved from `from` to `to`. */
  protected moved(_from: number, _to: number): void {}
  /** Target `i` got a new weight or address. */
  protected updated(_i: number, _before: BalancerTarget): void {}
}
