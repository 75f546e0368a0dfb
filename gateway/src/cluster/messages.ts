/**
 * What the control process and the proxy workers say to each other over
 * the cluster IPC channel (`--workers N`). Plain JSON: entity writes go one
 * way, outcomes and in-flight counts the other.
 */
import type { WriteOp } from '../store/store.js';
import type { ExportedSeries } from '../observability/metrics.js';
import type { ProxyLimits } from '../proxy/server.js';

/** [upstream id, target id, available 1/0, slow-start factor] */
export type AvailabilityItem = [string, string, 0 | 1, number];

export type ToWorker =
  | { t: 'init'; proxyListen: string; logLevel: string; trustedIps: string[]; proxyLimits: Partial<ProxyLimits>; workers: number; ops: WriteOp[]; availability: AvailabilityItem[] }
  | { t: 'changes'; ops: WriteOp[] }
  | { t: 'availability'; items: AvailabilityItem[] }
  | { t: 'metrics?'; id: number }
  | { t: 'close'; graceMs: number };

/** Outcome kinds on the wire */
export const OUTCOME_CODES = ['success', 'http_failure', 'tcp_failure', 'timeout'] as const;

export type FromWorker =
  /** the worker's message handler is installed (ESM loads after `online`, so `init` waits for this) */
  | { t: 'ready' }
  | { t: 'listening'; port: number }
  | { t: 'error'; message: string; code?: string | undefined }
  /** parallel arrays, one entry per try outcome */
  | { t: 'outcomes'; u: string[]; tg: string[]; k: number[]; s: number[]; l: number[] }
  | { t: 'inflight'; counts: [string, number][] }
  | { t: 'metrics'; id: number; series: ExportedSeries[]; hedged: number; hedgeWins: number };
