/**
 * What the proxy reports to health checks, the circuit breaker and upstream
 * limits, and the two questions it asks them; the proxy never reads health
 * state itself. Keys are upstream and target entity ids.
 */
import type { OutcomeKind } from '../health/counters.js';

export type { OutcomeKind } from '../health/counters.js';

export interface OutcomeSink {
  /** Upstream limits: 0 = go on (the request is counted until {@link requestDone}), else Retry-After seconds. */
  admit(upstreamId: string): number;
  /** An admitted request finished; `failed` = every try failed, or a 5xx came back. */
  requestDone(upstreamId: string, failed: boolean): void;
  /** A try was sent to a target; returns a token for the calls below. */
  tryStarted(upstreamId: string, targetId: string): number;
  /**
   * The try's outcome: a response (with status and time to headers) or a
   * failure (passive checks). A `timeout` with `latencyMs` is a try that
   * lost a hedge race after waiting that long without any answer.
   */
  onOutcome(upstreamId: string, targetId: string, token: number, kind: OutcomeKind, status?: number, latencyMs?: number): void;
  /** The try is over, whatever happened (also after a cancelled hedge). */
  tryEnded(upstreamId: string, targetId: string, token: number): void;
  /** Hedging: how long a try may wait for headers before another target is asked too, ms; undefined = no hedging. */
  hedgeDelay(upstreamId: string, readTimeoutMs: number): number | undefined;
}

export const noOutcomes: OutcomeSink = {
  admit: () => 0,
  requestDone() {},
  tryStarted: () => 0,
  onOutcome() {},
  tryEnded() {},
  hedgeDelay: () => undefined,
};
