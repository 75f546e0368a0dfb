/**
 * Optional knobs of a balancer factory: injected time and randomness (so
 * tests are deterministic) and the balancer being replaced (so a rebuild keeps
 * latency averages).
 */
import type { Balancer } from './balancer.js';

export interface BalancerOptions {
  /**
   * The balancer this one replaces (same upstream, before a target change):
   * the latency algorithm's averages of targets still present carry over.
   * Availability, slow-start factors and in-flight counts are not the
   * balancer's: they live in health's per-target records, which survive a
   * rebuild and are bound to the new balancer ({@link Balancer.bind}).
   */
  readonly previous?: Balancer;
  /** Milliseconds clock (latency decay). Default `performance.now`. */
  readonly now?: () => number;
  /**
   * Seed of the balancer's randomness (round-robin's starting slot, latency's
   * sampling for large upstreams). Default: random, so gateway replicas do not
   * all start on the same target.
   */
  readonly seed?: number;
}

/** mulberry32: a tiny seeded PRNG returning uint32s; plenty for spreading picks. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** The seed to use: the given one, else a random one. */
export function resolveSeed(options: BalancerOptions | undefined): number {
  const s = options?.seed;
  if (s === undefined) return (Math.random() * 2 ** 32) >>> 0;
  if (!Number.isFinite(s)) throw new RangeError(`balancer seed must be a finite number, got ${s}`);
  return s >>> 0;
}
