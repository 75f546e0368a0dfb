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

export function dispatchTry(pool: Pool, opts: TryOptions, res: ServerResponse, onHead: OnHead): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let started = false;
    let settled = false;
    let controller: Dispatcher.DispatchController | undefined;
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
      },
      onResponseStart(c, statusCode, headers) {
        if (statusCode < 200) return; // 1xx: wait for the final response
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
}
