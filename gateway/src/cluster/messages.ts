/**
 * What the control process and the proxy workers say to each other over
 * the cluster IPC channel (`--workers N`). Plain JSON. Two kinds: the
 * process lifecycle (init, listening, metrics, close: this file), and the
 * shared runtime state, which is the {@link BusMessage} vocabulary of the
 * ClusterBus (bus.ts) carried as is.
 */
import type { WriteOp } from '../store/store.js';
import type { ExportedSeries } from '../observability/metrics.js';
import type { InternalErrors } from '../observability/last-resort.js';
import type { AvailabilityItem, BusMessage } from './bus.js';
import type { ProxyLimits } from '../proxy/server.js';

export type { AvailabilityItem, InFlightItem } from './bus.js';
export { OUTCOME_CODES } from './bus.js';

/** Lifecycle messages to a worker. */
export type ToWorkerLifecycle =
  | {
      t: 'init';
      proxyListen: string;
      logLevel: string;
      trustedIps: string[];
      proxyLimits: Partial<ProxyLimits>;
      accessLog: string;
      workers: number;
      /** --dns-resolver servers and --dns-stale-ttl: each worker resolves hostname targets itself, as the control does */
      dnsResolver?: string[] | undefined;
      dnsStaleTtl?: number | undefined;
      ops: WriteOp[];
      availability: AvailabilityItem[];
    }
  | { t: 'metrics?'; id: number }
  | { t: 'close'; graceMs: number };

/** Lifecycle messages from a worker. */
export type FromWorkerLifecycle =
  /** the worker's message handler is installed (ESM loads after `online`, so `init` waits for this) */
  | { t: 'ready' }
  | { t: 'listening'; port: number }
  | { t: 'error'; message: string; code?: string | undefined }
  | { t: 'metrics'; id: number; series: ExportedSeries[]; hedged: number; hedgeWins: number; internalErrors: InternalErrors };

export type ToWorker = ToWorkerLifecycle | BusMessage;
export type FromWorker = FromWorkerLifecycle | BusMessage;

const BUS_TYPES: ReadonlySet<string> = new Set<BusMessage['t']>(['changes', 'availability', 'outcomes', 'inflight', 'manual', 'drain']);

/** Whether an IPC message belongs to the ClusterBus (else: lifecycle). */
export function isBusMessage(m: { t: string }): m is BusMessage {
  return BUS_TYPES.has(m.t);
}
