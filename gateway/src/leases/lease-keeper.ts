/**
 * Target leases (gw extension, DESIGN §5): a target with `ttl` expires
 * `ttl` seconds after its last renewal (a PUT, or `POST …/heartbeat`, which
 * is `store.touch()`) unless renewed again. The store keeps the lease ends on
 * its own clock; this keeper is the one sweeper: on an interval it deletes
 * the targets whose lease ended, each delete conditional on the lease still
 * being over (`ifLeaseExpired`) and the target unchanged (`ifRevision`), so a
 * renewal or a write racing the sweep is never lost, without any lock.
 */
import type { Target } from '../entities/types.js';
import { isGwError } from '../errors.js';
import type { Logger } from '../observability/log.js';
import type { Store, WriteOp } from '../store/store.js';

export interface LeaseKeeperOptions {
  store: Store;
  logger: Logger;
  /** sweep interval, ms (default 1000) */
  intervalMs?: number;
}

/** When a target's lease ends (Unix seconds, store clock), or null if it has none. */
export function leaseExpiresAt(store: Pick<Store, 'leaseOf'>, t: Target): number | null {
  return t.ttl === null || t.ttl === undefined ? null : store.leaseOf(t.id);
}

const MAX_ATTEMPTS = 5;

export class LeaseKeeper {
  readonly #opts: LeaseKeeperOptions;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<number> | undefined;
  /** targets removed because their lease expired, since start */
  expired = 0;
  readonly #listeners = new Set<(targets: readonly Target[]) => void>();

  constructor(opts: LeaseKeeperOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'leases' });
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(
      () => void this.sweep().catch((err: unknown) => this.#log.error({ err }, 'lease sweep failed')),
      this.#opts.intervalMs ?? 1000,
    );
    this.#timer.unref();
  }

  /** Told of the targets each sweep removed (after the delete committed); returns the disposer. */
  onExpired(listener: (targets: readonly Target[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#sweeping?.catch(() => undefined);
  }

  /** Delete every target whose lease has ended; returns how many. One sweep at a time. */
  sweep(): Promise<number> {
    this.#sweeping ??= this.#sweep().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  async #sweep(): Promise<number> {
    const store = this.#opts.store;
    for (let attempt = 1; ; attempt++) {
      const expired = store.expiredLeases();
      if (expired.length === 0) return 0;
      const ops: WriteOp[] = expired.map((t) => ({
        op: 'delete',
        kind: 'targets',
        id: t.id,
        ifRevision: store.revisionOf('targets', t.id),
        ifLeaseExpired: true,
      }));
      try {
        await store.apply(ops);
      } catch (err) {
        // renewed or changed meanwhile: look again
        if (isGwError(err) && err.code === 'GW_ERR_STORE_CONFLICT' && attempt < MAX_ATTEMPTS) continue;
        throw err;
      }
      for (const t of expired) {
        this.#log.info(
          { target: t.target, upstream: t.upstream.id, ttl: t.ttl, last_written: t.updated_at },
          'lease expired, target removed',
        );
      }
      this.expired += expired.length;
      for (const l of this.#listeners) {
        try {
          l(expired);
        } catch (err) {
          this.#log.error({ err }, 'lease expiry listener failed');
        }
      }
      return expired.length;
    }
  }
}
