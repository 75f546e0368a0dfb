/**
 * Kong's health counters (kong-semantics §5), the trip decision apart from
 * any state machine: separate counters for successes, http_failures,
 * tcp_failures and timeouts; a success resets every failure counter, any
 * failure resets the success counter; reaching a threshold reports the flip;
 * a threshold of 0 disables that counter.
 */

export type OutcomeKind = 'success' | 'http_failure' | 'tcp_failure' | 'timeout';

export interface Thresholds {
  readonly successes: number;
  readonly http_failures: number;
  readonly tcp_failures: number;
  readonly timeouts: number;
}

/** What one outcome decided: the threshold it reached, or `pending`. */
export type CounterVerdict = 'healthy' | 'unhealthy' | 'pending';

export class HealthCounters {
  successes = 0;
  http_failures = 0;
  tcp_failures = 0;
  timeouts = 0;

  /** Count one outcome against `t`; `'healthy'`/`'unhealthy'` when a threshold was reached. */
  record(kind: OutcomeKind, t: Thresholds): CounterVerdict {
    if (kind === 'success') {
      this.http_failures = this.tcp_failures = this.timeouts = 0;
      this.successes++;
      return t.successes > 0 && this.successes >= t.successes ? 'healthy' : 'pending';
    }
    this.successes = 0;
    const key = kind === 'http_failure' ? 'http_failures' : kind === 'tcp_failure' ? 'tcp_failures' : 'timeouts';
    this[key]++;
    return t[key] > 0 && this[key] >= t[key] ? 'unhealthy' : 'pending';
  }

  reset(): void {
    this.successes = this.http_failures = this.tcp_failures = this.timeouts = 0;
  }
}
