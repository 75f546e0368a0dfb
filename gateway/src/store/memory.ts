/**
 * In-memory store: the state, indexes, constraints, revisions, change history
 * and leases every store shares. The file store extends it with persistence
 * (the `persist` and `leasesChanged` hooks).
 *
 * Writes are validated and applied in place, op by op, with an undo log: a
 * failing op rolls the earlier ones of its batch back, so nothing is copied
 * per write. Lookups by name, by upstream + target, targets of an upstream and
 * routes of a service are indexes maintained incrementally.
 */
import type { AnyEntity, EntityByKind, EntityKind, Route, Target } from '../entities/types.js';
import { GwError } from '../errors.js';
import type { ChangeEvent, ChangeListener, Store, StoreReset, StoreState, SubscribeOptions, WriteOp } from './store.js';

export type { StoreState } from './store.js';

export const ENTITY_KINDS: readonly EntityKind[] = ['services', 'routes', 'upstreams', 'targets'];

/** How many changes the store remembers for `subscribe({ fromRevision })` (default). */
export const DEFAULT_HISTORY = 10_000;

export interface MemoryStoreOptions {
  /** the store clock, Unix seconds (float); injected for tests */
  now?: () => number;
  /** changes kept for replay (default {@link DEFAULT_HISTORY}) */
  history?: number;
}

type Named = Exclude<EntityKind, 'targets'>;
type Tables = { [K in EntityKind]: Map<string, EntityByKind[K]> };

interface Subscriber {
  listener: ChangeListener;
  onReset: ((r: StoreReset) => void) | undefined;
  /** highest revision this subscriber has been given */
  seen: number;
}

interface Batch {
  events: readonly ChangeEvent[];
  done: boolean;
  /** restores the state before this batch (entities, revisions, leases) */
  undo?: (() => void) | undefined;
}

const targetKey = (upstreamId: string, target: string): string => `${upstreamId} ${target}`;

export class MemoryStore implements Store {
  readonly type: Store['type'] = 'memory';
  readonly #clock: () => number;
  readonly #historyLimit: number;
  #tables: Tables = emptyTables();
  #revs: { [K in EntityKind]: Map<string, number> } = { services: new Map(), routes: new Map(), upstreams: new Map(), targets: new Map() };
  #names: { [K in Named]: Map<string, string> } = { services: new Map(), routes: new Map(), upstreams: new Map() };
  #targetKeys = new Map<string, string>();
  #targetsByUpstream = new Map<string, Map<string, Target>>();
  #routesByService = new Map<string, Map<string, Route>>();
  #allCache = new Map<EntityKind, readonly AnyEntity[]>();
  #targetsOfCache = new Map<string, readonly Target[]>();
  #routesOfCache = new Map<string, readonly Route[]>();
  #leases = new Map<string, number>();
  /** last revision handed out (committed in memory) */
  #assigned = 0;
  /** last revision emitted (durable) */
  #revision = 0;
  #history: ChangeEvent[] = [];
  #unemitted: Batch[] = [];
  #subscribers = new Set<Subscriber>();
  /** undo log of the batch being applied */
  #undo: (() => void)[] | undefined;

  constructor(opts: MemoryStoreOptions = {}) {
    this.#clock = opts.now ?? (() => Date.now() / 1000);
    this.#historyLimit = opts.history ?? DEFAULT_HISTORY;
  }

  async open(): Promise<void> {}
  async close(): Promise<void> {}
  /** This process is the only writer: its copy is always current. */
  async sync(): Promise<void> {}

  now(): number {
    return this.#clock();
  }

  get revision(): number {
    return this.#revision;
  }

  all<K extends EntityKind>(kind: K): readonly EntityByKind[K][] {
    let list = this.#allCache.get(kind);
    if (!list) {
      list = Object.freeze([...this.#tables[kind].values()]);
      this.#allCache.set(kind, list);
    }
    return list as readonly EntityByKind[K][];
  }

  get<K extends EntityKind>(kind: K, id: string): EntityByKind[K] | undefined {
    return this.#tables[kind].get(id) as EntityByKind[K] | undefined;
  }

  revisionOf(kind: EntityKind, id: string): number | undefined {
    return this.#revs[kind].get(id);
  }

  getByName<K extends Named>(kind: K, name: string): EntityByKind[K] | undefined {
    const id = this.#names[kind].get(name);
    return id === undefined ? undefined : (this.#tables[kind].get(id) as EntityByKind[K] | undefined);
  }

  getTarget(upstreamId: string, target: string): Target | undefined {
    const id = this.#targetKeys.get(targetKey(upstreamId, target));
    return id === undefined ? undefined : this.#tables.targets.get(id);
  }

  targetsOf(upstreamId: string): readonly Target[] {
    let list = this.#targetsOfCache.get(upstreamId);
    if (!list) {
      list = Object.freeze([...(this.#targetsByUpstream.get(upstreamId)?.values() ?? [])]);
      this.#targetsOfCache.set(upstreamId, list);
    }
    return list;
  }

  routesOf(serviceId: string): readonly Route[] {
    let list = this.#routesOfCache.get(serviceId);
    if (!list) {
      list = Object.freeze([...(this.#routesByService.get(serviceId)?.values() ?? [])]);
      this.#routesOfCache.set(serviceId, list);
    }
    return list;
  }

  leaseOf(targetId: string): number | null {
    return this.#leases.get(targetId) ?? null;
  }

  expiredLeases(): readonly Target[] {
    const now = this.now();
    const out: Target[] = [];
    for (const [id, end] of this.#leases) {
      if (end > now) continue;
      const t = this.#tables.targets.get(id);
      if (t) out.push(t);
    }
    return out;
  }

  async touch(targetId: string, ttlSeconds: number): Promise<number | undefined> {
    this.beforeWrite();
    if (!this.#tables.targets.has(targetId)) return undefined;
    const end = leaseEnd(this.now(), ttlSeconds);
    this.#leases.set(targetId, end);
    this.leasesChanged();
    return end;
  }

  async apply(ops: readonly WriteOp[]): Promise<readonly ChangeEvent[]> {
    this.beforeWrite();
    const { events, undo } = this.#commit(ops);
    if (events.length === 0) return events;
    const batch: Batch = { events, done: false, undo };
    this.#unemitted.push(batch);
    try {
      await this.persist(events);
    } catch (err) {
      // not durable: never emitted; later batches still are, in order. The
      // latest batch is also rolled back in memory (nothing was built on it).
      const i = this.#unemitted.indexOf(batch);
      this.#unemitted.splice(i, 1);
      if (i === this.#unemitted.length && this.#assigned === events[events.length - 1]!.revision) {
        undo();
        this.#assigned = events[0]!.revision - 1;
      }
      this.#drain();
      throw err;
    }
    batch.done = true;
    this.#drain();
    return events;
  }

  subscribe(listener: ChangeListener, options: SubscribeOptions = {}): () => void {
    const sub: Subscriber = { listener, onReset: options.onReset, seen: this.#revision };
    const from = options.fromRevision;
    if (from !== undefined && from < this.#revision) {
      const first = this.#history[0]?.revision;
      if (first !== undefined && first <= from + 1) {
        const missed = this.#history.slice(from + 1 - first);
        if (missed.length > 0) listener(Object.freeze(missed));
      } else if (sub.onReset) {
        sub.onReset({ revision: this.#revision, state: this.snapshotState() });
      } else {
        throw new Error(
          `cannot replay changes after revision ${from}: the store's history starts at ${first ?? this.#revision + 1} (pass onReset)`,
        );
      }
    } else if (from !== undefined) {
      sub.seen = from;
    }
    this.#subscribers.add(sub);
    return () => this.#subscribers.delete(sub);
  }

  /**
   * Replace the whole state (a resync): committed as the difference to the
   * current state, then subscribers with `onReset` get the full state and the
   * others the difference.
   */
  async load(state: StoreState): Promise<void> {
    const ops: WriteOp[] = [];
    const keep = new Set<string>();
    for (const kind of ENTITY_KINDS) for (const e of state[kind] ?? []) keep.add(`${kind} ${e.id}`);
    // children before parents when deleting, parents before children when writing
    for (const kind of ['routes', 'targets', 'services', 'upstreams'] as const) {
      for (const e of this.#tables[kind].values()) if (!keep.has(`${kind} ${e.id}`)) ops.push({ op: 'delete', kind, id: e.id });
    }
    for (const kind of ['services', 'upstreams', 'routes', 'targets'] as const) {
      for (const e of state[kind] ?? []) if (this.#tables[kind].get(e.id) !== e) ops.push({ op: 'put', kind, entity: e });
    }
    if (ops.length === 0) return;
    const { events } = this.#commit(ops);
    const batch: Batch = { events, done: false };
    this.#unemitted.push(batch);
    await this.persist(events);
    batch.done = true;
    this.#drain(true);
  }

  /** Hook for persistent stores: make these committed changes durable. */
  protected async persist(_events: readonly ChangeEvent[]): Promise<void> {}

  /** Hook for persistent stores: a lease changed (touch). */
  protected leasesChanged(): void {}

  /** Hook for persistent stores: throw when writes are refused. */
  protected beforeWrite(): void {}

  protected snapshotState(): StoreState {
    return {
      services: [...this.#tables.services.values()],
      routes: [...this.#tables.routes.values()],
      upstreams: [...this.#tables.upstreams.values()],
      targets: [...this.#tables.targets.values()],
    };
  }

  /** Revision of the in-memory state (includes changes still being made durable). */
  protected get committedRevision(): number {
    return this.#assigned;
  }

  /** Per-entity revisions, for snapshots: `kind → id → revision`. */
  protected snapshotRevisions(): Record<EntityKind, Record<string, number>> {
    const out = {} as Record<EntityKind, Record<string, number>>;
    for (const kind of ENTITY_KINDS) out[kind] = Object.fromEntries(this.#revs[kind]);
    return out;
  }

  protected snapshotLeases(): Record<string, number> {
    return Object.fromEntries(this.#leases);
  }

  /**
   * Load persisted state without events (open()): entities, the revision
   * each was written at (default: `revision`), and the store revision.
   */
  protected loadState(state: StoreState, revision: number, revisions?: Partial<Record<EntityKind, Record<string, number>>>): void {
    for (const kind of ENTITY_KINDS) {
      for (const e of state[kind] ?? []) {
        this.#set(kind, e);
        this.#revs[kind].set(e.id, revisions?.[kind]?.[e.id] ?? revision);
      }
    }
    this.#assigned = this.#revision = revision;
  }

  /** Replay one persisted change at its revision (open()); no events, no constraint checks. */
  protected replayChange(op: 'put' | 'delete', kind: EntityKind, entityOrId: AnyEntity | string, revision: number): void {
    if (op === 'put') {
      const e = entityOrId as AnyEntity;
      this.#set(kind, e);
      this.#revs[kind].set(e.id, revision);
    } else {
      this.#remove(kind, entityOrId as string);
    }
    if (revision > this.#assigned) this.#assigned = this.#revision = revision;
  }

  /**
   * Take in changes another writer committed (a shared database's change
   * feed), at their revisions, and emit them. Changes at or below the current
   * revision are skipped; no constraint checks (the writer made them). Must
   * not run while a local write is being made durable.
   */
  protected ingest(changes: readonly ChangeEvent[], leaseEnds?: ReadonlyMap<string, number | null>): void {
    const fresh = changes.filter((c) => c.revision > this.#assigned);
    if (fresh.length === 0) return;
    if (this.#unemitted.length > 0) throw new Error('ingest() while a local write is in flight');
    const now = this.now();
    for (const c of fresh) {
      if (c.op === 'delete') {
        this.#remove(c.kind, c.entity.id);
        this.#revs[c.kind].delete(c.entity.id);
        if (c.kind === 'targets') this.#leases.delete(c.entity.id);
      } else {
        this.#set(c.kind, c.entity);
        this.#revs[c.kind].set(c.entity.id, c.revision);
        if (c.kind === 'targets') {
          const ttl = (c.entity as Target).ttl;
          const known = leaseEnds?.get(c.entity.id);
          if (ttl === null || ttl === undefined) this.#leases.delete(c.entity.id);
          else this.#leases.set(c.entity.id, known ?? leaseEnd(now, ttl));
        }
      }
      this.#assigned = c.revision;
    }
    this.#unemitted.push({ events: fresh, done: true });
    this.#drain();
  }

  /** Move the revision forward without a change (a shared log's rows that were skipped). */
  protected advanceTo(revision: number): void {
    if (this.#unemitted.length > 0 || revision <= this.#assigned) return;
    this.#assigned = this.#revision = revision;
  }

  /**
   * Replace the whole state with a shared database's (a resync after missed
   * changes): subscribers with `onReset` get the full state; the others get
   * the difference, every change stamped with `revision`.
   */
  protected resetTo(
    state: StoreState,
    revision: number,
    revisions: Record<EntityKind, ReadonlyMap<string, number>>,
    leases: ReadonlyMap<string, number>,
  ): void {
    if (this.#unemitted.length > 0) throw new Error('resetTo() while a local write is in flight');
    const diff: ChangeEvent[] = [];
    const next = new Set<string>();
    for (const kind of ENTITY_KINDS) for (const e of state[kind] ?? []) next.add(`${kind} ${e.id}`);
    for (const kind of ['routes', 'targets', 'services', 'upstreams'] as const) {
      for (const e of this.#tables[kind].values())
        if (!next.has(`${kind} ${e.id}`)) diff.push({ op: 'delete', kind, entity: e, old: e, revision });
    }
    for (const kind of ['services', 'upstreams', 'routes', 'targets'] as const) {
      for (const e of state[kind] ?? []) {
        const old = this.#tables[kind].get(e.id);
        if (!old) diff.push({ op: 'create', kind, entity: e, revision });
        else if (this.#revs[kind].get(e.id) !== revisions[kind].get(e.id)) diff.push({ op: 'update', kind, entity: e, old, revision });
      }
    }
    this.#tables = emptyTables();
    for (const kind of ENTITY_KINDS) this.#revs[kind] = new Map();
    for (const kind of ['services', 'routes', 'upstreams'] as const) this.#names[kind] = new Map();
    this.#targetKeys = new Map();
    this.#targetsByUpstream = new Map();
    this.#routesByService = new Map();
    this.#allCache.clear();
    this.#targetsOfCache.clear();
    this.#routesOfCache.clear();
    this.#leases = new Map(leases);
    for (const kind of ENTITY_KINDS) {
      for (const e of state[kind] ?? []) {
        this.#set(kind, e);
        this.#revs[kind].set(e.id, revisions[kind].get(e.id) ?? revision);
      }
    }
    const previous = this.#revision;
    this.#assigned = this.#revision = Math.max(revision, previous);
    // history cannot bridge a reset
    this.#history = [];
    if (this.#revision === previous && diff.length === 0) return;
    let frozen: readonly ChangeEvent[] | undefined;
    for (const s of [...this.#subscribers]) {
      s.seen = this.#revision;
      if (s.onReset) s.onReset({ revision: this.#revision, state: this.snapshotState() });
      else if (diff.length > 0) s.listener((frozen ??= Object.freeze(diff)));
    }
  }

  /** Set a lease without persisting (open()). */
  protected setLease(targetId: string, end: number | null): void {
    if (end === null) this.#leases.delete(targetId);
    else this.#leases.set(targetId, end);
  }

  /**
   * Validate and apply every op in place (undo on failure); assign revisions.
   * Returns the events and a function that undoes the whole batch.
   */
  #commit(ops: readonly WriteOp[]): { events: ChangeEvent[]; undo: () => void } {
    const changes: Omit<ChangeEvent, 'revision'>[] = [];
    const undoLog: (() => void)[] = (this.#undo = []);
    const undo = (): void => {
      for (let i = undoLog.length - 1; i >= 0; i--) undoLog[i]!();
    };
    try {
      for (const w of ops) this.#applyOne(w, changes);
    } catch (err) {
      undo();
      throw err;
    } finally {
      this.#undo = undefined;
    }
    const now = this.now();
    const events: ChangeEvent[] = [];
    for (const c of changes) {
      const revision = ++this.#assigned;
      events.push({ ...c, revision });
      const id = c.entity.id;
      const oldRev = this.#revs[c.kind].get(id);
      const oldLease = c.kind === 'targets' ? this.#leases.get(id) : undefined;
      undoLog.push(() => {
        if (oldRev === undefined) this.#revs[c.kind].delete(id);
        else this.#revs[c.kind].set(id, oldRev);
        if (c.kind !== 'targets') return;
        if (oldLease === undefined) this.#leases.delete(id);
        else this.#leases.set(id, oldLease);
      });
      if (c.op === 'delete') {
        this.#revs[c.kind].delete(c.entity.id);
        if (c.kind === 'targets') this.#leases.delete(c.entity.id);
      } else {
        this.#revs[c.kind].set(c.entity.id, revision);
        if (c.kind === 'targets') {
          const ttl = (c.entity as Target).ttl;
          if (ttl === null || ttl === undefined) this.#leases.delete(c.entity.id);
          else this.#leases.set(c.entity.id, leaseEnd(now, ttl));
        }
      }
    }
    return { events, undo };
  }

  #applyOne(w: WriteOp, changes: Omit<ChangeEvent, 'revision'>[]): void {
    const table = this.#tables[w.kind] as Map<string, AnyEntity>;
    if (w.op === 'put') {
      const e = w.entity;
      const old = table.get(e.id);
      if (w.insert && old) throw new GwError('GW_ERR_STORE_PRIMARY_KEY', [`'{id="${e.id}"}'`], { kind: w.kind, fields: { id: e.id } });
      if (w.ifAbsent && (old || this.#keyHolder(w.kind, e) !== undefined)) {
        throw conflict(w.kind, e.id, 'it already exists');
      }
      if (w.ifRevision !== undefined && (!old || this.#revs[w.kind].get(e.id) !== w.ifRevision)) {
        throw conflict(w.kind, e.id, old ? 'it was changed meanwhile' : 'it was deleted meanwhile');
      }
      this.#checkUnique(w.kind, e);
      this.#checkForeign(w.kind, e);
      this.#set(w.kind, e);
      this.#undo!.push(() => (old ? this.#set(w.kind, old) : this.#remove(w.kind, e.id)));
      changes.push({ op: old ? 'update' : 'create', kind: w.kind, entity: e, old });
      return;
    }
    const old = table.get(w.id);
    if (w.ifRevision !== undefined && (!old || this.#revs[w.kind].get(w.id) !== w.ifRevision)) {
      throw conflict(w.kind, w.id, old ? 'it was changed meanwhile' : 'it was deleted meanwhile');
    }
    if (w.ifLeaseExpired) {
      const end = this.#leases.get(w.id);
      if (!old || end === undefined || end > this.now()) throw conflict(w.kind, w.id, 'its lease was renewed');
    }
    if (!old) return;
    if (w.kind === 'services' && (this.#routesByService.get(w.id)?.size ?? 0) > 0) {
      throw new GwError('GW_ERR_STORE_FOREIGN_KEY', ["an existing 'routes' entity references this 'services' entity"], {
        kind: 'services',
        referencedBy: 'routes',
      });
    }
    if (w.kind === 'upstreams') {
      for (const t of [...(this.#targetsByUpstream.get(w.id)?.values() ?? [])]) {
        this.#remove('targets', t.id);
        this.#undo!.push(() => this.#set('targets', t));
        changes.push({ op: 'delete', kind: 'targets', entity: t, old: t });
      }
    }
    this.#remove(w.kind, w.id);
    this.#undo!.push(() => this.#set(w.kind, old));
    changes.push({ op: 'delete', kind: w.kind, entity: old, old });
  }

  /** Id of the entity holding `e`'s unique key, if any. */
  #keyHolder(kind: EntityKind, e: AnyEntity): string | undefined {
    if (kind === 'targets') {
      const t = e as Target;
      return this.#targetKeys.get(targetKey(t.upstream.id, t.target));
    }
    const name = (e as { name: string | null }).name;
    return name === null || name === undefined ? undefined : this.#names[kind as Named].get(name);
  }

  #checkUnique(kind: EntityKind, e: AnyEntity): void {
    const holder = this.#keyHolder(kind, e);
    if (holder === undefined || holder === e.id) return;
    if (kind === 'targets') {
      const te = e as Target;
      throw new GwError('GW_ERR_STORE_UNIQUE', [`'{target="${te.target}",upstream={id="${te.upstream.id}"}}'`], {
        kind,
        fields: { target: te.target, upstream: { id: te.upstream.id } },
      });
    }
    const name = (e as { name: string }).name;
    throw new GwError('GW_ERR_STORE_UNIQUE', [`'{name="${name}"}'`], { kind, fields: { name } });
  }

  #checkForeign(kind: EntityKind, e: AnyEntity): void {
    if (kind === 'routes') {
      const r = e as Route;
      if (r.service && !this.#tables.services.has(r.service.id)) {
        throw new GwError(
          'GW_ERR_STORE_FOREIGN_KEY',
          [`the foreign key '{id="${r.service.id}"}' does not reference an existing 'services' entity.`],
          {
            kind,
            field: 'service',
            id: r.service.id,
          },
        );
      }
    } else if (kind === 'targets') {
      const te = e as Target;
      if (!this.#tables.upstreams.has(te.upstream.id)) {
        throw new GwError(
          'GW_ERR_STORE_FOREIGN_KEY',
          [`the foreign key '{id="${te.upstream.id}"}' does not reference an existing 'upstreams' entity.`],
          {
            kind,
            field: 'upstream',
            id: te.upstream.id,
          },
        );
      }
    }
  }

  /** Insert or replace by id, keeping every index. */
  #set(kind: EntityKind, e: AnyEntity): void {
    const table = this.#tables[kind] as Map<string, AnyEntity>;
    const old = table.get(e.id);
    // unindex + index, except that maps keep an updated entry in its place
    if (old) this.#unindex(kind, old, e);
    table.set(e.id, e);
    this.#index(kind, e);
    this.#allCache.delete(kind);
  }

  #remove(kind: EntityKind, id: string): void {
    const table = this.#tables[kind] as Map<string, AnyEntity>;
    const old = table.get(id);
    if (!old) return;
    this.#unindex(kind, old);
    table.delete(id);
    this.#allCache.delete(kind);
  }

  #index(kind: EntityKind, e: AnyEntity): void {
    if (kind === 'targets') {
      const t = e as Target;
      this.#targetKeys.set(targetKey(t.upstream.id, t.target), t.id);
      let m = this.#targetsByUpstream.get(t.upstream.id);
      if (!m) this.#targetsByUpstream.set(t.upstream.id, (m = new Map<string, Target>()));
      m.set(t.id, t);
      this.#targetsOfCache.delete(t.upstream.id);
      return;
    }
    const name = (e as { name: string | null }).name;
    if (name !== null && name !== undefined) this.#names[kind as Named].set(name, e.id);
    if (kind === 'routes') {
      const sid = (e as Route).service?.id;
      if (sid !== undefined) {
        let m = this.#routesByService.get(sid);
        if (!m) this.#routesByService.set(sid, (m = new Map<string, Route>()));
        m.set(e.id, e as Route);
        this.#routesOfCache.delete(sid);
      }
    }
  }

  /** Drop `e` from the indexes; entries `next` (its replacement) will set again are left in place. */
  #unindex(kind: EntityKind, e: AnyEntity, next?: AnyEntity): void {
    if (kind === 'targets') {
      const t = e as Target;
      const k = targetKey(t.upstream.id, t.target);
      if (this.#targetKeys.get(k) === t.id) this.#targetKeys.delete(k);
      const m = this.#targetsByUpstream.get(t.upstream.id);
      if ((next as Target | undefined)?.upstream.id !== t.upstream.id) m?.delete(t.id);
      if (m?.size === 0) this.#targetsByUpstream.delete(t.upstream.id);
      this.#targetsOfCache.delete(t.upstream.id);
      return;
    }
    const name = (e as { name: string | null }).name;
    const names = this.#names[kind as Named];
    if (name !== null && name !== undefined && names.get(name) === e.id) names.delete(name);
    if (kind === 'routes') {
      const sid = (e as Route).service?.id;
      if (sid !== undefined) {
        const m = this.#routesByService.get(sid);
        if ((next as Route | undefined)?.service?.id !== sid) m?.delete(e.id);
        if (m?.size === 0) this.#routesByService.delete(sid);
        this.#routesOfCache.delete(sid);
      }
    }
  }

  /** Emit every durable batch at the head of the queue, in revision order. */
  #drain(asReset = false): void {
    while (this.#unemitted.length > 0 && this.#unemitted[0]!.done) {
      const { events } = this.#unemitted.shift()!;
      const last = events[events.length - 1]!.revision;
      this.#history.push(...events);
      if (this.#history.length > this.#historyLimit * 2) this.#history = this.#history.slice(-this.#historyLimit);
      this.#revision = last;
      const frozen = Object.freeze(events.slice());
      let state: StoreState | undefined;
      for (const s of [...this.#subscribers]) {
        if (last <= s.seen) continue;
        if (asReset && s.onReset) {
          s.seen = last;
          s.onReset({ revision: last, state: (state ??= this.snapshotState()) });
          continue;
        }
        const fresh = frozen[0]!.revision > s.seen ? frozen : Object.freeze(frozen.filter((e) => e.revision > s.seen));
        s.seen = last;
        s.listener(fresh);
      }
    }
  }
}

/** Lease ends are kept to the millisecond. */
const leaseEnd = (now: number, ttl: number): number => Math.round((now + ttl) * 1000) / 1000;

function emptyTables(): Tables {
  return { services: new Map(), routes: new Map(), upstreams: new Map(), targets: new Map() };
}

function conflict(kind: EntityKind, id: string, why: string): GwError {
  return new GwError('GW_ERR_STORE_CONFLICT', [`'${kind}' entity ${id}`, why], { kind, id });
}
