/**
 * File store (the default): the whole state in `<dataDir>/gw-store.json`,
 * rewritten atomically on every change: write a temp file in the same
 * directory, fsync it, rename it over the old one, fsync the directory. A
 * crash at any point leaves either the old or the new file, never a torn one.
 *
 * Writes are serialised and coalesced: an apply() waits for a write that
 * includes its change. If a write fails, the store refuses further writes
 * (GW_ERR_STORE_UNAVAILABLE) rather than serve state the disk does not have.
 */
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { GwError } from '../errors.js';
import { MemoryStore, type StoreState } from './memory.js';
import type { ChangeEvent, WriteOp } from './store.js';

const FORMAT = 1;
export const STORE_FILE = 'gw-store.json';

export class FileStore extends MemoryStore {
  override readonly type = 'file' as const;
  readonly #dir: string;
  readonly #file: string;
  #writing: Promise<void> | undefined;
  #dirty = false;
  #failed: Error | undefined;
  #seq = 0;

  constructor(dataDir: string) {
    super();
    this.#dir = dataDir;
    this.#file = join(dataDir, STORE_FILE);
  }

  get path(): string {
    return this.#file;
  }

  override async open(): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    // temp files are leftovers of a crash mid-write: the real file is intact
    for (const f of await readdir(this.#dir)) {
      if (f.startsWith(`${STORE_FILE}.tmp-`)) await unlink(join(this.#dir, f)).catch(() => undefined);
    }
    let text: string;
    try {
      text = await readFile(this.#file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new GwError('GW_ERR_STORE_CORRUPT', [this.#file, (err as Error).message]);
    }
    let doc: { format?: unknown; state?: StoreState };
    try {
      doc = JSON.parse(text) as typeof doc;
    } catch (err) {
      throw new GwError('GW_ERR_STORE_CORRUPT', [this.#file, `not JSON (${(err as Error).message})`]);
    }
    if (doc.format !== FORMAT || typeof doc.state !== 'object' || doc.state === null) {
      throw new GwError('GW_ERR_STORE_CORRUPT', [this.#file, `unknown format ${JSON.stringify(doc.format)}`]);
    }
    this.loadState(doc.state);
  }

  override async apply(ops: readonly WriteOp[]): Promise<readonly ChangeEvent[]> {
    if (this.#failed) throw new GwError('GW_ERR_STORE_UNAVAILABLE', [`an earlier write to ${this.#file} failed: ${this.#failed.message}`]);
    return super.apply(ops);
  }

  override async close(): Promise<void> {
    while (this.#writing) await this.#writing.catch(() => undefined);
  }

  protected override async persist(): Promise<void> {
    this.#dirty = true;
    // a write already under way may have serialised the state before this
    // change: wait for it, then make sure one more write happens
    while (this.#dirty) {
      if (!this.#writing) {
        this.#dirty = false;
        this.#writing = this.#write(this.snapshotState()).finally(() => {
          this.#writing = undefined;
        });
        await this.#writing;
        return;
      }
      await this.#writing.catch(() => undefined);
    }
    if (this.#failed) throw new GwError('GW_ERR_STORE_UNAVAILABLE', [this.#failed.message]);
  }

  async #write(state: StoreState): Promise<void> {
    const tmp = `${this.#file}.tmp-${process.pid}-${++this.#seq}`;
    try {
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(JSON.stringify({ format: FORMAT, state }));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.#file);
      const dir = await open(this.#dir, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch (err) {
      this.#failed = err as Error;
      await unlink(tmp).catch(() => undefined);
      throw new GwError('GW_ERR_STORE_UNAVAILABLE', [`cannot write ${this.#file}: ${(err as Error).message}`]);
    }
  }
}
