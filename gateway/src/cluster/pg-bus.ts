/**
 * The {@link ClusterBus} between gateway nodes sharing one PostgreSQL
 * (cluster mode): messages are NOTIFYs on `gw_bus` (`{"f":from,"to":to,"m":…}`,
 * split so no payload passes PostgreSQL's 8000-byte limit), and each node
 * heartbeats its row in `gw_nodes` (the database clock judges liveness).
 *
 * - In-flight counts: every node publishes a full report when its counts
 *   change (at most every `reportMs`) and at least every heartbeat while any
 *   is non-zero; a node's counts stop counting once its heartbeat is older
 *   than `graceMs`, or at once when it leaves (its row is deleted on close).
 * - Delivery is best effort (a NOTIFY sent while a node is disconnected is
 *   lost): what must converge (drains, entities) goes through the store;
 *   ejections and manual health changes are sent once, and a node that
 *   missed one keeps its own view until its own checks bring it in line.
 */
import { hostname as osHostname } from 'node:os';
import type { Logger } from '../observability/log.js';
import type { PgLink } from '../store/postgres/link.js';
import { ALL_NODES, type BusMessage, type ClusterBus, type InFlightItem, type NodeId } from './bus.js';

export interface PgBusOptions {
  link: PgLink;
  self: NodeId;
  version: string;
  logger: Logger;
  /** the node's store revision, reported in its heartbeat */
  revision: () => number;
  hostname?: string;
  /** heartbeat period (ms, default 1000) */
  heartbeatMs?: number;
  /** a node silent this long is not live (ms, default 5000) */
  graceMs?: number;
  /** in-flight reports at most this often (ms, default 100) */
  reportMs?: number;
}

/** What `GET /cluster/nodes` lists. */
export interface NodeView {
  id: NodeId;
  hostname: string;
  version: string;
  revision: number;
  /** Unix seconds, database clock */
  last_seen: number;
  started_at: number;
  /** heartbeat within the grace period */
  reachable: boolean;
  self: boolean;
}

type Listener = (m: BusMessage, from: NodeId) => void;
const CHANNEL = 'gw_bus';
const MAX_PAYLOAD = 7800;

export class PgBus implements ClusterBus {
  readonly self: NodeId;
  readonly #opts: PgBusOptions;
  readonly #log: Logger;
  readonly #listeners = new Set<Listener>();
  /** node → target id → in flight */
  readonly #inFlight = new Map<NodeId, Map<string, number>>();
  #nodes: NodeView[] = [];
  #live = new Set<NodeId>();
  #timer: NodeJS.Timeout | undefined;
  #reportTimer: NodeJS.Timeout | undefined;
  #pending: InFlightItem[] | undefined;
  #lastReport = '';
  #lastReportAt = 0;
  #startedAt = Date.now() / 1000;
  #unlisten: (() => void) | undefined;
  #closed = false;
  /** messages that could not be sent (database unreachable) */
  dropped = 0;

  constructor(opts: PgBusOptions) {
    this.self = opts.self;
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'cluster' });
  }

  async start(): Promise<void> {
    this.#unlisten = this.#opts.link.listen(CHANNEL, (payload) => this.#receive(payload));
    await this.#heartbeat().catch((err: unknown) => this.#log.warn({ err: (err as Error).message }, 'first heartbeat failed; retried'));
    this.#timer = setInterval(() => void this.#heartbeat().catch(() => undefined), this.#opts.heartbeatMs ?? 1000);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#reportTimer);
    this.#unlisten?.();
    // leave: the others stop counting this node's in-flight requests at once
    if (this.#opts.link.reachable) {
      this.publish(ALL_NODES, { t: 'inflight', counts: [] });
      await this.#opts.link.query('DELETE FROM gw_nodes WHERE id = $1', [this.self]).catch(() => undefined);
    }
  }

  publish(to: NodeId, m: BusMessage): void {
    if (this.#closed && m.t !== 'inflight') return;
    for (const part of split(m)) {
      const payload = JSON.stringify({ f: this.self, to, m: part });
      this.#opts.link.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]).catch(() => this.dropped++);
    }
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  reportInFlight(counts: InFlightItem[]): void {
    this.#pending = counts;
    if (this.#reportTimer) return;
    const wait = Math.max(0, (this.#opts.reportMs ?? 100) - (Date.now() - this.#lastReportAt));
    this.#reportTimer = setTimeout(() => {
      this.#reportTimer = undefined;
      this.#flushReport(false);
    }, wait);
    this.#reportTimer.unref();
  }

  inFlight(targetId: string): number {
    let n = 0;
    for (const [node, counts] of this.#inFlight) if (this.#live.has(node)) n += counts.get(targetId) ?? 0;
    return n;
  }

  nodes(): NodeId[] {
    return [...this.#live];
  }

  /** Every node the database knows, this one included (`GET /cluster/nodes`). */
  list(): NodeView[] {
    return this.#nodes;
  }

  #flushReport(force: boolean): void {
    const counts = this.#pending ?? [];
    const key = JSON.stringify(counts);
    if (!force && key === this.#lastReport) return;
    if (force && counts.length === 0 && this.#lastReport === '[]') return;
    this.#lastReport = key;
    this.#lastReportAt = Date.now();
    this.publish(ALL_NODES, { t: 'inflight', counts });
  }

  #receive(payload: string): void {
    let env: { f?: unknown; to?: unknown; m?: BusMessage };
    try {
      env = JSON.parse(payload) as typeof env;
    } catch {
      return;
    }
    const from = env.f;
    if (typeof from !== 'string' || from === this.self || !env.m || typeof env.m !== 'object') return;
    if (env.to !== ALL_NODES && env.to !== this.self) return;
    const m = env.m;
    if (m.t === 'inflight') {
      if (!Array.isArray(m.counts)) return;
      const counts = new Map<string, number>();
      for (const item of m.counts) {
        const [, target, n] = item;
        if (typeof target === 'string' && typeof n === 'number' && n > 0) counts.set(target, (counts.get(target) ?? 0) + n);
      }
      if ((m as { part?: number }).part) {
        const prev = this.#inFlight.get(from) ?? new Map<string, number>();
        for (const [k, v] of counts) prev.set(k, v);
        this.#inFlight.set(from, prev);
      } else this.#inFlight.set(from, counts);
      // a node that reports is live even before the next heartbeat poll
      this.#live.add(from);
    }
    for (const l of this.#listeners) {
      try {
        l(m, from);
      } catch (err) {
        this.#log.error({ err, from, t: m.t }, 'a cluster message handler threw; ignored');
      }
    }
  }

  async #heartbeat(): Promise<void> {
    if (this.#closed || !this.#opts.link.reachable) return;
    const graceS = (this.#opts.graceMs ?? 5000) / 1000;
    const r = await this.#opts.link.query<{
      id: string;
      hostname: string;
      version: string;
      revision: string;
      started_at: number;
      last_seen: number;
      now: number;
    }>(
      `WITH me AS (
         INSERT INTO gw_nodes (id, hostname, version, revision, started_at, last_seen)
         VALUES ($1, $2, $3, $4, $5, extract(epoch FROM clock_timestamp()))
         ON CONFLICT (id) DO UPDATE SET hostname = EXCLUDED.hostname, version = EXCLUDED.version, revision = EXCLUDED.revision, last_seen = EXCLUDED.last_seen
         RETURNING id
       ), gone AS (
         DELETE FROM gw_nodes WHERE last_seen < extract(epoch FROM clock_timestamp()) - 3600 AND id <> $1
       )
       SELECT id, hostname, version, revision, started_at, last_seen, extract(epoch FROM clock_timestamp()) AS now FROM gw_nodes ORDER BY started_at, id`,
      [this.self, this.#opts.hostname ?? osHostname(), this.#opts.version, this.#opts.revision(), this.#startedAt],
    );
    const nodes: NodeView[] = [];
    const live = new Set<NodeId>();
    let selfSeen = false;
    for (const row of r.rows) {
      const isSelf = row.id === this.self;
      selfSeen ||= isSelf;
      const lastSeen = Number(row.last_seen);
      const reachable = isSelf || Number(row.now) - lastSeen <= graceS;
      nodes.push({
        id: row.id,
        hostname: row.hostname,
        version: row.version,
        revision: Number(row.revision),
        last_seen: lastSeen,
        started_at: Number(row.started_at),
        reachable,
        self: isSelf,
      });
      if (!isSelf && reachable) live.add(row.id);
    }
    if (!selfSeen) {
      const now = Date.now() / 1000;
      nodes.push({
        id: this.self,
        hostname: this.#opts.hostname ?? osHostname(),
        version: this.#opts.version,
        revision: this.#opts.revision(),
        last_seen: now,
        started_at: this.#startedAt,
        reachable: true,
        self: true,
      });
    }
    this.#nodes = nodes;
    this.#live = live;
    for (const id of this.#inFlight.keys()) if (!live.has(id)) this.#inFlight.delete(id);
    // a report at least every heartbeat while anything is in flight (a lost NOTIFY heals)
    if (this.#pending && this.#pending.length > 0) this.#flushReport(true);
  }
}

/** Split a message so each NOTIFY payload stays under PostgreSQL's limit. */
function split(m: BusMessage): BusMessage[] {
  const size = JSON.stringify(m).length;
  if (size <= MAX_PAYLOAD) return [m];
  if (m.t === 'inflight' || m.t === 'availability') {
    const items = m.t === 'inflight' ? m.counts : m.items;
    const per = Math.max(1, Math.floor((items.length * MAX_PAYLOAD) / size / 1.2));
    const out: BusMessage[] = [];
    for (let i = 0; i < items.length; i += per) {
      const chunk = items.slice(i, i + per);
      // inflight parts after the first add to the report instead of replacing it
      out.push(
        m.t === 'inflight'
          ? ({ t: 'inflight', counts: chunk as InFlightItem[], ...(i > 0 ? { part: i } : {}) } as BusMessage)
          : { t: 'availability', items: chunk as never },
      );
    }
    return out;
  }
  return [m];
}
