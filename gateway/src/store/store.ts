/**
 * The store: where entities live, and the events the runtime subscribes to.
 *
 * Every implementation keeps a complete in-memory copy of the entities (the
 * gateway routes from memory), and persists writes before `apply()` resolves.
 * Constraints (unique keys, foreign keys, cascades) are the store's job, so a
 * PostgreSQL store can enforce them in the database without touching callers.
 */
import type { AnyEntity, EntityByKind, EntityKind } from '../entities/types.js';

export type WriteOp =
  | { op: 'put'; kind: EntityKind; entity: AnyEntity }
  | { op: 'delete'; kind: EntityKind; id: string };

export type ChangeOp = 'create' | 'update' | 'delete';

/** One applied change; `entity` is the new value (the old one for deletes). */
export interface ChangeEvent {
  op: ChangeOp;
  kind: EntityKind;
  entity: AnyEntity;
  old?: AnyEntity | undefined;
}

export type ChangeListener = (events: readonly ChangeEvent[]) => void;

export interface Store {
  readonly type: 'memory' | 'file' | 'postgres';
  /** Load persisted state. Must be called once before use. */
  open(): Promise<void>;
  /** Flush pending writes and release resources. Idempotent. */
  close(): Promise<void>;
  /** Entities of a kind in insertion order. The array is a snapshot: do not mutate. */
  all<K extends EntityKind>(kind: K): readonly EntityByKind[K][];
  get<K extends EntityKind>(kind: K, id: string): EntityByKind[K] | undefined;
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
   * GW_ERR_STORE_UNIQUE (details: `{ kind, fields }`) or
   * GW_ERR_STORE_FOREIGN_KEY (details: `{ kind, referencedBy }` or `{ kind, field, id }`)
   * and leaves state unchanged. Resolves once the writes are durable; listeners
   * are called synchronously after the in-memory state changed.
   */
  apply(ops: readonly WriteOp[]): Promise<readonly ChangeEvent[]>;
  /** Subscribe to applied changes; returns the unsubscribe function. */
  subscribe(listener: ChangeListener): () => void;
}
