/**
 * One try against an upstream through undici's low-level `dispatch`: the
 * response is written straight into the client's response, with
 * backpressure (pause the upstream while the client's socket is full), and
 * without an intermediate Readable per request.
 *
 * Resolves `{ status }` once the response has been fully relayed (or the
 * client went away), rejects with the undici error when the try failed
 * before any response header arrived (the caller may retry).
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher, Pool } from 'undici';

export interface TryOptions {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body: Buffer | NodeJS.ReadableStream | null;
  timeoutMs: number;
}

/** Called with the upstream status and headers; returns the headers to send to the client. */
export type OnHead = (status: number, headers: IncomingHttpHeaders) => Record<string, string | string[]>;

/** A try in flight. */
export interface TryHandle {
  readonly promise: Promise<{ status: number }>;
  /** whether response headers arrived (this try owns the client response) */
  readonly answered: boolean;
  /** Cancel the try (no-op once it answered). */
  abort(reason: Error): void;
}

/**
 * Hedged tries share a race: the first whose response headers arrive owns
 * the client response, the others are cancelled at that moment.
 */
export interface Race {
  winner: TryHandle | null;
  readonly handles: TryHandle[];
}

export class HedgeLostError extends Error {
  readonly code = 'GW_HEDGE_LOST';
  constructor() {
    super('another try answered first');
  }
}

export function dispatchTry(pool: Pool, opts: TryOptions, res: ServerResponse, onHead: OnHead, race?: Race): TryHandle {
  let controller: Dispatcher.DispatchController | undefined;
  let pendingAbort: Error | undefined;
  let answered = false;
  const handle: TryHandle = {
    promise: undefined as unknown as Promise<{ status: number }>, // set below, before anyone can read it
    get answered() {
      return answered;
    },
    abort(reason) {
      if (answered) return;
      if (controller) controller.abort(reason);
      else pendingAbort = reason;
    },
  };
  race?.handles.push(handle);
  (handle as { promise: Promise<{ status: number }> }).promise = new Promise((resolve, reject) => {
    let status = 0;
    let started = false;
    let settled = false;
    const onClientClose = () => {
      if (!res.writableFinished) controller?.abort(new Error('client closed the connection'));
    };
    const finish = (): void => {
      if (settled) return;
      settled = true;
      res.off('close', onClientClose);
      resolve({ status });
    };
    res.once('close', onClientClose);
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (pendingAbort) c.abort(pendingAbort);
      },
      onResponseStart(c, statusCode, headers) {
        if (statusCode < 200) return; // 1xx: wait for the final response
        if (race) {
          if (race.winner !== null && race.winner !== handle) {
            c.abort(new HedgeLostError());
            return;
          }
          race.winner = handle;
          for (const h of race.handles) if (h !== handle) h.abort(new HedgeLostError());
        }
        answered = true;
        started = true;
        status = statusCode;
        res.writeHead(statusCode, onHead(statusCode, headers));
        if (res.destroyed) c.abort(new Error('client closed the connection'));
      },
      onResponseData(c, chunk) {
        if (!res.write(chunk) && !c.paused) {
          c.pause();
          res.once('drain', () => c.resume());
        }
      },
      onResponseEnd() {
        res.end();
        finish();
      },
      onResponseError(_c, err) {
        if (!started) {
          if (settled) return;
          settled = true;
          res.off('close', onClientClose);
          reject(err);
          return;
        }
        // the body broke after headers were sent: nothing left to answer
        res.destroy();
        finish();
      },
    };
    pool.dispatch(
      {
        method: opts.method as Dispatcher.HttpMethod,
        path: opts.path,
        headers: opts.headers,
        body: opts.body as Dispatcher.DispatchOptions['body'],
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
      },
      handler,
    );
  });
  return handle;
}
