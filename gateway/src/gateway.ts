/**
 * `startGateway()`: wiring only, in the order of the data flow:
 * store → declarative config → runtime (router + balancers) → proxy → admin.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { IdentityGuard } from './admin/identity-guard.js';
import { createAdminServer, createStatusServer } from './admin/server.js';
import { DeclarativeConfig, type ApplySummary } from './config/reload.js';
import { parseListen } from './config/settings.js';
import { createLogger, silentLogger, type Logger } from './observability/log.js';
import { createProxyServer, type ProxyLimits, type ProxyServer } from './proxy/server.js';
import { Runtime } from './runtime/runtime.js';
import { createStore } from './store/index.js';
import { LeaseKeeper } from './leases/lease-keeper.js';
import { HealthManager } from './health/health-manager.js';
import { createMetrics, RequestMetrics, type MetricsSources } from './observability/metrics.js';
import { checkAccessLog } from './observability/access-log.js';
import { ClusterControl } from './cluster/control.js';
import type { Store } from './store/store.js';

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
}

export interface Gateway {
  readonly proxyUrl: string;
  readonly adminUrl: string;
  /** the status listener's URL, when `statusListen` is set */
  readonly statusUrl: string | undefined;
  readonly store: Store;
  readonly runtime: Runtime;
  readonly leases: LeaseKeeper;
  readonly health: HealthManager;
  /** Stop accepting, let in-flight requests finish (bounded), flush the store. Idempotent. */
  close(graceMs?: number): Promise<void>;
  /**
   * Re-read `--config` and apply the difference (SIGHUP); registered targets
   * are kept. A bad file changes nothing and rejects naming the file.
   */
  reload(): Promise<ApplySummary>;
}

const urlOf = (host: string, port: number): string => `http://${host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;

export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const logger = options.logger ?? (options.logLevel ? createLogger(options.logLevel) : silentLogger());
  const proxyAddr = parseListen(options.proxyListen ?? '127.0.0.1:0', 'proxyListen');
  const adminAddr = parseListen(options.adminListen ?? '127.0.0.1:0', 'adminListen');
  const store =
    typeof options.store === 'object'
      ? options.store
      : createStore({ store: options.store ?? 'memory', dataDir: options.dataDir ?? './gw-data', pgUrl: options.pgUrl });

  const leases = new LeaseKeeper({ store, logger, intervalMs: options.leaseSweepMs });
  const declarative = new DeclarativeConfig({ store, logger, file: options.config, kongOnly: options.kongOnly, now: () => store.now() });
  let ready = false;
  let runtime: Runtime | undefined;
  let health: HealthManager | undefined;
  let proxy: ProxyServer | undefined;
  let cluster: ClusterControl | undefined;
  let admin: FastifyInstance | undefined;
  let status: FastifyInstance | undefined;
  let closing: Promise<void> | undefined;
  const close = (graceMs = 10_000): Promise<void> =>
    (closing ??= (async () => {
      ready = false;
      await leases.stop();
      await status?.close();
      await admin?.close();
      await proxy?.close(graceMs);
      await cluster?.close(graceMs);
      health?.stop();
      runtime?.stop();
      await store.close();
    })());

  try {
    await store.open();
    if (options.config) {
      const entities = await declarative.loadAtStart();
      logger.info({ file: options.config, entities }, 'declarative config loaded');
    }
    runtime = new Runtime({ store, logger });
    runtime.start();
    const workers = options.workers ?? 1;
    const accessLog = options.accessLog ?? 'off';
    // --workers: each worker opens the access log itself; refuse a bad FILE here, at start, naming the flag
    if (workers > 1) checkAccessLog(accessLog);
    if (workers > 1) cluster = new ClusterControl({ accessLog, workers, proxyListen: `${proxyAddr.host.includes(':') ? `[${proxyAddr.host}]` : proxyAddr.host}:${proxyAddr.port}`, logLevel: options.logLevel ?? logger.level, trustedIps: options.trustedIps ?? [], proxyLimits: options.proxyLimits ?? {}, store, logger });
    health = new HealthManager({ runtime, logger, tickMs: options.healthTickMs, onAvailability: cluster?.onAvailability });
    health.start();
    let registrations = 0;
    store.subscribe((events) => {
      for (const e of events) if (e.kind === 'targets' && e.op === 'create') registrations++;
    });
    let proxyPort: number;
    let sources: Pick<MetricsSources, 'requests' | 'proxy' | 'beforeScrape'>;
    if (cluster) {
      // control process: the proxies are the workers
      proxyPort = (await cluster.start(health)).port;
      const c = cluster;
      sources = { requests: { series: () => c.requests.series() }, proxy: c.stats, beforeScrape: () => c.collect() };
    } else {
      const requests = new RequestMetrics();
      proxy = createProxyServer({ runtime, logger, outcomes: health, metrics: requests, accessLog, trustedIps: options.trustedIps, limits: options.proxyLimits });
      proxyPort = (await proxy.listen(proxyAddr.host, proxyAddr.port)).port;
      sources = { requests, proxy: proxy.stats };
    }
    const h = health;
    // the one in-flight count per target: this process's health records, plus the workers' reports on the ClusterBus
    const activeRequests = (upstreamId: string, targetId: string): number => h.inFlight(upstreamId, targetId) + (cluster?.activeRequests(targetId) ?? 0);
    const identityGuard = new IdentityGuard({ logger });
    const nodeId = randomUUID();
    // the hook for a store that can lose its backend (kong_datastore_reachable); the stores here are always usable
    const datastoreReachable = (): boolean => true;
    const metrics = createMetrics({ ...sources, health, runtime, activeRequests, leaseExpiries: () => leases.expired, registrations: () => registrations, identityGuardRemovals: () => identityGuard.removed, datastoreReachable, nodeId });
    admin = await createAdminServer({
      store,
      logger,
      runtime: {
        activeRequests,
        targetHealth: (u, t) => health?.view(u, t),
        setTargetHealth: (u, t, healthy) => health?.setManual(u, t, healthy) ?? 'no-balancer',
      },
      metrics: metrics.render,
      declarative,
      identityGuard,
      adminToken: options.adminToken,
      registrationTokens: options.registrationTokens,
      auditLog: options.auditLog,
      isReady: () => ready,
      kongOnly: options.kongOnly,
      nodeId,
      configuration: { proxy_listen: `${proxyAddr.host}:${proxyPort}`, admin_listen: `${adminAddr.host}:${adminAddr.port}`, database: store.type, kong_only: options.kongOnly === true, workers },
    });
    await admin.listen({ host: adminAddr.host, port: adminAddr.port });
    const adminPort = (admin.server.address() as { port: number }).port;
    let statusUrl: string | undefined;
    if (options.statusListen !== undefined) {
      const addr = parseListen(options.statusListen, 'statusListen');
      status = await createStatusServer({ store, isReady: () => ready, metrics: metrics.render, kongOnly: options.kongOnly });
      await status.listen({ host: addr.host, port: addr.port });
      statusUrl = urlOf(addr.host, (status.server.address() as { port: number }).port);
    }
    if (!options.kongOnly) leases.start();
    ready = true;
    const reload = async (): Promise<ApplySummary> => {
      const summary = await declarative.reloadFile();
      logger.info({ file: options.config, ...summary }, 'declarative config reloaded');
      return summary;
    };
    const gw: Gateway = { proxyUrl: urlOf(proxyAddr.host, proxyPort), adminUrl: urlOf(adminAddr.host, adminPort), statusUrl, store, runtime, leases, health, close, reload };
    logger.info({ proxy: gw.proxyUrl, admin: gw.adminUrl, ...(statusUrl ? { status: statusUrl } : {}), store: store.type }, 'gw-gateway ready');
    return gw;
  } catch (err) {
    await close(0).catch(() => undefined);
    throw err;
  }
}
