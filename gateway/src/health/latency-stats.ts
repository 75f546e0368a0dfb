/**
 * An upstream's recent response times, for the stall guard and the adaptive
 * hedging deadline: an exponentially weighted mean and mean deviation of the
 * time to response headers (Jacobson's RTO estimator, as TCP does).
 */

/** Samples before the estimate is trusted (no hedging or stall guard before). */
export const MIN_SAMPLES = 20;
const ALPHA = 1 / 8;
const BETA = 1 / 4;

export class LatencyStats {
  mean = 0;
  dev = 0;
  samples = 0;

  add(ms: number): void {
    if (!(ms >= 0)) return;
    if (this.samples === 0) {
      this.mean = ms;
      this.dev = ms / 2;
    } else {
      this.dev += BETA * (Math.abs(ms - this.mean) - this.dev);
      this.mean += ALPHA * (ms - this.mean);
    }
    this.samples++;
  }

  /**
   * How long a try may wait before it is hedged: mean + 4 × deviation,
   * at least `floorMs`, at most `capMs`; undefined until {@link MIN_SAMPLES}.
   */
  deadline(floorMs: number, capMs: number): number | undefined {
    if (this.samples < MIN_SAMPLES) return undefined;
    return Math.min(capMs, Math.max(floorMs, this.mean + 4 * this.dev));
  }
}
