/**
 * What every admin handler needs: the store (and its clock), the mode, and
 * `write()`, which runs a read-check-write sequence whose store writes carry
 * preconditions (`ifRevision`, `ifAbsent`): when another writer got there
 * first the sequence is re-run on fresh state, a few times, then answered 409.
 */
import type { EntityKind, ParseMode, Parsed } from '../entities/index.js';
import { invalidName, isUuid, parseEntity } from '../entities/index.js';
import type { EntityByKind, Route, Service, Target, Upstream } from '../entities/types.js';
import { isGwError } from '../errors.js';
import type { Store, WriteOp } from '../store/store.js';
import { AdminError, foreignKeyUnresolved, foreignKeyViolation, schemaViolation } from './kong-errors.js';

/** attempts of one read-check-write sequence before a conflict reaches the client */
const WRITE_ATTEMPTS = 5;

export type NamedKind = Exclude<EntityKind, 'targets'>;

export class AdminContext {
  constructor(
    readonly store: Store,
    readonly kongOnly: boolean,
  ) {}

  /** The store clock (timestamps come from the store, not from this process). */
  now(): number {
    return this.store.now();
  }

  /**
   * Run a read-check-write sequence; re-run it while its conditional write
   * loses to a concurrent one (GW_ERR_STORE_CONFLICT), at most a few times.
   */
  async write<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!(isGwError(err) && err.code === 'GW_ERR_STORE_CONFLICT') || attempt >= WRITE_ATTEMPTS) throw err;
      }
    }
  }

  /** A put conditional on what was read: `existing` unchanged, or nothing there yet. */
  putOp<K extends EntityKind>(kind: K, entity: EntityByKind[K], existing: EntityByKind[K] | undefined): WriteOp {
    return existing
      ? { op: 'put', kind, entity, ifRevision: this.store.revisionOf(kind, existing.id) }
      : { op: 'put', kind, entity, ifAbsent: true };
  }

  /**
   * Look up by id (when the key is a UUID) or by name. A key that cannot be a
   * name is Kong's 400 "invalid unique name" carrying the field's message
   * (07-upstreams_routes_spec: `PUT /upstreams/1.2.3.4`).
   */
  lookup<K extends NamedKind>(kind: K, key: string): EntityByKind[K] | undefined {
    if (isUuid(key)) return this.store.get(kind, key);
    const found = this.store.getByName(kind, key);
    if (found) return found;
    const why = invalidName(kind, key);
    if (why !== null) throw new AdminError(400, { code: 10, name: 'invalid unique name', message: why });
    return undefined;
  }

  lookupTarget(upstream: Upstream, key: string): Target | undefined {
    if (isUuid(key)) {
      const t = this.store.get('targets', key);
      return t && t.upstream.id === upstream.id ? t : undefined;
    }
    return this.store.getTarget(upstream.id, key);
  }

  /** parseEntity or throw Kong's schema violation. */
  parse<K extends EntityKind>(kind: K, input: unknown, mode: ParseMode, existing?: EntityByKind[K]): Parsed<K> {
    const r = parseEntity(kind, input, { mode, existing, now: this.now(), kongOnly: this.kongOnly });
    if (!r.ok) throw schemaViolation(r.error);
    return r.value;
  }

  /** Resolve a route's `service` reference ({id} or {name}) to `{id}`. */
  resolveRoute(p: Parsed<'routes'>): Route {
    const ref = p.service;
    let service: { id: string } | null = null;
    if (ref) {
      if ('name' in ref) {
        const s = this.store.getByName('services', ref.name);
        if (!s) throw foreignKeyUnresolved('service', ref.name, 'services');
        service = { id: s.id };
      } else {
        if (!this.store.get('services', ref.id)) throw foreignKeyViolation('service', ref.id, 'services');
        service = { id: ref.id };
      }
    }
    return { ...p, service } as Route;
  }

  resolve<K extends NamedKind>(kind: K, p: Parsed<K>): EntityByKind[K] {
    if (kind === 'routes') return this.resolveRoute(p as unknown as Parsed<'routes'>) as EntityByKind[K];
    return p as unknown as EntityByKind[K];
  }

  /** For gw mode responses nothing changes; kongOnly strips gw extension fields. */
  present<T extends object>(e: T): T {
    if (!this.kongOnly) return e;
    const { gw: _gw, ttl: _ttl, ...rest } = e as T & { gw?: unknown; ttl?: unknown };
    void _gw;
    void _ttl;
    return rest as T;
  }
}

export type { Service, Route, Upstream, Target };
