/**
 * File store (the default), format 2, in `<dataDir>`:
 *
 * - `gw-store.log`: an append-only log of committed changes, one JSON record
 *   per line (`{"r":first revision,"at":store time,"c":[[op,kind,entity|id],…]}`).
 *   A write resolves once its record is written and fsynced; records of
 *   concurrent writes are flushed together (group commit).
 * - `gw-store.snapshot.json`: the whole state at a revision. When the log
 *   outgrows the snapshot it is compacted: a new snapshot is written (temp
 *   file, fsync, rename, fsync of the directory) and the log restarts.
 * - `gw-leases.json`: lease ends (`touch()`), rewritten atomically at most
 *   once per `leaseFlushMs`. A renewal lost in a crash is repeated by the
 *   next heartbeat; a target whose lease is not in the file gets a full ttl
 *   on load. Entity writes are never only there.
 *
 * Loading: snapshot, then every log record after its revision; a torn last
 * record (a crash mid-append) is ignored and cut off. A format-1
 * `gw-store.json` (gw before contract v2) is migrated: read, written as a
 * snapshot, renamed to `gw-store.json.migrated`.
 *
 * If a write fails, the store refuses further writes (GW_ERR_STORE_UNAVAILABLE)
 * rather than serve state the disk does not have.
 */
import { open, readdir, readFile, rename, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { AnyEntity, EntityKind, Target } from '../entities/types.js';
import { GwError } from '../errors.js';
import { ensureDataDir } from './data-dir.js';
import { ENTITY_KINDS, MemoryStore, type MemoryStoreOptions } from './memory.js';
import type { ChangeEvent, StoreState } from './store.js';

const FORMAT = 2;
/** format 1: the whole state rewritten per change (migrated on open) */
export const LEGACY_FILE = 'gw-store.json';
export const SNAPSHOT_FILE = 'gw-store.snapshot.json';
export const LOG_FILE = 'gw-store.log';
export const LEASE_FILE = 'gw-leases.json';
/** kept for backward compatibility of imports: the pre-v2 file name */
export const STORE_FILE = LEGACY_FILE;

export interface FileStoreOptions extends MemoryStoreOptions {
  /** compact once the log is larger than this and than the snapshot (bytes, default 32 MiB) */
  compactBytes?: number;
  /** lease file rewrite period at most (ms, default 1000) */
  leaseFlushMs?: number;
  /** how errors name the data directory's setting (default `--data-dir`; the CLI passes `GW_DATA_DIR` when it came from the env) */
  name?: string;
}

type LogChange = ['p', EntityKind, AnyEntity] | ['d', EntityKind, string];
interface LogRecord {
  r: number;
  at: number;
  c: LogChange[];
}
interface SnapshotDoc {
  format: number;
  revision: number;
  state: StoreState;
  revisions?: Partial<Record<EntityKind, Record<string, number>>>;
  leases?: Record<string, number>;
}
interface Pending {
  line: string;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class FileStore extends MemoryStore {
  override readonly type = 'file' as const;
  readonly #dir: string;
  readonly #compactBytes: number;
  readonly #leaseFlushMs: number;
  readonly #name: string;
  #log: FileHandle | undefined;
  #logBytes = 0;
  #snapshotBytes = 0;
  #pending: Pending[] = [];
  #flushing: Promise<void> | undefined;
  #failed: Error | undefined;
  #seq = 0;
  #leaseTimer: NodeJS.Timeout | undefined;
  #leaseWrite: Promise<void> | undefined;
  #closed = false;

  constructor(dataDir: string, opts: FileStoreOptions = {}) {
    super(opts);
    this.#dir = dataDir;
    this.#compactBytes = opts.compactBytes ?? 32 * 1024 * 1024;
    this.#leaseFlushMs = opts.leaseFlushMs ?? 1000;
    this.#name = opts.name ?? '--data-dir';
  }

  /** The data directory. */
  get path(): string {
    return this.#dir;
  }

  override async open(): Promise<void> {
    await ensureDataDir(this.#dir, this.#name);
    // temp files are leftovers of a crash mid-write: the real files are intact
    for (const f of await readdir(this.#dir)) {
      if (f.includes('.tmp-')) await unlink(join(this.#dir, f)).catch(() => undefined);
    }
    const snapshotPath = join(this.#dir, SNAPSHOT_FILE);
    const snapshot = await readJson<SnapshotDoc>(snapshotPath, this.#dir);
    let migrated = false;
    if (snapshot) {
      if (
        snapshot.doc.format !== FORMAT ||
        typeof snapshot.doc.state !== 'object' ||
        snapshot.doc.state === null ||
        typeof snapshot.doc.revision !== 'number'
      ) {
        throw new GwError('GW_ERR_STORE_CORRUPT', [snapshotPath, `unknown format ${JSON.stringify(snapshot.doc.format)}`, this.#dir]);
      }
      this.#snapshotBytes = snapshot.bytes;
      this.loadState(snapshot.doc.state, snapshot.doc.revision, snapshot.doc.revisions);
      for (const [id, end] of Object.entries(snapshot.doc.leases ?? {})) if (this.get('targets', id)) this.setLease(id, end);
    } else {
      const legacyPath = join(this.#dir, LEGACY_FILE);
      const legacy = await readJson<{ format?: unknown; state?: StoreState }>(legacyPath, this.#dir);
      if (legacy) {
        if (legacy.doc.format !== 1 || typeof legacy.doc.state !== 'object' || legacy.doc.state === null) {
          throw new GwError('GW_ERR_STORE_CORRUPT', [legacyPath, `unknown format ${JSON.stringify(legacy.doc.format)}`, this.#dir]);
        }
        const count = ENTITY_KINDS.reduce((n, k) => n + (legacy.doc.state![k]?.length ?? 0), 0);
        this.loadState(legacy.doc.state, count > 0 ? 1 : 0);
        // format 1 leases ran from the last write
        for (const t of this.all('targets')) if (t.ttl !== null && t.ttl !== undefined) this.setLease(t.id, t.updated_at + t.ttl);
        migrated = true;
      }
    }
    const logPath = join(this.#dir, LOG_FILE);
    if (!migrated) await this.#replayLog(logPath, snapshot?.doc.revision ?? 0);
    await this.#loadLeases();
    if (migrated) {
      await this.#writeSnapshot();
      await truncate(logPath, 0).catch(() => undefined);
      await rename(join(this.#dir, LEGACY_FILE), join(this.#dir, `${LEGACY_FILE}.migrated`));
      await this.#writeLeases();
      await syncDir(this.#dir);
    }
    try {
      this.#log = await open(logPath, 'a', 0o600);
    } catch (err) {
      throw new GwError('GW_ERR_CONFIG_INVALID', [
        `${this.#name} ${this.#dir}: cannot open ${LOG_FILE} for appending (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      ]);
    }
    this.#logBytes = (await this.#log.stat()).size;
  }

  override async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#flushing) await this.#flushing.catch(() => undefined);
    clearTimeout(this.#leaseTimer);
    this.#leaseTimer = undefined;
    await this.#leaseWrite?.catch(() => undefined);
    // only a store that opened has leases to save: a failed open (a corrupt snapshot) must not clobber the lease file
    if (!this.#failed && this.#log) await this.#writeLeases().catch(() => undefined);
    await this.#log?.close().catch(() => undefined);
    this.#log = undefined;
  }

  protected override beforeWrite(): void {
    if (this.#failed) throw new GwError('GW_ERR_STORE_UNAVAILABLE', [`an earlier write to ${this.#dir} failed: ${this.#failed.message}`]);
    if (this.#closed) throw new GwError('GW_ERR_STORE_UNAVAILABLE', [`the store in ${this.#dir} is closed`]);
  }

  protected override persist(events: readonly ChangeEvent[]): Promise<void> {
    const record: LogRecord = {
      r: events[0]!.revision,
      at: this.now(),
      c: events.map((e): LogChange => (e.op === 'delete' ? ['d', e.kind, e.entity.id] : ['p', e.kind, e.entity])),
    };
    const line = `${JSON.stringify(record)}\n`;
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ line, resolve, reject });
      this.#flushing ??= this.#flush().finally(() => {
        this.#flushing = undefined;
      });
    });
  }

  protected override leasesChanged(): void {
    if (this.#leaseTimer || this.#closed) return;
    this.#leaseTimer = setTimeout(() => {
      this.#leaseTimer = undefined;
      this.#leaseWrite = this.#writeLeases().catch(() => undefined);
    }, this.#leaseFlushMs);
    this.#leaseTimer.unref();
  }

  /** Group commit: everything pending goes out in one write + fsync. */
  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0);
      try {
        if (this.#failed) throw this.#failed;
        const buf = Buffer.from(batch.map((p) => p.line).join(''));
        await this.#log!.write(buf);
        await this.#log!.datasync();
        this.#logBytes += buf.length;
      } catch (err) {
        this.#failed ??= err as Error;
        const e = new GwError('GW_ERR_STORE_UNAVAILABLE', [`cannot write ${join(this.#dir, LOG_FILE)}: ${(err as Error).message}`]);
        for (const p of batch) p.reject(e);
        continue;
      }
      for (const p of batch) p.resolve();
      if (this.#logBytes > this.#compactBytes && this.#logBytes > this.#snapshotBytes) await this.#compact().catch(() => undefined);
    }
  }

  /** Snapshot the state, then restart the log (records up to the snapshot are skipped on load anyway). */
  async #compact(): Promise<void> {
    await this.#writeSnapshot();
    await this.#log!.truncate(0);
    await this.#log!.datasync();
    this.#logBytes = 0;
  }

  async #writeSnapshot(): Promise<void> {
    const doc: SnapshotDoc = {
      format: FORMAT,
      revision: this.committedRevision,
      state: this.snapshotState(),
      revisions: this.snapshotRevisions(),
      leases: this.snapshotLeases(),
    };
    const text = JSON.stringify(doc);
    await this.#atomicWrite(SNAPSHOT_FILE, text);
    this.#snapshotBytes = Buffer.byteLength(text);
  }

  async #writeLeases(): Promise<void> {
    await this.#atomicWrite(LEASE_FILE, JSON.stringify({ format: 1, leases: this.snapshotLeases() }), false);
  }

  async #atomicWrite(name: string, text: string, dirSync = true): Promise<void> {
    const file = join(this.#dir, name);
    const tmp = `${file}.tmp-${process.pid}-${++this.#seq}`;
    try {
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
      if (dirSync) await syncDir(this.#dir);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw new GwError('GW_ERR_STORE_UNAVAILABLE', [`cannot write ${file}: ${(err as Error).message}`]);
    }
  }

  async #replayLog(path: string, fromRevision: number): Promise<void> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new GwError('GW_ERR_STORE_CORRUPT', [path, oneLine((err as Error).message), this.#dir]);
    }
    let offset = 0;
    let valid = 0;
    while (offset < text.length) {
      const nl = text.indexOf('\n', offset);
      const line = nl < 0 ? text.slice(offset) : text.slice(offset, nl);
      const next = nl < 0 ? text.length : nl + 1;
      let record: LogRecord | undefined;
      if (nl >= 0) {
        try {
          record = JSON.parse(line) as LogRecord;
        } catch {
          record = undefined;
        }
      }
      if (!record || typeof record.r !== 'number' || !Array.isArray(record.c)) {
        // a torn record is the last thing in the log; anything after it means corruption
        if (text.slice(next).trim().length > 0)
          throw new GwError('GW_ERR_STORE_CORRUPT', [path, `unreadable record at byte ${valid}, followed by others`, this.#dir]);
        break;
      }
      record.c.forEach((c, i) => {
        const revision = record.r + i;
        if (revision <= fromRevision) return;
        this.replayChange(c[0] === 'p' ? 'put' : 'delete', c[1], c[2], revision);
        if (c[1] !== 'targets') return;
        if (c[0] === 'd') this.setLease(c[2], null);
        else {
          const ttl = (c[2] as Target).ttl;
          this.setLease(c[2].id, ttl === null || ttl === undefined ? null : record.at + ttl);
        }
      });
      offset = next;
      valid += Buffer.byteLength(line) + 1;
    }
    // cut a torn tail off, so new records do not follow garbage
    if (offset < text.length) await truncate(path, valid);
  }

  async #loadLeases(): Promise<void> {
    const path = join(this.#dir, LEASE_FILE);
    let leases: Record<string, number> = {};
    try {
      const doc = JSON.parse(await readFile(path, 'utf8')) as { leases?: Record<string, number> };
      leases = doc.leases ?? {};
    } catch {
      // missing or torn: the leases are renewed by the next heartbeats
    }
    const now = this.now();
    for (const t of this.all('targets') as readonly Target[]) {
      if (t.ttl === null || t.ttl === undefined) {
        this.setLease(t.id, null);
        continue;
      }
      const fromFile = leases[t.id];
      const current = this.leaseOf(t.id);
      const end = Math.max(typeof fromFile === 'number' ? fromFile : -Infinity, current ?? -Infinity);
      this.setLease(t.id, Number.isFinite(end) ? end : now + t.ttl);
    }
  }
}

async function readJson<T>(path: string, dir: string): Promise<{ doc: T; bytes: number } | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new GwError('GW_ERR_STORE_CORRUPT', [path, oneLine((err as Error).message), dir]);
  }
  try {
    return { doc: JSON.parse(text) as T, bytes: Buffer.byteLength(text) };
  } catch (err) {
    throw new GwError('GW_ERR_STORE_CORRUPT', [path, `not JSON (${oneLine((err as Error).message)})`, dir]);
  }
}

/** A reason fit for one message line: JSON.parse quotes the text it choked on, line breaks and all. */
function oneLine(msg: string): string {
  const s = msg.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
  return s.length > 160 ? `${s.slice(0, 157)}...` : s;
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
