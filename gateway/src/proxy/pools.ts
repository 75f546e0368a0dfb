/**
 * Keep-alive connection pools, one per target origin and connect timeout,
 * created lazily.
 */
import { Pool } from 'undici';

export class Pools {
  readonly #pools = new Map<string, Pool>();

  get(host: string, port: number, connectTimeout: number): Pool {
    const key = `${host}|${port}|${connectTimeout}`;
    let p = this.#pools.get(key);
    if (!p) {
      const h = host.includes(':') ? `[${host}]` : host;
      p = new Pool(`http://${h}:${port}`, { connections: 256, pipelining: 1, connectTimeout, keepAliveTimeout: 4_000 });
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
