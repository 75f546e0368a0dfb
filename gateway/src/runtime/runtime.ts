/**
 * Runtime: subscribes to the store and keeps an immutable snapshot (router +
 * balancers) that the proxy reads once per request.
 * CONTRACT: the constructor options and members below are fixed; the proxy work implements them.
 */
import type { Logger } from '../observability/log.js';
import type { Store } from '../store/store.js';

export interface RuntimeOptions {
  store: Store;
  logger: Logger;
  /** injected clock, milliseconds */
  now?: () => number;
}

export class Runtime {
  constructor(opts: RuntimeOptions) {
    void opts;
  }
  /** Build the first snapshot and subscribe to store changes. */
  start(): void {
    throw new Error('not implemented');
  }
  /** Unsubscribe. Idempotent. */
  stop(): void {}
}
