/**
 * Admin API server (fastify), Kong 3.x compatible: wiring only. Endpoints
 * live in `routes/`, error bodies in `kong-errors.ts`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from '../observability/log.js';
import type { Store } from '../store/store.js';
import { WriteLock } from '../store/write-lock.js';
import { AdminContext } from './context.js';
import { isWrite, registerBodyParsers, unsupportedMediaType } from './body.js';
import { registerEntityRoutes } from './routes/entities.js';
import { registerRootRoutes } from './routes/root.js';
import { registerHealthRoutes, type TargetRuntimeView } from './routes/health.js';
import { registerTargetRoutes } from './routes/targets.js';

export interface AdminServerOptions {
  store: Store;
  logger: Logger;
  /** when set, every request needs `Authorization: Bearer <token>` or `Kong-Admin-Token: <token>` */
  adminToken?: string | undefined;
  /** GET /status answers 200 only while this returns true */
  isReady: () => boolean;
  /** strict Kong mode: gw extension fields are refused as unknown fields */
  kongOnly?: boolean;
  /** node id reported by GET / (a UUID) */
  nodeId: string;
  /** injected clock, Unix seconds (float) */
  now?: () => number;
  /** request body limit in bytes (default 1 MiB) */
  bodyLimit?: number;
  /** the runtime's per-target in-flight counts, for /upstreams/{u}/health */
  runtime?: TargetRuntimeView;
  /** the store write lock, shared with lease expiry (default: a private one) */
  lock?: WriteLock;
  /** safe settings echoed under `configuration` by GET / */
  configuration?: Record<string, unknown>;
  /** Prometheus text for `GET /metrics` (absent: 404) */
  metrics?: () => Promise<{ contentType: string; body: string }>;
}

/** Build the admin fastify instance (not listening; the caller listens). */
export async function createAdminServer(opts: AdminServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    exposeHeadRoutes: false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1024 },
  });
  const ctx = new AdminContext(opts.store, opts.now ?? (() => Date.now() / 1000), opts.kongOnly === true, opts.lock ?? new WriteLock());
  const log = opts.logger.child({ component: 'admin' });

  app.addHook('onRequest', async (req, reply) => {
    (req as { gwStart?: bigint }).gwStart = process.hrtime.bigint();
    if (opts.adminToken !== undefined && !authorized(req.headers, opts.adminToken)) {
      return reply.code(401).send({ message: 'Unauthorized' });
    }
  });
  app.addHook('onSend', async (req, reply) => {
    const start = (req as { gwStart?: bigint }).gwStart;
    if (start !== undefined) reply.header('X-Kong-Admin-Latency', String(Number((process.hrtime.bigint() - start) / 1000000n)));
  });

  registerBodyParsers(app);

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if ((err as { gwJson?: boolean }).gwJson) return reply.code(400).send({ message: err.message });
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ message: 'Request body too large' });
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' && isWrite(req.method)) return reply.code(415).send({ message: unsupportedMediaType(req.headers['content-type']) });
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

  registerRootRoutes(app, ctx, { nodeId: opts.nodeId, isReady: opts.isReady, configuration: opts.configuration ?? {} });
  registerEntityRoutes(app, ctx);
  registerTargetRoutes(app, ctx);
  registerHealthRoutes(app, ctx, opts.nodeId, opts.runtime);
  const metrics = opts.metrics;
  if (metrics) {
    app.get('/metrics', async (_req, reply) => {
      const m = await metrics();
      return reply.type(m.contentType).send(m.body);
    });
  }
  return app;
}

const sha = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Constant-time check of `Authorization: Bearer` or `Kong-Admin-Token`. */
function authorized(headers: Record<string, string | string[] | undefined>, token: string): boolean {
  const want = sha(token);
  const auth = headers.authorization;
  const candidates: string[] = [];
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) candidates.push(auth.slice(7));
  const kong = headers['kong-admin-token'];
  if (typeof kong === 'string') candidates.push(kong);
  let ok = false;
  for (const c of candidates) ok = timingSafeEqual(sha(c), want) || ok;
  return ok;
}
