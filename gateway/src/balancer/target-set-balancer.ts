/**
 * Base of the algorithms: the Balancer members that only delegate to the
 * shared {@link TargetSet}, written once. Subclasses implement `pick` and
 * override the `changed`/`started`/`ended` hooks to keep their own indexes;
 * the hooks run when a target's record (health's) reports a change.
 */
import type { Target } from '../entities/types.js';
import type { Balancer, BalancerTarget, PickContext, PickResult, TargetStatus } from './balancer.js';
import type { BalancerOptions } from './options.js';
import { TargetSet } from './target-set.js';

export abstract class TargetSetBalancer implements Balancer {
  abstract readonly algorithm: string;
  protected readonly set: TargetSet;

  constructor(targets: readonly Target[], _options?: BalancerOptions) {
    this.set = new TargetSet(targets);
    this.set.hooks({ changed: (i) => this.changed(i), started: (i) => this.started(i), ended: (i, ms, ok) => this.ended(i, ms, ok) });
  }

  get targets(): readonly BalancerTarget[] {
    return this.set.targets;
  }

  abstract pick(ctx: PickContext): PickResult | undefined;

  bind(statusOf: (targetId: string) => TargetStatus | undefined): void {
    this.set.bind(statusOf);
  }

  availableCount(): number {
    return this.set.availableCount();
  }

  /** Target `i`'s availability or factor was set (maybe to the same values). */
  protected changed(_i: number): void {}
  /** A request started on target `i`. */
  protected started(_i: number): void {}
  /** A request ended on target `i`. */
  protected ended(_i: number, _latencyMs: number, _ok: boolean): void {}
}
