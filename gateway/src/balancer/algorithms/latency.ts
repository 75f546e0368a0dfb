/**
 * Latency (peak EWMA): each target keeps an exponentially weighted moving
 * average of its response times, decaying with a 10 s time constant; a new
 * target starts at the mean. Pick the usable target with the lowest
 * ewma × (in-flight + 1) / weight. O(n) per pick, like least-connections.
 */
import type { Target } from '../../entities/types.js';
import type { PickContext, PickResult } from '../balancer.js';
import { TargetSetBalancer } from '../target-set-balancer.js';

const TAU_MS = 10_000;

export class LatencyBalancer extends TargetSetBalancer {
  override readonly algorithm = 'latency';
  readonly #now: () => number;
  readonly #ewma: number[];
  readonly #stamp: number[];

  constructor(targets: readonly Target[], now: () => number = () => performance.now()) {
    super(targets);
    this.#now = now;
    this.#ewma = this.set.targets.map(() => NaN);
    this.#stamp = this.set.targets.map(() => 0);
  }

  /** current EWMA of a target in ms (NaN before its first response); for tests and metrics */
  ewma(id: string): number {
    const i = this.set.index.get(id);
    return i === undefined ? NaN : this.#ewma[i]!;
  }

  override onRequestEnd(id: string, latencyMs: number, ok: boolean): void {
    super.onRequestEnd(id, latencyMs, ok);
    const i = this.set.index.get(id);
    if (i === undefined) return;
    const now = this.#now();
    const prev = this.#ewma[i]!;
    if (Number.isNaN(prev)) this.#ewma[i] = latencyMs;
    else {
      const w = Math.exp(-Math.max(0, now - this.#stamp[i]!) / TAU_MS);
      this.#ewma[i] = prev * w + latencyMs * (1 - w);
    }
    this.#stamp[i] = now;
  }

  pick(ctx: PickContext): PickResult | undefined {
    const s = this.set;
    let known = 0;
    let sum = 0;
    for (const e of this.#ewma) if (!Number.isNaN(e)) [known, sum] = [known + 1, sum + e];
    const mean = known > 0 ? sum / known : 1;
    return this.pickLowest(ctx, (i) => {
      const e = Number.isNaN(this.#ewma[i]!) ? mean : this.#ewma[i]!;
      return (Math.max(e, 0.001) * (s.active[i]! + 1)) / (s.targets[i]!.weight * s.factor[i]!);
    });
  }
}
