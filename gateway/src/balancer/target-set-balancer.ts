/**
 * Base of the algorithms: the Balancer members that only delegate to the
 * shared {@link TargetSet}, written once. Subclasses implement `pick`.
 */
import type { Target } from '../entities/types.js';
import type { Balancer, BalancerTarget, PickContext, PickResult } from './balancer.js';
import { TargetSet } from './target-set.js';

export abstract class TargetSetBalancer implements Balancer {
  abstract readonly algorithm: string;
  protected readonly set: TargetSet;

  constructor(targets: readonly Target[]) {
    this.set = new TargetSet(targets);
  }

  get targets(): readonly BalancerTarget[] {
    return this.set.targets;
  }

  abstract pick(ctx: PickContext): PickResult | undefined;

  onRequestStart(id: string): void {
    this.set.start(id);
  }
  onRequestEnd(id: string, _latencyMs: number, _ok: boolean): void {
    this.set.end(id);
  }
  setAvailability(id: string, available: boolean, factor?: number): void {
    this.set.setAvailability(id, available, factor);
  }
  availableCount(): number {
    return this.set.availableCount();
  }
}
