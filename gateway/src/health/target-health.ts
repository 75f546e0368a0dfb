/**
 * One target's health as separate flags, one per source (Envoy's host
 * flags, STYLE §4): each source sets and clears only its own flag, and
 * routability is derived. The circuit breaker is one of the sources.
 */
import { CircuitBreaker, type BreakerConfig } from '../breaker/circuit-breaker.js';
import { HealthCounters } from './counters.js';

/** What the Admin API reports as `gw.state` (DESIGN §5). */
export type TargetState = 'warming' | 'healthy' | 'unhealthy' | 'draining' | 'ejected';

export class TargetHealth {
  readonly id: string;
  address: string;
  host: string;
  port: number;
  weight: number;
  /** active checks reached their unhealthy threshold */
  failedActive = false;
  /** an operator's `PUT …/unhealthy` */
  manualUnhealthy = false;
  /** added to an upstream with active checks and not yet probed successfully */
  warming = false;
  /** stall guard: the oldest in-flight request waits far too long while others answer */
  stalled = false;
  /** when a stalled target gets traffic again if it has not answered by then (ms) */
  stalledUntil = 0;
  readonly breaker: CircuitBreaker;
  readonly activeCounters = new HealthCounters();
  readonly passiveCounters = new HealthCounters();
  /** slow start: when the current ramp began (ms), null when not ramping */
  rampStart: number | null = null;
  /** in-flight tries, token → start ms, in start order (the first is the oldest) */
  readonly inFlight = new Map<number, number>();
  /** last time this target answered anything (ms) */
  lastResponseAt = 0;
  /** active checks: one probe in flight at most; when the next one is due */
  probing = false;
  nextProbeAt = 0;

  constructor(ref: { id: string; address: string; host: string; port: number; weight: number }, breaker: BreakerConfig, now: () => number) {
    this.id = ref.id;
    this.address = ref.address;
    this.host = ref.host;
    this.port = ref.port;
    this.weight = ref.weight;
    this.breaker = new CircuitBreaker(breaker, now);
  }

  /** No health source objects (weight is the balancer's business). */
  routable(): boolean {
    return !this.failedActive && !this.manualUnhealthy && !this.warming && !this.stalled && this.breaker.admits();
  }

  /** Unhealthy for a health reason other than warming (what active checks probe at `unhealthy.interval`). */
  unhealthy(): boolean {
    return this.failedActive || this.manualUnhealthy || this.breaker.state.state !== 'closed';
  }

  /** The one word the Admin API shows; the order decides which source wins. */
  state(): TargetState {
    if (this.weight === 0) return 'draining';
    if (this.breaker.state.state !== 'closed') return 'ejected';
    if (this.manualUnhealthy) return 'unhealthy';
    // never passed a probe yet: still warming, whatever the failing probes say
    if (this.warming) return 'warming';
    if (this.failedActive || this.stalled) return 'unhealthy';
    return 'healthy';
  }

  /** Kong's word for the address: HEALTHY unless a health source holds it out. */
  kongHealth(): 'HEALTHY' | 'UNHEALTHY' {
    return this.unhealthy() || this.warming ? 'UNHEALTHY' : 'HEALTHY';
  }

  oldestInFlight(): number | undefined {
    for (const start of this.inFlight.values()) return start;
    return undefined;
  }
}
