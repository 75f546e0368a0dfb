/**
 * Upstream limits (what Envoy calls circuit breaking, DESIGN §6): optional
 * per-upstream caps on concurrent requests and on the error rate over a
 * sliding window. Over a cap, a request is refused at once (503 with
 * `Retry-After`), never queued. Time is injected.
 */
import type { UpstreamGwExtensions } from '../entities/types.js';

/** Requests in the window before the error rate is judged (a handful of errors is not a rate). */
export const MIN_VOLUME = 20;

export class UpstreamLimits {
  /** requests in flight through the upstream */
  active = 0;
  /** error-rate trip: shed until this time (ms), 0 = not tripped */
  shedUntil = 0;
  /** per-second buckets of the window: [total, errors] */
  #total: Int32Array;
  #errors: Int32Array;
  #bucketSecond = -1;
  #cfg: UpstreamGwExtensions;
  readonly #now: () => number;

  constructor(cfg: UpstreamGwExtensions, now: () => number) {
    this.#cfg = cfg;
    this.#now = now;
    this.#total = new Int32Array(cfg.error_rate_window);
    this.#errors = new Int32Array(cfg.error_rate_window);
  }

  configure(cfg: UpstreamGwExtensions): void {
    if (cfg.error_rate_window !== this.#cfg.error_rate_window) {
      this.#total = new Int32Array(cfg.error_rate_window);
      this.#errors = new Int32Array(cfg.error_rate_window);
      this.#bucketSecond = -1;
    }
    this.#cfg = cfg;
  }

  /** 0 when the request may go on (and is counted as active), else the Retry-After seconds. */
  admit(): number {
    const c = this.#cfg;
    if (c.max_error_rate > 0 && this.shedUntil > 0) {
      const left = this.shedUntil - this.#now();
      if (left > 0) return Math.max(1, Math.ceil(left / 1000));
      this.shedUntil = 0;
    }
    if (c.max_concurrent_requests > 0 && this.active >= c.max_concurrent_requests) return 1;
    this.active++;
    return 0;
  }

  /** An admitted request finished; `failed` = a try error or a 5xx from the upstream. */
  done(failed: boolean): void {
    if (this.active > 0) this.active--;
    const c = this.#cfg;
    if (c.max_error_rate <= 0) return;
    const i = this.#advance();
    this.#total[i]!++;
    if (failed) this.#errors[i]!++;
    if (!failed || this.shedUntil > 0) return;
    let total = 0;
    let errors = 0;
    for (let k = 0; k < this.#total.length; k++) {
      total += this.#total[k]!;
      errors += this.#errors[k]!;
    }
    if (total >= MIN_VOLUME && errors / total > c.max_error_rate) {
      this.shedUntil = this.#now() + c.breaker_cooldown * 1000;
      this.#total.fill(0);
      this.#errors.fill(0);
    }
  }

  /** Rotate the ring of per-second buckets up to now; returns the current bucket. */
  #advance(): number {
    const sec = Math.floor(this.#now() / 1000);
    const n = this.#total.length;
    if (this.#bucketSecond === -1 || sec - this.#bucketSecond >= n) {
      this.#total.fill(0);
      this.#errors.fill(0);
    } else {
      for (let s = this.#bucketSecond + 1; s <= sec; s++) {
        this.#total[s % n] = 0;
        this.#errors[s % n] = 0;
      }
    }
    this.#bucketSecond = Math.max(sec, this.#bucketSecond);
    return sec % n;
  }
}
