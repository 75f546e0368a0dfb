/**
 * The store: where entities live, and the changes the runtime subscribes to
 * (contract v2).
 *
 * - Every implementation keeps a complete in-memory copy of the entities (the
 *   gateway routes from memory). Constraints (unique keys, foreign keys,
 *   cascades) are the store's job, so a PostgreSQL store can enforce them in
 *   the database without touching callers.
 * - A write commits (durably, for persistent stores) and only then is emitted
 *   to subscribers and resolves. Every change carries a store-assigned,
 *   strictly increasing `revision`; `store.revision` is the latest.
 * - Read-check-write sequences are made safe by preconditions on the write
 *   (`ifRevision`, `ifAbsent`), not by a process-local lock: a write whose
 *   precondition fails throws GW_ERR_STORE_CONFLICT and changes nothing, and
 *   the caller re-reads and retries.
 * - Timestamps (`created_at`, `updated_at`) and lease clocks come from
 *   `store.now()`, so every writer agrees on time (the database clock, later).
 * - Leases are their own operation: `touch()` renews without rewriting the
 *   entity; `expiredLeases()` lists what ran out on the store clock.
 */
import type { AnyEntity, EntityByKind, EntityKind } from '../entities/types.js';

export type WriteOp =
  | {
      op: 'put';
      kind: EntityKind;
      entity: AnyEntity;
      /** the entity (by id) must currently be at this revision */
      ifRevision?: number | undefined;
      /** no entity may exist with this id or this unique key (name; upstream + target) */
      ifAbsent?: boolean | undefined;
      /** an insert (Kong's POST): no entity may exist with this id, else GW_ERR_STORE_PRIMARY_KEY (never retried: the id is the caller's) */
      insert?: boolean | undefined;
    }
  | {
      op: 'delete';
      kind: EntityKind;
      id: string;
      /** the entity must currently be at this revision */
      ifRevision?: number | undefined;
      /** targets only: the lease must have ended on the store clock (the lease sweep) */
      ifLeaseExpired?: boolean | undefined;
    };

export type ChangeOp = 'create' | 'update' | 'delete';

/** One committed change; `entity` is the new value (the old one for deletes). */
export interface ChangeEvent {
  op: ChangeOp;
  kind: EntityKind;
  entity: AnyEntity;
  old?: AnyEntity | undefined;
  /** store-assigned, strictly increasing across all changes */
  revision: number;
}

export type ChangeListener = (events: readonly ChangeEvent[]) => void;

/** Serialisable content of a store. */
export interface StoreState {
  services: EntityByKind['services'][];
  routes: EntityByKind['routes'][];
  upstreams: EntityByKind['upstreams'][];
  targets: EntityByKind['targets'][];
}

/** The whole state at `revision`: sent instead of changes a subscriber cannot be given. */
export interface StoreReset {
  revision: number;
  state: StoreState;
}

export interface SubscribeOptions {
  /**
   * Replay every change after this revision (synchronously, before
   * `subscribe` returns), or call `onReset` when the store's change history no
   * longer reaches back that far.
   */
  fromRevision?: number | undefined;
  /**
   * Called with the full state when the subscriber cannot be given the
   * changes it missed (history exceeded, state reloaded). Without it, a
   * reload reaches the subscriber as ordinary changes (the difference), and a
   * `fromRevision` beyond the history throws.
   */
  onReset?: ((reset: StoreReset) => void) | undefined;
}

export interface Store {
  readonly type: 'memory' | 'file' | 'postgres';
  /** Load persisted state. Must be called once before use. */
  open(): Promise<void>;
  /** Flush pending writes and release resources. Idempotent. */
  close(): Promise<void>;
  /**
   * Resolve once this copy holds every change committed anywhere before the
   * call (read-your-writes for a client whose requests land on different
   * nodes). Never rejects; a store with one writer resolves at once.
   */
  sync(): Promise<void>;
  /** False while a shared database cannot be reached (cluster mode); absent: always reachable. */
  readonly reachable?: boolean;
  /** The store clock, Unix seconds (float): timestamps and leases. */
  now(): number;
  /** Revision of the latest committed change (0 for a new store). */
  readonly revision: number;
  /** Entities of a kind in insertion order. The array is a snapshot: do not mutate. */
  all<K extends EntityKind>(kind: K): readonly EntityByKind[K][];
  get<K extends EntityKind>(kind: K, id: string): EntityByKind[K] | undefined;
  /** Revision of the change that last wrote this entity, for `ifRevision`. */
  revisionOf(kind: EntityKind, id: string): number | undefined;
  /** Find by the entity's unique name (`name` for services/routes/upstreams). */
  getByName<K extends Exclude<EntityKind, 'targets'>>(kind: K, name: string): EntityByKind[K] | undefined;
  /** Find a target by upstream id and normalised `host:port`. */
  getTarget(upstreamId: string, target: string): EntityByKind['targets'] | undefined;
  /** Targets of one upstream, in insertion order. */
  targetsOf(upstreamId: string): readonly EntityByKind['targets'][];
  /** Routes of one service, in insertion order. */
  routesOf(serviceId: string): readonly EntityByKind['routes'][];
  /**
   * Apply writes atomically: all or none. `put` inserts or replaces by id.
   * Deleting an upstream cascades to its targets. Throws a GwError with code
   * GW_ERR_STORE_UNIQUE (details: `{ kind, fields }`),
   * GW_ERR_STORE_FOREIGN_KEY (details: `{ kind, referencedBy }` or `{ kind, field, id }`) or
   * GW_ERR_STORE_CONFLICT (a precondition failed; details: `{ kind, id }`)
   * and leaves state unchanged. Resolves once the writes are durable, after
   * subscribers were called. A put of a target with `ttl` starts (renews) its
   * lease; without `ttl` it has none.
   */
  apply(ops: readonly WriteOp[]): Promise<readonly ChangeEvent[]>;
  /**
   * Renew a target's lease: it ends `ttlSeconds` from `now()`. Does not
   * rewrite the entity and emits no change. Resolves with the new end (Unix
   * seconds), or undefined when there is no such target.
   */
  touch(targetId: string, ttlSeconds: number): Promise<number | undefined>;
  /** When a target's lease ends (Unix seconds), or null if it has none. */
  leaseOf(targetId: string): number | null;
  /** Targets whose lease has ended on the store clock. */
  expiredLeases(): readonly EntityByKind['targets'][];
  /** Subscribe to committed changes; returns the unsubscribe function. */
  subscribe(listener: ChangeListener, options?: SubscribeOptions): () => void;
}
