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

export interface LifecycleSteps {
  /** one registration attempt (the lifecycle retries it) */
  registerOnce(): Promise<void>;
  /** false: a mistake that retrying cannot fix (bad credentials, unknown service) */
  retryable(err: Error): boolean;
  /** the error start() rejects with once retries are over */
  failure(err: unknown): Error;
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
  #signalHandler: (() => void) | undefined;

  constructor(o: ResolvedOptions, log: Logger, steps: LifecycleSteps) {
    this.#o = o;
    this.#log = log;
    this.#steps = steps;
  }

  get closing(): boolean {
    return this.#closing !== undefined;
  }

  /** Register with retries; resolves once registered, rejects with steps.failure() after registerTimeout (or at once when not retryable). */
  async start(bounded = true): Promise<void> {
    const deadline = bounded ? Date.now() + this.#o.registerTimeout : Infinity;
    try {
      await pRetry(() => this.#steps.registerOnce(), {
        retries: 1000,
        factor: 2,
        minTimeout: 100,
        maxTimeout: 5000,
        randomize: true,
        signal: this.abort.signal,
        shouldRetry: ({ error }) => this.#steps.retryable(error) && Date.now() < deadline,
        onFailedAttempt: ({ error, attemptNumber }) => this.#log.warn({ err: error.message, attempt: attemptNumber }, 'registration attempt failed'),
      });
    } catch (err) {
      this.#steps.setState('failed');
      const e = this.#steps.failure(err);
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
    await Promise.race([this.#steps.drainAndDeregister(), bounded]).catch((err: unknown) => this.#log.error({ err: (err as Error).message }, 'deregistration failed'));
    this.#steps.setState('deregistered');
    if (o.onShutdown) await (o.onShutdown as () => unknown)();
  }
}
