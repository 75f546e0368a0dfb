/**
 * `GET /` (identifies the gateway; gw adds a `gw` object so clients can tell
 * it from Kong) and `GET /status` (200 only when ready).
 */
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { AdminContext } from '../context.js';
import { resource } from '../resource.js';
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
  resource(app, '/status', {
    GET: () => {
      const mem = process.memoryUsage();
      const body = {
        memory: { workers_lua_vms: [{ pid: process.pid, http_allocated_gc: `${(mem.heapUsed / 1048576).toFixed(2)} MiB` }], lua_shared_dicts: {} },
        server: {
          connections_accepted: requests,
          connections_active: 0,
          connections_handled: requests,
          connections_reading: 0,
          connections_writing: 0,
          connections_waiting: 0,
          total_requests: requests,
        },
        database: { reachable: true },
      };
      return opts.isReady() ? { status: 200, body } : { status: 503, body: { message: 'not ready', ...body } };
    },
  });
}
