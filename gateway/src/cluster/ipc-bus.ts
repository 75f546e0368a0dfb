/**
 * The first {@link ClusterBus}: node:cluster IPC inside one gateway node
 * (`--workers N`). A star: the control process ("control") talks to each
 * proxy worker ("worker-<id>"); workers talk only to the control process
 * (a message a worker addresses to ALL_NODES reaches the control process).
 * Messages go over the worker's IPC channel as they are (plain JSON), in
 * order per worker. In-flight reports are kept per worker and dropped when
 * it exits.
 */
import type { Worker } from 'node:cluster';
import { ALL_NODES, type BusMessage, type ClusterBus, type InFlightItem, type NodeId } from './bus.js';

export const CONTROL_NODE = 'control';
export const workerNode = (id: number): NodeId => `worker-${id}`;

type Listener = (m: BusMessage, from: NodeId) => void;

/** The control process's end: one channel per worker. */
export class IpcControlBus implements ClusterBus {
  readonly self = CONTROL_NODE;
  readonly #workers = new Map<NodeId, Worker>();
  readonly #listeners = new Set<Listener>();
  /** per node: target id → in flight */
  readonly #inFlight = new Map<NodeId, Map<string, number>>();

  /** A worker joined: messages to its node id reach it from now on. */
  add(w: Worker): NodeId {
    const id = workerNode(w.id);
    this.#workers.set(id, w);
    return id;
  }

  /** A worker is gone: it stops counting in {@link inFlight}. */
  remove(w: Worker): void {
    const id = workerNode(w.id);
    this.#workers.delete(id);
    this.#inFlight.delete(id);
  }

  /** A bus message arrived from worker `w` (the control's IPC handler hands them here). */
  deliver(w: Worker, m: BusMessage): void {
    const from = workerNode(w.id);
    if (m.t === 'inflight') {
      const counts = new Map<string, number>();
      for (const [, target, n] of m.counts) if (n > 0) counts.set(target, (counts.get(target) ?? 0) + n);
      this.#inFlight.set(from, counts);
    }
    for (const l of this.#listeners) l(m, from);
  }

  publish(to: NodeId, m: BusMessage): void {
    if (to === ALL_NODES) {
      for (const w of this.#workers.values()) send(w, m);
      return;
    }
    const w = this.#workers.get(to);
    if (w) send(w, m);
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The control process proxies nothing: its own count is always 0. */
  reportInFlight(_counts: InFlightItem[]): void {}

  inFlight(targetId: string): number {
    let n = 0;
    for (const m of this.#inFlight.values()) n += m.get(targetId) ?? 0;
    return n;
  }

  nodes(): NodeId[] {
    return [...this.#workers.keys()];
  }
}

/** A proxy worker's end: one channel, to the control process. */
export class IpcWorkerBus implements ClusterBus {
  readonly self: NodeId;
  readonly #listeners = new Set<Listener>();

  constructor(workerId: number) {
    this.self = workerNode(workerId);
  }

  /** A bus message arrived from the control process. */
  deliver(m: BusMessage): void {
    for (const l of this.#listeners) l(m, CONTROL_NODE);
  }

  /** Everything goes to the control process (the star's centre). */
  publish(_to: NodeId, m: BusMessage): void {
    if (process.connected) process.send?.(m);
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  reportInFlight(counts: InFlightItem[]): void {
    this.publish(CONTROL_NODE, { t: 'inflight', counts });
  }

  /** A worker does not see the other workers' counts (the control process sums them). */
  inFlight(_targetId: string): number {
    return 0;
  }

  nodes(): NodeId[] {
    return [CONTROL_NODE];
  }
}

function send(w: Worker, m: BusMessage): void {
  if (w.isConnected()) w.send(m);
}
