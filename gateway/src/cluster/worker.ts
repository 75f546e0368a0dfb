/**
 * A proxy worker (`--workers N`): a replica of the control process's
 * entities in a memory store, its own runtime snapshot (router, balancers)
 * and proxy listener (the listening socket is shared through node:cluster).
 * Shared runtime state travels on the ClusterBus (IPC implementation):
 * entity changes and availability come from the control process; outcomes
 * and in-flight counts go back to it. Lifecycle (init, metrics, close) is
 * plain IPC beside it.
 */
import cluster from 'node:cluster';
import { internalErrors, keepRunning } from '../observability/last-resort.js';
import { createLogger, type Logger } from '../observability/log.js';
import { RequestMetrics } from '../observability/metrics.js';
import { createProxyServer, type ProxyServer } from '../proxy/server.js';
import { Runtime, type UpstreamEntry } from '../runtime/runtime.js';
import { createDnsQuery, DnsCache } from '../dns/resolver.js';
import { parseListen } from '../config/settings.js';
import { MemoryStore } from '../store/memory.js';
import { IpcWorkerBus } from './ipc-bus.js';
import { isBusMessage, type FromWorker, type ToWorker } from './messages.js';
import { WorkerOutcomes } from './worker-outcomes.js';

const INFLIGHT_REPORT_MS = 100;

export function runWorker(): void {
  const send = (m: FromWorker): void => {
    if (process.connected) process.send?.(m);
  };
  const bus = new IpcWorkerBus(cluster.worker?.id ?? process.pid);
  let log: Logger | undefined;
  let store: MemoryStore | undefined;
  let proxy: ProxyServer | undefined;
  let outcomes: WorkerOutcomes | undefined;
  const requests = new RequestMetrics();
  let byId = new Map<string, UpstreamEntry>();
  let queue: Promise<unknown> = Promise.resolve();

  bus.subscribe((m) => {
    switch (m.t) {
      case 'changes':
        queue = queue.then(() => store?.apply(m.ops).catch((err: unknown) => log?.error({ err }, 'replica apply failed')));
        return;
      case 'availability':
        // in order with the changes it may depend on (a target created just before)
        queue = queue.then(() => outcomes?.applyAvailability(m.items));
        return;
      default:
        return; // outcomes, inflight, manual, drain: for the control process
    }
  });

  const init = async (m: Extract<ToWorker, { t: 'init' }>): Promise<void> => {
    log = createLogger(m.logLevel).child({ worker: process.pid });
    store = new MemoryStore();
    await store.open();
    await store.apply(m.ops);
    // the same resolution as the control process, so that both expand a hostname target into the same address ids
    let rt: Runtime | undefined;
    const dns = new DnsCache({
      query: createDnsQuery({ servers: m.dnsResolver }),
      staleTtl: m.dnsStaleTtl,
      onChange: (name) => rt?.dnsChanged(name),
    });
    const runtime = (rt = new Runtime({ store, logger: log, dns }));
    runtime.start();
    const o = (outcomes = new WorkerOutcomes(bus, (id) => byId.get(id)?.upstream, m.workers));
    o.applyAvailability(m.availability);
    const follow = (s: typeof runtime.snapshot): void => {
      byId = new Map([...s.upstreams.values()].map((e) => [e.upstream.id, e]));
      o.follow(s);
    };
    follow(runtime.snapshot);
    runtime.onSnapshot(follow);
    proxy = createProxyServer({
      runtime,
      logger: log,
      outcomes: o,
      metrics: requests,
      accessLog: m.accessLog,
      trustedIps: m.trustedIps,
      limits: m.proxyLimits,
    });
    const addr = parseListen(m.proxyListen, 'proxyListen');
    const { port } = await proxy.listen(addr.host, addr.port);
    let lastSent = 0;
    setInterval(() => {
      const counts = o.inFlightReport();
      if (counts.length === 0 && lastSent === 0) return;
      lastSent = counts.length;
      bus.reportInFlight(counts);
    }, INFLIGHT_REPORT_MS).unref();
    // serving now: from here on no exception stops this proxy (observability/last-resort.ts)
    keepRunning(log);
    send({ t: 'listening', port });
  };

  process.on('message', (m: ToWorker) => {
    if (isBusMessage(m)) return bus.deliver(m);
    // in order: a change must not overtake the init it depends on
    queue = queue.then(async () => {
      switch (m.t) {
        case 'init':
          return init(m).catch((err: NodeJS.ErrnoException) => {
            send({ t: 'error', message: err.message, code: err.code });
            process.exit(1);
          });
        case 'metrics?':
          return send({
            t: 'metrics',
            id: m.id,
            series: requests.export(),
            hedged: proxy?.stats.hedged ?? 0,
            hedgeWins: proxy?.stats.hedgeWins ?? 0,
            internalErrors,
          });
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
