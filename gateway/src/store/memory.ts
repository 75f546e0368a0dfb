/**
 * In-memory store: the state, indexes and constraints every store shares.
 * The file store extends it with persistence.
 */
import type { AnyEntity, EntityByKind, EntityKind, Route, Target } from '../entities/types.js';
import { GwError } from '../errors.js';
import type { ChangeEvent, ChangeListener, Store, WriteOp } from './store.js';

export const ENTITY_KINDS: readonly EntityKind[] = ['services', 'routes', 'upstreams', 'targets'];

/** Serialisable content of a store. */
export interface StoreState {
  services: EntityByKind['services'][];
  routes: EntityByKind['routes'][];
  upstreams: EntityByKind['upstreams'][];
  targets: EntityByKind['targets'][];
}

type Tables = { [K in EntityKind]: Map<string, EntityByKind[K]> };

export class MemoryStore implements Store {
  readonly type: Store['type'] = 'memory';
  #tables: Tables = emptyTables();
  #listeners = new Set<ChangeListener>();
  #cache = new Map<EntityKind, readonly AnyEntity[]>();

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  all<K extends EntityKind>(kind: K): readonly EntityByKind[K][] {
    let list = this.#cache.get(kind);
    if (!list) {
      list = Object.freeze([...this.#tables[kind].values()]);
      this.#cache.set(kind, list);
    }
    return list as readonly EntityByKind[K][];
  }

  get<K extends EntityKind>(kind: K, id: string): EntityByKind[K] | undefined {
    return this.#tables[kind].get(id) as EntityByKind[K] | undefined;
  }

  getByName<K extends Exclude<EntityKind, 'targets'>>(kind: K, name: string): EntityByKind[K] | undefined {
    for (const e of this.#tables[kind].values()) {
      if ((e as { name: string | null }).name === name) return e as EntityByKind[K];
    }
    return undefined;
  }

  getTarget(upstreamId: string, target: string): Target | undefined {
    for (const t of this.#tables.targets.values()) {
      if (t.upstream.id === upstreamId && t.target === target) return t;
    }
    return undefined;
  }

  targetsOf(upstreamId: string): readonly Target[] {
    return this.all('targets').filter((t) => t.upstream.id === upstreamId);
  }

  routesOf(serviceId: string): readonly Route[] {
    return this.all('routes').filter((r) => r.service?.id === serviceId);
  }

  async apply(ops: readonly WriteOp[]): Promise<readonly ChangeEvent[]> {
    const events = this.applyInMemory(ops);
    if (events.length > 0) await this.persist();
    return events;
  }

  subscribe(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Hook for persistent stores: make the current state durable. */
  protected async persist(): Promise<void> {}

  protected snapshotState(): StoreState {
    return {
      services: [...this.#tables.services.values()],
      routes: [...this.#tables.routes.values()],
      upstreams: [...this.#tables.upstreams.values()],
      targets: [...this.#tables.targets.values()],
    };
  }

  /** Replace the whole state (used when loading); emits no events. */
  protected loadState(state: StoreState): void {
    const tables = emptyTables();
    for (const kind of ENTITY_KINDS) {
      for (const e of state[kind] ?? []) (tables[kind] as Map<string, AnyEntity>).set(e.id, e);
    }
    this.#tables = tables;
    this.#cache.clear();
  }

  /** Validate and apply all ops on a copy, then swap; emit events. */
  protected applyInMemory(ops: readonly WriteOp[]): ChangeEvent[] {
    const next: Tables = {
      services: new Map(this.#tables.services),
      routes: new Map(this.#tables.routes),
      upstreams: new Map(this.#tables.upstreams),
      targets: new Map(this.#tables.targets),
    };
    const events: ChangeEvent[] = [];
    for (const w of ops) {
      const table = next[w.kind] as Map<string, AnyEntity>;
      if (w.op === 'put') {
        const old = table.get(w.entity.id);
        checkUnique(next, w.kind, w.entity);
        checkForeign(next, w.kind, w.entity);
        table.set(w.entity.id, w.entity);
        events.push({ op: old ? 'update' : 'create', kind: w.kind, entity: w.entity, old });
      } else {
        const old = table.get(w.id);
        if (!old) continue;
        if (w.kind === 'services') {
          for (const r of next.routes.values()) {
            if (r.service?.id === w.id) {
              throw new GwError('GW_ERR_STORE_FOREIGN_KEY', ["an existing 'routes' entity references this 'services' entity"], {
                kind: 'services',
                referencedBy: 'routes',
              });
            }
          }
        }
        if (w.kind === 'upstreams') {
          for (const t of [...next.targets.values()]) {
            if (t.upstream.id === w.id) {
              next.targets.delete(t.id);
              events.push({ op: 'delete', kind: 'targets', entity: t, old: t });
            }
          }
        }
        table.delete(w.id);
        events.push({ op: 'delete', kind: w.kind, entity: old, old });
      }
    }
    if (events.length === 0) return events;
    this.#tables = next;
    this.#cache.clear();
    const frozen = Object.freeze(events.slice());
    for (const l of this.#listeners) l(frozen);
    return events;
  }
}

function emptyTables(): Tables {
  return { services: new Map(), routes: new Map(), upstreams: new Map(), targets: new Map() };
}

function checkUnique(t: Tables, kind: EntityKind, e: AnyEntity): void {
  if (kind === 'targets') {
    const te = e as Target;
    for (const o of t.targets.values()) {
      if (o.id !== te.id && o.upstream.id === te.upstream.id && o.target === te.target) {
        throw new GwError('GW_ERR_STORE_UNIQUE', [`'{target="${te.target}",upstream={id="${te.upstream.id}"}}'`], {
          kind,
          fields: { target: te.target, upstream: { id: te.upstream.id } },
        });
      }
    }
    return;
  }
  const name = (e as { name: string | null }).name;
  if (name === null || name === undefined) return;
  for (const o of (t[kind] as Map<string, AnyEntity>).values()) {
    if (o.id !== e.id && (o as { name: string | null }).name === name) {
      throw new GwError('GW_ERR_STORE_UNIQUE', [`'{name="${name}"}'`], { kind, fields: { name } });
    }
  }
}

function checkForeign(t: Tables, kind: EntityKind, e: AnyEntity): void {
  if (kind === 'routes') {
    const r = e as Route;
    if (r.service && !t.services.has(r.service.id)) {
      throw new GwError('GW_ERR_STORE_FOREIGN_KEY', [`the foreign key '{id="${r.service.id}"}' does not reference an existing 'services' entity.`], {
        kind,
        field: 'service',
        id: r.service.id,
      });
    }
  } else if (kind === 'targets') {
    const te = e as Target;
    if (!t.upstreams.has(te.upstream.id)) {
      throw new GwError('GW_ERR_STORE_FOREIGN_KEY', [`the foreign key '{id="${te.upstream.id}"}' does not reference an existing 'upstreams' entity.`], {
        kind,
        field: 'upstream',
        id: te.upstream.id,
      });
    }
  }
}
