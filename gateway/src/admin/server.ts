/**
 * Admin API server (fastify), Kong 3.x compatible: wiring only. Endpoints
 * live in `routes/`, error bodies in `kong-errors.ts`.
 */
import { registerClusterRoutes, type ClusterView } from './routes/cluster.js';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from '../observability/log.js';
import type { Store } from '../store/store.js';
import type { DeclarativeConfig } from '../config/reload.js';
import { registerConfigRoutes } from './routes/config.js';
import { createAuditLog, registerAudit } from './audit.js';
import { AdminAuth, callerOf, registrationDenial, setCaller } from './auth.js';
import type { Socket } from 'node:net';
import { adminClientErrors } from './client-errors.js';
import { AdminContext } from './context.js';
import { IdentityGuard } from './identity-guard.js';
import { isWrite, registerBodyParsers, tooManyArgs, tooManyArgsError, unsupportedMediaType } from './body.js';
import { registerEntityRoutes } from './routes/entities.js';
import { collectEndpoints, readyHandler, registerKongEndpoints } from './routes/kong-endpoints.js';
import { registerRootRoutes, statusHandler } from './routes/root.js';
import { resource } from './resource.js';
import { registerHealthRoutes, type TargetRuntimeView } from './routes/health.js';
import { registerTargetRoutes } from './routes/targets.js';
import type { DashboardHub } from '../dashboard/hub.js';
import { isPublicRoute, registerDashboardRoutes } from '../dashboard/routes.js';

export interface AdminServerOptions {
  store: Store;
  logger: Logger;
  /** when set, every request needs `Authorization: Bearer <token>` or `Kong-Admin-Token: <token>` */
  adminToken?: string | undefined;
  /** scoped registration tokens, service name → token (auth.ts) */
  registrationTokens?: Readonly<Record<string, string>> | undefined;
  /** GET /status answers 200 only while this returns true */
  isReady: () => boolean;
  /** strict Kong mode: gw extension fields are refused as unknown fields */
  kongOnly?: boolean;
  /** node id reported by GET / (a UUID) */
  nodeId: string;
  /** request body limit in bytes (default 1 MiB) */
  bodyLimit?: number;
  /** the runtime's per-target in-flight counts, for /upstreams/{u}/health */
  runtime?: TargetRuntimeView;
  /** safe settings echoed under `configuration` by GET / */
  configuration?: Record<string, unknown>;
  /** declarative configuration: `GET /config` export and `POST /config` (absent: 404) */
  declarative?: DeclarativeConfig;
  /** audit log of writes: `stdout`, `off` (default) or a file path (audit.ts) */
  auditLog?: string | undefined;
  /** the identity guard applied to target writes (default: a private one); its counter feeds /metrics */
  identityGuard?: IdentityGuard;
  /** Prometheus text for `GET /metrics` (absent: 404) */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** the nodes for `GET /cluster/nodes` (absent: 404) */
  cluster?: ClusterView;
  /**
   * Resolves once this node's proxy uses every committed change (the
   * runtime's `flushed`): a successful write is answered after it, so a
   * request sent after the answer is routed by it (this node only; other
   * cluster nodes follow their change feed).
   */
  applied?: () => Promise<void>;
  /** the live dashboard's state and streams: `/dashboard` (absent: 404) */
  dashboard?: DashboardHub;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Build the admin fastify instance (not listening; the caller listens). */
export async function createAdminServer(opts: AdminServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    exposeHeadRoutes: false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1024 },
    // a path whose escapes are not UTF-8 (`/tags/%FF`): Kong's 14-tags_spec expects "invalid utf-8"
    frameworkErrors: (err, req, reply) => {
      const message = err.code === 'FST_ERR_BAD_URL' ? `invalid utf-8 in the path: '${req.url.split('?')[0]}'` : err.message;
      void (reply as unknown as { code(n: number): { send(b: unknown): void } }).code(400).send({ message });
    },
  });
  // raw UTF-8 in the path and unknown methods, refused by node's parser (client-errors.ts)
  const fastifyClientError = app.server.listeners('clientError')[0] as ((err: Error, socket: Socket) => void) | undefined;
  app.server.removeAllListeners('clientError');
  app.server.on(
    'clientError',
    adminClientErrors(app, (err, socket) => fastifyClientError?.(err, socket) ?? socket.destroy()),
  );
  const ctx = new AdminContext(opts.store, opts.kongOnly === true);
  const log = opts.logger.child({ component: 'admin' });

  const auth = new AdminAuth({ adminToken: opts.adminToken, registrationTokens: opts.registrationTokens });
  app.addHook('onRequest', async (req, reply) => {
    (req as { gwStart?: bigint }).gwStart = process.hrtime.bigint();
    // the dashboard page and its assets: no data, and a browser cannot send a header when it navigates
    if (isPublicRoute(req)) return;
    const caller = auth.identify(req.headers);
    if (caller === undefined) return reply.code(401).send({ message: 'Unauthorized' });
    setCaller(req, caller);
    const q = req.url.indexOf('?');
    if (q !== -1 && tooManyArgs(req.url.slice(q + 1))) throw tooManyArgsError();
    // cluster mode: what another node committed before this request is visible to it (Kong reads the database per request)
    await opts.store.sync();
  });
  const applied = opts.applied;
  if (applied) {
    app.addHook('onSend', async (req, reply) => {
      if (WRITE_METHODS.has(req.method) && reply.statusCode < 300) await applied();
    });
  }
  const audit = createAuditLog(opts.auditLog ?? 'off');
  if (audit) registerAudit(app, audit);
  // scoped tokens: decided once the body is parsed (a service body may only point at its own upstreams)
  app.addHook('preHandler', async (req, reply) => {
    const caller = callerOf(req);
    if (caller.kind !== 'registration') return;
    const reason = registrationDenial(opts.store, caller.service, req);
    if (reason !== undefined)
      return reply.code(403).send({
        message: `Forbidden: a registration token for service '${caller.service}' may not ${req.method} ${req.url.split('?')[0]}: ${reason}`,
      });
  });
  app.addHook('onSend', async (req, reply) => {
    // Kong's CORS filter with no admin_gui_origin configured: the request's Origin, else *
    const origin = req.headers.origin;
    reply.header('Access-Control-Allow-Origin', typeof origin === 'string' && origin !== '' ? origin : '*');
    reply.header('Access-Control-Allow-Credentials', 'true');
    const start = (req as { gwStart?: bigint }).gwStart;
    if (start !== undefined) reply.header('X-Kong-Admin-Latency', String(Number((process.hrtime.bigint() - start) / 1000000n)));
  });

  registerBodyParsers(app);

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if ((err as { gwJson?: boolean }).gwJson) return reply.code(400).send({ message: err.message });
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ message: 'Request body too large' });
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' && isWrite(req.method))
      return reply.code(415).send({ message: unsupportedMediaType(req.headers['content-type']) });
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || err.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
      return reply.code(400).send({ message: err.message });
    }
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ message: err.message });
    }
    log.error({ err, method: req.method, url: req.url }, 'admin request failed');
    return reply.code(500).send({ message: 'An unexpected error occurred' });
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ message: 'Not found' }));

  const endpoints = collectEndpoints(app);
  registerKongEndpoints(app, ctx, { isReady: opts.isReady }, endpoints);
  registerRootRoutes(app, ctx, { nodeId: opts.nodeId, isReady: opts.isReady, configuration: opts.configuration ?? {} });
  registerEntityRoutes(app, ctx);
  registerConfigRoutes(app, ctx, opts.declarative);
  registerTargetRoutes(app, ctx, opts.identityGuard ?? new IdentityGuard({ logger: opts.logger }));
  registerHealthRoutes(app, ctx, opts.nodeId, opts.runtime);
  if (opts.cluster) registerClusterRoutes(app, opts.cluster);
  const hub = opts.dashboard;
  // a gw extension: not in strict Kong mode
  if (hub && !opts.kongOnly) {
    registerDashboardRoutes(app, { hub, readOnly: false, identify: (req) => callerOf(req) });
    // an open stream would keep close() waiting
    app.addHook('preClose', async () => hub.stop());
  }
  const metrics = opts.metrics;
  if (metrics) {
    app.get('/metrics', async (_req, reply) => {
      const m = await metrics();
      return reply.type(m.contentType).send(m.body);
    });
  }
  return app;
}

/**
 * Kong's `status_listen`: `/status`, `/status/ready` and `/metrics` with no
 * admin rights (load balancer and ECS health checks, Prometheus), and the
 * dashboard read only (its stream needs the admin token when one is set,
 * as on the admin listener), nothing else.
 */
export async function createStatusServer(
  opts: Pick<AdminServerOptions, 'store' | 'isReady' | 'metrics' | 'kongOnly' | 'dashboard' | 'adminToken' | 'registrationTokens'> & {
    /** the status listener's address is a loopback one (without an admin token the dashboard is served only then) */
    loopback?: boolean;
  },
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, exposeHeadRoutes: false, routerOptions: { ignoreTrailingSlash: true } });
  const ctx = new AdminContext(opts.store, opts.kongOnly === true);
  let requests = 0;
  app.addHook('onRequest', async () => {
    requests++;
  });
  resource(app, '/status', { GET: statusHandler(ctx, opts.isReady, () => requests) });
  resource(app, '/status/ready', { GET: readyHandler({ isReady: opts.isReady }) });
  const metrics = opts.metrics;
  if (metrics) {
    app.get('/metrics', async (_req, reply) => {
      const m = await metrics();
      return reply.type(m.contentType).send(m.body);
    });
  }
  const hub = opts.dashboard;
  if (hub && !opts.kongOnly) {
    const auth = new AdminAuth({ adminToken: opts.adminToken, registrationTokens: opts.registrationTokens });
    // without an admin token the Admin API is loopback only; so is the dashboard's data here
    const open = opts.adminToken !== undefined || opts.loopback === true;
    registerDashboardRoutes(app, {
      hub,
      readOnly: true,
      identify: (req) => (open ? auth.identify(req.headers) : undefined),
      refusal: open ? undefined : 'the dashboard on a non-loopback --status-listen needs --admin-token (its stream is refused without one)',
    });
    app.addHook('preClose', async () => hub.stop());
  }
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ message: 'Not found' }));
  return app;
}
