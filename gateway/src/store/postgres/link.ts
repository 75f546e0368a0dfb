/**
 * The one connection to PostgreSQL a gateway node keeps (cluster mode): a
 * small pool for queries and transactions, and one dedicated session that
 * LISTENs (the change feed and the cluster bus) and holds session-level
 * advisory locks (the lease sweeper). Both the PostgreSQL store and the
 * PostgreSQL ClusterBus use it; nothing else opens connections.
 *
 * - `reachable` is false from the first failed query or a lost listener
 *   until the listener is back; while it is false, callers fail fast
 *   (GW_ERR_STORE_DB_UNAVAILABLE) instead of queueing behind a dead socket.
 * - The listener reconnects with capped exponential backoff; `onUp` runs on
 *   every (re)connect, after LISTEN, so owners can catch up.
 * - The password is never logged: `describe()` names host, port and database.
 */
import { createRequire } from 'node:module';
// node-postgres (about 15 MB of RSS) is loaded by the first PostgreSQL link, not by every gateway
import type pg from 'pg';

let pgModule: typeof pg | undefined;
const loadPg = (): typeof pg => (pgModule ??= createRequire(import.meta.url)('pg') as typeof pg);
import { GwError } from '../../errors.js';
import type { Logger } from '../../observability/log.js';

export interface PgLinkOptions {
  url: string;
  logger: Logger;
  /** pool size (default 4) */
  poolSize?: number;
  /** a query that takes longer fails (ms, default 5000) */
  queryTimeoutMs?: number;
  /** connecting takes at most (ms, default 3000) */
  connectTimeoutMs?: number;
  /** first and longest reconnect delay (ms, default 250 and 5000) */
  backoffMs?: readonly [number, number];
  /** application_name in pg_stat_activity */
  applicationName?: string;
}

type NotifyListener = (payload: string) => void;

/** Errors that mean "PostgreSQL is not there right now" (retry) rather than "this is wrong" (give up). */
export function isTransient(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  const code = e?.code ?? '';
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'].includes(code)) return true;
  // 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now, 08xxx connection exceptions, 53300 too many connections
  if (/^(57P0[123]|08...|53300)$/.test(code)) return true;
  return /timeout|terminated|Connection terminated|not queryable|ended/i.test(e?.message ?? '');
}

export class PgLink {
  readonly #opts: PgLinkOptions;
  readonly #log: Logger;
  readonly #pool: pg.Pool;
  readonly #channels = new Map<string, Set<NotifyListener>>();
  readonly #onUp = new Set<() => void | Promise<void>>();
  readonly #onDown = new Set<(err: Error) => void>();
  /** session-level advisory locks the listener session should hold: key → held */
  readonly #sessionLocks = new Map<number, boolean>();
  #listener: pg.Client | undefined;
  #reachable = false;
  #closed = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #lastError: string | undefined;
  #connecting: Promise<void> | undefined;

  constructor(opts: PgLinkOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'postgres' });
    this.#pool = new (loadPg().Pool)({
      connectionString: opts.url,
      max: opts.poolSize ?? 4,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 3000,
      query_timeout: opts.queryTimeoutMs ?? 5000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: opts.applicationName ?? 'gw-gateway',
    });
    // an idle client that dies is removed by the pool; never let it crash the node
    this.#pool.on('error', (err) => this.#markDown(err));
  }

  /** `host:port/database` of the URL, never the password. */
  describe(): string {
    return describePgUrl(this.#opts.url);
  }

  get reachable(): boolean {
    return this.#reachable && !this.#closed;
  }

  /** The last connection error, for `/status` and logs. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /**
   * Connect the listener once. Resolves when connected; rejects with the
   * error (transient or not) so the caller decides whether to wait.
   */
  connect(): Promise<void> {
    this.#connecting ??= this.#connectOnce().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  /** Keep reconnecting in the background (after the first successful `connect`, or instead of it). */
  keepConnected(): void {
    if (!this.#listener && !this.#retryTimer && !this.#connecting && !this.#closed) this.#scheduleReconnect();
  }

  onUp(fn: () => void | Promise<void>): () => void {
    this.#onUp.add(fn);
    return () => this.#onUp.delete(fn);
  }

  onDown(fn: (err: Error) => void): () => void {
    this.#onDown.add(fn);
    return () => this.#onDown.delete(fn);
  }

  /** Receive NOTIFY payloads on `channel` (LISTEN is (re)issued on every connect). */
  listen(channel: string, fn: NotifyListener): () => void {
    let set = this.#channels.get(channel);
    if (!set) {
      this.#channels.set(channel, (set = new Set()));
      this.#listener?.query(`LISTEN ${channel}`).catch((err: unknown) => this.#markDown(err as Error));
    }
    set.add(fn);
    return () => set.delete(fn);
  }

  /** Ask the listener session to hold a session-level advisory lock when it can (see {@link holds}). */
  wantSessionLock(key: number): void {
    if (!this.#sessionLocks.has(key)) this.#sessionLocks.set(key, false);
  }

  /** Whether this node's listener session holds the advisory lock `key` now. */
  holds(key: number): boolean {
    return this.reachable && this.#sessionLocks.get(key) === true;
  }

  /** Try to take the wanted session locks this session does not hold yet (call periodically). */
  async tryLocks(): Promise<void> {
    const c = this.#listener;
    if (!c) return;
    for (const [key, held] of this.#sessionLocks) {
      if (held) continue;
      const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key]);
      if (r.rows[0]?.ok) {
        this.#sessionLocks.set(key, true);
        this.#log.info({ lock: key }, 'this node holds the advisory lock');
      }
    }
  }

  /** One query on the pool. Fails fast with GW_ERR_STORE_DB_UNAVAILABLE while the database is unreachable. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    this.#failFast();
    try {
      return await this.#pool.query<R>(text, values);
    } catch (err) {
      throw this.#translate(err);
    }
  }

  /** A pooled connection for a transaction the caller drives (release it; `release(true)` if it broke). */
  async client(): Promise<pg.PoolClient> {
    this.#failFast();
    try {
      return await this.#pool.connect();
    } catch (err) {
      throw this.#translate(err);
    }
  }

  /** Map a driver error: transient ones become GW_ERR_STORE_DB_UNAVAILABLE and mark the link down. */
  translate(err: unknown): Error {
    return this.#translate(err);
  }

  /** Run `fn` in one transaction on one pooled connection (BEGIN … COMMIT, ROLLBACK on throw). */
  async transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    this.#failFast();
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw this.#translate(err);
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      if (isTransient(err)) broken = true;
      else await client.query('ROLLBACK').catch(() => (broken = true));
      throw this.#translate(err);
    } finally {
      client.release(broken ? true : undefined);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    const l = this.#listener;
    this.#listener = undefined;
    await l?.end().catch(() => undefined);
    await this.#pool.end().catch(() => undefined);
  }

  #failFast(): void {
    if (this.#closed) throw new GwError('GW_ERR_STORE_DB_UNAVAILABLE', [`the connection to ${this.describe()} is closed`]);
    if (!this.#reachable)
      throw new GwError('GW_ERR_STORE_DB_UNAVAILABLE', [`${this.describe()}: ${this.#lastError ?? 'not connected yet'}`]);
  }

  /** Transient errors become GW_ERR_STORE_DB_UNAVAILABLE (and mark the link down); others pass through. */
  #translate(err: unknown): Error {
    if (err instanceof GwError) return err;
    if (isTransient(err)) {
      this.#markDown(err as Error);
      return new GwError('GW_ERR_STORE_DB_UNAVAILABLE', [`${this.describe()}: ${(err as Error).message}`]);
    }
    return err as Error;
  }

  async #connectOnce(): Promise<void> {
    if (this.#closed) throw new GwError('GW_ERR_STORE_DB_UNAVAILABLE', ['closed']);
    const c = new (loadPg().Client)({
      connectionString: this.#opts.url,
      connectionTimeoutMillis: this.#opts.connectTimeoutMs ?? 3000,
      keepAlive: true,
      application_name: `${this.#opts.applicationName ?? 'gw-gateway'} listener`,
    });
    c.on('error', (err) => this.#lost(c, err));
    c.on('end', () => this.#lost(c, new Error('the listener connection ended')));
    c.on('notification', (n) => {
      if (n.payload === undefined) return;
      for (const fn of this.#channels.get(n.channel) ?? []) {
        try {
          fn(n.payload);
        } catch (err) {
          this.#log.error({ err, channel: n.channel }, 'a NOTIFY handler threw; ignored');
        }
      }
    });
    try {
      await c.connect();
      for (const ch of this.#channels.keys()) await c.query(`LISTEN ${ch}`);
    } catch (err) {
      c.removeAllListeners('end');
      await c.end().catch(() => undefined);
      this.#lastError = (err as Error).message;
      throw err;
    }
    if (this.#closed) {
      await c.end().catch(() => undefined);
      return;
    }
    this.#listener = c;
    const wasDown = this.#attempt > 0 || this.#lastError !== undefined;
    this.#attempt = 0;
    this.#lastError = undefined;
    this.#reachable = true;
    for (const k of this.#sessionLocks.keys()) this.#sessionLocks.set(k, false);
    await this.tryLocks().catch(() => undefined);
    if (wasDown) this.#log.info({ database: this.describe() }, 'database reachable again');
    for (const fn of this.#onUp) {
      try {
        await fn();
      } catch (err) {
        this.#log.warn({ err }, 'catching up after (re)connecting failed; the periodic check retries');
      }
    }
  }

  #lost(c: pg.Client, err: Error): void {
    if (this.#listener !== c) return;
    this.#listener = undefined;
    c.removeAllListeners('end');
    c.end().catch(() => undefined);
    this.#markDown(err);
  }

  #markDown(err: Error): void {
    if (this.#closed) return;
    this.#lastError = err.message;
    if (this.#reachable) {
      this.#reachable = false;
      for (const k of this.#sessionLocks.keys()) this.#sessionLocks.set(k, false);
      this.#log.error(
        { database: this.describe(), error: err.message },
        'database unreachable: proxying from the last snapshot, admin writes answer 503',
      );
      for (const fn of this.#onDown) fn(err);
    }
    // the listener session may still be up after a pool error; drop it so locks and LISTEN are re-established cleanly
    const l = this.#listener;
    if (l) {
      this.#listener = undefined;
      l.removeAllListeners('end');
      l.end().catch(() => undefined);
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#retryTimer || this.#connecting) return;
    const [first, max] = this.#opts.backoffMs ?? [250, 5000];
    const delay = Math.min(max, first * 2 ** Math.min(this.#attempt, 10));
    this.#attempt++;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.connect().catch((err: unknown) => {
        if (this.#attempt === 1 || this.#attempt % 10 === 0) {
          this.#log.warn(
            { database: this.describe(), error: (err as Error).message, attempt: this.#attempt },
            `database still unreachable; next attempt in ${Math.min(max, first * 2 ** Math.min(this.#attempt, 10))} ms`,
          );
        }
        this.#scheduleReconnect();
      });
    }, delay);
    this.#retryTimer.unref();
  }
}

/** `host:port/database` of a PostgreSQL URL, never the password; the input as given if it is not a URL. */
export function describePgUrl(url: string): string {
  try {
    const u = new URL(url);
    const db = decodeURIComponent(u.pathname.replace(/^\//, '')) || u.username || 'postgres';
    return `${u.hostname || 'localhost'}:${u.port || '5432'}/${db}`;
  } catch {
    return 'an unparseable --pg-url';
  }
}
