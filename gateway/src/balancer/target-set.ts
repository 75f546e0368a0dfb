/**
 * Bookkeeping every algorithm shares: parsed targets, availability (the
 * health seam), slow-start factors and in-flight counts.
 */
import type { Target } from '../entities/types.js';
import type { BalancerTarget, PickContext } from './balancer.js';

export function toBalancerTarget(t: Target): BalancerTarget {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(t.target);
  const host = m ? m[1]!.replace(/^\[|\]$/g, '') : t.target;
  const port = m ? Number(m[2]) : 8000;
  return { id: t.id, address: t.target, host, port, weight: t.weight };
}

export class TargetSet {
  readonly targets: readonly BalancerTarget[];
  readonly index = new Map<string, number>();
  readonly available: boolean[];
  readonly factor: number[];
  readonly active: number[];

  constructor(targets: readonly Target[]) {
    this.targets = targets.map(toBalancerTarget);
    this.targets.forEach((t, i) => this.index.set(t.id, i));
    this.available = this.targets.map(() => true);
    this.factor = this.targets.map(() => 1);
    this.active = this.targets.map(() => 0);
  }

  /** Whether target `i` may take this request. */
  usable(i: number, ctx: PickContext): boolean {
    const t = this.targets[i]!;
    return t.weight > 0 && this.available[i]! && !ctx.tried.has(t.id);
  }

  setAvailability(id: string, available: boolean, factor = 1): void {
    const i = this.index.get(id);
    if (i === undefined) return;
    this.available[i] = available;
    this.factor[i] = Math.min(1, Math.max(0.01, factor));
  }

  availableCount(): number {
    let n = 0;
    for (let i = 0; i < this.targets.length; i++) if (this.targets[i]!.weight > 0 && this.available[i]) n++;
    return n;
  }

  start(id: string): void {
    const i = this.index.get(id);
    if (i !== undefined) this.active[i]!++;
  }

  end(id: string): void {
    const i = this.index.get(id);
    if (i !== undefined && this.active[i]! > 0) this.active[i]!--;
  }
}
