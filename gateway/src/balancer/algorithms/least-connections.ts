/**
 * Least-connections: the live, untried target with the lowest
 * (active + 1) / (weight × slow-start factor). Targets sit in an indexed
 * min-heap keyed on that score, so a pick is O(log n) (plus O(r log r) for r
 * targets already tried in the request) and start/end/health updates are
 * O(log n). Ties go to the target picked least recently, so equal load
 * rotates round-robin instead of piling onto the first target.
 *
 * Target changes are applied in place: a new target is pushed on the heap,
 * a removed one taken off, O(log n) each.
 */
import type { TargetInput } from '../target-set.js';
import type { PickContext, PickResult } from '../balancer.js';
import { IndexedHeap } from '../heap.js';
import type { BalancerOptions } from '../options.js';
import { grown } from '../target-set.js';
import { TargetSetBalancer } from '../target-set-balancer.js';

/** `least-connections`: see the module comment. */
export class LeastConnectionsBalancer extends TargetSetBalancer {
  override readonly algorithm = 'least-connections';
  readonly #heap: IndexedHeap;
  /** each target's score, kept current so heap comparisons are two array reads */
  #score: Float64Array;
  /** pick counter value when each target was last picked */
  #stamp: Float64Array;
  #picks = 0;
  /** scratch closure state for tried-aware picks */
  #tried: ReadonlySet<string> = new Set();
  readonly #untried = (i: number): boolean => !this.#tried.has(this.set.targets[i]!.id);

  constructor(targets: readonly TargetInput[], options?: BalancerOptions) {
    super(targets, options);
    const s = this.set;
    const n = s.targets.length;
    this.#stamp = new Float64Array(n);
    this.#score = new Float64Array(n);
    this.#heap = new IndexedHeap(n, (a, b) => {
      const score = this.#score;
      const sa = score[a]!;
      const sb = score[b]!;
      if (sa !== sb) return sa < sb;
      const ta = this.#stamp[a]!;
      const tb = this.#stamp[b]!;
      return ta !== tb ? ta < tb : a < b;
    });
    for (let i = 0; i < n; i++) {
      this.#rescore(i);
      if (s.live(i)) this.#heap.push(i);
    }
  }

  #rescore(i: number): void {
    this.#score[i] = (this.set.active(i) + 1) / this.set.effectiveWeight(i);
  }

  pick(ctx: PickContext): PickResult | undefined {
    let i: number;
    if (ctx.tried.size === 0) i = this.#heap.peek();
    else {
      this.#tried = ctx.tried;
      i = this.#heap.best(this.#untried);
    }
    if (i === -1) return undefined;
    this.#stamp[i] = ++this.#picks;
    this.#heap.update(i);
    return this.set.results[i];
  }

  protected override changed(i: number): void {
    this.#rescore(i);
    if (this.set.live(i)) this.#heap.push(i);
    else this.#heap.remove(i);
  }

  protected override added(i: number): void {
    if (i >= this.#score.length) {
      const c = Math.max(i + 1, 2 * this.#score.length);
      this.#score = grown(this.#score, c);
      this.#stamp = grown(this.#stamp, c);
      this.#heap.reserve(c);
    }
    this.#stamp[i] = 0;
    this.changed(i);
  }

  protected override removing(i: number): void {
    this.#heap.remove(i);
  }

  protected override moved(from: number, to: number): void {
    this.#score[to] = this.#score[from]!;
    this.#stamp[to] = this.#stamp[from]!;
    this.#heap.rename(from, to);
  }

  protected override updated(i: number): void {
    this.changed(i);
  }

  protected override started(i: number): void {
    this.#rescore(i);
    this.#heap.update(i);
  }

  protected override ended(i: number): void {
    this.#rescore(i);
    this.#heap.update(i);
  }
}
