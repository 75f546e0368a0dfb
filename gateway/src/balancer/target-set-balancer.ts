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
  #rotation = 0;

  constructor(targets: readonly Target[]) {
    this.set = new TargetSet(targets);
  }

  get targets(): readonly BalancerTarget[] {
    return this.set.targets;
  }

  abstract pick(ctx: PickContext): PickResult | undefined;

  /**
   * The usable target with the lowest `score(i)`, scanning from a rotating
   * start so ties spread evenly. O(n).
   */
  protected pickLowest(ctx: PickContext, score: (i: number) => number): PickResult | undefined {
    const s = this.set;
    const n = s.targets.length;
    let best = -1;
    let bestScore = Infinity;
    const start = this.#rotation++ % Math.max(1, n);
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      if (!s.usable(i, ctx)) continue;
      const v = score(i);
      if (v < bestScore) [best, bestScore] = [i, v];
    }
    return best === -1 ? undefined : { target: s.targets[best]! };
  }

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
