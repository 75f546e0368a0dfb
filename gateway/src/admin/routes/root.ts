/**
 * `GET /` (identifies the gateway; gw adds a `gw` object so clients can tell
 * it from Kong) and `GET /status` (200 only when ready).
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AdminContext } from '../context.js';
import { query, resource } from '../resource.js';
import { GW_VERSION, KONG_COMPAT_VERSION } from '../../version.js';

export interface RootOptions {
  nodeId: string;
  isReady: () => boolean;
  configuration: Record<string, unknown>;
}

export function registerRootRoutes(app: FastifyInstance, ctx: AdminContext, opts: RootOptions): void {
  let requests = 0;
  app.addHook('onRequest', async () => {
    requests++;
  });
  resource(app, '/', {
    GET: () => ({
      status: 200,
      body: {
        tagline: ctx.kongOnly ? 'Welcome to kong' : 'Welcome to gw',
        version: KONG_COMPAT_VERSION,
        edition: 'community',
        hostname: hostname(),
        node_id: opts.nodeId,
        timers: { running: 0, pending: 0 },
        plugins: { available_on_server: {}, enabled_in_cluster: [] },
        lua_version: null,
        configuration: opts.configuration,
        pids: { master: process.pid, workers: [process.pid] },
        ...(ctx.kongOnly ? {} : { gw: { version: GW_VERSION, store: ctx.store.type } }),
      },
    }),
  });
  resource(app, '/status', { GET: statusHandler(ctx, opts.isReady, () => requests) });
}

/**
 * Kong's `bytes_to_str` (kong/tools/string.lua) for `/status?unit=&scale=`:
 * `b` a number, `k`/`m`/`g` a string with `scale` decimals (default 2).
 */
function bytesToStr(bytes: number, unit: string, scale: number): number | string {
  const u = unit.toLowerCase();
  if (u === '' || u === 'b') return Math.round(bytes);
  const div = u === 'k' ? 2 ** 10 : u === 'm' ? 2 ** 20 : 2 ** 30;
  return `${(bytes / div).toFixed(Math.min(scale, 100))} ${u === 'k' ? 'KiB' : u === 'm' ? 'MiB' : 'GiB'}`;
}

/** `?unit=` and `?scale=` as Kong's /status checks them, or the 400 message. */
function memoryFormat(q: Record<string, string | undefined>): { unit: string; scale: number } | string {
  const unit = q.unit ?? 'm';
  const n = q.scale === undefined || q.scale.trim() === '' ? NaN : Number(q.scale);
  const scale = Number.isFinite(n) ? n : 2;
  if (scale < 0) return 'scale must be equal or greater than 0';
  if (!['', 'b', 'k', 'm', 'g'].includes(unit.toLowerCase())) return `invalid unit '${unit}' (expected 'k/K', 'm/M', or 'g/G')`;
  return { unit, scale: Math.floor(scale) };
}

/** `GET /status` (Kong's shape; 503 until ready), shared by the admin and the status listener. */
export function statusHandler(
  ctx: AdminContext,
  isReady: () => boolean,
  requests: () => number,
): (req: FastifyRequest) => { status: number; body: unknown } {
  return (req) => {
    const fmt = memoryFormat(query(req));
    if (typeof fmt === 'string') return { status: 400, body: { message: fmt } };
    const mem = process.memoryUsage();
    const n = requests();
    const body = {
      memory: {
        workers_lua_vms: [{ pid: process.pid, http_allocated_gc: bytesToStr(mem.heapUsed, fmt.unit, fmt.scale) }],
        lua_shared_dicts: {},
      },
      server: {
        connections_accepted: n,
        connections_active: 0,
        connections_handled: n,
        connections_reading: 0,
        connections_writing: 0,
        connections_waiting: 0,
        total_requests: n,
      },
      // Kong's shape; during an outage still 200 (the node keeps proxying), reachable false
      database: { reachable: ctx.store.reachable ?? true, revision: ctx.store.revision },
      configuration_hash: configurationHash(ctx),
    };
    return isReady() ? { status: 200, body } : { status: 503, body: { message: 'not ready', ...body } };
  };
}

/** Kong's DECLARATIVE_EMPTY_CONFIG_HASH: no configuration at all. */
export const EMPTY_CONFIG_HASH = '0'.repeat(32);
const KINDS = ['services', 'routes', 'upstreams', 'targets'] as const;
let cached: { lists: readonly unknown[]; hash: string } | undefined;

/**
 * 32 hex characters that change exactly when the configuration does: an MD5
 * over every entity (timestamps left out, so a rewrite with the same values
 * keeps it), cached while the store's lists are the same objects.
 */
export function configurationHash(ctx: AdminContext): string {
  const lists = KINDS.map((k) => ctx.store.all(k));
  if (cached && cached.lists.every((l, i) => l === lists[i])) return cached.hash;
  let hash = EMPTY_CONFIG_HASH;
  if (lists.some((l) => l.length > 0)) {
    const md5 = createHash('md5');
    lists.forEach((list, i) => {
      const sorted = [...list].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      md5.update(KINDS[i]!);
      for (const e of sorted) {
        const { created_at: _c, updated_at: _u, ...rest } = e as typeof e & { created_at?: number; updated_at?: number };
        void _c;
        void _u;
        md5.update(canonical(rest));
      }
    });
    hash = md5.digest('hex');
  }
  cached = { lists, hash };
  return hash;
}

/** JSON with object keys sorted, so equal entities hash equally whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
