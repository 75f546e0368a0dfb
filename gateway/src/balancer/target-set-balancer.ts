/**
 * Base of the algorithms: the Balancer members that only delegate to the
 * shared {@link TargetSet}, written once. Subclasses implement `pick` and
 * override the `changed`/`started`/`ended` hooks to keep their own indexes.
 */
import type { Target } from '../entities/types.js';
import type { Balancer, BalancerTarget, PickContext, PickResult } from './balancer.js';
import type { BalancerOptions } from './options.js';
import { TargetSet } from './target-set.js';

export abstract class TargetSetBalancer implements Balancer {
  abstract readonly algorithm: string;
  protected readonly set: TargetSet;

  constructor(targets: readonly Target[], options?: BalancerOptions) {
    this.set = new TargetSet(targets);
    const prev = options?.previous;
    if (prev instanceof TargetSetBalancer) this.set.adopt(prev.set);
  }

  get targets(): readonly BalancerTarget[] {
    return this.set.targets;
  }

  abstract pick(ctx: PickContext): PickResult | undefined;

  onRequestStart(id: string): void {
    const i = this.set.start(id);
    if (i !== -1) this.started(i);
  }

  onRequestEnd(id: string, latencyMs: number, ok: boolean): void {
    const i = this.set.end(id);
    if (i !== -1) this.ended(i, latencyMs, ok);
  }

  setAvailability(id: string, available: boolean, factor?: number): void {
    const i = this.set.setAvailability(id, available, factor);
    if (i !== -1) this.changed(i);
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
