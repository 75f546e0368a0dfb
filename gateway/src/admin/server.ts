/**
 * Admin API server (fastify), Kong 3.x compatible.
 * CONTRACT: `createAdminServer` signature is fixed; the admin work implements it.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../observability/log.js';
import type { Store } from '../store/store.js';

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
}

export async function createAdminServer(opts: AdminServerOptions): Promise<FastifyInstance> {
  void opts;
  throw new Error('not implemented');
}
