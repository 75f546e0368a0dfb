/**
 * Weighted round-robin, Kong's wheel semantics: each target appears
 * weight/gcd times in a wheel; the pointer advances one slot per pick and
 * skips unusable targets. The wheel is laid out by smooth weighted
 * round-robin (nginx) so heavy targets are interleaved, not bunched, and is
 * capped in size: past the cap, weights are scaled down proportionally.
 */
import type { Target } from '../../entities/types.js';
import type { PickContext, PickResult } from '../balancer.js';
import { TargetSetBalancer } from '../target-set-balancer.js';

const MAX_WHEEL = 10_000;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

export class RoundRobinBalancer extends TargetSetBalancer {
  override readonly algorithm = 'round-robin';
  readonly #wheel: number[];
  #pos = 0;

  constructor(targets: readonly Target[]) {
    super(targets);
    this.#wheel = buildWheel(this.set.targets.map((t) => t.weight));
  }

  pick(ctx: PickContext): PickResult | undefined {
    const wheel = this.#wheel;
    const n = wheel.length;
    for (let step = 0; step < n; step++) {
      const i = wheel[this.#pos]!;
      this.#pos = this.#pos + 1 === n ? 0 : this.#pos + 1;
      if (!this.set.usable(i, ctx)) continue;
      const f = this.set.factor[i]!;
      if (f < 1 && Math.random() > f) continue; // slow start: take a share of the slots
      return { target: this.set.targets[i]! };
    }
    // slow-start skipping may have passed over every usable target: take any usable one
    for (let i = 0; i < this.set.targets.length; i++) if (this.set.usable(i, ctx)) return { target: this.set.targets[i]! };
    return undefined;
  }
}

/** Slot sequence for the given weights (zero weights get no slot). */
export function buildWheel(weights: readonly number[]): number[] {
  const positive = weights.filter((w) => w > 0);
  if (positive.length === 0) return [];
  const g = positive.reduce(gcd);
  let reduced = weights.map((w) => w / g);
  const total = reduced.reduce((a, b) => a + b, 0);
  if (total > MAX_WHEEL) reduced = reduced.map((w) => (w === 0 ? 0 : Math.max(1, Math.round((w * MAX_WHEEL) / total))));
  const size = reduced.reduce((a, b) => a + b, 0);
  const current = reduced.map(() => 0);
  const wheel: number[] = [];
  for (let s = 0; s < size; s++) {
    let best = -1;
    for (let i = 0; i < reduced.length; i++) {
      if (reduced[i] === 0) continue;
      current[i]! += reduced[i]!;
      if (best === -1 || current[i]! > current[best]!) best = i;
    }
    current[best]! -= size;
    wheel.push(best);
  }
  return wheel;
}
