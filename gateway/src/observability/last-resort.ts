/**
 * The last resort: an exception nothing caught, or a promise rejection
 * nothing handled, anywhere in a gateway process. Node's default is to
 * print it and exit: for a gateway, every in-flight request of every client
 * fails at once, and the node is gone until something restarts it. A running
 * gw-gateway instead logs it (level error, with the stack), counts it
 * (`gw_internal_errors_total{kind}`) and goes on serving: the failure stays
 * with the request, timer or connection it happened in, as a Lua error in an
 * nginx worker fails one request and not the worker.
 *
 * Installed by the CLI once the gateway is ready (an error while starting
 * still stops the start, with its message) and by each `--workers` proxy
 * process once it listens; never by `startGateway()` itself, so that an
 * embedding application keeps its own policy.
 *
 * Either event is a gw bug, worth a report: the log line says so. At most
 * {@link LOG_PER_SECOND} lines a second are logged (a bug on the hot path
 * must not turn into a log flood); the count covers all of them.
 */
import type { Logger } from './log.js';

/** Counted since the process started (`gw_internal_errors_total`). */
export interface InternalErrors {
  /** `uncaughtException`: thrown where nothing caught it (a callback, a timer, an event listener) */
  uncaught: number;
  /** `unhandledRejection`: a promise rejected with no handler */
  unhandled: number;
}

/** This process's counts. */
export const internalErrors: InternalErrors = { uncaught: 0, unhandled: 0 };

export const LOG_PER_SECOND = 10;

/**
 * What {@link keepRunning} does with each event: count it in `counts`, and
 * log it unless {@link LOG_PER_SECOND} lines were logged this second of
 * `now` (the next line logged says how many were not). Never throws.
 */
export function lastResortReporter(
  log: Logger,
  now: () => number = Date.now,
  counts: InternalErrors = internalErrors,
): (kind: keyof InternalErrors, err: unknown) => void {
  let second = 0;
  let logged = 0;
  let suppressed = 0;
  return (kind, err) => {
    counts[kind]++;
    const t = Math.floor(now() / 1000);
    if (t !== second) {
      second = t;
      logged = 0;
    }
    if (logged >= LOG_PER_SECOND) {
      suppressed++;
      return;
    }
    logged++;
    try {
      log.error(
        {
          err: err instanceof Error ? err : new Error(String(err)),
          kind: kind === 'uncaught' ? 'uncaught_exception' : 'unhandled_rejection',
          ...(suppressed > 0 ? { not_logged_before: suppressed } : {}),
        },
        kind === 'uncaught'
          ? 'uncaught exception (a gw bug: please report it); the gateway keeps running'
          : 'unhandled promise rejection (a gw bug: please report it); the gateway keeps running',
      );
      suppressed = 0;
    } catch {
      // the log itself failed (stdout gone): nothing more to do, and the handler must not throw
    }
  };
}

/**
 * Keep the process running through uncaught exceptions and unhandled
 * rejections (see the module comment). Returns the uninstaller.
 */
export function keepRunning(log: Logger): () => void {
  const report = lastResortReporter(log);
  const onUncaught = (err: unknown): void => report('uncaught', err);
  const onUnhandled = (reason: unknown): void => report('unhandled', reason);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUnhandled);
  return () => {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUnhandled);
  };
}
