/**
 * Least-connections: the usable target with the lowest
 * (active + 1) / (weight × slow-start factor); ties go round-robin.
 * O(n) per pick: fine for the tens of targets an upstream has; a heap is the
 * next step if upstreams grow to thousands of targets.
 */
import type { Target } from '../../entities/types.js';
import type { Balancer, PickContext, PickResult } from '../balancer.js';
import { TargetSet } from '../target-set.js';

export class LeastConnectionsBalancer implements Balancer {
  readonly algorithm = 'least-connections';
  readonly #set: TargetSet;
  #rr = 0;

  constructor(targets: readonly Target[]) {
    this.#set = new TargetSet(targets);
  }

  get targets() {
    return this.#set.targets;
  }

  pick(ctx: PickContext): PickResult | undefined {
    const s = this.#set;
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

  onRequestStart(id: string): void {
    this.#set.start(id);
  }
  onRequestEnd(id: string): void {
    this.#set.end(id);
  }
  setAvailability(id: string, available: boolean, factor?: number): void {
    this.#set.setAvailability(id, available, factor);
  }
  availableCount(): number {
    return this.#set.availableCount();
  }
}
