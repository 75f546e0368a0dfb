/**
 * Cluster mode on PostgreSQL: what one gateway node shares with the others
 * over the {@link PgBus}, beside the entities the store already shares.
 *
 * - A passive ejection or breaker opening here is published (`eject`) and
 *   applied on every other node (their breakers open with the same
 *   cool-down); each node then runs its own half-open trials and probes.
 * - An operator's `PUT /upstreams/{u}/targets/{t}/healthy|unhealthy` on any
 *   node is applied here and published (`manual`).
 * - This node's per-target in-flight counts (this process plus its
 *   `--workers` proxies) are published, so `activeRequests()` is the sum
 *   over live nodes and a drain waits for every node.
 */
import type { HealthManager, ManualResult } from '../health/health-manager.js';
import type { Logger } from '../observability/log.js';
import type { Store } from '../store/store.js';
import { ALL_NODES, type InFlightItem } from './bus.js';
import type { PgBus } from './pg-bus.js';

/** Reason prefix of ejections that came from another node (never re-published). */
export const ELSEWHERE = 'ejected on node';

export interface NodeSyncOptions {
  bus: PgBus;
  health: HealthManager;
  store: Store;
  logger: Logger;
  /** requests in flight to a target on this node (all its processes) */
  localInFlight: (upstreamId: string, targetId: string) => number;
  /** how often in-flight counts are collected (ms, default 100) */
  collectMs?: number;
}

export class NodeSync {
  readonly #o: NodeSyncOptions;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #disposers: (() => void)[] = [];
  /** ejections received from other nodes and applied here */
  remoteEjections = 0;

  constructor(o: NodeSyncOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'cluster' });
  }

  start(): void {
    const { bus, health } = this.#o;
    this.#disposers.push(
      health.onEvent((e) => {
        if (e.kind !== 'breaker' || e.to !== 'open' || e.from !== 'closed' || e.reason.startsWith(ELSEWHERE)) return;
        bus.publish(ALL_NODES, { t: 'eject', upstream: e.upstream, target: e.target, reason: e.reason });
      }),
      bus.subscribe((m, from) => {
        if (m.t === 'eject') {
          if (typeof m.upstream !== 'string' || typeof m.target !== 'string') return;
          if (health.ejectedElsewhere(m.upstream, m.target, `${ELSEWHERE} ${from}: ${String(m.reason)}`)) {
            this.remoteEjections++;
            this.#log.info(
              { upstream: m.upstream, target: m.target, node: from, reason: m.reason },
              'target ejected on another node: ejected here too',
            );
          }
        } else if (m.t === 'manual') {
          if (typeof m.upstream !== 'string' || typeof m.target !== 'string') return;
          health.setManual(m.upstream, m.target, m.healthy === true);
        }
      }),
    );
    this.#timer = setInterval(() => this.#collect(), this.#o.collectMs ?? 100);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    for (const d of this.#disposers) d();
    this.#disposers = [];
  }

  /** An operator's manual health change on this node: applied here and on every other node. */
  setManual(upstreamId: string, targetId: string, healthy: boolean): ManualResult {
    const r = this.#o.health.setManual(upstreamId, targetId, healthy);
    if (r === 'ok') this.#o.bus.publish(ALL_NODES, { t: 'manual', upstream: upstreamId, target: targetId, healthy });
    return r;
  }

  #collect(): void {
    const items: InFlightItem[] = [];
    for (const t of this.#o.store.all('targets')) {
      const n = this.#o.localInFlight(t.upstream.id, t.id);
      if (n > 0) items.push([t.upstream.id, t.id, n, 0]);
    }
    this.#o.bus.reportInFlight(items);
  }
}
