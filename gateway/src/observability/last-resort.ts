/**
 * The gateway's last resort (contract/src/last-resort.ts): once gw-gateway
 * is ready, and in each `--workers` proxy once it listens, an uncaught
 * exception or unhandled rejection is logged and counted in
 * `gw_internal_errors_total{kind}`, and the gateway keeps serving.
 * `startGateway()` never installs it (an embedder keeps its own policy).
 */
import { keepRunning as keepRunningAs, type InternalErrors } from '../../../contract/src/last-resort.js';
import type { Logger } from './log.js';

export type { InternalErrors };

/** This process's counts (`gw_internal_errors_total`). */
export const internalErrors: InternalErrors = { uncaught: 0, unhandled: 0 };

/** Keep this gateway process running through uncaught exceptions and unhandled rejections. Returns the uninstaller. */
export function keepRunning(log: Logger): () => void {
  return keepRunningAs(log, 'the gateway', internalErrors);
}
