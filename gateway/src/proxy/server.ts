/**
 * The proxy listener (node:http in, undici out).
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from '../observability/log.js';
import type { Runtime } from '../runtime/runtime.js';
import { forward, type ForwardDeps } from './forward.js';
import { noOutcomes, type OutcomeSink } from './outcome.js';
import { Pools } from './pools.js';
import { proxyUpgrade } from './websocket.js';
import { sendProxyError } from './error-map.js';
import { compileTrusted } from '../config/trusted-ips.js';
import type { ProxyStats, RequestMetrics } from '../observability/metrics.js';

export type { OutcomeSink, OutcomeKind } from './outcome.js';

export interface ProxyServerOptions {
  runtime: Runtime;
  logger: Logger;
  /** passive health checks plug in here (default: no-op) */
  outcomes?: OutcomeSink;
  /** per-route request metrics (default: not recorded) */
  metrics?: RequestMetrics;
  /** Kong's trusted_ips: peers whose X-Forwarded-* headers are believed (default none) */
  trustedIps?: readonly string[];
}

export interface ProxyServer {
  readonly server: Server;
  /** hedging counters (metrics) */
  readonly stats: ProxyStats;
  /** Listen; resolves with the bound port (port 0 = random). */
  listen(host: string, port: number): Promise<{ port: number }>;
  /** Stop accepting, let in-flight requests finish up to `graceMs`, then close pools. Idempotent. */
  close(graceMs?: number): Promise<void>;
}

export function createProxyServer(opts: ProxyServerOptions): ProxyServer {
  const pools = new Pools();
  const logger = opts.logger.child({ component: 'proxy' });
  const deps: ForwardDeps = { runtime: opts.runtime, pools, outcomes: opts.outcomes ?? noOutcomes, metrics: opts.metrics, stats: { hedged: 0, hedgeWins: 0 }, logger, listenPort: 0, trusted: compileTrusted(opts.trustedIps ?? []) };
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    inFlight++;
    res.once('close', () => {
      if (--inFlight === 0) drained?.();
    });
    forward(deps, req, res).catch((err: unknown) => {
      logger.error({ err }, 'proxy request failed');
      sendProxyError(res, 'GW_ERR_PROXY_INTERNAL', 'internal', req.headers.accept);
    });
  });
  server.on('upgrade', (req, socket, head) => proxyUpgrade(deps, req, socket, head));
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  // targets that left every upstream: close their pools
  const unsubscribe = opts.runtime.onSnapshot((snap) => {
    const keep = new Set<string>();
    for (const e of snap.upstreams.values()) for (const t of e.balancer.targets) keep.add(`${t.host}:${t.port}`);
    for (const s of snap.servicesById.values()) keep.add(`${s.host}:${s.port}`);
    pools.prune(keep);
  });
  let closing: Promise<void> | undefined;
  return {
    server,
    stats: deps.stats,
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          deps.listenPort = (server.address() as { port: number }).port;
          resolve({ port: deps.listenPort });
        });
      });
    },
    close(graceMs = 10_000) {
      return (closing ??= (async () => {
        unsubscribe();
        await new Promise<void>((resolve) => {
          if (!server.listening) return resolve();
          server.close(() => resolve());
          server.closeIdleConnections();
          const wait = inFlight === 0 ? Promise.resolve() : new Promise<void>((r) => (drained = r));
          const timer = setTimeout(() => server.closeAllConnections(), graceMs);
          void wait.then(() => {
            clearTimeout(timer);
            server.closeAllConnections();
          });
        });
        await pools.close();
      })());
    },
  };
}
