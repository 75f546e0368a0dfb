/**
 * Admin API server (fastify), Kong 3.x compatible: wiring only. Endpoints
 * live in `routes/`, error bodies in `kong-errors.ts`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from '../observability/log.js';
import type { Store } from '../store/store.js';
import { AdminContext } from './context.js';
import { kFormBody } from './resource.js';
import type { DeclarativeConfig } from '../config/reload.js';
import { registerConfigRoutes } from './routes/config.js';
import { registerEntityRoutes } from './routes/entities.js';
import { collectEndpoints, readyHandler, registerKongEndpoints } from './routes/kong-endpoints.js';
import { registerRootRoutes, statusHandler } from './routes/root.js';
import { resource } from './resource.js';
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
  /** request body limit in bytes (default 1 MiB) */
  bodyLimit?: number;
  /** the runtime's per-target in-flight counts, for /upstreams/{u}/health */
  runtime?: TargetRuntimeView;
  /** safe settings echoed under `configuration` by GET / */
  configuration?: Record<string, unknown>;
  /** declarative configuration: `GET /config` export and `POST /config` (absent: 404) */
  declarative?: DeclarativeConfig;
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
  const ctx = new AdminContext(opts.store, opts.kongOnly === true);
  const log = opts.logger.child({ component: 'admin' });

  app.addHook('onRequest', async (req, reply) => {
    (req as { gwStart?: bigint }).gwStart = process.hrtime.bigint();
    if (opts.adminToken !== undefined && !authorized(req.headers, opts.adminToken)) {
      return reply.code(401).send({ message: 'Unauthorized' });
    }
  });
  app.addHook('onSend', async (req, reply) => {
    // Kong's CORS filter with no admin_gui_origin configured: the request's Origin, else *
    const origin = req.headers.origin;
    reply.header('Access-Control-Allow-Origin', typeof origin === 'string' && origin !== '' ? origin : '*');
    reply.header('Access-Control-Allow-Credentials', 'true');
    const start = (req as { gwStart?: bigint }).gwStart;
    if (start !== undefined) reply.header('X-Kong-Admin-Latency', String(Number((process.hrtime.bigint() - start) / 1000000n)));
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, undefined);
    try {
      // JSON.parse makes `__proto__` an own key (no pollution); the entity
      // parser refuses such keys with a schema violation.
      done(null, JSON.parse(text));
    } catch {
      done(jsonError(), undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    const flat: Record<string, string | string[]> = Object.create(null);
    for (const [k, v] of new URLSearchParams(body as string)) {
      const prev = flat[k];
      flat[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    done(null, { [kFormBody]: flat });
  });
  app.addContentTypeParser('multipart/form-data', (_req, _payload, done) => {
    const e = new Error('multipart bodies are not supported; send JSON or application/x-www-form-urlencoded') as Error & { statusCode: number };
    e.statusCode = 415;
    done(e, undefined);
  });
  // GET ignores bodies, as Kong does; a write with another type has no usable body
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if ((err as { gwJson?: boolean }).gwJson) return reply.code(400).send({ message: 'Cannot parse JSON body' });
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ message: 'Request body too large' });
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

/**
 * Kong's `status_listen`: `/status`, `/status/ready` and `/metrics` with no
 * admin rights (load balancer and ECS health checks, Prometheus), nothing else.
 */
export async function createStatusServer(opts: Pick<AdminServerOptions, 'store' | 'isReady' | 'metrics' | 'kongOnly'>): Promise<FastifyInstance> {
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
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ message: 'Not found' }));
  return app;
}

function jsonError(): Error {
  const e = new Error('Cannot parse JSON body') as Error & { gwJson: boolean; statusCode: number };
  e.gwJson = true;
  e.statusCode = 400;
  return e;
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
