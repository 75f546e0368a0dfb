/**
 * Consistent hashing (Kong's ketama-like continuum). Each live-weight target
 * gets ⌊weight/total × targets × 160⌋ points (at least 1) at xxHash32 of
 * `host:port N`, N = 1…; a request hashes its value (hash-input.ts) with
 * xxHash32, binary-searches the first point at or after it and walks the ring
 * forward to the first available, untried target. Adding a target only takes
 * the keys that now land on its points (≈1/n). O(log n) per pick.
 *
 * The slow-start `factor` is not applied: scaling a target's share would move
 * keys, which is what this algorithm promises not to do; availability is.
 *
 * Kong also lays the points out on a `slots`-sized continuum; with a sorted
 * ring of the points themselves that indirection buys nothing, so `slots`
 * does not change where a key lands.
 *
 * Target changes rebuild the ring (not incremental): a target's point count
 * depends on the total weight and the number of weighted targets, so one
 * change can move every target's points.
 */
import { randomUUID } from 'node:crypto';
import type { Upstream } from '../../entities/types.js';
import type { TargetInput } from '../target-set.js';
import type { PickContext, PickResult } from '../balancer.js';
import { xxhash32, xxhash32Bytes } from '../hash.js';
import { compileHashInput, type HashInput, hashCookie } from '../hash-input.js';
import type { BalancerOptions } from '../options.js';
import { TargetSetBalancer } from '../target-set-balancer.js';

/** points per target when all weights are equal */
export const POINTS_PER_TARGET = 160;
/** target indices are packed beside the hash in one float64: 2^21 targets at most */
const INDEX_BITS = 2 ** 21;

/** `consistent-hashing`: see the module comment. */
export class ConsistentHashingBalancer extends TargetSetBalancer {
  override readonly algorithm = 'consistent-hashing';
  readonly #input: HashInput;
  readonly #cookie: { name: string; path: string } | null;
  /** ring positions, ascending, and the target index at each */
  readonly #points: Uint32Array;
  readonly #owners: Uint32Array;

  constructor(upstream: Upstream, targets: readonly TargetInput[], options?: BalancerOptions) {
    super(targets, options);
    this.#input = compileHashInput(upstream);
    const byCookie = upstream.hash_on === 'cookie' || upstream.hash_fallback === 'cookie';
    this.#cookie = byCookie && upstream.hash_on_cookie ? { name: upstream.hash_on_cookie, path: upstream.hash_on_cookie_path } : null;
    const ts = this.set.targets;
    if (ts.length >= INDEX_BITS) throw new RangeError(`consistent-hashing supports at most ${INDEX_BITS - 1} targets, got ${ts.length}`);
    let total = 0;
    let weighted = 0;
    for (const t of ts) if (t.weight > 0) [total, weighted] = [total + t.weight, weighted + 1];
    const counts = ts.map((t) => (t.weight === 0 ? 0 : Math.max(1, Math.floor((t.weight * weighted * POINTS_PER_TARGET) / total))));
    // hash × 2^21 + index stays below 2^53: one numeric typed-array sort orders the ring
    const packed = new Float64Array(counts.reduce((a, b) => a + b, 0));
    let p = 0;
    ts.forEach((t, i) => {
      if (counts[i] === 0) return;
      // `host:port N`: the prefix is encoded once, only the digits of N change
      const prefix = Buffer.from(`${t.address} `, 'utf8');
      const buf = new Uint8Array(prefix.length + 10);
      buf.set(prefix);
      for (let j = 1; j <= counts[i]!; j++)
        packed[p++] = xxhash32Bytes(buf, prefix.length + writeDigits(buf, prefix.length, j), 0) * INDEX_BITS + i;
    });
    packed.sort();
    this.#points = new Uint32Array(packed.length);
    this.#owners = new Uint32Array(packed.length);
    for (let k = 0; k < packed.length; k++) {
      const v = packed[k]!;
      const i = v % INDEX_BITS;
      this.#owners[k] = i;
      this.#points[k] = (v - i) / INDEX_BITS;
    }
  }

  override get incremental(): boolean {
    return false;
  }

  pick(ctx: PickContext): PickResult | undefined {
    const n = this.#points.length;
    if (n === 0 || this.set.availableCount() === 0) return undefined;
    let value = this.#input(ctx);
    let setCookie: string | undefined;
    if (value === null) {
      value = randomUUID();
      setCookie = hashCookie(this.#cookie!.name, this.#cookie!.path, value);
    }
    const h = xxhash32(value);
    const points = this.#points;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    for (let k = 0; k < n; k++) {
      const i = this.#owners[lo + k < n ? lo + k : lo + k - n]!;
      if (this.set.usable(i, ctx)) return setCookie ? { target: this.set.targets[i]!, setCookie } : this.set.results[i];
    }
    return undefined;
  }
}

/** Write the decimal digits of a positive integer at `at`; returns how many. */
function writeDigits(buf: Uint8Array, at: number, n: number): number {
  let len = 0;
  for (let m = n; m > 0; m = Math.floor(m / 10)) len++;
  for (let k = len - 1, m = n; k >= 0; k--, m = Math.floor(m / 10)) buf[at + k] = 48 + (m % 10);
  return len;
}
