/**
 * What register() does the same way for every backend (gw/Kong Admin API,
 * Cloud Map): retry until registered (p-retry, bounded by
 * `registerTimeout`), then on close() or SIGTERM/SIGINT: stop the timers,
 * drain and deregister bounded by `shutdownTimeout`, and hand control back
 * to the app (`onShutdown`). Idempotent. The backend supplies the steps.
 */
import pRetry from 'p-retry';
import type { Logger } from 'pino';
import type { ResolvedOptions } from './options.js';
import type { RegistrationState } from './register.js';

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export interface LifecycleSteps {
  /** one registration attempt (the lifecycle retries it) */
  registerOnce(): Promise<void>;
  /** false: a mistake that retrying cannot fix (bad credentials, unknown service) */
  retryable(err: Error): boolean;
  /**
   * The error start() rejects with once retries are over: `refused` when
   * `err` is one retryable() says no retry can fix (it failed at once),
   * else `gave-up` (`bounded`: registerTimeout ran out while retrying).
   */
  failure(err: unknown, why: 'refused' | 'gave-up', bounded: boolean): Error;
  /** registered: log, start keep-alive */
  registered(): Promise<void> | void;
  /** stop timers before draining */
  stop(): void;
  drainAndDeregister(): Promise<void>;
  setState(s: RegistrationState): void;
}

export class Lifecycle {
  /** aborted on close(): pending retries and requests stop */
  readonly abort = new AbortController();
  readonly #o: ResolvedOptions;
  readonly #log: Logger;
  readonly #steps: LifecycleSteps;
  #closing: Promise<void> | undefined;
  #error: Error | undefined;
  #signalHandler: (() => void) | undefined;

  constructor(o: ResolvedOptions, log: Logger, steps: LifecycleSteps) {
    this.#o = o;
    this.#log = log;
    this.#steps = steps;
  }

  get closing(): boolean {
    return this.#closing !== undefined;
  }

  /** Why registration failed (state `failed`): what start() rejected with, also with `background: true`. */
  get error(): Error | undefined {
    return this.#error;
  }

  /**
   * Register with retries; resolves once registered, rejects with
   * steps.failure() after registerTimeout (or at once when not retryable,
   * also when unbounded).
   * Backoff 100 ms doubling to 5 s, plus up to as much again of jitter; each
   * failed attempt that will be retried is one warning saying when the next
   * one comes. close() stops it quietly (no error, no abort message).
   */
  async start(bounded = true): Promise<void> {
    const deadline = bounded ? Date.now() + this.#o.registerTimeout : Infinity;
    const signal = this.abort.signal;
    const willRetry = (error: Error): boolean => this.#steps.retryable(error) && Date.now() < deadline;
    try {
      await pRetry(() => this.#steps.registerOnce(), {
        retries: 1000,
        factor: 2,
        minTimeout: 100,
        maxTimeout: 5000,
        // the jitter is added in onFailedAttempt, so the warning can say when the next attempt comes
        randomize: false,
        signal,
        shouldRetry: ({ error }) => willRetry(error),
        onFailedAttempt: async ({ error, attemptNumber, retriesConsumed }) => {
          if (signal.aborted || !willRetry(error)) return;
          const base = Math.min(5000, 100 * 2 ** retriesConsumed);
          const jitter = Math.round(Math.random() * base);
          const next = base + jitter;
          this.#log.warn(
            { err: error.message, attempt: attemptNumber, next_attempt_ms: next },
            `could not register ${this.#o.service}: ${error.message}; retrying, next attempt in ${(next / 1000).toFixed(1)} s`,
          );
          await sleep(jitter, signal);
        },
      });
    } catch (err) {
      if (signal.aborted) {
        // close() (e.g. SIGTERM) before the gateway took the registration: not a failure
        this.#log.info({ service: this.#o.service }, 'registration stopped: closed before it completed');
        throw new Error(`gw register(): closed before ${this.#o.service} was registered`);
      }
      // not retryable: refused at once; retryable: the deadline ended the retries
      const refused = !(err instanceof Error) || !this.#steps.retryable(err);
      const e = (this.#error = this.#steps.failure(err, refused ? 'refused' : 'gave-up', bounded));
      this.#steps.setState('failed');
      this.#log.error({ err: e.message }, 'registration failed');
      throw e;
    }
    this.#steps.setState('registered');
    await this.#steps.registered();
  }

  close(): Promise<void> {
    return (this.#closing ??= this.#shutdown());
  }

  installSignals(): void {
    this.#signalHandler = () => void this.close();
    process.once('SIGTERM', this.#signalHandler);
    process.once('SIGINT', this.#signalHandler);
  }

  async #shutdown(): Promise<void> {
    this.#steps.stop();
    this.abort.abort();
    if (this.#signalHandler) {
      process.off('SIGTERM', this.#signalHandler);
      process.off('SIGINT', this.#signalHandler);
    }
    const o = this.#o;
    const bounded = new Promise<void>((resolve) => setTimeout(resolve, o.shutdownTimeout).unref());
    await Promise.race([this.#steps.drainAndDeregister(), bounded]).catch((err: unknown) =>
      this.#log.error({ err: (err as Error).message }, 'deregistration failed'),
    );
    this.#steps.setState('deregistered');
    if (o.onShutdown) await (o.onShutdown as () => unknown)();
  }
}
