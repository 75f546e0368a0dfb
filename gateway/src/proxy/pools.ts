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
  /** the last plain-http pool handed out and its origin: with one target (or a sticky hash) the next request goes there too */
  #lastPool: Pool | undefined;
  #lastHost = '';
  #lastPort = 0;
  #lastTimeout = 0;

  /**
   * The plain-http pool of a balancer target, remembered per target object:
   * with thousands of targets the key string and the map lookup of
   * {@link get} were a cache miss per request (forgotten on every prune).
   */
  #byTarget = new WeakMap<object, { pool: Pool; connectTimeout: number }>();

  /** {@link get} for a balancer target (`key`: the target object the pool is remembered on). */
  forTarget(key: object, host: string, port: number, connectTimeout: number, tls?: TlsOptions): Pool {
    if (tls) return this.#get(host, port, connectTimeout, tls);
    const c = this.#byTarget.get(key);
    if (c !== undefined && c.connectTimeout === connectTimeout) return c.pool;
    const pool = this.#get(host, port, connectTimeout);
    this.#byTarget.set(key, { pool, connectTimeout });
    return pool;
  }

  /** The pool of one origin; `tls` makes it an https origin (SNI, certificate verification). */
  get(host: string, port: number, connectTimeout: number, tls?: TlsOptions): Pool {
    if (tls) return this.#get(host, port, connectTimeout, tls);
    if (this.#lastPool !== undefined && this.#lastPort === port && this.#lastHost === host && this.#lastTimeout === connectTimeout)
      return this.#lastPool;
    const pool = this.#get(host, port, connectTimeout);
    this.#lastPool = pool;
    this.#lastHost = host;
    this.#lastPort = port;
    this.#lastTimeout = connectTimeout;
    return pool;
  }

  #get(host: string, port: number, connectTimeout: number, tls?: TlsOptions): Pool {
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
    this.#lastPool = undefined;
    this.#byTarget = new WeakMap();
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
    this.#lastPool = undefined;
    this.#byTarget = new WeakMap();
    await Promise.all(all.map((p) => p.destroy().catch(() => undefined)));
  }
}
