/**
 * `startGateway()`: wiring only, in the order of the data flow:
 * store → declarative config → runtime (router + balancers) → proxy → admin.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { IdentityGuard } from './admin/identity-guard.js';
import { createAdminServer, createStatusServer } from './admin/server.js';
import { DeclarativeConfig, type ApplySummary } from './config/reload.js';
import { isLoopback, parseListen, type ListenAddress } from './config/settings.js';
import { createLogger, silentLogger, type Logger } from './observability/log.js';
import { createProxyServer, type ProxyLimits, type ProxyServer } from './proxy/server.js';
import { Runtime } from './runtime/runtime.js';
import { createDnsQuery, DnsCache } from './dns/resolver.js';
import { createStore } from './store/index.js';
import { LeaseKeeper } from './leases/lease-keeper.js';
import { HealthManager } from './health/health-manager.js';
import { createMetrics, RequestMetrics, type MetricsSources } from './observability/metrics.js';
import { checkLogFile } from './observability/log-file.js';
import { isGwError, GwError } from './errors.js';
import { internalErrors } from './observability/last-resort.js';
import { ClusterControl } from './cluster/control.js';
import type { Store } from './store/store.js';
import { PostgresStore } from './store/postgres.js';
import { PgBus } from './cluster/pg-bus.js';
import { NodeSync } from './cluster/node-sync.js';
import type { ClusterNodeView } from './admin/routes/cluster.js';
import { GW_VERSION } from './version.js';
import { CloudMapProvider, type CloudMapProviderOptions } from './discovery/cloudmap.js';
import type { CloudMapSettings } from './config/settings.js';
import { LOCK_CLOUDMAP } from './store/postgres/schema.js';
import { DashboardHub } from './dashboard/hub.js';

export interface GatewayOptions {
  /** HOST:PORT, default 127.0.0.1:0 (embedders and tests; the CLI passes its settings) */
  proxyListen?: string;
  adminListen?: string;
  adminToken?: string | undefined;
  /** scoped registration tokens, service name → token (admin/auth.ts) */
  registrationTokens?: Readonly<Record<string, string>> | undefined;
  /** audit log of Admin API writes: `stdout`, `off` (the default here; the CLI's is stdout) or a file path */
  auditLog?: string | undefined;
  /** access log of proxied requests: `stdout`, `off` (the default here; the CLI's is stdout) or a file path */
  accessLog?: string | undefined;
  /** a store type, or a store instance to use as is */
  store?: 'memory' | 'file' | 'postgres' | Store;
  dataDir?: string;
  pgUrl?: string | undefined;
  /** Kong declarative file loaded at start */
  config?: string | undefined;
  logger?: Logger;
  logLevel?: string;
  kongOnly?: boolean;
  workers?: number;
  /** how often expired target leases are swept, ms (default 1000) */
  leaseSweepMs?: number;
  /** Kong's trusted_ips: IPs/CIDRs whose X-Forwarded-* headers are believed */
  trustedIps?: readonly string[];
  /** Kong's status_listen: HOST:PORT for /status, /status/ready and /metrics without admin rights (default off) */
  statusListen?: string | undefined;
  /** what one client may send to the proxy (body buffer, client_body_timeout, header count; defaults in proxy/server.ts) */
  proxyLimits?: Partial<ProxyLimits>;
  /** period of health timers (cool-downs, slow start, stall guard, probe scheduling), ms (default 100) */
  healthTickMs?: number;
  /** this node's id in cluster mode (default: host name + a short random suffix) */
  nodeId?: string | undefined;
  /** Kong's dns_resolver: `IP:PORT` DNS servers for hostname targets (default: the system's, /etc/resolv.conf) */
  dnsResolver?: readonly string[] | undefined;
  /** Kong's dns_stale_ttl, seconds (default 3600) */
  dnsStaleTtl?: number | undefined;
  /**
   * AWS Cloud Map discovery (docs/cloudmap.md): off when absent or without
   * namespaces. Embedders and tests may pass the provider's other options
   * (a client, an injected clock and random source, drain bounds).
   */
  cloudMap?:
    | (Partial<CloudMapSettings> &
        Pick<CloudMapSettings, 'namespaces'> &
        Partial<
          Pick<
            CloudMapProviderOptions,
            'client' | 'clock' | 'random' | 'requestTimeoutMs' | 'maxBackoffMs' | 'minDrainMs' | 'drainTimeoutMs' | 'drainCheckMs'
          >
        >)
    | undefined;
  /** period of the dashboard's samples (requests/s per target and service), ms (default 1000) */
  dashboardSampleMs?: number;
  /**
   * How start-up errors name these settings: the CLI passes the flag, env
   * variable or settings-file key each value came from. Default: the flag.
   */
  settingNames?: Partial<Record<NamedSetting, string>>;
  /**
   * Abandons the start when aborted (the CLI: SIGTERM/SIGINT before ready):
   * a wait for the database ends, what was opened is released, and
   * `startGateway()` rejects with `signal.reason`. No effect once it resolved
   * (then `close()` stops the gateway).
   */
  signal?: AbortSignal;
}

/** The flags of the settings start-up errors name ({@link GatewayOptions.settingNames}). */
const FLAGS = {
  proxyListen: '--proxy-listen',
  adminListen: '--admin-listen',
  statusListen: '--status-listen',
  dataDir: '--data-dir',
  accessLog: '--access-log',
  auditLog: '--audit-log',
} as const;
export type NamedSetting = keyof typeof FLAGS;

export interface Gateway {
  readonly proxyUrl: string;
  readonly adminUrl: string;
  /** the status listener's URL, when `statusListen` is set */
  readonly statusUrl: string | undefined;
  readonly store: Store;
  readonly runtime: Runtime;
  readonly leases: LeaseKeeper;
  readonly health: HealthManager;
  /** the live dashboard's state and streams (`/dashboard`) */
  readonly dashboard: DashboardHub;
  /** this node's id (`GET /cluster/nodes`) */
  readonly nodeId: string;
  /** the Cloud Map provider, when `cloudMap` namespaces are configured */
  readonly cloudMap: CloudMapProvider | undefined;
  /** Stop accepting, let in-flight requests finish (bounded), flush the store. Idempotent. */
  close(graceMs?: number): Promise<void>;
  /**
   * Re-read `--config` and apply the difference (SIGHUP); registered targets
   * are kept. A bad file changes nothing and rejects naming the file.
   */
  reload(): Promise<ApplySummary>;
}

const urlOf = (host: string, port: number): string =>
  `http://${host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;

export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const signal = options.signal;
  signal?.throwIfAborted();
  const logger = options.logger ?? (options.logLevel ? createLogger(options.logLevel) : silentLogger());
  const nameOf = (k: NamedSetting): string => options.settingNames?.[k] ?? FLAGS[k];
  /** bind a listener; a failure names its setting and address (GW_ERR_LISTEN_FAILED) */
  const listening = async <T>(setting: NamedSetting, addr: ListenAddress, bind: () => Promise<T>): Promise<T> => {
    try {
      return await bind();
    } catch (err) {
      throw listenError(nameOf(setting), addr, err);
    }
  };
  const proxyAddr = parseListen(options.proxyListen ?? '127.0.0.1:0', nameOf('proxyListen'));
  const adminAddr = parseListen(options.adminListen ?? '127.0.0.1:0', nameOf('adminListen'));
  const statusAddr = options.statusListen !== undefined ? parseListen(options.statusListen, nameOf('statusListen')) : undefined;
  const accessLog = options.accessLog ?? 'off';
  // a log file that cannot be opened is refused before anything is opened, naming its setting
  checkLogFile(accessLog, nameOf('accessLog'));
  checkLogFile(options.auditLog ?? 'off', nameOf('auditLog'));
  const store =
    typeof options.store === 'object'
      ? options.store
      : createStore({
          store: options.store ?? 'memory',
          dataDir: options.dataDir ?? './gw-data',
          dataDirName: nameOf('dataDir'),
          pgUrl: options.pgUrl,
          logger,
        });
  const nodeId = options.nodeId ?? defaultNodeId();

  const leases = new LeaseKeeper({ store, logger, intervalMs: options.leaseSweepMs });
  const declarative = new DeclarativeConfig({ store, logger, file: options.config, kongOnly: options.kongOnly, now: () => store.now() });
  let ready = false;
  let runtime: Runtime | undefined;
  // hostname targets: one balancer entry per resolved address, followed at the record TTL (dns/resolver.ts)
  const dns = new DnsCache({
    query: createDnsQuery({ servers: options.dnsResolver }),
    staleTtl: options.dnsStaleTtl,
    onChange: (name) => runtime?.dnsChanged(name),
  });
  let health: HealthManager | undefined;
  let proxy: ProxyServer | undefined;
  let cluster: ClusterControl | undefined;
  let admin: FastifyInstance | undefined;
  let status: FastifyInstance | undefined;
  let dashboard: DashboardHub | undefined;
  let waiting: Server[] = [];
  let bus: PgBus | undefined;
  let sync: NodeSync | undefined;
  let cloudMap: CloudMapProvider | undefined;
  let closing: Promise<void> | undefined;
  const close = (graceMs = 10_000): Promise<void> =>
    (closing ??= (async () => {
      ready = false;
      await cloudMap?.stop();
      await Promise.all(waiting.map((w) => new Promise((r) => w.close(r))));
      await leases.stop();
      // open dashboard streams would hold the listeners open
      dashboard?.stop();
      await status?.close();
      await admin?.close();
      await proxy?.close(graceMs);
      await cluster?.close(graceMs);
      sync?.stop();
      await bus?.close();
      health?.stop();
      runtime?.stop();
      dns.close();
      await store.close();
    })());

  try {
    if (store instanceof PostgresStore) {
      // until the database answered and the state is loaded: /status (and everything else) is 503, the node does not exit
      const body = JSON.stringify({ message: `database unavailable: waiting for PostgreSQL at ${store.link.describe()}` });
      waiting = await Promise.all(
        [['adminListen', adminAddr] as const, ...(statusAddr ? [['statusListen', statusAddr] as const] : [])]
          .filter(([, a]) => a.port !== 0)
          .map(([setting, a]) => listening(setting, a, () => listenWaiting(a.host, a.port, body))),
      );
    }
    // a database that does not answer is waited for: a stop meanwhile closes the store, which ends the wait
    const stopWaiting = (): void => void store.close().catch(() => undefined);
    if (store instanceof PostgresStore) signal?.addEventListener('abort', stopWaiting, { once: true });
    try {
      await store.open();
    } finally {
      signal?.removeEventListener('abort', stopWaiting);
    }
    signal?.throwIfAborted();
    await Promise.all(waiting.map((w) => new Promise((r) => w.close(r))));
    waiting = [];
    if (options.config) {
      const entities = await declarative.loadAtStart();
      signal?.throwIfAborted();
      logger.info({ file: options.config, entities }, 'declarative config loaded');
    }
    runtime = new Runtime({ store, logger, dns });
    runtime.start();
    const rt = runtime;
    const workers = options.workers ?? 1;
    if (workers > 1)
      cluster = new ClusterControl({
        accessLog,
        workers,
        proxyListen: `${proxyAddr.host.includes(':') ? `[${proxyAddr.host}]` : proxyAddr.host}:${proxyAddr.port}`,
        logLevel: options.logLevel ?? logger.level,
        trustedIps: options.trustedIps ?? [],
        proxyLimits: options.proxyLimits ?? {},
        dnsResolver: options.dnsResolver,
        dnsStaleTtl: options.dnsStaleTtl,
        store,
        logger,
      });
    health = new HealthManager({ runtime, logger, tickMs: options.healthTickMs, onAvailability: cluster?.onAvailability });
    health.start();
    if (store instanceof PostgresStore) {
      bus = new PgBus({ link: store.link, self: nodeId, version: GW_VERSION, logger, revision: () => store.revision });
      await bus.start();
      signal?.throwIfAborted();
    }
    let registrations = 0;
    store.subscribe((events) => {
      for (const e of events) if (e.kind === 'targets' && e.op === 'create') registrations++;
    });
    let proxyPort: number;
    let sources: Pick<MetricsSources, 'requests' | 'proxy' | 'beforeScrape'>;
    if (cluster) {
      // control process: the proxies are the workers
      const c = cluster;
      const hm = health;
      proxyPort = (await listening('proxyListen', proxyAddr, () => c.start(hm))).port;
      signal?.throwIfAborted();
      sources = { requests: { series: () => c.requests.series() }, proxy: c.stats, beforeScrape: () => c.collect() };
    } else {
      const requests = new RequestMetrics();
      proxy = createProxyServer({
        runtime,
        logger,
        outcomes: health,
        metrics: requests,
        accessLog,
        trustedIps: options.trustedIps,
        limits: options.proxyLimits,
      });
      const p = proxy;
      proxyPort = (await listening('proxyListen', proxyAddr, () => p.listen(proxyAddr.host, proxyAddr.port))).port;
      signal?.throwIfAborted();
      sources = { requests, proxy: proxy.stats };
    }
    const h = health;
    // the one in-flight count per target: this process's health records, plus the workers' reports on the ClusterBus,
    // plus (cluster mode) every other live node's report
    const localInFlight = (upstreamId: string, targetId: string): number =>
      h.inFlight(upstreamId, targetId) + (cluster?.activeRequests(targetId) ?? 0);
    const activeRequests = (upstreamId: string, targetId: string): number =>
      localInFlight(upstreamId, targetId) + (bus?.inFlight(targetId) ?? 0);
    if (bus) {
      sync = new NodeSync({ bus, health, store, logger, localInFlight });
      sync.start();
    }
    const s = sync;
    const cm = options.cloudMap;
    if (cm && cm.namespaces.length > 0) {
      const link = store instanceof PostgresStore ? store.link : undefined;
      // cluster mode: one node polls, the one holding the advisory lock; the others follow the change feed
      link?.wantSessionLock(LOCK_CLOUDMAP);
      await link?.tryLocks().catch(() => undefined);
      cloudMap = new CloudMapProvider({
        ...cm,
        store,
        logger,
        intervalMs: cm.intervalMs,
        activeRequests,
        ...(link ? { isLeader: () => link.holds(LOCK_CLOUDMAP) } : {}),
      });
    }
    const clusterNodes = (): ClusterNodeView[] =>
      bus?.list() ?? [
        {
          id: nodeId,
          hostname: hostname(),
          version: GW_VERSION,
          revision: store.revision,
          last_seen: store.now(),
          reachable: true,
          self: true,
        },
      ];
    const identityGuard = new IdentityGuard({ logger });
    // Kong's node_id (a UUID, GET / and kong_node_info); the cluster node id is `nodeId`
    const kongNodeId = randomUUID();
    // kong_datastore_reachable: false while a shared database is away (cluster mode)
    const datastoreReachable = (): boolean => store.reachable ?? true;
    const metrics = createMetrics({
      ...sources,
      health,
      runtime,
      activeRequests,
      leaseExpiries: () => leases.expired,
      storeMalformedRows: () => (store instanceof PostgresStore ? store.malformedRows : 0),
      storeResyncs: () => (store instanceof PostgresStore ? store.resyncs : 0),
      registrations: () => registrations,
      identityGuardRemovals: () => identityGuard.removed,
      cloudMap: cloudMap?.stats,
      datastoreReachable,
      nodeId: kongNodeId,
      dashboard: () => dashboard && { ...dashboard.stats, streams: dashboard.streams },
      // this process's, plus (--workers) the proxies'
      internalErrors: () =>
        cluster
          ? {
              uncaught: internalErrors.uncaught + cluster.internalErrors.uncaught,
              unhandled: internalErrors.unhandled + cluster.internalErrors.unhandled,
            }
          : internalErrors,
    });
    dashboard = new DashboardHub({
      store,
      health,
      leases,
      activeRequests,
      requests: sources.requests,
      nodes: clusterNodes,
      nodeId,
      version: GW_VERSION,
      cluster: bus !== undefined,
      logger,
      sampleMs: options.dashboardSampleMs,
    });
    dashboard.start();
    admin = await createAdminServer({
      dashboard,
      store,
      logger,
      runtime: {
        activeRequests,
        targetHealth: (u, t) => health?.view(u, t),
        dnsAddresses: (_u, t) => {
          const r = runtime?.addressesOf(t);
          if (!r) return undefined;
          const state = dns.lookup(r.name);
          return {
            type: state?.record?.type ?? 'A',
            error: state?.error,
            addresses: r.entries.map((e) => ({ id: e.id, address: e.target, weight: e.weight })),
          };
        },
        setTargetHealth: (u, t, healthy) => (s ? s.setManual(u, t, healthy) : (health?.setManual(u, t, healthy) ?? 'no-balancer')),
      },
      metrics: metrics.render,
      applied: () => rt.flushed(),
      declarative,
      identityGuard,
      cluster: { nodes: clusterNodes },
      adminToken: options.adminToken,
      registrationTokens: options.registrationTokens,
      auditLog: options.auditLog,
      isReady: () => ready,
      kongOnly: options.kongOnly,
      nodeId: kongNodeId,
      configuration: {
        proxy_listen: `${proxyAddr.host}:${proxyPort}`,
        admin_listen: `${adminAddr.host}:${adminAddr.port}`,
        database: store.type,
        node_id: nodeId,
        kong_only: options.kongOnly === true,
        workers,
      },
    });
    const a = admin;
    await listening('adminListen', adminAddr, () => a.listen({ host: adminAddr.host, port: adminAddr.port }));
    signal?.throwIfAborted();
    const adminPort = (admin.server.address() as { port: number }).port;
    let statusUrl: string | undefined;
    if (statusAddr !== undefined) {
      const addr = statusAddr;
      status = await createStatusServer({
        store,
        isReady: () => ready,
        metrics: metrics.render,
        kongOnly: options.kongOnly,
        dashboard,
        adminToken: options.adminToken,
        registrationTokens: options.registrationTokens,
        loopback: isLoopback(addr.host),
      });
      const st = status;
      await listening('statusListen', addr, () => st.listen({ host: addr.host, port: addr.port }));
      signal?.throwIfAborted();
      statusUrl = urlOf(addr.host, (status.server.address() as { port: number }).port);
    }
    if (!options.kongOnly) leases.start();
    cloudMap?.start();
    ready = true;
    const reload = async (): Promise<ApplySummary> => {
      const summary = await declarative.reloadFile();
      logger.info({ file: options.config, ...summary }, 'declarative config reloaded');
      return summary;
    };
    const gw: Gateway = {
      proxyUrl: urlOf(proxyAddr.host, proxyPort),
      adminUrl: urlOf(adminAddr.host, adminPort),
      statusUrl,
      store,
      runtime,
      leases,
      health,
      dashboard,
      nodeId,
      cloudMap,
      close,
      reload,
    };
    logger.info(
      {
        proxy: gw.proxyUrl,
        admin: gw.adminUrl,
        ...(statusUrl ? { status: statusUrl } : {}),
        store: store.type,
        ...(bus ? { node_id: nodeId } : {}),
      },
      'gw-gateway ready',
    );
    return gw;
  } catch (err) {
    await close(0).catch(() => undefined);
    // stopped while starting: whatever failed meanwhile (the store closed under a wait) is the stop's doing
    if (signal?.aborted) throw signal.reason;
    throw err;
  }
}

const LISTEN_REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the address is in use',
  EADDRNOTAVAIL: 'the address is not one of this host',
  EACCES: 'permission denied (a port below 1024 needs privileges)',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved now (DNS)',
};

/** A listener's bind failure as one line naming the setting and address (a GwError passes as it is). */
function listenError(name: string, addr: ListenAddress, err: unknown): Error {
  if (isGwError(err)) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const reason = code ? (LISTEN_REASONS[code] ? `${code}: ${LISTEN_REASONS[code]}` : code) : (err as Error).message;
  return new GwError('GW_ERR_LISTEN_FAILED', [name, `${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${addr.port}`, reason]);
}

/** Host name plus a short random suffix: unique per process even when tasks share a host name. */
export function defaultNodeId(): string {
  return `${hostname()}-${randomBytes(3).toString('hex')}`;
}

/** A placeholder on an admin or status address while the store is not loaded yet: every request 503. */
function listenWaiting(host: string, port: number, body: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createHttpServer((_req, res) => {
      res.writeHead(503, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        connection: 'close',
      });
      res.end(body);
    });
    srv.once('error', reject);
    srv.listen(port, host, () => resolve(srv));
  });
}
