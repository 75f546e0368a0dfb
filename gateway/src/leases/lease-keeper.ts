/**
 * Target leases (gw extension, DESIGN §5): a target with `ttl` expires
 * `ttl` seconds after its last write (`updated_at`) unless renewed by a PUT
 * or `POST …/heartbeat`. The keeper sweeps on an interval and deletes
 * expired targets under the store write lock, so a renewal racing the sweep
 * is never lost.
 */
import type { Target } from '../entities/types.js';
import type { Logger } from '../observability/log.js';
import type { Store } from '../store/store.js';
import type { WriteLock } from '../store/write-lock.js';

export interface LeaseKeeperOptions {
  store: Store;
  lock: WriteLock;
  logger: Logger;
  /** Unix seconds (float); injected for tests */
  now?: () => number;
  /** sweep interval, ms (default 1000) */
  intervalMs?: number;
}

/** When a target's lease ends (Unix seconds), or null if it has none. */
export function leaseExpiresAt(t: Target): number | null {
  return t.ttl === null || t.ttl === undefined ? null : t.updated_at + t.ttl;
}

export class LeaseKeeper {
  readonly #opts: LeaseKeeperOptions;
  readonly #now: () => number;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<number> | undefined;
  /** targets removed because their lease expired, since start */
  expired = 0;

  constructor(opts: LeaseKeeperOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? (() => Date.now() / 1000);
    this.#log = opts.logger.child({ component: 'leases' });
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.sweep().catch((err: unknown) => this.#log.error({ err }, 'lease sweep failed')), this.#opts.intervalMs ?? 1000);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#sweeping?.catch(() => undefined);
  }

  /** Delete every target whose lease has expired; returns how many. */
  sweep(): Promise<number> {
    this.#sweeping = this.#opts.lock.run(async () => {
      const now = this.#now();
      const expired = this.#opts.store.all('targets').filter((t) => {
        const end = leaseExpiresAt(t);
        return end !== null && end <= now;
      });
      if (expired.length === 0) return 0;
      await this.#opts.store.apply(expired.map((t) => ({ op: 'delete' as const, kind: 'targets' as const, id: t.id })));
      for (const t of expired) {
        this.#log.info({ target: t.target, upstream: t.upstream.id, ttl: t.ttl, last_renewed: t.updated_at }, 'lease expired, target removed');
      }
      this.expired += expired.length;
      return expired.length;
    });
    return this.#sweeping;
  }
}
