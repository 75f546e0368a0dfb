/**
 * The access log: one JSON line per request the proxy answered, written
 * asynchronously (fs.write on the libuv pool), so a slow disk or pipe never
 * blocks the event loop. The lines of one event-loop turn go out in one
 * write(2); close() waits for them (SIGTERM, `--workers` shutdown).
 *
 * Not pino: measured on this machine (docs/observability.md), a pino line
 * on its asynchronous sonic-boom destination cost 14-19 µs of CPU, this
 * writer about 4 µs (the line is built directly, every string through
 * JSON.stringify, and batched per turn). The line keeps pino's shape
 * (`level`, `time` ISO 8601) so log pipelines treat it like the others.
 *
 * `--access-log stdout` (the CLI's default), `off`, or a FILE: opened with
 * O_APPEND (created with mode 0640; its directory must exist). With
 * `--workers N` every worker opens the FILE itself in append mode: each
 * write(2) is whole lines appended at the end of the file, so lines of
 * different workers never mix within a line.
 *
 * If the destination cannot keep up, at most {@link MAX_PENDING} bytes
 * wait; further lines are dropped and counted (`dropped`), with one warning.
 *
 * A line (docs/observability.md): `level`, `time`, `log: "access"`,
 * `request_id`, `client_ip`, `method`, `path` (without the query string),
 * `status`, `bytes_in`, `bytes_out`, `service`, `route`, `upstream`,
 * `targets`, `tries`, `latency_ms { total, upstream, gateway }`, `source`
 * (`service` | `kong`), `error` (the GW_ERR_PROXY_* code when the gateway
 * answered itself). Never a header, a query string or a body.
 */
import { close as closeFd, write } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { openLogFile } from './log-file.js';
import { countLines, PIPE_BUF, pieceEnd } from './stdout-writer.js';
import type { RecordedRequest, RequestObserver, RequestRecord } from './request-record.js';

/** What `--access-log` takes besides a file path. */
export type AccessLogTarget = 'off' | 'stdout' | (string & {});

/** Bytes of lines waiting for the destination before new lines are dropped. */
export const MAX_PENDING = 8 * 1024 * 1024;
/** How long close() waits for pending lines to be written. */
const CLOSE_WAIT_MS = 5000;
/**
 * Lines are written at most every FLUSH_MS (or at once when FLUSH_BYTES
 * wait; at 15,000 lines/s the 25 ms comes first): one write(2) per batch
 * instead of one per event-loop turn, which under load was a write and a
 * thread-pool round trip per request (nginx's `access_log … buffer=` does
 * the same; a thread-pool write costs the event loop 10-150 µs of its own).
 * A crash loses at most this much.
 */
export const FLUSH_MS = 25;
const FLUSH_BYTES = 256 * 1024;
/** Written batch buffers kept for reuse (a fresh 256 KiB buffer costs page faults on every batch). */
const SPARE_BUFFERS = 2;
/** Retry delay when a non-blocking stdout pipe is full (EAGAIN). */
const EAGAIN_RETRY_MS = 10;

export interface AccessLog extends RequestObserver {
  /** lines dropped because the destination could not keep up or failed */
  readonly dropped: number;
  /** Write pending lines, then close the file (stdout stays open). Idempotent. */
  close(): Promise<void>;
}

export interface AccessLogOptions {
  /** told once per kind of trouble (lines dropped, a write failed) */
  warn?: (msg: string, err?: Error) => void;
  /** the fd `stdout` means (default 1; tests give a pipe of their own) */
  stdoutFd?: number;
}

/**
 * Lines to one fd, encoded straight into 256 KiB batch buffers (no string
 * of pending lines to flatten and encode at flush time), written in
 * batches (FLUSH_MS, or at once when a batch is full), in order, never two
 * writes at once. A batch always ends at a line's end.
 *
 * stdout (`atomic`) goes out in whole-line pieces of at most PIPE_BUF
 * bytes, so that the gateway's own log lines on the same pipe never land
 * inside an access line. Those pieces are written by a thread of their own
 * (stdout-writer.ts, started with the first batch): one message per batch
 * on the event loop instead of a thread-pool write per ~10 lines. Should
 * that thread fail, the writer falls back to fs.write of the pieces.
 */
class LineWriter {
  dropped = 0;
  readonly #fd: number;
  readonly #owned: boolean;
  /** stdout: writes of whole lines, at most PIPE_BUF bytes where possible */
  readonly #atomic: boolean;
  readonly #warn: (msg: string, err?: Error) => void;
  /** the batch being filled, and its bytes used */
  #buf: Buffer = Buffer.allocUnsafe(FLUSH_BYTES);
  #used = 0;
  /** full batches waiting for the destination, in order, and their bytes */
  readonly #queue: Buffer[] = [];
  #queued = 0;
  /** the batch being written, and emptied batch buffers to fill again */
  #sending: Buffer | undefined;
  readonly #spare: Buffer[] = [];
  #writing = false;
  #scheduled = false;
  #timer: NodeJS.Timeout | undefined;
  #warned = new Set<string>();
  #idle: (() => void) | undefined;
  /** lines in the batch being filled, in each queued batch, and in the one being written */
  #usedLines = 0;
  readonly #queueLines: number[] = [];
  #sendingLines = 0;
  /** stdout's writer thread: undefined until the first batch, null once it failed (fs.write from then on) */
  #thread: Worker | null | undefined;

  constructor(fd: number, owned: boolean, warn: (msg: string, err?: Error) => void) {
    this.#fd = fd;
    this.#owned = owned;
    this.#atomic = !owned;
    this.#warn = warn;
  }

  write(line: string): void {
    if (this.#queued + this.#used > MAX_PENDING) {
      this.dropped++;
      this.#warnOnce('full', `access log: the destination cannot keep up; lines are dropped (more than ${MAX_PENDING} bytes waiting)`);
      return;
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit
    const most = line.length * 3;
    if (this.#used + most > this.#buf.length) {
      this.#seal();
      if (most > this.#buf.length) {
        // a line bigger than a batch goes out as a batch of its own
        const big = Buffer.from(line);
        this.#queue.push(big);
        this.#queueLines.push(1);
        this.#queued += big.length;
      }
    }
    if (most <= this.#buf.length) {
      this.#used += this.#buf.write(line, this.#used);
      this.#usedLines++;
    }
    if (this.#writing) return;
    if (this.#queue.length > 0) {
      // a batch is full: write it now
      if (!this.#scheduled || this.#timer !== undefined) {
        this.#scheduled = true;
        clearTimeout(this.#timer);
        this.#timer = undefined;
        setImmediate(this.#flush);
      }
    } else if (!this.#scheduled) this.#later();
  }

  #later(): void {
    this.#scheduled = true;
    this.#timer = setTimeout(this.#flush, FLUSH_MS);
    this.#timer.unref();
  }

  /** The batch being filled joins the queue (if it holds anything). */
  #seal(): void {
    if (this.#used === 0) return;
    this.#queue.push(this.#buf.subarray(0, this.#used));
    this.#queueLines.push(this.#usedLines);
    this.#queued += this.#used;
    this.#buf = this.#spare.pop() ?? Buffer.allocUnsafe(FLUSH_BYTES);
    this.#used = 0;
    this.#usedLines = 0;
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#writing) return;
    if (this.#queue.length === 0) this.#seal();
    const buf = this.#queue.shift();
    if (buf === undefined) return this.#idle?.();
    this.#sendingLines = this.#queueLines.shift() ?? 0;
    this.#queued -= buf.length;
    this.#writing = true;
    this.#sending = buf;
    if (this.#atomic && this.#thread !== null) this.#post(buf);
    else this.#send(buf);
  };

  /** stdout: hand the batch to the writer thread (its buffer is transferred, and comes back). */
  #post(buf: Buffer): void {
    const thread = (this.#thread ??= this.#startThread());
    if (thread === null) return this.#send(buf);
    // our batch buffers own their ArrayBuffer; anything else is copied into one that can be transferred
    let ab = buf.buffer as ArrayBuffer;
    if (buf.byteOffset !== 0 || ab.byteLength !== FLUSH_BYTES || ab instanceof SharedArrayBuffer) {
      ab = new ArrayBuffer(buf.length);
      Buffer.from(ab).set(buf);
    }
    this.#sending = undefined; // detached by the transfer
    thread.postMessage({ buf: ab, len: buf.length }, [ab]);
  }

  #startThread(): Worker | null {
    try {
      const w = new Worker(new URL('./stdout-writer.js', import.meta.url), { workerData: { gwStdoutWriter: this.#fd } });
      w.unref();
      w.on('message', (m: { buf: ArrayBuffer; failed: number; code?: string }) => {
        if (m.failed > 0) {
          this.dropped += m.failed;
          this.#warnOnce(m.code ?? 'write', 'access log: a write failed; its lines are lost', new Error(m.code));
        }
        this.#keep(m.buf);
        this.#written();
      });
      const failed = (err?: Error): void => {
        if (this.#thread !== w) return;
        this.#thread = null;
        this.#warnOnce('thread', 'access log: the stdout writer thread stopped; writing from the main thread', err);
        // the batch it held is lost
        if (this.#writing) {
          this.dropped += this.#sendingLines;
          this.#written();
        }
      };
      w.on('error', failed);
      w.on('exit', () => failed());
      return w;
    } catch (err) {
      this.#warnOnce('thread', 'access log: no stdout writer thread; writing from the main thread', err as Error);
      return null;
    }
  }

  /** The batch being written is out (or lost): go on with what waits. */
  #written(): void {
    this.#writing = false;
    // what arrived meanwhile: at once when a batch is full (or closing), else after FLUSH_MS
    if (this.#queue.length > 0 || this.#idle) this.#flush();
    else if (this.#used > 0) this.#later();
  }

  /** The batch being written is out: keep its buffer for a later batch. */
  #recycle(): void {
    const done = this.#sending;
    this.#sending = undefined;
    if (done && done.byteOffset === 0) this.#keep(done.buffer as ArrayBuffer);
  }

  /** A written batch's memory, kept for a later batch if it is a whole batch buffer and fewer than SPARE_BUFFERS wait. */
  #keep(ab: ArrayBuffer): void {
    if (ab.byteLength === FLUSH_BYTES && this.#spare.length < SPARE_BUFFERS) this.#spare.push(Buffer.from(ab, 0, FLUSH_BYTES));
  }

  #send(buf: Buffer): void {
    // on a pipe (stdout, shared with the gateway's own log lines) a write of at most PIPE_BUF bytes is atomic: whole lines only
    const len = this.#atomic && buf.length > PIPE_BUF ? pieceEnd(buf, 0) : buf.length;
    write(this.#fd, buf, 0, len, null, (err, n) => {
      if (err) {
        if (err.code === 'EAGAIN') {
          setTimeout(() => this.#send(buf), EAGAIN_RETRY_MS).unref();
          return;
        }
        this.dropped += countLines(buf.subarray(0, len));
        this.#warnOnce(err.code ?? 'write', 'access log: a write failed; its lines are lost', err);
        n = len;
      }
      if (n < buf.length) return this.#send(buf.subarray(n));
      this.#recycle();
      this.#written();
    });
  }

  #warnOnce(kind: string, msg: string, err?: Error): void {
    if (this.#warned.has(kind)) return;
    this.#warned.add(kind);
    this.#warn(msg, err);
  }

  /** Resolves once every line written so far is out (bounded), then closes an owned fd. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, CLOSE_WAIT_MS);
      timer.unref();
      this.#idle = () => {
        clearTimeout(timer);
        resolve();
      };
      if (!this.#writing) this.#flush();
    });
    const thread = this.#thread;
    this.#thread = null;
    if (thread) await thread.terminate();
    if (this.#owned) await new Promise<void>((resolve) => closeFd(this.#fd, () => resolve()));
  }
}

/** Printable ASCII without `"` and backslash: written as is between quotes (JSON.stringify costs ~2.5× the test). */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
/** A JSON string literal. */
const q = (s: string): string => (PLAIN.test(s) ? `"${s}"` : JSON.stringify(s));

/**
 * Milliseconds with three decimals as a JSON number (1.2345 → `1.235`,
 * 2.5 → `2.500`), from integer arithmetic: a quarter of the cost of
 * rounding a double and printing its shortest form.
 */
export function ms(v: number): string {
  if (!(v >= 0) || v >= 2 ** 31 / 1000) return String(Math.round(v * 1000) / 1000);
  const us = Math.round(v * 1000);
  const whole = (us / 1000) | 0;
  const frac = us - whole * 1000;
  return frac >= 100 ? `${whole}.${frac}` : frac >= 10 ? `${whole}.0${frac}` : `${whole}.00${frac}`;
}

let isoMs = -1;
let isoText = '';
/** ISO 8601 time of now, formatted once per millisecond (several lines share one at load). */
function isoNow(): string {
  const t = Date.now();
  if (t !== isoMs) {
    isoMs = t;
    isoText = new Date(t).toISOString();
  }
  return isoText;
}

/** `,"service":…,"route":…,"upstream":…` of one route entity (one per snapshot), with the service and upstream it was built for. */
interface Names {
  service: RequestRecord['service'];
  upstream: string | null;
  text: string;
}
const namesOfRoute = new WeakMap<object, Names>();

function names(rec: RequestRecord): string {
  const route = rec.route;
  if (route !== null) {
    const c = namesOfRoute.get(route);
    if (c !== undefined && c.service === rec.service && c.upstream === rec.upstream) return c.text;
  }
  let text = '';
  if (rec.service) text += `,"service":${q(rec.service.name ?? rec.service.id)}`;
  if (route) text += `,"route":${q(route.name ?? route.id)}`;
  if (rec.upstream !== null) text += `,"upstream":${q(rec.upstream)}`;
  if (route !== null) namesOfRoute.set(route, { service: rec.service, upstream: rec.upstream, text });
  return text;
}

function targetList(targets: readonly string[]): string {
  if (targets.length === 1) return `[${q(targets[0]!)}]`;
  let out = '[';
  for (let i = 0; i < targets.length; i++) out += (i === 0 ? '' : ',') + q(targets[i]!);
  return out + ']';
}

/** One access-log line (with its newline). */
export function accessLine(rec: RequestRecord, req: RecordedRequest, now?: Date): string {
  const url = req.url ?? '/';
  const at = url.indexOf('?');
  let line = `{"level":"info","time":"${now ? now.toISOString() : isoNow()}","log":"access","request_id":${q(rec.id)},"client_ip":${q(req.socket.remoteAddress ?? '')},"method":${q(req.method ?? '')},"path":${q(at === -1 ? url : url.slice(0, at))},"status":${rec.status},"bytes_in":${rec.bytesIn},"bytes_out":${rec.bytesOut}${names(rec)}`;
  const targets = rec.targets;
  if (targets !== null) line += `,"targets":${targetList(targets)}`;
  line += `,"tries":${targets?.length ?? 0},"latency_ms":{"total":${ms(rec.totalMs)}`;
  if (rec.upstreamMs >= 0) line += `,"upstream":${ms(rec.upstreamMs)}`;
  if (rec.gatewayMs >= 0) line += `,"gateway":${ms(rec.gatewayMs)}`;
  line += `},"source":"${rec.source}"`;
  if (rec.error !== undefined) line += `,"error":${q(rec.error)}`;
  return line + '}\n';
}

export function createAccessLog(dest: AccessLogTarget, opts: AccessLogOptions = {}): AccessLog | undefined {
  if (dest === 'off') return undefined;
  const writer =
    dest === 'stdout'
      ? new LineWriter(opts.stdoutFd ?? 1, false, opts.warn ?? (() => undefined))
      : new LineWriter(openLogFile(dest, '--access-log'), true, opts.warn ?? (() => undefined));
  let closing: Promise<void> | undefined;
  return {
    get dropped() {
      return writer.dropped;
    },
    finished(rec: RequestRecord, req: RecordedRequest): void {
      if (closing) return;
      writer.write(accessLine(rec, req));
    },
    close(): Promise<void> {
      return (closing ??= writer.close());
    },
  };
}
