/**
 * The identity guard, in the gateway (DESIGN §7, issue 12): ECS reuses IP
 * addresses, so a target written with a `gw-instance:<id>` tag is the
 * instance listening at that `host:port` now. Any other target at the same
 * address, in any upstream, whose `gw-instance` tag names a different
 * instance belongs to a task that is gone; it is removed in the same atomic
 * `store.apply()` batch as the write, so traffic for one service never
 * reaches another service's new task, and a registration token needs no
 * rights outside its own service. Targets without a `gw-instance` tag (made
 * by hand, or by Kong tools) are never touched. Each removal is logged and
 * counted (`gw_identity_guard_removals_total`).
 *
 * The SDK keeps its client-side guard for real Kong (sdk/src/identity-guard.ts).
 */
import type { Target } from '../entities/types.js';
import type { Logger } from '../observability/log.js';
import type { Store, WriteOp } from '../store/store.js';

const INSTANCE = 'gw-instance:';

/** The decoded `gw-instance` tag value, if any (the SDK percent-encodes `/`, `,`, `%`, spaces). */
export function instanceOf(tags: readonly string[] | null | undefined): string | undefined {
  const t = (tags ?? []).find((x) => x.startsWith(INSTANCE));
  if (t === undefined) return undefined;
  const v = t.slice(INSTANCE.length);
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

export class IdentityGuard {
  /** stale targets removed since start */
  removed = 0;
  readonly #log: Logger | undefined;

  constructor(o: { logger?: Logger } = {}) {
    this.#log = o.logger?.child({ component: 'identity-guard' });
  }

  /**
   * The deletes to apply with the write of `target`: every other target at
   * its address owned by another instance. Empty when `target` has no
   * `gw-instance` tag.
   */
  staleHolders(store: Store, target: Target): Target[] {
    const owner = instanceOf(target.tags);
    if (owner === undefined) return [];
    const stale: Target[] = [];
    for (const u of store.all('upstreams')) {
      if (u.id === target.upstream.id) continue; // one target per address per upstream: that one is being written
      const t = store.getTarget(u.id, target.target);
      if (!t || t.id === target.id) continue;
      const other = instanceOf(t.tags);
      if (other !== undefined && other !== owner) stale.push(t);
    }
    return stale;
  }

  /** `[...deletes of the stale holders, put of target]`, for one `store.apply()`. */
  opsFor(store: Store, target: Target): { ops: WriteOp[]; stale: Target[] } {
    const stale = this.staleHolders(store, target);
    return {
      ops: [...stale.map((t): WriteOp => ({ op: 'delete', kind: 'targets', id: t.id })), { op: 'put', kind: 'targets', entity: target }],
      stale,
    };
  }

  /** Log and count removals once the batch is applied. */
  applied(store: Store, target: Target, stale: readonly Target[]): void {
    for (const t of stale) {
      this.removed++;
      const upstream = store.get('upstreams', t.upstream.id)?.name ?? t.upstream.id;
      this.#log?.warn(
        { target: t.target, upstream, stale_instance: instanceOf(t.tags), instance: instanceOf(target.tags), removed_id: t.id },
        'identity guard: removed a stale target another instance left at this address',
      );
    }
  }
}
