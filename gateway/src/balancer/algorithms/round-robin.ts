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
 * - Target changes (and availability flips) are applied in place to a
 *   generated sequence: a joining target is due from the current virtual
 *   time on, a leaving one drops out, O(log n) each; the sequence stays
 *   periodic with each target `weight` times per period. A materialised
 *   wheel (≤ MAX_WHEEL slots, so at most that many live targets) is rebuilt
 *   on the next pick instead.
 * - Slow start (`factor` f < 1) is applied by skipping: each time the pointer
 *   reaches the target it earns f credit and is picked only with a whole
 *   credit, so it gets exactly a fraction f of its slots, deterministically.
 */
import type { TargetInput } from '../target-set.js';
import type { BalancerTarget, PickContext, PickResult } from '../balancer.js';
import { type BalancerOptions, resolveSeed } from '../options.js';
import { grown } from '../target-set.js';
import { TargetSetBalancer } from '../target-set-balancer.js';
import { buildWheel, StrideScheduler } from '../weighted-sequence.js';

/** `round-robin` (Kong's default): see the module comment. */
export class RoundRobinBalancer extends TargetSetBalancer {
  override readonly algorithm = 'round-robin';
  readonly #seed: number;
  #credit: Float64Array;
  /** targets changed since the wheel was built: rebuild on the next pick */
  #dirty = false;
  /** the materialised period, or null when the sequence is generated */
  #wheel: Uint32Array | null = null;
  #stream: StrideScheduler | null = null;
  #pos = 0;
  #builtFor = -1;

  constructor(targets: readonly TargetInput[], options?: BalancerOptions) {
    super(targets, options);
    this.#seed = resolveSeed(options);
    this.#credit = new Float64Array(this.set.targets.length);
    this.#build(true);
  }

  pick(ctx: PickContext): PickResult | undefined {
    // a generated sequence follows every change in place (the hooks below); a wheel is rebuilt
    if (this.#dirty || (this.#stream === null && this.#builtFor !== this.set.version)) this.#build(false);
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

  protected override changed(i: number): void {
    const s = this.#stream;
    if (!s || this.#dirty) return;
    const live = this.set.live(i);
    if (live && !s.has(i)) s.insert(i, this.set.targets[i]!.weight);
    else if (!live && s.has(i)) s.remove(i);
  }

  protected override added(i: number): void {
    if (i >= this.#credit.length) this.#credit = grown(this.#credit, Math.max(i + 1, 2 * this.#credit.length));
    this.#credit[i] = 0;
    if (this.#stream) this.changed(i);
    else this.#dirty = true;
  }

  protected override removing(i: number): void {
    if (this.#stream) this.#stream.remove(i);
    else this.#dirty = true;
  }

  protected override moved(from: number, to: number): void {
    this.#credit[to] = this.#credit[from]!;
    if (this.#stream) this.#stream.rename(from, to);
    else this.#dirty = true;
  }

  protected override updated(i: number, before: BalancerTarget): void {
    if (!this.#stream) this.#dirty = true;
    else if (before.weight !== this.set.targets[i]!.weight) {
      this.#stream.remove(i);
      this.changed(i);
    }
  }

  #build(first: boolean): void {
    const s = this.set;
    const weights = s.targets.map((t, i) => (s.live(i) ? t.weight : 0));
    this.#builtFor = s.version;
    this.#dirty = false;
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
