/**
 * The ClusterBus: runtime state that several processes must share, behind
 * one seam. Today's implementation is node:cluster IPC between the
 * `--workers` control process and its proxies (cluster/ipc-bus.ts); a
 * PostgreSQL implementation (LISTEN/NOTIFY between gateway nodes) slots in
 * behind the same interface.
 *
 * Rules an implementation keeps:
 * - messages are plain JSON (no classes, no functions, no Maps), small
 *   enough for a NOTIFY payload when batched sensibly; the vocabulary is
 *   {@link BusMessage};
 * - every message is addressed: to one node id, or to {@link ALL_NODES};
 *   a subscriber learns the sender's id;
 * - per-node in-flight counts are reported with {@link ClusterBus.reportInFlight}
 *   and summed over the live nodes by {@link ClusterBus.inFlight} (what
 *   `GET /upstreams/{u}/health` shows as `gw.active_requests`, so a drain
 *   waits for every node); a node that goes away stops counting;
 * - delivery between two nodes is in order; a node that joins late is
 *   brought up to date by its owner (IPC: the `init` message; PostgreSQL:
 *   the store's change feed and a fresh availability snapshot).
 */
import type { WriteOp } from '../store/store.js';

export type NodeId = string;
/** Address of a message for every other node. */
export const ALL_NODES = '*';

/** [upstream id, target id, available 1/0, slow-start factor, trial 1/0 (this node may send one half-open trial)] */
export type AvailabilityItem = [string, string, 0 | 1, number, 0 | 1];

/** [upstream id, target id, tries in flight, start of the oldest try waiting for headers (epoch ms, 0 = none)] */
export type InFlightItem = [string, string, number, number];

/** Outcome kinds on the wire (index = code); `trial` = a half-open trial request was sent (no verdict). */
export const OUTCOME_CODES = ['success', 'http_failure', 'tcp_failure', 'timeout', 'trial'] as const;
export type OutcomeCode = (typeof OUTCOME_CODES)[number];

export type BusMessage =
  /** entity writes, for nodes that do not read the store themselves (IPC proxies) */
  | { t: 'changes'; ops: WriteOp[] }
  /** health decisions of the node that owns health: what balancers may pick */
  | { t: 'availability'; items: AvailabilityItem[] }
  /** passive outcomes and trial starts, parallel arrays (one entry per try event), to the health owner */
  | { t: 'outcomes'; u: string[]; tg: string[]; k: number[]; s: number[]; l: number[] }
  /** a node's in-flight counts (a full report: targets absent have 0) */
  | { t: 'inflight'; counts: InFlightItem[] }
  /** an operator's `PUT …/healthy|unhealthy`, for nodes that keep their own health state (PostgreSQL cluster) */
  | { t: 'manual'; upstream: string; target: string; healthy: boolean }
  /** a target's weight went to 0 (drain) on some node, for nodes whose store has not caught up yet (PostgreSQL cluster) */
  | { t: 'drain'; upstream: string; target: string }
  /** passive checks or the circuit breaker ejected a target on the sending node (PostgreSQL cluster): every node ejects it too */
  | { t: 'eject'; upstream: string; target: string; reason: string };

export interface ClusterBus {
  /** this node's id */
  readonly self: NodeId;
  /** Send `m` to one node or to every other node. Never throws (a node that is gone misses it). */
  publish(to: NodeId, m: BusMessage): void;
  /** Receive what other nodes publish to this one (or to all); returns the disposer. */
  subscribe(listener: (m: BusMessage, from: NodeId) => void): () => void;
  /** Report this node's in-flight counts (a full report; the implementation bounds the rate). */
  reportInFlight(counts: InFlightItem[]): void;
  /** Requests in flight to a target, summed over the other live nodes. */
  inFlight(targetId: string): number;
  /** The other live nodes. */
  nodes(): NodeId[];
}
