/**
 * Kong's `write_timeout` for a streamed request body: the longest time
 * without progress while the body is being relayed to the upstream. The
 * proxy never reads ahead (backpressure), so the client connection's
 * `bytesRead` stands still exactly when the upstream stopped reading (or the
 * client stopped sending); the body itself is left untouched, so a try that
 * failed before reading it can still be retried. When nothing has moved for
 * `ms` and the body is not complete, `onTimeout` is called once with an
 * ETIMEDOUT error, which the proxy answers with 504.
 */
import type { IncomingMessage } from 'node:http';

export interface WriteWatch {
  /** Stop watching (the try is over). */
  stop(): void;
}

export function watchWrites(req: IncomingMessage, ms: number, onTimeout: (err: Error) => void): WriteWatch {
  const socket = req.socket;
  let bytes = socket.bytesRead;
  let last = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const check = (): void => {
    timer = undefined;
    if (req.complete || socket.destroyed) return;
    const now = performance.now();
    if (socket.bytesRead !== bytes) {
      bytes = socket.bytesRead;
      last = now;
    } else if (now - last >= ms) {
      onTimeout(Object.assign(new Error(`no progress relaying the request body for ${ms} ms (write_timeout)`), { code: 'ETIMEDOUT' }));
      return;
    }
    timer = setTimeout(check, Math.max(10, ms - (now - last)));
  };
  timer = setTimeout(check, ms);
  return {
    stop() {
      clearTimeout(timer);
    },
  };
}
