/**
 * One target's runtime state, in one record owned by health (Envoy's
 * `Host`): the health flags, one per source (Envoy's host flags, STYLE §4),
 * the circuit breaker, the node's one in-flight count, the stall guard's
 * view of tries waiting for an answer, and slow start. Each source sets and
 * clears only its own flag; routability is derived.
 *
 * The balancer reads it through {@link TargetStatus} (`available`,
 * `factor`, `inFlight`) and is told about changes through the watcher it
 * registered; it never writes here. The record survives balancer rebuilds
 * (a rebuild binds the new balancer to the same records).
 *
 * Hot path: {@link tryStarted}/{@link answered}/{@link tryEnded} are O(1)
 * (one Map insert/delete for tries that wait for headers).
 */
import type { StatusWatcher, TargetStatus } from '../balancer/balancer.js';
import { checkFactor } from '../balancer/local-status.js';
import { CircuitBreaker, type BreakerConfig } from '../breaker/circuit-breaker.js';
import { HealthCounters } from './counters.js';

/** What the Admin API reports as `gw.state` (DESIGN §5). */
export type TargetState = 'warming' | 'healthy' | 'unhealthy' | 'draining' | 'ejected';

/** What a target looks like to health (from the balancer: id, address, parsed host/port, weight). */
export interface TargetRef {
  readonly id: string;
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly weight: number;
  /** one address of a hostname target: the name (probes send it as Host, as the proxy does) */
  readonly name?: string | undefined;
}

export class TargetRuntime implements TargetStatus {
  readonly id: string;
  address: string;
  host: string;
  port: number;
  /** weight 0 = draining (deploys): the flag that comes from the entity */
  weight: number;
  /** the host name when this is one address of a hostname target */
  readonly name: string | undefined;

  // ---- health flags, one per source ---------------------------------------
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
  /** the stall guard would have held it out but max_ejection_percent did not let it (told once, until it answers) */
  stallCapped = false;
  /** passive checks' source: their verdict opens the circuit (closed → open → half-open → closed) */
  readonly breaker: CircuitBreaker;
  readonly activeCounters = new HealthCounters();
  readonly passiveCounters = new HealthCounters();

  // ---- what the balancer reads (derived by UpstreamHealth) ------------------
  /** routable, after the upstream's all-unhealthy policy */
  available = true;
  /** slow-start factor in [0, 1] */
  factor = 1;
  /** slow start: when the current ramp began (ms), null when not ramping */
  rampStart: number | null = null;
  /** what the upstream's all-unhealthy sums last counted for this target: its weight (0: not counted) and whether routable */
  countedWeight = 0;
  countedRoutable = false;

  // ---- traffic ------------------------------------------------------------
  /** tries in flight on this process (the one count: balancers, drains and metrics read it) */
  inFlight = 0;
  /** tries still waiting for response headers ({@link WaitQueue}) */
  readonly #waiting = new WaitQueue();
  /**
   * `--workers`: the oldest waiting start reported by other processes of the
   * node (ms, 0 = none), so the stall guard of the process that owns health
   * sees their tries too.
   */
  remoteOldest = 0;
  /** last time this target answered anything (ms) */
  lastResponseAt = 0;
  /** outcomes of tries reported since the record was made (the dashboard's requests/s per target) */
  outcomes = 0;
  /** of those, failed tries: no connection, a timeout, or a 5xx status (the dashboard's error rate) */
  failedOutcomes = 0;

  // ---- active checks ------------------------------------------------------
  /** one probe in flight at most; when the next one is due */
  probing = false;
  nextProbeAt = 0;

  #watcher: StatusWatcher | undefined;
  #slot = -1;

  constructor(ref: TargetRef, breaker: BreakerConfig, now: () => number) {
    this.id = ref.id;
    this.address = ref.address;
    this.host = ref.host;
    this.port = ref.port;
    this.weight = ref.weight;
    this.name = ref.name;
    this.breaker = new CircuitBreaker(breaker, now);
  }

  /**
   * Take over `old`'s health (not its traffic): the upstream was deleted and
   * re-created under the same name with a target at the same address, and
   * Kong keeps that target's health (10-balancer/01-healthchecks_spec "an
   * upstream that is removed and readed keeps the health status").
   */
  adoptHealth(old: TargetRuntime): void {
    this.failedActive = old.failedActive;
    this.manualUnhealthy = old.manualUnhealthy;
    this.warming = old.warming;
    this.breaker.adopt(old.breaker);
    Object.assign(this.activeCounters, { ...old.activeCounters });
    Object.assign(this.passiveCounters, { ...old.passiveCounters });
  }

  // ---- TargetStatus -------------------------------------------------------

  watch(watcher: StatusWatcher, slot: number): void {
    this.#watcher = watcher;
    this.#slot = slot;
  }

  /** Set what the balancer sees; tells it when something changed. Returns whether it did. */
  setAvailability(available: boolean, factor: number): boolean {
    checkFactor(factor);
    if (this.available === available && this.factor === factor) return false;
    this.available = available;
    this.factor = factor;
    this.#watcher?.changed(this.#slot);
    return true;
  }

  /** A try started at `now`; `watched` = the stall guard waits for its answer. */
  tryStarted(token: number, now: number, watched: boolean): void {
    this.inFlight++;
    if (watched) this.#waiting.push(token, now);
    this.#watcher?.started(this.#slot);
  }

  /** The try's response headers arrived (or it failed): no longer waiting. */
  answered(token: number): void {
    this.#waiting.remove(token);
  }

  /** The try is over. */
  tryEnded(token: number, latencyMs: number, ok: boolean): void {
    if (this.inFlight > 0) this.inFlight--;
    this.#waiting.remove(token);
    this.#watcher?.ended(this.#slot, latencyMs, ok);
  }

  /** Start of the oldest try still waiting for headers, here or (`--workers`) in another process, or undefined. */
  oldestWaiting(): number | undefined {
    const oldest = this.#waiting.oldest();
    if (this.remoteOldest > 0 && (oldest === undefined || this.remoteOldest < oldest)) return this.remoteOldest;
    return oldest;
  }

  /** Start of the oldest try waiting on this process only (what a worker reports). */
  oldestLocal(): number {
    return this.#waiting.oldest() ?? 0;
  }

  // ---- derived ------------------------------------------------------------

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
}

/**
 * The tries of one target still waiting for response headers: token and
 * start time (ms) of each, in start order, in a ring of two Float64Arrays
 * that only grows. Not a Map: a Map held by a record in the old generation
 * reallocated its table as it filled and emptied, a young object that every
 * scavenge had to visit for each of 10,000 targets (measured: scavenges of
 * 8-15 ms instead of about 1 ms). Tries end mostly in the order they
 * started, so the one to remove is at or near the front.
 */
export class WaitQueue {
  #tokens = new Float64Array(4);
  #starts = new Float64Array(4);
  #head = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(token: number, start: number): void {
    if (this.#size === this.#tokens.length) this.#grow();
    const j = (this.#head + this.#size) % this.#tokens.length;
    this.#tokens[j] = token;
    this.#starts[j] = start;
    this.#size++;
  }

  /** Forget `token` (no-op if it is not waiting). */
  remove(token: number): void {
    const cap = this.#tokens.length;
    const tokens = this.#tokens;
    for (let k = 0; k < this.#size; k++) {
      if (tokens[(this.#head + k) % cap] !== token) continue;
      if (k === 0) this.#head = (this.#head + 1) % cap;
      else {
        // close the gap: the later entries move one slot towards the front
        for (let m = k; m < this.#size - 1; m++) {
          const to = (this.#head + m) % cap;
          const from = (to + 1) % cap;
          tokens[to] = tokens[from]!;
          this.#starts[to] = this.#starts[from]!;
        }
      }
      this.#size--;
      return;
    }
  }

  /** Start of the oldest waiting try, or undefined. */
  oldest(): number | undefined {
    return this.#size === 0 ? undefined : this.#starts[this.#head];
  }

  #grow(): void {
    const cap = this.#tokens.length;
    const tokens = new Float64Array(cap * 2);
    const starts = new Float64Array(cap * 2);
    for (let k = 0; k < this.#size; k++) {
      tokens[k] = this.#tokens[(this.#head + k) % cap]!;
      starts[k] = this.#starts[(this.#head + k) % cap]!;
    }
    this.#tokens = tokens;
    this.#starts = starts;
    this.#head = 0;
  }
}
