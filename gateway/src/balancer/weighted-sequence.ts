/**
 * The interleaved weighted sequence behind round-robin. Each member `i` of
 * weight `w` is due at virtual times (k + ½)/w, k = 0, 1, 2…; the sequence
 * serves members in order of their next due time (ties: lower index). This is
 * stride scheduling with Webster's offsets, and it has two properties we use:
 *
 * - it is periodic: over any S = Σw consecutive picks member `i` appears
 *   exactly `w` times, and heavy members are spread out, not bunched;
 * - equal weights give plain alternation 0, 1, 2, … n-1.
 *
 * {@link buildWheel} materialises one period (Kong's "wheel") when it is
 * small; {@link StrideScheduler} generates the same sequence lazily in
 * O(log n) per step when it is not (weights like 65535 and 1).
 */
import { IndexedHeap } from './heap.js';
import { grown } from './target-set.js';

/** Largest wheel materialised; beyond it the sequence is generated lazily. */
export const MAX_WHEEL = 4096;

const gcd = (a: number, b: number): number => {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
};

/**
 * Generates the weighted sequence lazily: O(log n) per step, O(n) memory.
 * Members can join ({@link insert}: due from the current virtual time on),
 * leave and be renumbered in O(log n); the sequence stays periodic (any Σw
 * consecutive steps serve each member w times), only its phase differs from
 * one built from scratch.
 */
export class StrideScheduler {
  #w: Float64Array;
  /** slots served per member */
  #k: Float64Array;
  readonly #heap: IndexedHeap;

  /** Members are the indices with a weight > 0. */
  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    this.#w = Float64Array.from(weights);
    this.#k = new Float64Array(n);
    // a due before b: (2k_a+1)/2w_a < (2k_b+1)/2w_b, cross-multiplied so it stays exact in integers
    this.#heap = new IndexedHeap(n, (a, b) => {
      const w = this.#w;
      const k = this.#k;
      const l = (2 * k[a]! + 1) * w[b]!;
      const r = (2 * k[b]! + 1) * w[a]!;
      return l < r || (l === r && a < b);
    });
    for (let i = 0; i < n; i++) if (this.#w[i]! > 0) this.#heap.push(i);
  }

  has(i: number): boolean {
    return i < this.#w.length && this.#heap.has(i);
  }

  /**
   * Make `i` (not a member) a member of weight `w` > 0, first due at the
   * earliest of its due times not before the member due now.
   */
  insert(i: number, w: number): void {
    this.#reserve(i + 1);
    const top = this.#heap.peek();
    this.#w[i] = w;
    this.#k[i] = top === -1 ? 0 : this.#firstDueAfter(top, i, w);
    this.#heap.push(i);
  }

  /**
   * The smallest k for member `i` of weight `w` whose slot (2k+1)/2w comes
   * after the slot of `top` (the member due now; equal times: after it when
   * `i` is the higher index, as the heap orders them). So the new member's
   * first period starts where everyone else's does: any Σw steps from now
   * serve each member w times.
   */
  #firstDueAfter(top: number, i: number, w: number): number {
    const t = 2 * this.#k[top]! + 1;
    const wt = this.#w[top]!;
    // (2k+1)·wt vs t·w, exact in integers; the float estimate is corrected by a step or two
    const after = (k: number): boolean => {
      const l = (2 * k + 1) * wt;
      const r = t * w;
      return l > r || (l === r && i > top);
    };
    let k = Math.max(0, Math.ceil((t * w) / wt / 2 - 0.5));
    for (let n = 0; n < 4 && !after(k); n++) k++;
    for (let n = 0; n < 4 && k > 0 && after(k - 1); n++) k--;
    return k;
  }

  #reserve(n: number): void {
    if (n <= this.#w.length) return;
    const c = Math.max(n, 2 * this.#w.length);
    this.#w = grown(this.#w, c);
    this.#k = grown(this.#k, c);
    this.#heap.reserve(c);
  }

  /** `i` is no longer a member. */
  remove(i: number): void {
    if (i < this.#w.length) this.#heap.remove(i);
  }

  /** Member (or non-member) `from` is now numbered `to` (not a member). */
  rename(from: number, to: number): void {
    if (from >= this.#w.length) return;
    this.#reserve(to + 1);
    this.#w[to] = this.#w[from]!;
    this.#k[to] = this.#k[from]!;
    this.#heap.rename(from, to);
  }

  get size(): number {
    return this.#heap.size;
  }

  /** Serve the member due first and return it (-1 when empty). */
  next(): number {
    const i = this.#heap.peek();
    if (i !== -1) this.consume(i);
    return i;
  }

  /** The member due first among those `accept`ed, without serving it (-1 if none). */
  best(accept: (i: number) => boolean): number {
    return this.#heap.best(accept);
  }

  /** Serve member `i`: its next due time moves one stride later. */
  consume(i: number): void {
    this.#k[i]!++;
    this.#heap.update(i);
  }
}

/**
 * One period of the sequence for `weights` reduced by their gcd, or null
 * when that period is longer than `max` slots. Zero weights get no slot.
 */
export function buildWheel(weights: readonly number[], max = MAX_WHEEL): Uint32Array | null {
  let g = 0;
  for (const w of weights) if (w > 0) g = gcd(w, g);
  if (g === 0) return new Uint32Array(0);
  let size = 0;
  for (const w of weights) size += w / g;
  if (size > max) return null;
  const s = new StrideScheduler(weights.map((w) => w / g));
  const wheel = new Uint32Array(size);
  for (let j = 0; j < size; j++) wheel[j] = s.next();
  return wheel;
}
