/**
 * PostgreSQL store (cluster mode, DESIGN §9): several gateway nodes share one
 * database (Aurora PostgreSQL in production). Each node keeps the complete
 * in-memory copy every store keeps (MemoryStore: indexes, constraints,
 * revisions, history, subscribers) and the database is the truth:
 *
 * - **Writes** run in one transaction holding a cluster-wide advisory lock
 *   (LOCK_WRITE): the node first catches up with every change committed
 *   elsewhere, then validates the batch against the now-current copy (the
 *   same constraint code as the other stores; the database enforces unique
 *   and foreign keys as well), writes entity, lease and change rows and the
 *   new revision with `gw_write_v1()`, NOTIFYs `gw_changes`, and commits.
 *   Only then are subscribers called. Revisions are assigned under that lock
 *   and stored in `gw_meta`, so they are gap-free and the same on every node.
 * - **The change feed**: a NOTIFY carries the new revision; a node behind it
 *   reads `gw_changes` after its own revision. A node that missed NOTIFYs
 *   (reconnect, lost payload) is caught by the periodic revision check
 *   (`pollMs`); one that fell behind the pruned change log reloads
 *   everything (subscribers get a reset).
 * - **Leases**: `touch()` updates one `gw_leases` row (no entity write, no
 *   NOTIFY, no lock); lease ends are on the database clock. Other nodes poll
 *   renewals by `seq`. Only the node holding LOCK_SWEEP (a session lock on
 *   its listener connection) reports expired leases, and the sweep's delete
 *   re-checks each lease on the database clock inside the write
 *   transaction, so a skewed node clock never expires a live lease. Expiry
 *   is suspended while the database is unreachable and for one ttl after it
 *   returns (instances could not renew meanwhile).
 * - `now()` is the database clock: the node's clock plus an offset measured
 *   against `clock_timestamp()` at connect and every minute.
 * - **Outage**: reads keep answering from memory (the proxy never notices);
 *   writes fail at once with GW_ERR_STORE_DB_UNAVAILABLE (503); on return the
 *   node catches up by revision.
 */
import type { AnyEntity, EntityKind, Target } from '../entities/types.js';
import { GwError, isGwError } from '../errors.js';
import { silentLogger, type Logger } from '../observability/log.js';
import { ENTITY_KINDS, MemoryStore, type MemoryStoreOptions } from './memory.js';
import { isTransient, PgLink } from './postgres/link.js';
import { LOCK_SWEEP, LOCK_WRITE, MIGRATE_WAIT_MS, migrate } from './postgres/schema.js';
import type { ChangeEvent, ChangeOp, StoreState, WriteOp } from './store.js';
import type pg from 'pg';

export interface PostgresStoreOptions extends MemoryStoreOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  logger?: Logger;
  /** revision check, lease renewals poll and sweeper election period (ms, default 1000) */
  pollMs?: number;
  /** changes kept in gw_changes for catching up (seconds, default 3600) */
  changesRetentionSeconds?: number;
  /** at open, wait for an unreachable database at most this long (ms, default: forever) */
  openTimeoutMs?: number;
  /** queries fail after (ms, default 5000) */
  queryTimeoutMs?: number;
  /** backoff between reconnects (ms, default [250, 5000]) */
  backoffMs?: readonly [number, number];
}

interface ChangeRow {
  revision: string;
  op: ChangeOp;
  kind: EntityKind;
  id: string;
  body: unknown;
  lease_end: number | null;
}

interface Tx {
  client: pg.PoolClient;
  leaseChecked: string[];
  committed: boolean;
}

const CHANGE_PAGE = 5000;
/** how long an admin request waits for the read-your-writes check before answering from the local copy */
const SYNC_WAIT_MS = 1_000;

export class PostgresStore extends MemoryStore {
  override readonly type = 'postgres' as const;
  readonly link: PgLink;
  readonly #log: Logger;
  readonly #opts: PostgresStoreOptions;
  readonly #clock: { offset: number; injected: boolean };
  #serial: Promise<unknown> = Promise.resolve();
  #tx: Tx | undefined;
  #timer: NodeJS.Timeout | undefined;
  #leaseSeq = 0;
  #resumedAt = 0;
  #opened = false;
  #closed = false;
  /** ends open()'s wait for the database (close() calls it) */
  #wake: (() => void) | undefined;
  #lastOffsetAt = 0;
  #lastPrune = 0;
  #catchUpQueued = false;
  #syncRound: Promise<void> | undefined;
  #syncNext: Promise<void> | undefined;
  /** rows of the change log that did not parse (skipped, logged) */
  malformedRows = 0;
  /** times this node reloaded everything because it fell behind the change log */
  resyncs = 0;

  constructor(opts: PostgresStoreOptions) {
    const clock = { offset: 0, injected: opts.now !== undefined };
    super({ ...opts, now: opts.now ?? (() => Date.now() / 1000 + clock.offset) });
    this.#clock = clock;
    this.#opts = opts;
    this.#log = (opts.logger ?? silentLogger()).child({ component: 'store' });
    this.link = new PgLink({
      url: opts.url,
      logger: opts.logger ?? silentLogger(),
      queryTimeoutMs: opts.queryTimeoutMs,
      backoffMs: opts.backoffMs,
    });
  }

  /** Whether the database answers now (`/status`'s `database.reachable`). */
  get reachable(): boolean {
    return this.link.reachable;
  }

  /**
   * Connect, migrate, load. An unreachable database is waited for (one log
   * line per attempt, backoff); a wrong one (authentication, no such
   * database, a newer schema) rejects with one clear message.
   */
  override async open(): Promise<void> {
    const started = Date.now();
    const [first, max] = this.#opts.backoffMs ?? [250, 5000];
    // close() while waiting (a stop signal before the gateway is ready) ends the wait at once
    const closed = new Promise<void>((resolve) => (this.#wake = resolve));
    const closedError = (): GwError =>
      new GwError('GW_ERR_STORE_DB_UNAVAILABLE', [`${this.link.describe()}: the store was closed while waiting for the database`]);
    for (let attempt = 1; ; attempt++) {
      if (this.#closed) throw closedError();
      try {
        const connecting = this.link.connect();
        // left behind by a close: it ends on its own (the link is closed), its outcome is not wanted
        connecting.catch(() => undefined);
        await Promise.race([connecting, closed]);
        if (this.#closed) throw closedError();
        break;
      } catch (err) {
        if (this.#closed) throw closedError();
        if (!isTransient(err)) throw new GwError('GW_ERR_STORE_DB_UNAVAILABLE', [`${this.link.describe()}: ${(err as Error).message}`]);
        const wait = Math.min(max, first * 2 ** Math.min(attempt - 1, 10));
        if (this.#opts.openTimeoutMs !== undefined && Date.now() - started + wait > this.#opts.openTimeoutMs) {
          throw new GwError('GW_ERR_STORE_DB_UNAVAILABLE', [
            `${this.link.describe()}: ${(err as Error).message} (gave up after ${Date.now() - started} ms)`,
          ]);
        }
        this.#log.warn(
          { database: this.link.describe(), error: (err as Error).message, attempt },
          `waiting for PostgreSQL at ${this.link.describe()}; next attempt in ${wait} ms`,
        );
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([new Promise((r) => (timer = setTimeout(r, wait))), closed]);
        clearTimeout(timer);
      }
    }
    const c = await this.link.client();
    try {
      await c.query('BEGIN');
      await migrate(c);
      await c.query({ text: 'COMMIT', query_timeout: MIGRATE_WAIT_MS } as pg.QueryConfig);
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      c.release();
      if (isGwError(err)) throw err;
      throw new GwError('GW_ERR_STORE_DB_UNAVAILABLE', [`${this.link.describe()}: migrating the schema failed: ${(err as Error).message}`]);
    }
    c.release();
    await this.#measureOffset();
    await this.#exclusive(() => this.#reload(true));
    this.#resumedAt = this.now();
    this.link.wantSessionLock(LOCK_SWEEP);
    await this.link.tryLocks().catch(() => undefined);
    this.link.listen('gw_changes', (payload) => {
      if (Number(payload) > this.revision) this.#queueCatchUp();
    });
    this.link.onUp(async () => {
      this.#resumedAt = this.now();
      await this.#measureOffset();
      await this.#exclusive(() => this.#catchUp());
      await this.#syncLeases();
    });
    this.link.keepConnected();
    this.#opened = true;
    const period = this.#opts.pollMs ?? 1000;
    this.#timer = setInterval(() => void this.#tick(), period);
    this.#timer.unref();
  }

  override async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake?.();
    clearInterval(this.#timer);
    await this.#serial.catch(() => undefined);
    await this.link.close();
  }

  /**
   * Read-your-writes across nodes: resolves once this node's copy holds every
   * change committed (by any node) before the call. One `SELECT revision`,
   * shared by the callers that arrive while it runs (a caller arriving during
   * a round waits for the next one, which starts after it). Never rejects:
   * unreachable, or no answer within SYNC_WAIT_MS, and it resolves at once
   * (reads then answer from the local copy, as during an outage).
   */
  override sync(): Promise<void> {
    if (this.#closed || !this.#opened || !this.link.reachable) return Promise.resolve();
    if (!this.#syncRound) {
      const round = this.#syncOnce().finally(() => {
        if (this.#syncRound === round) this.#syncRound = undefined;
      });
      this.#syncRound = round;
      return round;
    }
    this.#syncNext ??= this.#syncRound.then(() => {
      this.#syncNext = undefined;
      return this.sync();
    });
    return this.#syncNext;
  }

  async #syncOnce(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const work = (async () => {
      const head = Number((await this.link.query<{ revision: string }>('SELECT revision FROM gw_meta')).rows[0]?.revision ?? 0);
      if (head > this.revision) await this.#exclusive(() => this.#catchUp(undefined, head));
    })();
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, SYNC_WAIT_MS);
    });
    try {
      await Promise.race([work, late]);
    } catch (err) {
      this.#log.debug({ err }, 'read-your-writes check failed; answering from the local copy');
    } finally {
      clearTimeout(timer);
      work.catch(() => undefined);
    }
  }

  override apply(ops: readonly WriteOp[]): Promise<readonly ChangeEvent[]> {
    return this.#exclusive(() => this.#applyInDb(ops));
  }

  override async touch(targetId: string, ttlSeconds: number): Promise<number | undefined> {
    this.beforeWrite();
    const r = await this.link.query<{ lease_end: number; seq: string }>(
      `INSERT INTO gw_leases (target_id, lease_end, seq)
       SELECT id, round(((coalesce($3::double precision, extract(epoch FROM clock_timestamp())) + $2::double precision) * 1000)::numeric) / 1000, nextval('gw_lease_seq')
       FROM gw_targets WHERE id = $1
       ON CONFLICT (target_id) DO UPDATE SET lease_end = EXCLUDED.lease_end, seq = EXCLUDED.seq
       RETURNING lease_end, seq`,
      [targetId, ttlSeconds, this.#clock.injected ? this.now() : null],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    if (this.get('targets', targetId)) this.setLease(targetId, Number(row.lease_end));
    return Number(row.lease_end);
  }

  /** Expired leases, on the node that holds the sweeper lock only, and never right after an outage. */
  override expiredLeases(): readonly Target[] {
    if (!this.#opened || !this.link.holds(LOCK_SWEEP)) return [];
    const now = this.now();
    return super.expiredLeases().filter((t) => now - this.#resumedAt >= (t.ttl ?? 0));
  }

  /** Whether this node runs the lease sweep now (holds the sweeper lock). */
  get sweeper(): boolean {
    return this.link.holds(LOCK_SWEEP);
  }

  protected override beforeWrite(): void {
    if (this.#closed) throw new GwError('GW_ERR_STORE_DB_UNAVAILABLE', [`the store for ${this.link.describe()} is closed`]);
    if (!this.link.reachable)
      throw new GwError('GW_ERR_STORE_DB_UNAVAILABLE', [`${this.link.describe()}: ${this.link.lastError ?? 'not connected'}`]);
  }

  /** Called by MemoryStore.apply with the validated batch: write it and commit. */
  protected override async persist(events: readonly ChangeEvent[]): Promise<void> {
    const tx = this.#tx;
    if (!tx) throw new Error('persist() outside a PostgreSQL write transaction');
    const changes = events.map((e) => ({ r: e.revision, o: e.op, k: e.kind, i: e.entity.id, b: e.entity }));
    await tx.client.query('SELECT gw_write_v1($1::jsonb, $2::double precision, $3::text[])', [
      JSON.stringify(changes),
      this.#clock.injected ? this.now() : null,
      tx.leaseChecked,
    ]);
    await tx.client.query('COMMIT');
    tx.committed = true;
  }

  async #applyInDb(ops: readonly WriteOp[]): Promise<readonly ChangeEvent[]> {
    this.beforeWrite();
    const client = await this.link.client();
    const tx: Tx = { client, leaseChecked: [], committed: false };
    for (const w of ops) if (w.op === 'delete' && w.ifLeaseExpired) tx.leaseChecked.push(w.id);
    let broken = false;
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_WRITE]);
      const head = await client.query<{ revision: string }>('SELECT revision FROM gw_meta');
      const dbRevision = Number(head.rows[0]?.revision ?? 0);
      if (dbRevision > this.revision) await this.#catchUp(client, dbRevision);
      if (dbRevision !== this.revision)
        throw new Error(`store revision ${this.revision} does not match the database's ${dbRevision} after catching up`);
      this.#tx = tx;
      const events = await super.apply(ops);
      if (!tx.committed) await client.query('COMMIT');
      return events;
    } catch (err) {
      if (!tx.committed) {
        if (isTransient(err)) broken = true;
        else await client.query('ROLLBACK').catch(() => (broken = true));
      }
      if ((err as { code?: string }).code === 'GW409') {
        const id = (err as Error).message;
        await this.#syncLeases().catch(() => undefined);
        throw new GwError('GW_ERR_STORE_CONFLICT', [`'targets' entity ${id}`, 'its lease was renewed'], { kind: 'targets', id });
      }
      if (isGwError(err)) throw err;
      const pgCode = (err as { code?: string }).code;
      if (pgCode === '23505' || pgCode === '23503') {
        // the database's own constraint: the copy was stale in a way catching up did not show (should not happen); reload
        this.#log.error({ err }, 'the database refused a write the in-memory copy accepted; reloading');
        this.#queueReload();
      }
      throw this.link.translate(err);
    } finally {
      this.#tx = undefined;
      client.release(broken ? true : undefined);
    }
  }

  /** Run one catch-up, reload or write at a time on this node, in order. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(fn, fn);
    this.#serial = run.catch(() => undefined);
    return run;
  }

  #queueCatchUp(): void {
    if (this.#catchUpQueued || this.#closed) return;
    this.#catchUpQueued = true;
    void this.#exclusive(async () => {
      this.#catchUpQueued = false;
      if (!this.link.reachable) return;
      await this.#catchUp();
    }).catch((err: unknown) => this.#log.warn({ err }, 'catching up with the change feed failed; the periodic check retries'));
  }

  #queueReload(): void {
    void this.#exclusive(() => this.#reload(false)).catch((err: unknown) =>
      this.#log.warn({ err }, 'reloading from the database failed; retried'),
    );
  }

  /** Ingest every change after this node's revision (on `client`, inside a write transaction, or on the pool). */
  async #catchUp(client?: pg.ClientBase, knownHead?: number): Promise<void> {
    const q = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) =>
      client ? client.query<R>(text, values) : this.link.query<R>(text, values);
    let head = knownHead;
    if (head === undefined) head = Number((await q<{ revision: string }>('SELECT revision FROM gw_meta')).rows[0]?.revision ?? 0);
    while (this.revision < head) {
      const from = this.revision;
      const r = await q<ChangeRow>(
        'SELECT revision, op, kind, id, body, lease_end FROM gw_changes WHERE revision > $1 ORDER BY revision LIMIT $2',
        [from, CHANGE_PAGE],
      );
      const rows = r.rows;
      if (rows.length === 0 || Number(rows[0]!.revision) !== from + 1) {
        // the change log no longer reaches back to us (pruned): everything again
        await this.#reload(false, client);
        return;
      }
      const events: ChangeEvent[] = [];
      const leases = new Map<string, number | null>();
      let last = from;
      for (const row of rows) {
        last = Number(row.revision);
        const e = this.#toEntity(row);
        if (!e) continue;
        events.push({
          op: row.op,
          kind: row.kind,
          entity: e,
          revision: last,
          ...(row.op === 'update' ? { old: this.get(row.kind, row.id) } : row.op === 'delete' ? { old: e } : {}),
        });
        if (row.kind === 'targets') leases.set(row.id, row.lease_end === null ? null : Number(row.lease_end));
      }
      if (events.length === 0 || events[events.length - 1]!.revision !== last) {
        // malformed rows were skipped: still move past them
        this.ingestSkipping(events, last, leases);
      } else {
        this.ingest(events, leases);
      }
    }
  }

  /** Ingest `events` and advance to `last` even if the final rows were skipped. */
  private ingestSkipping(events: ChangeEvent[], last: number, leases: Map<string, number | null>): void {
    this.ingest(events, leases);
    if (this.revision < last) this.advanceTo(last);
  }

  #toEntity(row: ChangeRow): AnyEntity | undefined {
    const b = row.body as Record<string, unknown> | null;
    const ok =
      b !== null &&
      typeof b === 'object' &&
      b.id === row.id &&
      ENTITY_KINDS.includes(row.kind) &&
      ['create', 'update', 'delete'].includes(row.op) &&
      (row.kind !== 'targets' || (typeof b.target === 'string' && typeof (b.upstream as { id?: unknown } | null)?.id === 'string'));
    if (ok) return b as unknown as AnyEntity;
    this.malformedRows++;
    this.#log.error({ revision: row.revision, kind: row.kind, id: row.id }, 'malformed row in gw_changes: skipped');
    return undefined;
  }

  /** Load the whole state (open, or after falling behind the change log). */
  async #reload(initial: boolean, client?: pg.ClientBase): Promise<void> {
    const own = client ? undefined : await this.link.client();
    const c = client ?? own!;
    try {
      if (own) await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const meta = await c.query<{ revision: string }>('SELECT revision FROM gw_meta');
      const revision = Number(meta.rows[0]?.revision ?? 0);
      const state: StoreState = { services: [], routes: [], upstreams: [], targets: [] };
      const revisions = { services: new Map(), routes: new Map(), upstreams: new Map(), targets: new Map() } as Record<
        EntityKind,
        Map<string, number>
      >;
      for (const kind of ENTITY_KINDS) {
        const r = await c.query<{ id: string; revision: string; body: unknown }>(
          `SELECT id, revision, body FROM gw_${kind} ORDER BY created_rev, id`,
        );
        for (const row of r.rows) {
          const e = this.#toEntity({ revision: row.revision, op: 'create', kind, id: row.id, body: row.body, lease_end: null });
          if (!e) continue;
          (state[kind] as AnyEntity[]).push(e);
          revisions[kind].set(row.id, Number(row.revision));
        }
      }
      const leases = new Map<string, number>();
      const lr = await c.query<{ target_id: string; lease_end: number; seq: string }>('SELECT target_id, lease_end, seq FROM gw_leases');
      let seq = 0;
      for (const row of lr.rows) {
        leases.set(row.target_id, Number(row.lease_end));
        seq = Math.max(seq, Number(row.seq));
      }
      if (own) await c.query('COMMIT');
      this.#leaseSeq = Math.max(this.#leaseSeq, seq);
      if (initial) {
        this.loadState(state, revision, Object.fromEntries(ENTITY_KINDS.map((k) => [k, Object.fromEntries(revisions[k])])) as never);
        for (const [id, end] of leases) if (this.get('targets', id)) this.setLease(id, end);
      } else {
        this.resyncs++;
        this.#log.warn(
          { revision, from: this.revision },
          'this node fell behind the change log: reloaded the whole state from the database',
        );
        this.resetTo(state, revision, revisions, leases);
      }
    } catch (err) {
      if (own) await c.query('ROLLBACK').catch(() => undefined);
      throw this.link.translate(err);
    } finally {
      own?.release();
    }
  }

  /** Lease renewals made on other nodes since the last poll. */
  async #syncLeases(): Promise<void> {
    for (;;) {
      const r = await this.link.query<{ target_id: string; lease_end: number; seq: string }>(
        'SELECT target_id, lease_end, seq FROM gw_leases WHERE seq > $1 ORDER BY seq LIMIT 20000',
        [this.#leaseSeq],
      );
      for (const row of r.rows) {
        if (this.get('targets', row.target_id)) this.setLease(row.target_id, Number(row.lease_end));
        this.#leaseSeq = Math.max(this.#leaseSeq, Number(row.seq));
      }
      if (r.rows.length < 20000) return;
    }
  }

  async #measureOffset(): Promise<void> {
    if (this.#clock.injected) return;
    const before = Date.now();
    const r = await this.link.query<{ t: number }>('SELECT extract(epoch FROM clock_timestamp())::double precision AS t');
    const after = Date.now();
    const db = Number(r.rows[0]!.t);
    this.#clock.offset = db - (before + after) / 2000;
    this.#lastOffsetAt = after;
  }

  /** The periodic safety net: revision check, lease renewals, sweeper election, clock offset, change-log pruning. */
  async #tick(): Promise<void> {
    if (this.#closed || !this.link.reachable) return;
    try {
      await this.#exclusive(() => this.#catchUp());
      await this.#syncLeases();
      await this.link.tryLocks();
      if (Date.now() - this.#lastOffsetAt > 60_000) await this.#measureOffset();
      if (this.link.holds(LOCK_SWEEP) && Date.now() - this.#lastPrune > 60_000) {
        this.#lastPrune = Date.now();
        const keep = this.#opts.changesRetentionSeconds ?? 3600;
        // keep at least the last 1,000 changes whatever their age
        await this.link.query(
          `DELETE FROM gw_changes WHERE at < extract(epoch FROM clock_timestamp()) - $1 AND revision < (SELECT revision FROM gw_meta) - 1000`,
          [keep],
        );
      }
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'periodic check against the database failed; retried');
    }
  }
}
