/**
 * The outcome seam, declared by its consumer (STYLE §2.3): what the proxy
 * reports to health checks, the circuit breaker and upstream limits, and
 * the two questions it asks them. The proxy implements nothing here; it
 * calls an {@link OutcomeSink} it is given (the {@link HealthManager} in one
 * process, `WorkerOutcomes` in a `--workers` proxy). Health never imports
 * the proxy. Keys are upstream and target entity ids.
 *
 * Each try is reported once: {@link OutcomeSink.tryStarted} when it is
 * sent, at most one verdict ({@link OutcomeSink.onOutcome}) and
 * {@link OutcomeSink.tryEnded} when it is over. The per-target in-flight
 * count, the stall guard and half-open trial slots all hang off these.
 */
import type { OutcomeKind } from './counters.js';

export type { OutcomeKind } from './counters.js';

export interface OutcomeSink {
  /** Upstream limits: 0 = go on (the request is counted until {@link requestDone}), else Retry-After seconds. */
  admit(upstreamId: string): number;
  /** An admitted request finished; `failed` = every try failed, or a 5xx came back. */
  requestDone(upstreamId: string, failed: boolean): void;
  /**
   * A try was sent to a target: counts it in flight (and takes a half-open
   * trial slot); returns a token for the calls below. `longLived` tries
   * (WebSocket tunnels) count in flight but are not watched by the stall guard.
   */
  tryStarted(upstreamId: string, targetId: string, longLived?: boolean): number;
  /**
   * The try's verdict: a response (with status and time to headers) or a
   * failure (passive checks). A `timeout` with `latencyMs` is a try that
   * lost a hedge race after waiting that long without any answer.
   */
  onOutcome(upstreamId: string, targetId: string, token: number, kind: OutcomeKind, status?: number, latencyMs?: number): void;
  /** The try is over, whatever happened (also after a cancelled hedge); `durationMs` feeds the latency balancer. */
  tryEnded(upstreamId: string, targetId: string, token: number, durationMs: number, ok: boolean): void;
  /** Hedging: how long a try may wait for headers before another target is asked too, ms; undefined = no hedging. */
  hedgeDelay(upstreamId: string, readTimeoutMs: number): number | undefined;
}
