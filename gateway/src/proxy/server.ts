/**
 * The proxy listener (node:http in, undici out).
 * CONTRACT: signatures fixed; the proxy work implements them.
 */
import type { Server } from 'node:http';
import type { Logger } from '../observability/log.js';
import type { Runtime } from '../runtime/runtime.js';

export interface ProxyServerOptions {
  runtime: Runtime;
  logger: Logger;
}

export interface ProxyServer {
  readonly server: Server;
  /** Listen; resolves with the bound port (port 0 = random). */
  listen(host: string, port: number): Promise<{ port: number }>;
  /** Stop accepting, let in-flight requests finish up to `graceMs`, then close pools. Idempotent. */
  close(graceMs?: number): Promise<void>;
}

export function createProxyServer(opts: ProxyServerOptions): ProxyServer {
  void opts;
  throw new Error('not implemented');
}
