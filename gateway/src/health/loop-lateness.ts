/**
 * How long the process itself was busy or paused (a long GC, CPU
 * starvation, a stopped VM), as the health ticks see it: a tick due every
 * `periodMs` that runs later than that ran late by the difference. The stall
 * guard subtracts that time from how long a try has waited: while the
 * process does not run, no try can be answered, whatever its target does,
 * and every target would look stalled at once. Only this process's ticks are
 * seen (with `--workers`, a worker's own pauses are not).
 */
export class LoopLateness {
  readonly #periodMs: number;
  readonly #keep: number;
  /** the last ticks, oldest first: when each ran and how late */
  readonly #at: number[] = [];
  readonly #late: number[] = [];

  /** `keep`: ticks remembered (older lateness is forgotten: at 100 ms ticks, 12.8 s by default) */
  constructor(periodMs: number, keep = 128) {
    this.#periodMs = periodMs;
    this.#keep = keep;
  }

  /** A tick ran at `now` (ms, the health clock). */
  tick(now: number): void {
    const prev = this.#at.at(-1);
    this.#at.push(now);
    this.#late.push(prev === undefined ? 0 : Math.max(0, now - prev - this.#periodMs));
    if (this.#at.length > this.#keep) {
      this.#at.shift();
      this.#late.shift();
    }
  }

  /** Lateness of the ticks since `t0` (ms). A tick whose interval began before `t0` counts at most its part after `t0`. */
  readonly since = (t0: number): number => {
    let sum = 0;
    for (let i = this.#at.length - 1; i >= 0; i--) {
      const at = this.#at[i]!;
      if (at <= t0) break;
      sum += Math.min(this.#late[i]!, at - t0);
    }
    return sum;
  };
}
