/**
 * Latency (Kong's EWMA balancer, with gw's in-flight term). Each target keeps
 * a time-weighted moving average of its response times: a sample `x` arriving
 * `dt` ms after the previous one gives `ewma·e^(-dt/τ) + x·(1 - e^(-dt/τ))`,
 * τ = 10 s, and between samples the average decays toward 0 as Kong's does on
 * read, so a target that was slow once is tried again later instead of being
 * starved forever. A target with no sample yet counts as the mean of the
 * others. Score = ewma × (in flight + 1) / (weight × factor): with nothing in
 * flight that is Kong's ewma/weight; the in-flight factor ("peak EWMA") keeps
 * a burst from all landing on the target that was fastest a moment ago.
 *
 * Cost: an exact O(n) scan up to {@link EXACT_MAX} targets; above that, the
 * best of two random live targets (power of two choices), O(1), which keeps
 * load near-optimal without scanning or maintaining a heap whose keys all
 * change with time.
 *
 * Target changes are applied in place (a new target has no sample; a
 * removed one's average leaves the mean), O(1) each.
 */
import type { TargetInput } from '../target-set.js';
import type { PickContext, PickResult } from '../balancer.js';
import { type BalancerOptions, resolveSeed, seededRandom } from '../options.js';
import { grown } from '../target-set.js';
import { TargetSetBalancer } from '../target-set-balancer.js';

/** decay time constant of the averages, ms */
export const TAU_MS = 10_000;
/** up to this many targets a pick scans them all */
export const EXACT_MAX = 32;
/** random draws per sample before the sampled path gives up and scans */
const DRAWS = 16;

/** `latency`: see the module comment. `ewma(id)` is exposed for metrics and tests. */
export class LatencyBalancer extends TargetSetBalancer {
  override readonly algorithm = 'latency';
  readonly #now: () => number;
  readonly #random: () => number;
  /** average as of `#stamp` (NaN before the first sample) */
  #ewma: Float64Array;
  #stamp: Float64Array;
  #known = 0;
  #sum = 0;
  #rotation = 0;

  constructor(targets: readonly TargetInput[], options?: BalancerOptions) {
    super(targets, options);
    this.#now = options?.now ?? (() => performance.now());
    this.#random = seededRandom(resolveSeed(options));
    const n = this.set.targets.length;
    this.#ewma = new Float64Array(n).fill(NaN);
    this.#stamp = new Float64Array(n);
    const prev = options?.previous;
    if (prev instanceof LatencyBalancer) {
      this.set.targets.forEach((t, i) => {
        const j = prev.set.index.get(t.id);
        if (j === undefined || Number.isNaN(prev.#ewma[j]!)) return;
        this.#ewma[i] = prev.#ewma[j]!;
        this.#stamp[i] = prev.#stamp[j]!;
        this.#known++;
        this.#sum += this.#ewma[i]!;
      });
    }
  }

  protected override added(i: number): void {
    if (i >= this.#ewma.length) {
      const c = Math.max(i + 1, 2 * this.#ewma.length);
      this.#ewma = grown(this.#ewma, c);
      this.#stamp = grown(this.#stamp, c);
    }
    this.#ewma[i] = NaN;
    this.#stamp[i] = 0;
  }

  protected override removing(i: number): void {
    const e = this.#ewma[i]!;
    if (Number.isNaN(e)) return;
    this.#known--;
    // recomputed rather than subtracted when the last sample leaves, so no rounding residue survives
    this.#sum = this.#known === 0 ? 0 : this.#sum - e;
  }

  protected override moved(from: number, to: number): void {
    this.#ewma[to] = this.#ewma[from]!;
    this.#stamp[to] = this.#stamp[from]!;
  }

  /** A target's average in ms, decayed to now (NaN before its first response, or for an unknown id). */
  ewma(id: string): number {
    const i = this.set.index.get(id);
    return i === undefined ? NaN : this.#decayed(i, this.#now());
  }

  protected override ended(i: number, latencyMs: number): void {
    if (!Number.isFinite(latencyMs) || latencyMs < 0) return;
    const now = this.#now();
    const prev = this.#ewma[i]!;
    let next: number;
    if (Number.isNaN(prev)) {
      next = latencyMs;
      this.#known++;
    } else {
      const w = Math.exp(-Math.max(0, now - this.#stamp[i]!) / TAU_MS);
      next = prev * w + latencyMs * (1 - w);
      this.#sum -= prev;
    }
    this.#ewma[i] = next;
    this.#sum += next;
    this.#stamp[i] = now;
  }

  pick(ctx: PickContext): PickResult | undefined {
    const now = this.#now();
    const n = this.set.targets.length;
    const i = n <= EXACT_MAX ? this.#scan(ctx, now) : this.#sampled(ctx, now);
    return i === -1 ? undefined : this.set.results[i];
  }

  #decayed(i: number, now: number): number {
    const e = this.#ewma[i]!;
    return Number.isNaN(e) ? e : e * Math.exp(-Math.max(0, now - this.#stamp[i]!) / TAU_MS);
  }

  #score(i: number, now: number): number {
    const d = this.#decayed(i, now);
    const e = Number.isNaN(d) ? (this.#known > 0 ? this.#sum / this.#known : 1) : d;
    return (Math.max(e, 0.001) * (this.set.active(i) + 1)) / this.set.effectiveWeight(i);
  }

  /** exact: the lowest score, scanning from a rotating start so ties spread */
  #scan(ctx: PickContext, now: number): number {
    const n = this.set.targets.length;
    let best = -1;
    let bestScore = Infinity;
    const start = n === 0 ? 0 : this.#rotation++ % n;
    for (let k = 0; k < n; k++) {
      const i = start + k < n ? start + k : start + k - n;
      if (!this.set.usable(i, ctx)) continue;
      const v = this.#score(i, now);
      if (v < bestScore) [best, bestScore] = [i, v];
    }
    return best;
  }

  /** power of two choices over random usable targets; falls back to a scan when few are usable */
  #sampled(ctx: PickContext, now: number): number {
    const a = this.#draw(ctx, -1);
    if (a === -1) return this.#scan(ctx, now);
    const b = this.#draw(ctx, a);
    if (b === -1) return a;
    return this.#score(b, now) < this.#score(a, now) ? b : a;
  }

  #draw(ctx: PickContext, not: number): number {
    const n = this.set.targets.length;
    for (let d = 0; d < DRAWS; d++) {
      const i = this.#random() % n;
      if (i !== not && this.set.usable(i, ctx)) return i;
    }
    return -1;
  }
}
