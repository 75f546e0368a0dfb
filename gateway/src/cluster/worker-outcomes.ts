/**
 * The proxy worker's {@link OutcomeSink} (`--workers N`): outcomes are
 * batched to the control process, which owns health state (one truth for
 * the node); what must be answered on the request path is answered here:
 * upstream limits (each worker enforces its share of the cap) and the
 * hedging deadline (from this worker's own latency samples).
 */
import type { Upstream, UpstreamGwExtensions } from '../entities/types.js';
import { UPSTREAM_GW_DEFAULTS } from '../entities/upstreams.js';
import type { OutcomeKind } from '../health/counters.js';
import { LatencyStats } from '../health/latency-stats.js';
import { hedgeDeadline } from '../health/upstream-health.js';
import { UpstreamLimits } from '../limits/upstream-limits.js';
import type { OutcomeSink } from '../proxy/outcome.js';
import type { FromWorker } from './messages.js';

/** Wire codes: indexes into OUTCOME_CODES (messages.ts). */
const CODE: Record<OutcomeKind, number> = { success: 0, http_failure: 1, tcp_failure: 2, timeout: 3 };

/** Flush a batch at this size, or after FLUSH_MS. */
const BATCH = 512;
const FLUSH_MS = 5;

interface PerUpstream {
  upstream: Upstream;
  gw: UpstreamGwExtensions;
  limits: UpstreamLimits;
  latency: LatencyStats;
}

export class WorkerOutcomes implements OutcomeSink {
  readonly #send: (m: FromWorker) => void;
  readonly #upstreamById: (id: string) => Upstream | undefined;
  readonly #workers: number;
  readonly #per = new Map<string, PerUpstream>();
  #batch: Extract<FromWorker, { t: 'outcomes' }> = { t: 'outcomes', u: [], tg: [], k: [], s: [], l: [] };
  #timer: NodeJS.Timeout | undefined;

  constructor(send: (m: FromWorker) => void, upstreamById: (id: string) => Upstream | undefined, workers: number) {
    this.#send = send;
    this.#upstreamById = upstreamById;
    this.#workers = workers;
  }

  admit(upstreamId: string): number {
    const p = this.#of(upstreamId);
    return p ? p.limits.admit() : 0;
  }

  requestDone(upstreamId: string, failed: boolean): void {
    this.#per.get(upstreamId)?.limits.done(failed);
  }

  tryStarted(): number {
    return 0;
  }

  onOutcome(upstreamId: string, targetId: string, _token: number, kind: OutcomeKind, status?: number, latencyMs?: number): void {
    if (latencyMs !== undefined) this.#per.get(upstreamId)?.latency.add(latencyMs);
    const b = this.#batch;
    b.u.push(upstreamId);
    b.tg.push(targetId);
    b.k.push(CODE[kind]);
    b.s.push(status ?? 0);
    b.l.push(latencyMs === undefined ? -1 : Math.round(latencyMs * 100) / 100);
    if (b.u.length >= BATCH) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  tryEnded(): void {}

  hedgeDelay(upstreamId: string, readTimeoutMs: number): number | undefined {
    const p = this.#of(upstreamId);
    return p ? hedgeDeadline(p.gw, p.latency, readTimeoutMs) : undefined;
  }

  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#batch.u.length === 0) return;
    const b = this.#batch;
    this.#batch = { t: 'outcomes', u: [], tg: [], k: [], s: [], l: [] };
    this.#send(b);
  }

  /** State for an upstream, (re)built when its entity changed. */
  #of(id: string): PerUpstream | undefined {
    const u = this.#upstreamById(id);
    if (!u) return undefined;
    let p = this.#per.get(id);
    if (p && p.upstream === u) return p;
    const full = { ...UPSTREAM_GW_DEFAULTS, ...(u.gw ?? {}) };
    // each worker enforces its share of the upstream's concurrency cap
    const gw = { ...full, max_concurrent_requests: full.max_concurrent_requests > 0 ? Math.max(1, Math.ceil(full.max_concurrent_requests / this.#workers)) : 0 };
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
