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
  #rr = 0;

  constructor(targets: readonly Target[]) {
    super(targets);
  }

  pick(ctx: PickContext): PickResult | undefined {
    const s = this.set;
    const n = s.targets.length;
    let best = -1;
    let bestScore = Infinity;
    const start = this.#rr++ % Math.max(1, n);
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      if (!s.usable(i, ctx)) continue;
      const score = (s.active[i]! + 1) / (s.targets[i]!.weight * s.factor[i]!);
      if (score < bestScore) [best, bestScore] = [i, score];
    }
    return best === -1 ? undefined : { target: s.targets[best]! };
  }
}
