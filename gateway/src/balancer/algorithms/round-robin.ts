/**
 * Weighted round-robin with Kong's wheel semantics: each live target appears
 * weight/gcd times per period; the pointer advances one slot per pick,
 * passing over tried targets. O(1) amortised per pick.
 *
 * Choices (see weighted-sequence.ts):
 * - The wheel is laid out interleaved (stride scheduling), not randomly
 *   shuffled as Kong does: Kong shuffles so that workers do not move in step;
 *   a seeded random *starting slot* does that too, and interleaving keeps a
 *   1:3 split from arriving as bursts of three.
 * - A period longer than {@link MAX_WHEEL} slots (weights 65535 and 1) is not
 *   materialised: the same sequence is generated on the fly, O(log n) a pick.
 * - Only available targets are in the sequence; an availability flip rebuilds
 *   it on the next pick (rare, and ≤ MAX_WHEEL steps), so a down heavy target
 *   does not make picks walk over its slots.
 * - Slow start (`factor` f < 1) is applied by skipping: each time the pointer
 *   reaches the target it earns f credit and is picked only with a whole
 *   credit, so it gets exactly a fraction f of its slots, deterministically.
 */
import type { Target } from '../../entities/types.js';
import type { PickContext, PickResult } from '../balancer.js';
import { type BalancerOptions, resolveSeed } from '../options.js';
import { TargetSetBalancer } from '../target-set-balancer.js';
import { buildWheel, StrideScheduler } from '../weighted-sequence.js';

/** `round-robin` (Kong's default): see the module comment. */
export class RoundRobinBalancer extends TargetSetBalancer {
  override readonly algorithm = 'round-robin';
  readonly #seed: number;
  readonly #credit: Float64Array;
  /** the materialised period, or null when the sequence is generated */
  #wheel: Uint32Array | null = null;
  #stream: StrideScheduler | null = null;
  #pos = 0;
  #builtFor = -1;

  constructor(targets: readonly Target[], options?: BalancerOptions) {
    super(targets, options);
    this.#seed = resolveSeed(options);
    this.#credit = new Float64Array(this.set.targets.length);
    this.#build(true);
  }

  pick(ctx: PickContext): PickResult | undefined {
    if (this.#builtFor !== this.set.version) this.#build(false);
    const i = this.#wheel ? this.#fromWheel(this.#wheel, ctx) : this.#fromStream(this.#stream!, ctx);
    return i === -1 ? undefined : this.set.results[i];
  }

  #fromWheel(wheel: Uint32Array, ctx: PickContext): number {
    const n = wheel.length;
    const tried = ctx.tried;
    let sawUntried = false;
    // every member is admitted within 1/MIN_FACTOR visits: 101 periods always suffice
    for (let step = 0; step < n * 101; step++) {
      if (step === n && !sawUntried) return -1;
      const i = wheel[this.#pos]!;
      this.#pos = this.#pos + 1 === n ? 0 : this.#pos + 1;
      if (tried.size !== 0 && tried.has(this.set.targets[i]!.id)) continue;
      sawUntried = true;
      if (this.#admit(i)) return i;
    }
    return -1;
  }

  #fromStream(s: StrideScheduler, ctx: PickContext): number {
    const tried = ctx.tried;
    const targets = this.set.targets;
    // tried members keep their turn here (a walk over a heavy one would be long)
    const accept = tried.size === 0 ? null : (i: number) => !tried.has(targets[i]!.id);
    for (;;) {
      const i = accept ? s.best(accept) : s.next();
      if (i === -1) return -1;
      if (accept) s.consume(i);
      if (this.#admit(i)) return i;
    }
  }

  #admit(i: number): boolean {
    const f = this.set.factor(i);
    if (f >= 1) return true;
    const c = this.#credit[i]! + f;
    if (c >= 1 - 1e-9) {
      this.#credit[i] = c - 1;
      return true;
    }
    this.#credit[i] = c;
    return false;
  }

  #build(first: boolean): void {
    const s = this.set;
    const weights = s.targets.map((t, i) => (s.live(i) ? t.weight : 0));
    this.#builtFor = s.version;
    this.#wheel = buildWheel(weights);
    if (this.#wheel) {
      const n = this.#wheel.length;
      this.#pos = n === 0 ? 0 : first ? this.#seed % n : this.#pos % n;
      this.#stream = null;
      return;
    }
    this.#stream = new StrideScheduler(weights);
    for (let skip = this.#seed % this.#stream.size; skip > 0; skip--) this.#stream.next();
  }
}
