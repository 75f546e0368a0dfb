/**
 * The control process of `--workers N`: it owns the store, the Admin API,
 * leases and health (probes, passive verdicts, breakers), and runs no proxy
 * itself. It forks N proxy workers (node:cluster shares the listening
 * socket). Over the ClusterBus (IPC implementation) it sends them every
 * entity write and every availability change, takes their outcomes into the
 * one health state of the node, and sums their in-flight counts (so a drain
 * waits for every worker).
 *
 * Half-open trials and the stall guard behave as in one process: a
 * half-open target's trial slot is granted to one worker at a time (the
 * others see the target out; the grantee sends one trial, holds the target
 * out and reports it, and the breaker here counts it), and each worker's
 * oldest try still waiting for headers reaches the stall guard here with
 * its in-flight report (every 100 ms).
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { HealthManager } from '../health/health-manager.js';
import type { TargetRuntime } from '../health/target-runtime.js';
import type { InternalErrors } from '../observability/last-resort.js';
import type { Logger } from '../observability/log.js';
import type { ProxyLimits } from '../proxy/server.js';
import { RequestMetrics, type ProxyStats } from '../observability/metrics.js';
import type { ChangeEvent, Store, WriteOp } from '../store/store.js';
import { ALL_NODES, OUTCOME_CODES, type AvailabilityItem, type BusMessage, type NodeId } from './bus.js';
import { IpcControlBus } from './ipc-bus.js';
import { isBusMessage, type FromWorker, type ToWorker } from './messages.js';

export interface ClusterOptions {
  workers: number;
  proxyListen: string;
  logLevel: string;
  trustedIps: readonly string[];
  proxyLimits: Partial<ProxyLimits>;
  /** `--access-log`: each worker writes its own lines (a FILE: appended by each) */
  accessLog?: string;
  /** --dns-resolver and --dns-stale-ttl, passed on to the workers */
  dnsResolver?: readonly string[] | undefined;
  dnsStaleTtl?: number | undefined;
  store: Store;
  logger: Logger;
}

const RESPAWN_MS = 1_000;
const METRICS_TIMEOUT_MS = 1_000;
/** A worker that has not reported its listener by then is killed and the start (or respawn) fails, naming the wait. */
const WORKER_START_TIMEOUT_MS = 30_000;

/** A target's last availability; `grantee`: the one worker holding its half-open trial slot. */
interface Known {
  readonly item: AvailabilityItem;
  grantee: NodeId | undefined;
}

const toOp = (e: ChangeEvent): WriteOp =>
  e.op === 'delete' ? { op: 'delete', kind: e.kind, id: e.entity.id } : { op: 'put', kind: e.kind, entity: e.entity };

export class ClusterControl {
  readonly #opts: ClusterOptions;
  readonly #log: Logger;
  readonly #workers = new Map<number, Worker>();
  /** the shared runtime state's channel (IPC implementation of the ClusterBus) */
  readonly bus = new IpcControlBus();
  /** last availability of every target, for workers that start later, by target id */
  readonly #availability = new Map<string, Known>();
  /** targets whose availability changed since the last flush */
  readonly #pending = new Set<string>();
  #flushScheduled = false;
  #grants = 0;
  /** per worker: `upstream id \u0000 target id` → its oldest try waiting for headers (ms) */
  readonly #waiting = new Map<NodeId, Map<string, number>>();
  #health: HealthManager | undefined;
  #unsubscribe: (() => void) | undefined;
  #closing = false;
  #port = 0;
  #metricsId = 0;
  readonly #metricsWaits = new Map<number, (m: Extract<FromWorker, { t: 'metrics' }>) => void>();
  /** hedging counters summed over workers at the last scrape */
  readonly stats: ProxyStats = { hedged: 0, hedgeWins: 0 };
  /** the workers' uncaught exceptions and unhandled rejections (observability/last-resort.ts), summed at the last scrape */
  readonly internalErrors: InternalErrors = { uncaught: 0, unhandled: 0 };
  /** request series summed over workers at the last scrape */
  requests = new RequestMetrics();

  constructor(opts: ClusterOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'cluster' });
  }

  /** For `HealthManager`: every availability change of a target goes to the workers (batched per tick). */
  onAvailability = (upstreamId: string, t: TargetRuntime, trial: boolean): void => {
    const item: AvailabilityItem = [upstreamId, t.id, t.available ? 1 : 0, t.factor, trial ? 1 : 0];
    this.#availability.set(t.id, { item, grantee: trial ? this.#grantee() : undefined });
    this.#schedule(t.id);
  };

  /** Fork the workers; resolves with the shared proxy port once all listen. */
  async start(health: HealthManager): Promise<{ port: number }> {
    this.#health = health;
    const unStore = this.#opts.store.subscribe((events) => {
      for (const e of events) if (e.kind === 'targets' && e.op === 'delete') this.#availability.delete(e.entity.id);
      this.bus.publish(ALL_NODES, { t: 'changes', ops: events.map(toOp) });
    });
    const unBus = this.bus.subscribe((m, from) => this.#onBus(m, from));
    this.#unsubscribe = () => {
      unStore();
      unBus();
    };
    cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker-main.js', import.meta.url)), execArgv: [], silent: false });
    const listening = Array.from({ length: this.#opts.workers }, () => this.#fork());
    const ports = await Promise.all(listening);
    this.#port = ports[0]!;
    this.#log.info({ workers: this.#opts.workers, port: this.#port }, 'proxy workers listening');
    return { port: this.#port };
  }

  /** Requests in flight to a target, summed over the workers. */
  activeRequests(targetId: string): number {
    return this.bus.inFlight(targetId);
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
    // a worker that did not answer is left out of this scrape, as its request series are
    this.internalErrors.uncaught = 0;
    this.internalErrors.unhandled = 0;
    for (const r of replies) {
      if (!r) continue;
      merged.merge(r.series);
      this.stats.hedged += r.hedged;
      this.stats.hedgeWins += r.hedgeWins;
      this.internalErrors.uncaught += r.internalErrors.uncaught;
      this.internalErrors.unhandled += r.internalErrors.unhandled;
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
    const node = this.bus.add(w);
    return new Promise<number>((resolve, reject) => {
      let listening = false;
      const startTimer = setTimeout(() => {
        reject(new Error(`proxy worker ${w.process.pid} did not start listening within ${WORKER_START_TIMEOUT_MS / 1000} s`));
        w.process.kill('SIGKILL');
      }, WORKER_START_TIMEOUT_MS);
      startTimer.unref();
      const init = (): void => {
        const ops: WriteOp[] = [];
        // foreign keys first: services and upstreams before routes and targets
        for (const kind of ['services', 'upstreams', 'routes', 'targets'] as const) {
          for (const entity of this.#opts.store.all(kind)) ops.push({ op: 'put', kind, entity });
        }
        // a trial slot nobody holds (no worker was live) goes to the newcomer
        for (const k of this.#availability.values()) if (k.item[4] === 1 && k.grantee === undefined) k.grantee = node;
        const availability = [...this.#availability.values()].map((k) => this.#itemFor(k, node));
        this.#send(w, {
          t: 'init',
          proxyListen: this.#opts.proxyListen,
          logLevel: this.#opts.logLevel,
          trustedIps: [...this.#opts.trustedIps],
          proxyLimits: this.#opts.proxyLimits,
          accessLog: this.#opts.accessLog ?? 'off',
          workers: this.#opts.workers,
          dnsResolver: this.#opts.dnsResolver ? [...this.#opts.dnsResolver] : undefined,
          dnsStaleTtl: this.#opts.dnsStaleTtl,
          ops,
          availability,
        });
      };
      w.on('message', (m: FromWorker) => {
        if (isBusMessage(m)) return this.bus.deliver(w, m);
        switch (m.t) {
          case 'ready':
            return init();
          case 'listening':
            listening = true;
            clearTimeout(startTimer);
            resolve(m.port);
            return;
          case 'error': {
            const err = Object.assign(new Error(m.message), { code: m.code });
            if (!listening) reject(err);
            return;
          }
          case 'metrics':
            this.#metricsWaits.get(m.id)?.(m);
            this.#metricsWaits.delete(m.id);
            return;
          default:
            return m satisfies never;
        }
      });
      w.on('exit', (code, signal) => {
        clearTimeout(startTimer);
        this.#workers.delete(w.id);
        this.bus.remove(w);
        this.#workerGone(node);
        if (!listening) reject(new Error(`proxy worker exited before listening (code ${code}, signal ${signal})`));
        if (this.#closing) return;
        this.#log.error({ worker: w.process.pid, code, signal }, 'proxy worker died; starting another');
        setTimeout(() => {
          if (!this.#closing) this.#fork().catch((err: unknown) => this.#log.error({ err }, 'proxy worker failed to start'));
        }, RESPAWN_MS).unref();
      });
    });
  }

  #onBus(m: BusMessage, from: NodeId): void {
    switch (m.t) {
      case 'outcomes':
        return this.#outcomes(m);
      case 'inflight':
        return this.#inFlightReport(from, m.counts);
      default:
        return; // changes and availability go the other way; manual and drain are for nodes with their own health (PostgreSQL)
    }
  }

  #outcomes(m: Extract<BusMessage, { t: 'outcomes' }>): void {
    const h = this.#health;
    if (!h) return;
    for (let i = 0; i < m.u.length; i++) {
      const kind = OUTCOME_CODES[m.k[i]!];
      if (!kind) continue;
      if (kind === 'trial') {
        h.trialStarted(m.u[i]!, m.tg[i]!);
        continue;
      }
      const status = m.s[i]! || undefined;
      const latency = m.l[i]! >= 0 ? m.l[i] : undefined;
      h.onOutcome(m.u[i]!, m.tg[i]!, 0, kind, status, latency);
    }
  }

  /** A worker's in-flight report: the stall guard here sees the oldest waiting try over all workers. */
  #inFlightReport(from: NodeId, counts: readonly [string, string, number, number][]): void {
    const next = new Map<string, number>();
    for (const [u, t, , oldest] of counts) if (oldest > 0) next.set(`${u}\u0000${t}`, oldest);
    const prev = this.#waiting.get(from);
    this.#waiting.set(from, next);
    const touched = new Set([...(prev?.keys() ?? []), ...next.keys()]);
    for (const key of touched) this.#updateWaiting(key);
  }

  #updateWaiting(key: string): void {
    let min = 0;
    for (const m of this.#waiting.values()) {
      const v = m.get(key);
      if (v !== undefined && (min === 0 || v < min)) min = v;
    }
    const sep = key.indexOf('\u0000');
    this.#health?.remoteWaiting(key.slice(0, sep), key.slice(sep + 1), min);
  }

  /** A worker exited: its tries no longer wait, and the trial slots it held go to another worker. */
  #workerGone(node: NodeId): void {
    const prev = this.#waiting.get(node);
    this.#waiting.delete(node);
    for (const key of prev?.keys() ?? []) this.#updateWaiting(key);
    for (const [id, k] of this.#availability) {
      if (k.grantee !== node) continue;
      k.grantee = this.#grantee();
      this.#schedule(id);
    }
  }

  /** The next worker to hold a trial slot (round-robin over the live ones). */
  #grantee(): NodeId | undefined {
    const nodes = this.bus.nodes();
    return nodes.length === 0 ? undefined : nodes[this.#grants++ % nodes.length];
  }

  /** What `node` is told about a target: the trial slot only if it holds it. */
  #itemFor(k: Known, node: NodeId): AvailabilityItem {
    const [u, t, , f, trial] = k.item;
    return trial === 1 && k.grantee !== node ? [u, t, 0, f, 0] : k.item;
  }

  #schedule(targetId: string): void {
    this.#pending.add(targetId);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flushAvailability());
    }
  }

  #flushAvailability(): void {
    this.#flushScheduled = false;
    if (this.#pending.size === 0) return;
    const known = [...this.#pending].map((id) => this.#availability.get(id)).filter((k): k is Known => k !== undefined);
    this.#pending.clear();
    if (known.length === 0) return;
    if (known.every((k) => k.item[4] === 0)) {
      this.bus.publish(ALL_NODES, { t: 'availability', items: known.map((k) => k.item) });
      return;
    }
    for (const node of this.bus.nodes()) this.bus.publish(node, { t: 'availability', items: known.map((k) => this.#itemFor(k, node)) });
  }

  #send(w: Worker, m: ToWorker): void {
    // lifecycle messages only: shared state goes through this.bus
    if (w.isConnected()) w.send(m);
  }
}
