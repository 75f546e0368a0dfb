/**
 * Least-connections: the usable target with the lowest
 * (active + 1) / (weight × slow-start factor); ties go round-robin.
 * O(n) per pick: fine for the tens of targets an upstream has; a heap is the
 * next step if upstreams grow to thousands of targets.
 */
import type { Target } from '../../entities/types.js';
import type { PickContext, PickResult } from '../balancer.js';
import { TargetSetBalancer } from '../target-set-balancer.js';

export class LeastConnectionsBalancer extends TargetSetBalancer {
  override readonly algorithm = 'least-connections';

  constructor(targets: readonly Target[]) {
    super(targets);
  }

  pick(ctx: PickContext): PickResult | undefined {
    const s = this.set;
    return this.pickLowest(ctx, (i) => (s.active[i]! + 1) / (s.targets[i]!.weight * s.factor[i]!));
  }
}
