/**
 * A proxy worker (`--workers N`): a replica of the control process's
 * entities in a memory store, its own runtime snapshot (router, balancers)
 * and proxy listener (the listening socket is shared through node:cluster).
 * Availability comes from the control process; outcomes, in-flight counts
 * and metrics go back to it.
 */
import type { Balancer } from '../balancer/balancer.js';
import { createLogger, type Logger } from '../observability/log.js';
import { RequestMetrics } from '../observability/metrics.js';
import { createProxyServer, type ProxyServer } from '../proxy/server.js';
import { Runtime, type Snapshot, type UpstreamEntry } from '../runtime/runtime.js';
import { parseListen } from '../config/settings.js';
import { MemoryStore } from '../store/memory.js';
import type { AvailabilityItem, FromWorker, ToWorker } from './messages.js';
import { WorkerOutcomes } from './worker-outcomes.js';

const INFLIGHT_REPORT_MS = 100;

export function runWorker(): void {
  const send = (m: FromWorker): void => {
    if (process.connected) process.send?.(m);
  };
  let log: Logger | undefined;
  let store: MemoryStore | undefined;
  let proxy: ProxyServer | undefined;
  let outcomes: WorkerOutcomes | undefined;
  const requests = new RequestMetrics();
  /** last availability the control sent, by target id */
  const known = new Map<string, [number, number]>();
  let byId = new Map<string, UpstreamEntry>();
  const attached = new Map<string, Balancer>();
  let queue: Promise<unknown> = Promise.resolve();

  const applyKnown = (entry: UpstreamEntry): void => {
    for (const t of entry.balancer.targets) {
      const k = known.get(t.id);
      if (k) entry.balancer.setAvailability(t.id, k[0] === 1, k[1]);
    }
  };
  const onSnapshot = (s: Snapshot): void => {
    byId = new Map([...s.upstreams.values()].map((e) => [e.upstream.id, e]));
    for (const e of s.upstreams.values()) {
      if (attached.get(e.upstream.id) === e.balancer) continue;
      attached.set(e.upstream.id, e.balancer);
      applyKnown(e);
    }
  };
  const applyAvailability = (items: readonly AvailabilityItem[]): void => {
    for (const [u, t, a, f] of items) {
      known.set(t, [a, f]);
      byId.get(u)?.balancer.setAvailability(t, a === 1, f);
    }
  };

  const init = async (m: Extract<ToWorker, { t: 'init' }>): Promise<void> => {
    log = createLogger(m.logLevel).child({ worker: process.pid });
    store = new MemoryStore();
    await store.open();
    await store.apply(m.ops);
    const runtime = new Runtime({ store, logger: log });
    runtime.start();
    onSnapshot(runtime.snapshot);
    runtime.onSnapshot(onSnapshot);
    for (const [, t, a, f] of m.availability) known.set(t, [a, f]);
    for (const e of byId.values()) applyKnown(e);
    outcomes = new WorkerOutcomes(send, (id) => byId.get(id)?.upstream, m.workers);
    proxy = createProxyServer({ runtime, logger: log, outcomes, metrics: requests, trustedIps: m.trustedIps, limits: m.proxyLimits });
    const addr = parseListen(m.proxyListen, 'proxyListen');
    const { port } = await proxy.listen(addr.host, addr.port);
    let lastSent = 0;
    setInterval(() => {
      if (runtime.inFlight.size === 0 && lastSent === 0) return;
      lastSent = runtime.inFlight.size;
      send({ t: 'inflight', counts: [...runtime.inFlight] });
    }, INFLIGHT_REPORT_MS).unref();
    send({ t: 'listening', port });
  };

  process.on('message', (m: ToWorker) => {
    // in order: a change must not overtake the init it depends on
    queue = queue.then(async () => {
      switch (m.t) {
        case 'init':
          return init(m).catch((err: NodeJS.ErrnoException) => {
            send({ t: 'error', message: err.message, code: err.code });
            process.exit(1);
          });
        case 'changes':
          return store?.apply(m.ops).catch((err: unknown) => log?.error({ err }, 'replica apply failed'));
        case 'availability':
          return applyAvailability(m.items);
        case 'metrics?':
          return send({ t: 'metrics', id: m.id, series: requests.export(), hedged: proxy?.stats.hedged ?? 0, hedgeWins: proxy?.stats.hedgeWins ?? 0 });
        case 'close':
          outcomes?.flush();
          await proxy?.close(m.graceMs);
          outcomes?.flush();
          process.exit(0);
          return;
        default:
          return m satisfies never;
      }
    });
  });
  send({ t: 'ready' });
  // the control process is gone: nothing can reach us any more
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => undefined); // the control process decides when we stop
  process.on('SIGINT', () => undefined);
}
