/**
 * The access log's stdout writer thread (access-log.ts). stdout is usually a
 * pipe shared with the gateway's own log lines (pino writes them
 * synchronously from the main thread), and only a write of at most
 * PIPE_BUF bytes to a pipe is atomic: a batch goes out as whole lines in
 * pieces of at most PIPE_BUF, so no other line can land inside one. On the
 * main thread that was one thread-pool round trip per ~10 lines (11-16 µs
 * of event loop each); here the pieces are blocking write(2)s on this
 * thread, and the main thread pays one message per batch.
 *
 * Protocol: the main thread transfers `{ buf, len }` (an ArrayBuffer and its
 * bytes used); this thread writes them and transfers the buffer back as
 * `{ buf, failed, code }`: `failed` lines lost to a write error (its code).
 * A non-blocking pipe or socket that is full (EAGAIN) is retried every
 * millisecond (this thread has nothing else to do; 10 ms capped a
 * node-spawned gateway, whose stdout is a non-blocking socket, at a few MB/s).
 */
import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

/** POSIX's minimum PIPE_BUF (Linux: 4096): writes up to this size to a pipe are atomic. */
export const PIPE_BUF = 4096;
const EAGAIN_RETRY_MS = 1;

/** The end (exclusive) of the next piece of `buf` from `off`: whole lines, at most PIPE_BUF bytes where a line allows. */
export function pieceEnd(buf: Buffer, off: number): number {
  if (buf.length - off <= PIPE_BUF) return buf.length;
  const nl = buf.lastIndexOf(10, off + PIPE_BUF - 1);
  if (nl >= off) return nl + 1;
  // one line longer than PIPE_BUF: it goes out whole (not atomic; nothing better exists)
  const end = buf.indexOf(10, off);
  return end === -1 ? buf.length : end + 1;
}

/** Lines (LFs) in `buf`: what a failed write lost. */
export function countLines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) n++;
  return n;
}

if (parentPort !== null && (workerData as { gwStdoutWriter?: number } | undefined)?.gwStdoutWriter !== undefined) {
  const port = parentPort;
  const fd = (workerData as { gwStdoutWriter: number }).gwStdoutWriter;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  port.on('message', (m: { buf: ArrayBuffer; len: number }) => {
    const buf = Buffer.from(m.buf, 0, m.len);
    let off = 0;
    let failed = 0;
    let code: string | undefined;
    while (off < buf.length) {
      const end = pieceEnd(buf, off);
      try {
        off += writeSync(fd, buf, off, end - off);
      } catch (err) {
        code = (err as NodeJS.ErrnoException).code ?? 'write';
        if (code === 'EAGAIN') {
          code = undefined;
          Atomics.wait(pause, 0, 0, EAGAIN_RETRY_MS);
          continue;
        }
        failed = countLines(buf.subarray(off));
        break;
      }
    }
    port.postMessage({ buf: m.buf, failed, code }, [m.buf]);
  });
}
