/**
 * The control process of `--workers N`: it owns the store, the Admin API,
 * leases and health (probes, passive verdicts, breakers), and runs no proxy
 * itself. It forks N proxy workers (node:cluster shares the listening
 * socket), sends them every entity write and every availability change,
 * takes their outcomes into the one health state of the node, and sums
 * their in-flight counts (so a drain waits for every worker).
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { Balancer } from '../balancer/balancer.js';
import type { HealthManager } from '../health/health-manager.js';
import type { StatusSink } from '../health/upstream-health.js';
import type { Logger } from '../observability/log.js';
import type { ProxyLimits } from '../proxy/server.js';
import { RequestMetrics, type ProxyStats } from '../observability/metrics.js';
import type { ChangeEvent, Store, WriteOp } from '../store/store.js';
import { OUTCOME_CODES, type AvailabilityItem, type FromWorker, type ToWorker } from './messages.js';

export interface ClusterOptions {
  workers: number;
  proxyListen: string;
  logLevel: string;
  trustedIps: readonly string[];
  proxyLimits: Partial<ProxyLimits>;
  store: Store;
  logger: Logger;
}

const RESPAWN_MS = 1_000;
const METRICS_TIMEOUT_MS = 1_000;

const toOp = (e: ChangeEvent): WriteOp => (e.op === 'delete' ? { op: 'delete', kind: e.kind, id: e.entity.id } : { op: 'put', kind: e.kind, entity: e.entity });

export class ClusterControl {
  readonly #opts: ClusterOptions;
  readonly #log: Logger;
  readonly #workers = new Map<number, Worker>();
  /** in-flight counts per worker id, by target id */
  readonly #inFlight = new Map<number, Map<string, number>>();
  /** last availability of every target, for workers that start later */
  readonly #availability = new Map<string, AvailabilityItem>();
  #pending: AvailabilityItem[] = [];
  #flushScheduled = false;
  #health: HealthManager | undefined;
  #unsubscribe: (() => void) | undefined;
  #closing = false;
  #port = 0;
  #metricsId = 0;
  readonly #metricsWaits = new Map<number, (m: Extract<FromWorker, { t: 'metrics' }>) => void>();
  /** hedging counters summed over workers at the last scrape */
  readonly stats: ProxyStats = { hedged: 0, hedgeWins: 0 };
  /** request series summed over workers at the last scrape */
  requests = new RequestMetrics();

  constructor(opts: ClusterOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'cluster' });
  }

  /** The health seam for `HealthManager`: the control's balancer and every worker's. */
  sinkFor = (upstreamId: string, balancer: Balancer): StatusSink => ({
    setAvailability: (targetId, available, factor = 1) => {
      balancer.setAvailability(targetId, available, factor);
      const prev = this.#availability.get(targetId);
      if (prev && prev[2] === (available ? 1 : 0) && prev[3] === factor) return;
      const item: AvailabilityItem = [upstreamId, targetId, available ? 1 : 0, factor];
      this.#availability.set(targetId, item);
      this.#pending.push(item);
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flushAvailability());
      }
    },
  });

  /** Fork the workers; resolves with the shared proxy port once all listen. */
  async start(health: HealthManager): Promise<{ port: number }> {
    this.#health = health;
    this.#unsubscribe = this.#opts.store.subscribe((events) => {
      for (const e of events) if (e.kind === 'targets' && e.op === 'delete') this.#availability.delete(e.entity.id);
      this.#broadcast({ t: 'changes', ops: events.map(toOp) });
    });
    cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker-main.js', import.meta.url)), execArgv: [], silent: false });
    const listening = Array.from({ length: this.#opts.workers }, () => this.#fork());
    const ports = await Promise.all(listening);
    this.#port = ports[0]!;
    this.#log.info({ workers: this.#opts.workers, port: this.#port }, 'proxy workers listening');
    return { port: this.#port };
  }

  /** Requests in flight to a target, summed over the workers. */
  activeRequests(targetId: string): number {
    let n = 0;
    for (const m of this.#inFlight.values()) n += m.get(targetId) ?? 0;
    return n;
  }

  /** Gather every worker's request metrics and hedging counters (bounded wait). */
  async collect(): Promise<void> {
    const replies = await Promise.all(
      [...this.#workers.values()].map(
        (w) =>
          new Promise<Extract<FromWorker, { t: 'metrics' }> | undefined>((resolve) => {
            const id = ++this.#metricsId;
            const timer = setTimeout(() => {
              this.#metricsWaits.delete(id);
              resolve(undefined);
            }, METRICS_TIMEOUT_MS);
            this.#metricsWaits.set(id, (m) => {
              clearTimeout(timer);
              resolve(m);
            });
            this.#send(w, { t: 'metrics?', id });
          }),
      ),
    );
    const merged = new RequestMetrics();
    this.stats.hedged = 0;
    this.stats.hedgeWins = 0;
    for (const r of replies) {
      if (!r) continue;
      merged.merge(r.series);
      this.stats.hedged += r.hedged;
      this.stats.hedgeWins += r.hedgeWins;
    }
    this.requests = merged;
  }

  /** Let every worker drain (up to `graceMs`), then stop them. Idempotent. */
  async close(graceMs: number): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#unsubscribe?.();
    const exits = [...this.#workers.values()].map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.isDead()) return resolve();
          const timer = setTimeout(() => {
            w.process.kill('SIGKILL');
            resolve();
          }, graceMs + 2_000);
          w.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          this.#send(w, { t: 'close', graceMs });
        }),
    );
    await Promise.all(exits);
  }

  #fork(): Promise<number> {
    const w = cluster.fork();
    this.#workers.set(w.id, w);
    return new Promise<number>((resolve, reject) => {
      let listening = false;
      const init = (): void => {
        const ops: WriteOp[] = [];
        // foreign keys first: services and upstreams before routes and targets
        for (const kind of ['services', 'upstreams', 'routes', 'targets'] as const) {
          for (const entity of this.#opts.store.all(kind)) ops.push({ op: 'put', kind, entity });
        }
        this.#send(w, { t: 'init', proxyListen: this.#opts.proxyListen, logLevel: this.#opts.logLevel, trustedIps: [...this.#opts.trustedIps], proxyLimits: this.#opts.proxyLimits, workers: this.#opts.workers, ops, availability: [...this.#availability.values()] });
      };
      w.on('message', (m: FromWorker) => {
        switch (m.t) {
          case 'ready':
            return init();
          case 'listening':
            listening = true;
            resolve(m.port);
            return;
          case 'error': {
            const err = Object.assign(new Error(m.message), { code: m.code });
            if (!listening) reject(err);
            return;
          }
          case 'outcomes':
            return this.#outcomes(m);
          case 'inflight':
            this.#inFlight.set(w.id, new Map(m.counts));
            return;
          case 'metrics':
            this.#metricsWaits.get(m.id)?.(m);
            this.#metricsWaits.delete(m.id);
            return;
          default:
            return m satisfies never;
        }
      });
      w.on('exit', (code, signal) => {
        this.#workers.delete(w.id);
        this.#inFlight.delete(w.id);
        if (!listening) reject(new Error(`proxy worker exited before listening (code ${code}, signal ${signal})`));
        if (this.#closing) return;
        this.#log.error({ worker: w.process.pid, code, signal }, 'proxy worker died; starting another');
        setTimeout(() => {
          if (!this.#closing) this.#fork().catch((err: unknown) => this.#log.error({ err }, 'proxy worker failed to start'));
        }, RESPAWN_MS).unref();
      });
    });
  }

  #outcomes(m: Extract<FromWorker, { t: 'outcomes' }>): void {
    const h = this.#health;
    if (!h) return;
    for (let i = 0; i < m.u.length; i++) {
      const kind = OUTCOME_CODES[m.k[i]!];
      if (!kind) continue;
      const status = m.s[i]! || undefined;
      const latency = m.l[i]! >= 0 ? m.l[i] : undefined;
      h.onOutcome(m.u[i]!, m.tg[i]!, 0, kind, status, latency);
    }
  }

  #flushAvailability(): void {
    this.#flushScheduled = false;
    if (this.#pending.length === 0) return;
    const items = this.#pending;
    this.#pending = [];
    this.#broadcast({ t: 'availability', items });
  }

  #broadcast(m: ToWorker): void {
    for (const w of this.#workers.values()) this.#send(w, m);
  }

  #send(w: Worker, m: ToWorker): void {
    if (w.isConnected()) w.send(m);
  }
}
