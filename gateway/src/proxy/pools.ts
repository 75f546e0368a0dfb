/**
 * Keep-alive connection pools, one per target origin and connect timeout,
 * created lazily.
 */
import { isIP } from 'node:net';
import { Pool } from 'undici';

const POOL = { connections: 256, pipelining: 1, keepAliveTimeout: 4_000 } as const;

export interface TlsOptions {
  /** SNI; absent for IP addresses */
  servername?: string | undefined;
  /** verify the upstream's certificate (Kong: service.tls_verify, default off) */
  verify: boolean;
}

/** TLS options for a service with protocol https (undefined for http). */
export function tlsFor(protocol: string, host: string, hostHeader: string | null, tlsVerify: boolean | null): TlsOptions | undefined {
  if (protocol !== 'https') return undefined;
  const name = hostHeader ?? host;
  return { servername: isIP(name) === 0 ? name.replace(/:\d+$/, '') : undefined, verify: tlsVerify === true };
}

export class Pools {
  readonly #pools = new Map<string, Pool>();

  /** The pool of one origin; `tls` makes it an https origin (SNI, certificate verification). */
  get(host: string, port: number, connectTimeout: number, tls?: TlsOptions): Pool {
    const key = tls
      ? `${host}|${port}|${connectTimeout}|s|${tls.servername ?? ''}|${tls.verify ? 1 : 0}`
      : `${host}|${port}|${connectTimeout}`;
    let p = this.#pools.get(key);
    if (!p) {
      const h = host.includes(':') ? `[${host}]` : host;
      p = tls
        ? new Pool(`https://${h}:${port}`, {
            ...POOL,
            connectTimeout,
            connect: { rejectUnauthorized: tls.verify, ...(tls.servername ? { servername: tls.servername } : {}) },
          })
        : new Pool(`http://${h}:${port}`, { ...POOL, connectTimeout });
      this.#pools.set(key, p);
    }
    return p;
  }

  /** Close pools whose origin is not in `keep` (targets that left). */
  prune(keep: ReadonlySet<string>): void {
    for (const [key, p] of this.#pools) {
      const [host, port] = key.split('|');
      if (!keep.has(`${host}:${port}`)) {
        this.#pools.delete(key);
        void p.close().catch(() => undefined);
      }
    }
  }

  async close(): Promise<void> {
    const all = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(all.map((p) => p.destroy().catch(() => undefined)));
  }
}
