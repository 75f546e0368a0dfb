/**
 * Request bodies before the first try, so that a slow upload holds no
 * upstream connection (nginx's proxy_request_buffering, in memory only).
 *
 * - A body up to `bufferSize` bytes (nginx's client_body_buffer_size,
 *   default 16 KiB) is read whole into memory, then sent at once: it can be
 *   replayed by a retry.
 * - A larger body is read up to `bufferSize` bytes; once that much has
 *   arrived the client has shown a healthy rate and the body streams (the
 *   buffered prefix, then the rest with backpressure), so large uploads
 *   never sit in memory or on disk. Until then, no upstream connection, no
 *   balancer pick and no upstream concurrency slot is taken.
 * - While buffering, `client_body_timeout` (Kong/nginx, default 60 s) is the
 *   longest pause between two reads: past it the request ends with 408.
 *   Once streaming, write_timeout (write-timeout.ts) bounds a stalled body.
 *
 * Cheap on the hot path: no body → no work; a small body costs one listener
 * set and no timer (timeouts are checked by one sweep per proxy server,
 * armed only while a body is pending).
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

export const DEFAULT_BODY_BUFFER_SIZE = 16 * 1024;
export const DEFAULT_CLIENT_BODY_TIMEOUT_MS = 60_000;

/** The body of one request as the tries see it. */
export type RequestBody = null | Buffer | StreamedBody;

export class BodyTimeoutError extends Error {
  readonly code = 'GW_BODY_TIMEOUT';
  constructor(readonly ms: number) {
    super(`no request body data for ${ms} ms (client_body_timeout)`);
  }
}

export function hasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  return (cl !== undefined && cl !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/**
 * A body larger than the buffer: the prefix already read, then the rest of
 * the request stream. Each try gets a fresh Readable from {@link take}; a
 * try that never read from it (connect failure, queued in the pool) leaves
 * the body replayable.
 */
export class StreamedBody {
  #prefix: Buffer | null;
  readonly #req: IncomingMessage;
  #current: BodyStream | null = null;
  #started = false;
  #ended: boolean;

  constructor(prefix: Buffer, req: IncomingMessage, ended: boolean) {
    this.#prefix = prefix;
    this.#req = req;
    this.#ended = ended;
  }

  /** No byte has been handed to a try yet. */
  get replayable(): boolean {
    return !this.#started;
  }

  /** The body for one try (null once an earlier try consumed part of it). */
  take(): Readable | null {
    if (this.#started) return null;
    this.#current?.destroy();
    return (this.#current = new BodyStream(this));
  }

  /** Called by the try's stream on its first read. */
  _pull(s: BodyStream): void {
    if (s !== this.#current) return;
    if (!this.#started) {
      this.#started = true;
      const prefix = this.#prefix!;
      this.#prefix = null;
      if (this.#ended) {
        s.push(prefix);
        s.push(null);
        return;
      }
      const req = this.#req;
      req.on('data', (c: Buffer) => {
        if (!s.push(c)) req.pause();
      });
      req.once('end', () => s.push(null));
      req.once('error', (err) => s.destroy(err));
      req.once('aborted', () => s.destroy(new Error('client aborted the request body')));
      if (!s.push(prefix)) return;
    }
    this.#req.resume();
  }
}

class BodyStream extends Readable {
  readonly #src: StreamedBody;
  constructor(src: StreamedBody) {
    super();
    this.#src = src;
  }
  override _read(): void {
    this.#src._pull(this);
  }
}

/** One pending body read, as the sweep sees it. */
interface Pending {
  req: IncomingMessage;
  bytes: number;
  last: number;
  fail(err: Error): void;
}

/** Reads bodies for one proxy server; owns the client_body_timeout sweep. */
export class BodyReader {
  readonly #pending = new Set<Pending>();
  #sweep: NodeJS.Timeout | undefined;

  constructor(
    readonly bufferSize: number,
    readonly timeoutMs: number,
  ) {}

  /**
   * Resolve the body for the tries: null (no body), a Buffer (read whole),
   * or a StreamedBody; rejects with BodyTimeoutError or the client's error.
   */
  read(req: IncomingMessage): Promise<RequestBody> {
    if (!hasBody(req)) return Promise.resolve(null);
    const limit = this.bufferSize;
    const cl = req.headers['transfer-encoding'] === undefined ? Number(req.headers['content-length']) : NaN;
    return new Promise<RequestBody>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const p: Pending = { req, bytes: 0, last: performance.now(), fail: (err) => done(err) };
      const onData = (c: Buffer): void => {
        chunks.push(c);
        size += c.length;
        p.bytes = size;
        p.last = performance.now();
        // more than the buffer and not complete: a healthy rate, stream the rest
        if (size > limit && !(size === cl)) {
          req.pause();
          done(null, new StreamedBody(concat(chunks, size), req, false));
        }
      };
      const onEnd = (): void => done(null, concat(chunks, size));
      const onAborted = (): void => done(new Error('client aborted the request body'));
      const done = (err: Error | null, body?: RequestBody): void => {
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('error', done);
        req.off('aborted', onAborted);
        this.#pending.delete(p);
        if (err) reject(err);
        else resolve(body ?? null);
      };
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('error', done);
      req.on('aborted', onAborted);
      this.#pending.add(p);
      this.#arm();
    });
  }

  /** Stop the sweep (server closing). */
  close(): void {
    clearTimeout(this.#sweep);
    this.#sweep = undefined;
  }

  #arm(): void {
    if (this.#sweep !== undefined) return;
    const every = Math.max(5, Math.min(1000, Math.floor(this.timeoutMs / 4)));
    const tick = (): void => {
      this.#sweep = undefined;
      const now = performance.now();
      for (const p of this.#pending) if (now - p.last >= this.timeoutMs) p.fail(new BodyTimeoutError(this.timeoutMs));
      if (this.#pending.size > 0) {
        this.#sweep = setTimeout(tick, every);
        this.#sweep.unref();
      }
    };
    this.#sweep = setTimeout(tick, every);
    this.#sweep.unref();
  }
}

function concat(chunks: Buffer[], size: number): Buffer {
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}
