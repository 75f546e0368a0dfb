/**
 * `startGateway()`: wiring only, in the order of the data flow:
 * store → declarative config → runtime (router + balancers) → proxy → admin.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { IdentityGuard } from './admin/identity-guard.js';
import { createAdminServer } from './admin/server.js';
import { loadDeclarativeFile } from './config/declarative.js';
import { parseListen } from './config/settings.js';
import { createLogger, silentLogger, type Logger } from './observability/log.js';
import { createProxyServer, type ProxyServer } from './proxy/server.js';
import { Runtime } from './runtime/runtime.js';
import { createStore } from './store/index.js';
import { WriteLock } from './store/write-lock.js';
import { LeaseKeeper } from './leases/lease-keeper.js';
import { HealthManager } from './health/health-manager.js';
import { createMetrics, RequestMetrics, type MetricsSources } from './observability/metrics.js';
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
  /** period of health timers (cool-downs, slow start, stall guard, probe scheduling), ms (default 100) */
  healthTickMs?: number;
}

export interface Gateway {
  readonly proxyUrl: string;
  readonly adminUrl: string;
  readonly store: Store;
  readonly runtime: Runtime;
  readonly leases: LeaseKeeper;
  readonly health: HealthManager;
  /** Stop accepting, let in-flight requests finish (bounded), flush the store. Idempotent. */
  close(graceMs?: number): Promise<void>;
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

  const lock = new WriteLock();
  const leases = new LeaseKeeper({ store, lock, logger, intervalMs: options.leaseSweepMs });
  let ready = false;
  let runtime: Runtime | undefined;
  let health: HealthManager | undefined;
  let proxy: ProxyServer | undefined;
  let cluster: ClusterControl | undefined;
  let admin: FastifyInstance | undefined;
  let closing: Promise<void> | undefined;
  const close = (graceMs = 10_000): Promise<void> =>
    (closing ??= (async () => {
      ready = false;
      await leases.stop();
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
      const ops = await loadDeclarativeFile(options.config, { now: Date.now() / 1000, kongOnly: options.kongOnly });
      await store.apply(ops);
      logger.info({ file: options.config, entities: ops.length }, 'declarative config loaded');
    }
    runtime = new Runtime({ store, logger });
    runtime.start();
    const workers = options.workers ?? 1;
    if (workers > 1) cluster = new ClusterControl({ workers, proxyListen: `${proxyAddr.host.includes(':') ? `[${proxyAddr.host}]` : proxyAddr.host}:${proxyAddr.port}`, logLevel: options.logLevel ?? logger.level, trustedIps: options.trustedIps ?? [], store, logger });
    health = new HealthManager({ runtime, logger, tickMs: options.healthTickMs, sinkFor: cluster?.sinkFor });
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
      proxy = createProxyServer({ runtime, logger, outcomes: health, metrics: requests, trustedIps: options.trustedIps });
      proxyPort = (await proxy.listen(proxyAddr.host, proxyAddr.port)).port;
      sources = { requests, proxy: proxy.stats };
    }
    const identityGuard = new IdentityGuard({ logger });
    const metrics = createMetrics({ ...sources, health, runtime, leaseExpiries: () => leases.expired, registrations: () => registrations, identityGuardRemovals: () => identityGuard.removed });
    admin = await createAdminServer({
      store,
      logger,
      lock,
      runtime: {
        activeRequests: (id) => (runtime?.inFlight.get(id) ?? 0) + (cluster?.activeRequests(id) ?? 0),
        targetHealth: (u, t) => health?.view(u, t),
        setTargetHealth: (u, t, healthy) => health?.setManual(u, t, healthy) ?? 'no-balancer',
      },
      metrics: metrics.render,
      identityGuard,
      adminToken: options.adminToken,
      registrationTokens: options.registrationTokens,
      auditLog: options.auditLog,
      isReady: () => ready,
      kongOnly: options.kongOnly,
      nodeId: randomUUID(),
      configuration: { proxy_listen: `${proxyAddr.host}:${proxyPort}`, admin_listen: `${adminAddr.host}:${adminAddr.port}`, database: store.type, kong_only: options.kongOnly === true, workers },
    });
    await admin.listen({ host: adminAddr.host, port: adminAddr.port });
    const adminPort = (admin.server.address() as { port: number }).port;
    if (!options.kongOnly) leases.start();
    ready = true;
    const gw: Gateway = { proxyUrl: urlOf(proxyAddr.host, proxyPort), adminUrl: urlOf(adminAddr.host, adminPort), store, runtime, leases, health, close };
    logger.info({ proxy: gw.proxyUrl, admin: gw.adminUrl, store: store.type }, 'gw-gateway ready');
    return gw;
  } catch (err) {
    await close(0).catch(() => undefined);
    throw err;
  }
}
