/**
 * The proxy worker's {@link OutcomeSink} (`--workers N`). The control
 * process owns health (one truth for the node); a worker runs the same
 * per-target record (health/target-runtime.ts) locally, from pushed state:
 *
 * - availability and slow-start factors come from the control process
 *   (`availability` on the ClusterBus) into the records its balancers read;
 * - the in-flight count of each target is counted here, in the record, and
 *   reported (count + the oldest try still waiting for headers) every
 *   100 ms, so the control process sums drains over workers and runs the
 *   stall guard on every worker's tries;
 * - a half-open target is granted to one worker at a time (the item's trial
 *   flag): that worker sends one trial request, holds the target out at once
 *   and reports the trial (outcome code `trial`), so the control process's
 *   breaker counts it as in one process; the others see the target out;
 * - outcomes are batched to the control process; what must be answered on
 *   the request path is answered here: upstream limits (each worker
 *   enforces its share of the cap) and the hedging deadline (from this
 *   worker's own latency samples).
 */
import type { Balancer } from '../balancer/balancer.js';
import type { BreakerConfig } from '../breaker/circuit-breaker.js';
import type { Upstream, UpstreamGwExtensions } from '../entities/types.js';
import { UPSTREAM_GW_DEFAULTS } from '../entities/upstreams.js';
import type { OutcomeKind } from '../health/counters.js';
import { LatencyStats } from '../health/latency-stats.js';
import type { OutcomeSink } from '../health/outcomes.js';
import { TargetRuntime } from '../health/target-runtime.js';
import { hedgeDeadline } from '../health/upstream-health.js';
import { UpstreamLimits } from '../limits/upstream-limits.js';
import type { Snapshot } from '../runtime/runtime.js';
import { CONTROL_NODE } from './ipc-bus.js';
import type { AvailabilityItem, BusMessage, ClusterBus, InFlightItem, OutcomeCode } from './bus.js';

/** Wire codes: indexes into OUTCOME_CODES (bus.ts). */
const CODE: Record<OutcomeCode, number> = { success: 0, http_failure: 1, tcp_failure: 2, timeout: 3, trial: 4 };

/** Flush a batch at this size, or after FLUSH_MS. */
const BATCH = 512;
const FLUSH_MS = 5;
/** The worker's records carry no health decisions: their breaker is never used. */
const UNUSED_BREAKER: BreakerConfig = { cooldownMs: 1, cooldownMaxMs: 1, halfOpenMax: 1 };

interface PerUpstream {
  upstream: Upstream;
  gw: UpstreamGwExtensions;
  limits: UpstreamLimits;
  latency: LatencyStats;
}

type Outcomes = Extract<BusMessage, { t: 'outcomes' }>;
const emptyBatch = (): Outcomes => ({ t: 'outcomes', u: [], tg: [], k: [], s: [], l: [] });

export class WorkerOutcomes implements OutcomeSink {
  readonly #bus: ClusterBus;
  readonly #upstreamById: (id: string) => Upstream | undefined;
  readonly #workers: number;
  readonly #per = new Map<string, PerUpstream>();
  /** upstream id → target id → record */
  readonly #records = new Map<string, Map<string, TargetRuntime>>();
  /** upstream id → the balancer bound to the records */
  readonly #attached = new Map<string, Balancer>();
  /** last availability the control process sent, by target id */
  readonly #known = new Map<string, AvailabilityItem>();
  /** records holding the half-open trial slot */
  readonly #trials = new Set<TargetRuntime>();
  /** records with tries in flight since the last report: [upstream id, record] */
  readonly #busy = new Map<TargetRuntime, string>();
  #batch: Outcomes = emptyBatch();
  #timer: NodeJS.Timeout | undefined;
  #nextToken = 1;

  constructor(bus: ClusterBus, upstreamById: (id: string) => Upstream | undefined, workers: number) {
    this.#bus = bus;
    this.#upstreamById = upstreamById;
    this.#workers = workers;
  }

  // ---- the runtime's snapshots and the control process's decisions --------

  /** Bind every new balancer of `snap` to this worker's records (kept across rebuilds). */
  follow(snap: Snapshot): void {
    const live = new Set<string>();
    for (const e of snap.upstreams.values()) {
      const uid = e.upstream.id;
      live.add(uid);
      if (this.#attached.get(uid) === e.balancer) continue;
      let recs = this.#records.get(uid);
      if (!recs) this.#records.set(uid, (recs = new Map<string, TargetRuntime>()));
      const seen = new Set<string>();
      for (const t of e.balancer.targets) {
        seen.add(t.id);
        let r = recs.get(t.id);
        if (!r) {
          recs.set(t.id, (r = new TargetRuntime(t, UNUSED_BREAKER, Date.now)));
          const k = this.#known.get(t.id);
          if (k) this.#apply(r, k);
        }
        r.weight = t.weight;
      }
      for (const [id, r] of recs) {
        if (seen.has(id)) continue;
        recs.delete(id);
        this.#trials.delete(r);
      }
      e.balancer.bind((id) => recs.get(id));
      this.#attached.set(uid, e.balancer);
    }
    for (const uid of [...this.#records.keys()]) {
      if (live.has(uid)) continue;
      this.#records.delete(uid);
      this.#attached.delete(uid);
    }
  }

  /** Availability pushed by the control process (init, then every change). */
  applyAvailability(items: readonly AvailabilityItem[]): void {
    for (const item of items) {
      this.#known.set(item[1], item);
      const r = this.#records.get(item[0])?.get(item[1]);
      if (r) this.#apply(r, item);
    }
  }

  // ---- OutcomeSink ---------------------------------------------------------

  admit(upstreamId: string): number {
    const p = this.#of(upstreamId);
    return p ? p.limits.admit() : 0;
  }

  requestDone(upstreamId: string, failed: boolean): void {
    this.#per.get(upstreamId)?.limits.done(failed);
  }

  tryStarted(upstreamId: string, targetId: string, longLived?: boolean): number {
    const token = this.#nextToken++;
    const r = this.#records.get(upstreamId)?.get(targetId);
    if (!r) return token;
    r.tryStarted(token, Date.now(), !longLived);
    this.#busy.set(r, upstreamId);
    if (this.#trials.delete(r)) {
      // the one trial this worker was granted: hold the target out until the control process decides
      r.setAvailability(false, r.factor);
      this.#push(upstreamId, targetId, CODE.trial, 0, -1);
    }
    return token;
  }

  onOutcome(upstreamId: string, targetId: string, token: number, kind: OutcomeKind, status?: number, latencyMs?: number): void {
    if (latencyMs !== undefined) this.#per.get(upstreamId)?.latency.add(latencyMs);
    this.#records.get(upstreamId)?.get(targetId)?.answered(token);
    this.#push(upstreamId, targetId, CODE[kind], status ?? 0, latencyMs === undefined ? -1 : Math.round(latencyMs * 100) / 100);
  }

  tryEnded(upstreamId: string, targetId: string, token: number, durationMs: number, ok: boolean): void {
    this.#records.get(upstreamId)?.get(targetId)?.tryEnded(token, durationMs, ok);
  }

  hedgeDelay(upstreamId: string, readTimeoutMs: number): number | undefined {
    const p = this.#of(upstreamId);
    return p ? hedgeDeadline(p.gw, p.latency, readTimeoutMs) : undefined;
  }

  // ---- reports to the control process --------------------------------------

  /** This worker's in-flight counts and oldest waiting tries, per busy target (a full report). */
  inFlightReport(): InFlightItem[] {
    const out: InFlightItem[] = [];
    for (const [r, uid] of this.#busy) {
      if (r.inFlight === 0) {
        this.#busy.delete(r);
        continue;
      }
      out.push([uid, r.id, r.inFlight, r.oldestLocal()]);
    }
    return out;
  }

  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#batch.u.length === 0) return;
    const b = this.#batch;
    this.#batch = emptyBatch();
    this.#bus.publish(CONTROL_NODE, b);
  }

  #push(upstreamId: string, targetId: string, code: number, status: number, latency: number): void {
    const b = this.#batch;
    b.u.push(upstreamId);
    b.tg.push(targetId);
    b.k.push(code);
    b.s.push(status);
    b.l.push(latency);
    if (b.u.length >= BATCH) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  #apply(r: TargetRuntime, [, , available, factor, trial]: AvailabilityItem): void {
    r.setAvailability(available === 1, factor);
    if (trial === 1 && available === 1) this.#trials.add(r);
    else this.#trials.delete(r);
  }

  /** State for an upstream, (re)built when its entity changed. */
  #of(id: string): PerUpstream | undefined {
    const u = this.#upstreamById(id);
    if (!u) return undefined;
    let p = this.#per.get(id);
    if (p && p.upstream === u) return p;
    const full = { ...UPSTREAM_GW_DEFAULTS, ...(u.gw ?? {}) };
    // each worker enforces its share of the upstream's concurrency cap
    const gw = {
      ...full,
      max_concurrent_requests: full.max_concurrent_requests > 0 ? Math.max(1, Math.ceil(full.max_concurrent_requests / this.#workers)) : 0,
    };
    if (p) {
      p.upstream = u;
      p.gw = full;
      p.limits.configure(gw);
    } else {
      p = { upstream: u, gw: full, limits: new UpstreamLimits(gw, Date.now), latency: new LatencyStats() };
      this.#per.set(id, p);
    }
    return p;
  }
}
