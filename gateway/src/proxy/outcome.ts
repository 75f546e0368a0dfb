/**
 * How the proxy reports the outcome of each try; passive health checks and
 * the circuit breaker plug in here without touching the forwarder.
 */
export type OutcomeKind = 'success' | 'http_failure' | 'tcp_failure' | 'timeout';

export interface OutcomeSink {
  onOutcome(upstreamName: string, targetId: string, kind: OutcomeKind, status?: number): void;
}

export const noOutcomes: OutcomeSink = { onOutcome() {} };
