/**
 * The last resort of a running gw process (gw-gateway, its `--workers`
 * proxies, the gw-agent sidecar): an exception nothing caught, or a promise
 * rejection nothing handled. Node's default is to print it and exit. For a
 * gateway, every in-flight request of every client fails at once and the
 * node is gone until something restarts it; for a sidecar, its instance's
 * lease stops being renewed and the healthy task drops out of the upstream
 * when it expires, without a drain. Instead the process logs it (level
 * error, with the stack), counts it and goes on: the failure stays with the
 * request, timer or connection it happened in, as a Lua error in an nginx
 * worker fails one request and not the worker.
 *
 * Installed by each CLI once it is running (an error while starting still
 * stops the start, with its message); never by a library entry point
 * (`startGateway()`, `register()`), so that an embedding application keeps
 * its own policy.
 *
 * Either event is a gw bug, worth a report: the log line says so. At most
 * {@link LOG_PER_SECOND} lines a second are logged (a bug on a hot path must
 * not turn into a log flood); the count covers all of them.
 */

/** Counted since the process started. */
export interface InternalErrors {
  /** `uncaughtException`: thrown where nothing caught it (a callback, a timer, an event listener) */
  uncaught: number;
  /** `unhandledRejection`: a promise rejected with no handler */
  unhandled: number;
}

/** What the reporter logs to (a pino logger). */
export interface ErrorLog {
  error(obj: object, msg: string): void;
}

export const LOG_PER_SECOND = 10;

/**
 * What {@link keepRunning} does with each event: count it in `counts`, and
 * log it unless {@link LOG_PER_SECOND} lines were logged this second of
 * `now` (the next line logged says how many were not). `who` names the
 * process in the message ("the gateway", "the agent"). Never throws.
 */
export function lastResortReporter(
  log: ErrorLog,
  who: string,
  counts: InternalErrors,
  now: () => number = Date.now,
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
          ? `uncaught exception (a gw bug: please report it); ${who} keeps running`
          : `unhandled promise rejection (a gw bug: please report it); ${who} keeps running`,
      );
      suppressed = 0;
    } catch {
      // the log itself failed (stdout gone): nothing more to do, and the handler must not throw
    }
  };
}

/**
 * Keep the process running through uncaught exceptions and unhandled
 * rejections (see the module comment), counting them in `counts`. Returns
 * the uninstaller.
 */
export function keepRunning(log: ErrorLog, who: string, counts: InternalErrors): () => void {
  const report = lastResortReporter(log, who, counts);
  const onUncaught = (err: unknown): void => report('uncaught', err);
  const onUnhandled = (reason: unknown): void => report('unhandled', reason);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUnhandled);
  return () => {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUnhandled);
  };
}
