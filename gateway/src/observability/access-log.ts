/**
 * The access log: one JSON line per request the proxy answered, through
 * pino on an asynchronous destination (sonic-boom, `sync: false`), so a
 * slow disk or pipe never blocks the event loop. Lines are batched (written
 * once 4 KiB are pending, or every second) and flushed on close.
 *
 * `--access-log stdout` (the CLI's default), `off`, or a FILE: opened with
 * O_APPEND (created with mode 0640; its directory must exist). With
 * `--workers N` every worker opens the FILE itself in append mode: each
 * write(2) is whole lines at the end of the file, so lines of different
 * workers never mix within a line.
 *
 * A line (docs/observability.md): `time`, `log: "access"`, `request_id`,
 * `client_ip`, `method`, `path` (without the query string), `status`,
 * `bytes_in`, `bytes_out`, `service`, `route`, `upstream`, `targets`,
 * `tries`, `latency_ms { total, upstream, gateway }`, `source`
 * (`service` | `kong`), `error` (the GW_ERR_PROXY_* code when the gateway
 * answered itself). Never a header, a query string or a body.
 */
import { closeSync, openSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { GwError } from '../errors.js';
import type { RecordedRequest, RequestObserver, RequestRecord } from './request-record.js';

/** What `--access-log` takes besides a file path. */
export type AccessLogTarget = 'off' | 'stdout' | (string & {});

/** Lines are written once this much is pending (or every {@link FLUSH_MS}). */
const BATCH_BYTES = 4096;
const FLUSH_MS = 1000;
/** How long close() waits for pending lines to reach the file. */
const CLOSE_WAIT_MS = 5000;

export interface AccessLog extends RequestObserver {
  /** Flush pending lines, then close the file (stdout stays open). Idempotent. */
  close(): Promise<void>;
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

function openFile(dest: string): number {
  try {
    return openSync(dest, 'a', 0o640);
  } catch (err) {
    throw new GwError('GW_ERR_CONFIG_INVALID', [`--access-log ${dest}: cannot open it for appending (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`]);
  }
}

/** Fail at start, naming the flag, if `dest` is a file that cannot be opened for appending (`--workers`: the control process checks before forking). */
export function checkAccessLog(dest: AccessLogTarget): void {
  if (dest !== 'off' && dest !== 'stdout') closeSync(openFile(dest));
}

export function createAccessLog(dest: AccessLogTarget): AccessLog | undefined {
  if (dest === 'off') return undefined;
  const stream = pino.destination({ dest: dest === 'stdout' ? 1 : openFile(dest), sync: false, minLength: BATCH_BYTES, periodicFlush: FLUSH_MS } as Parameters<typeof pino.destination>[0]);
  const logger: Logger = pino({ base: { log: 'access' }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } }, stream);
  let closing: Promise<void> | undefined;
  return {
    finished(rec: RequestRecord, req: RecordedRequest): void {
      if (closing) return;
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      logger.info({
        request_id: rec.id,
        client_ip: req.socket.remoteAddress,
        method: req.method,
        path: q === -1 ? url : url.slice(0, q),
        status: rec.status,
        bytes_in: rec.bytesIn,
        bytes_out: rec.bytesOut,
        service: rec.service ? (rec.service.name ?? rec.service.id) : undefined,
        route: rec.route ? (rec.route.name ?? rec.route.id) : undefined,
        upstream: rec.upstream ?? undefined,
        targets: rec.targets ?? undefined,
        tries: rec.targets?.length ?? 0,
        latency_ms: { total: round(rec.totalMs), upstream: rec.upstreamMs >= 0 ? round(rec.upstreamMs) : undefined, gateway: rec.gatewayMs >= 0 ? round(rec.gatewayMs) : undefined },
        source: rec.source,
        error: rec.error,
      });
    },
    close(): Promise<void> {
      return (closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CLOSE_WAIT_MS);
        timer.unref();
        const done = (): void => {
          clearTimeout(timer);
          resolve();
        };
        stream.once('close', done);
        stream.once('error', done);
        try {
          stream.end();
        } catch {
          done();
        }
      }));
    },
  };
}
