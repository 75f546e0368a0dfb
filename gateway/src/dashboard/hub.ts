/**
 * The dashboard's state and its Server-Sent Events streams (issue 16).
 *
 * Nothing here keeps state of its own about targets: every figure is read
 * from the module that owns it (store entities and leases, health's
 * per-target records and events, the lease keeper's expiries, the request
 * metrics, the cluster's node list). What the hub adds:
 *
 * - one sampler (every `sampleMs`, default 1 s) turning the owners' counters
 *   into requests/s and errors/s per target and per service, 60 samples
 *   kept, so a dashboard opened during an incident shows the last minute;
 * - a feed of recent transitions (health events, registrations, drains,
 *   lease expiries, removals, blue-green switches), at most FEED_KEPT;
 * - one shared computation per flush for every open stream: the entities
 *   are described, compared with the last flush (one JSON string per
 *   entity), and the difference is serialised once and written to every
 *   stream. A flush runs after each sample and, at most every
 *   `minFlushMs` (or 4× the last flush's time, if longer), soon after a
 *   transition, so a state change reaches the page in about 100 ms; with
 *   no stream open nothing is described.
 *
 * Each stream's buffered output is bounded: a client that does not read
 * (more than MAX_BUFFERED bytes waiting, plus the largest message written
 * since it last caught up: a large gateway's snapshot or diff may be
 * bigger than the bound) is disconnected; its page
 * reconnects and starts again from a full snapshot.
 */
import type { ServerResponse } from 'node:http';
import type { ClusterNodeView } from '../admin/routes/cluster.js';
import type { Service, Target, Upstream } from '../entities/types.js';
import { tagValue, tagValues } from '../../../contract/src/tags.js';
import type { HealthManager } from '../health/health-manager.js';
import type { HealthEvent } from '../health/upstream-health.js';
import type { LeaseKeeper } from '../leases/lease-keeper.js';
import type { Logger } from '../observability/log.js';
import type { RouteSeries } from '../observability/metrics.js';
import type { ChangeEvent, Store } from '../store/store.js';

/** samples kept per target and per service (one minute at the default period) */
export const HISTORY = 60;
/** transitions kept for a page that connects */
export const FEED_KEPT = 200;
/** bytes a stream may have waiting before its client is dropped as too slow */
export const MAX_BUFFERED = 512 * 1024;
/** streams open at once (more are refused with 503) */
export const MAX_STREAMS = 100;

export interface DashboardSources {
  store: Store;
  health: HealthManager;
  leases: LeaseKeeper;
  /** requests in flight to a target, over the node's processes (and nodes, in a cluster) */
  activeRequests(upstreamId: string, targetId: string): number;
  /** the proxy's request series (per route and service) */
  requests: { series(): Iterable<RouteSeries> };
  /** the nodes (`GET /cluster/nodes`) */
  nodes(): ClusterNodeView[];
  /** this node's id, the version, and whether it is one node of a cluster */
  nodeId: string;
  version: string;
  cluster: boolean;
  logger: Logger;
  /** ms between samples (default 1000) */
  sampleMs?: number;
  /** ms at least between two flushes (default 100) */
  minFlushMs?: number;
}

export type FeedKind =
  | 'registered'
  | 'warming'
  | 'healthy'
  | 'unhealthy'
  | 'ejected'
  | 'half-open'
  | 'draining'
  | 'drained'
  | 'lease-expired'
  | 'removed'
  | 'all-unhealthy'
  | 'recovered'
  | 'ejection-capped'
  | 'switched';

export interface FeedEntry {
  /** ms since the epoch */
  at: number;
  kind: FeedKind;
  upstream?: string;
  target?: string;
  service?: string;
  from?: string;
  to?: string;
  reason?: string;
}

interface Stream {
  res: ServerResponse;
  readOnly: boolean;
  /** the largest message written since the stream last drained: allowed beyond MAX_BUFFERED (a large gateway's snapshot or diff is bigger) */
  allowance: number;
}

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** A ring of [requests/s, errors/s] samples. */
class Ring {
  readonly r = new Float64Array(HISTORY);
  readonly e = new Float64Array(HISTORY);
  /** index of the next sample */
  i = 0;
  n = 0;
  push(r: number, e: number): void {
    this.r[this.i] = r;
    this.e[this.i] = e;
    this.i = (this.i + 1) % HISTORY;
    if (this.n < HISTORY) this.n++;
  }
  /** oldest first, rounded */
  toJSON(): [number, number][] {
    const out: [number, number][] = [];
    for (let k = this.n; k > 0; k--) {
      const j = (this.i - k + HISTORY) % HISTORY;
      out.push([round(this.r[j]!), round(this.e[j]!)]);
    }
    return out;
  }
  idle(): boolean {
    for (let k = 0; k < this.n; k++) if (this.r[k] !== 0 || this.e[k] !== 0) return false;
    return true;
  }
}

const round = (x: number): number => Math.round(x * 100) / 100;

export class DashboardHub {
  readonly #src: DashboardSources;
  readonly #log: Logger;
  readonly #sampleMs: number;
  readonly #minFlushMs: number;
  readonly #streams = new Set<Stream>();
  readonly #feed: FeedEntry[] = [];
  /** feed entries since the last flush */
  #newFeed: FeedEntry[] = [];
  /**
   * target id → its counters at the last sample and its ring, which exists
   * only while the target had traffic in the last HISTORY samples (at
   * 10,000 idle targets a ring each was 10 MB and a sample allocated an
   * object per target); entries are updated in place
   */
  readonly #targets = new Map<string, { o: number; f: number; ring: Ring | undefined; tick: number }>();
  #tickNo = 0;
  /** service id → ring */
  readonly #serviceRates = new Map<string, Ring>();
  /** the counters read at the last sample */
  readonly #lastService = new Map<string, { n: number; f: number }>();
  #lastSampleAt = 0;
  /** the last sample, as sent in `rates` */
  #lastRates: { t: Record<string, [number, number]>; s: Record<string, [number, number]> } = { t: {}, s: {} };
  /** key → JSON of each entity at the last flush (only while streams are open) */
  #described = new Map<string, string>();
  /** targets removed since the last flush (the lease keeper may say why before it) */
  readonly #removals = new Map<string, FeedEntry>();
  readonly #leaseExpired = new Set<string>();
  /** draining targets already reported drained */
  readonly #drained = new Set<string>();
  #sampler: NodeJS.Timeout | undefined;
  #flushTimer: NodeJS.Timeout | undefined;
  #lastFlushAt = 0;
  /** how long the last description and comparison took, ms */
  #lastFlushMs = 0;
  #disposers: (() => void)[] = [];
  /** what /metrics exports (gw_dashboard_*): flushes, time spent sampling and flushing (ms), streams dropped, bytes and messages written */
  readonly stats = { flushes: 0, workMs: 0, dropped: 0, bytes: 0, messages: 0 };

  constructor(src: DashboardSources) {
    this.#src = src;
    this.#log = src.logger.child({ component: 'dashboard' });
    this.#sampleMs = src.sampleMs ?? 1000;
    this.#minFlushMs = src.minFlushMs ?? 100;
  }

  start(): void {
    if (this.#sampler) return;
    this.#disposers.push(this.#src.health.onEvent((e) => this.#onHealth(e)));
    this.#disposers.push(this.#src.store.subscribe((events) => this.#onStore(events)));
    this.#disposers.push(
      this.#src.leases.onExpired((ts) => {
        for (const t of ts) this.#leaseExpired.add(t.id);
      }),
    );
    this.#lastSampleAt = performance.now();
    this.#sampler = setInterval(() => this.#tick(), this.#sampleMs);
    this.#sampler.unref();
  }

  /** Stop sampling and end every stream (before the listeners close: an open stream would hold them). */
  stop(): void {
    clearInterval(this.#sampler);
    clearTimeout(this.#flushTimer);
    this.#sampler = this.#flushTimer = undefined;
    for (const d of this.#disposers) d();
    this.#disposers = [];
    for (const s of this.#streams) s.res.end();
    this.#streams.clear();
  }

  get streams(): number {
    return this.#streams.size;
  }

  /** Recent transitions, oldest first. */
  feed(): readonly FeedEntry[] {
    return this.#feed;
  }

  /**
   * Serve one stream on `res` (headers not sent yet): a `snapshot` event,
   * then `diff`, `feed` and `rates` events. Returns false (and answers 503)
   * when MAX_STREAMS are open.
   */
  open(res: ServerResponse, readOnly: boolean): boolean {
    if (this.#streams.size >= MAX_STREAMS) {
      const body = JSON.stringify({ message: `too many dashboard streams open (${MAX_STREAMS}); close some pages and retry` });
      res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return false;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    res.socket?.setNoDelay(true);
    // bring the streams already open up to date, so the snapshot is where the next diff starts
    if (this.#streams.size > 0) this.#flush();
    else {
      this.#described = this.#describeAll();
      this.#newFeed = []; // in the snapshot's feed
    }
    const stream: Stream = { res, readOnly, allowance: 0 };
    this.#streams.add(stream);
    res.on('close', () => this.#streams.delete(stream));
    res.on('drain', () => (stream.allowance = 0));
    this.#write(stream, this.#event('snapshot', this.#snapshot(readOnly)));
    return true;
  }

  // ---- sources --------------------------------------------------------------

  #push(e: FeedEntry): void {
    this.#feed.push(e);
    if (this.#feed.length > FEED_KEPT) this.#feed.splice(0, this.#feed.length - FEED_KEPT);
    this.#newFeed.push(e);
    if (this.#newFeed.length > FEED_KEPT) this.#newFeed.splice(0, this.#newFeed.length - FEED_KEPT);
    this.#soon();
  }

  #onHealth(e: HealthEvent): void {
    const at = Date.now();
    switch (e.kind) {
      case 'state':
        // draining comes from the entity (weight 0): reported from the store, with who did it
        if (e.to === 'draining' || e.from === 'draining') break;
        this.#push({ at, kind: e.to, upstream: e.upstream, target: e.target, from: e.from, to: e.to, reason: e.reason });
        break;
      case 'breaker':
        if (e.to === 'half-open') this.#push({ at, kind: 'half-open', upstream: e.upstream, target: e.target, reason: e.reason });
        break;
      case 'all-unhealthy':
        this.#push({
          at,
          kind: e.on ? 'all-unhealthy' : 'recovered',
          upstream: e.upstream,
          reason: e.on
            ? e.policy === 'fail-open'
              ? 'every target is unhealthy: failing open (routing to all)'
              : 'every target is unhealthy: failing closed (503)'
            : 'a target is healthy again',
        });
        break;
      case 'ejection-capped':
        this.#push({ at, kind: 'ejection-capped', upstream: e.upstream, target: e.target, reason: e.reason });
        break;
      default:
        break;
    }
  }

  #upstreamName(id: string): string | undefined {
    return this.#src.store.get('upstreams', id)?.name;
  }

  #onStore(events: readonly ChangeEvent[]): void {
    const at = Date.now();
    for (const ev of events) {
      if (ev.kind === 'targets') {
        const t = ev.entity as Target;
        const upstream = this.#upstreamName(t.upstream.id);
        if (ev.op === 'create') {
          this.#push({ at, kind: 'registered', upstream, target: t.target, reason: `weight ${t.weight}` });
        } else if (ev.op === 'delete') {
          // removed right after its drain ended (gw-agent drain --deregister): drained in between the samples
          if (t.weight === 0 && !this.#drained.has(t.id) && this.#src.activeRequests(t.upstream.id, t.id) === 0)
            this.#push({ at, kind: 'drained', upstream, target: t.target, reason: 'no request in flight' });
          this.#removals.set(t.id, { at, kind: 'removed', upstream, target: t.target });
          this.#drained.delete(t.id);
          this.#soon();
        } else {
          const o = ev.old as Target | undefined;
          if (o && o.weight > 0 && t.weight === 0) {
            const marked = (t.tags ?? []).includes('gw-drained');
            this.#push({
              at,
              kind: 'draining',
              upstream,
              target: t.target,
              reason: marked ? 'weight 0, drained by an operator' : 'weight 0',
            });
          } else if (o && o.weight === 0 && t.weight > 0) {
            this.#drained.delete(t.id);
          }
        }
      } else if (ev.kind === 'services' && ev.op === 'update') {
        const s = ev.entity as Service;
        const o = ev.old as Service | undefined;
        if (o && o.host !== s.host)
          this.#push({ at, kind: 'switched', service: s.name ?? s.id, from: o.host, to: s.host, reason: `now routed to ${s.host}` });
      }
    }
  }

  // ---- sampling and flushing ------------------------------------------------

  #tick(): void {
    const started = performance.now();
    try {
      this.#sample();
      this.#flush();
    } catch (err) {
      this.#log.error({ err }, 'dashboard sample failed');
    }
    this.stats.workMs += performance.now() - started;
  }

  /** One sample of every target's and service's request counters. */
  #sample(): void {
    const now = performance.now();
    const secs = Math.max((now - this.#lastSampleAt) / 1000, 0.001);
    this.#lastSampleAt = now;
    const store = this.#src.store;
    const t: Record<string, [number, number]> = {};
    const tick = ++this.#tickNo;
    for (const u of store.all('upstreams')) {
      const h = this.#src.health.upstream(u.id);
      if (!h) continue;
      for (const rec of h.targets.values()) {
        let e = this.#targets.get(rec.id);
        let dr = 0;
        let de = 0;
        if (!e) this.#targets.set(rec.id, (e = { o: rec.outcomes, f: rec.failedOutcomes, ring: undefined, tick }));
        else {
          dr = Math.max(0, rec.outcomes - e.o) / secs;
          de = Math.max(0, rec.failedOutcomes - e.f) / secs;
          e.o = rec.outcomes;
          e.f = rec.failedOutcomes;
          e.tick = tick;
        }
        if (dr > 0 || de > 0) {
          e.ring ??= new Ring();
          t[rec.id] = [round(dr), round(de)];
        }
        if (e.ring) {
          e.ring.push(dr, de);
          if (e.ring.idle()) e.ring = undefined;
        }
        // a draining target with nothing in flight is drained: reported once
        if (rec.weight === 0 && !this.#drained.has(rec.id) && this.#src.activeRequests(u.id, rec.id) === 0) {
          this.#drained.add(rec.id);
          this.#push({ at: Date.now(), kind: 'drained', upstream: u.name, target: rec.address, reason: 'no request in flight' });
        }
      }
    }
    for (const [id, e] of this.#targets) if (e.tick !== tick) this.#targets.delete(id);
    // services: the proxy's series are labelled by service name (or id)
    const totals = new Map<string, { n: number; f: number }>();
    for (const series of this.#src.requests.series()) {
      if (!series.matched || series.service === '') continue;
      let n = 0;
      let f = 0;
      for (const [status, count] of series.statuses) {
        n += count;
        if (status >= 500) f += count;
      }
      const acc = totals.get(series.service) ?? { n: 0, f: 0 };
      acc.n += n;
      acc.f += f;
      totals.set(series.service, acc);
    }
    const s: Record<string, [number, number]> = {};
    const live = new Set<string>();
    for (const svc of store.all('services')) {
      live.add(svc.id);
      const tot = totals.get(svc.name ?? svc.id) ?? { n: 0, f: 0 };
      const last = this.#lastService.get(svc.id);
      const dr = last ? Math.max(0, tot.n - last.n) / secs : 0;
      const de = last ? Math.max(0, tot.f - last.f) / secs : 0;
      this.#lastService.set(svc.id, tot);
      let ring = this.#serviceRates.get(svc.id);
      if (!ring) this.#serviceRates.set(svc.id, (ring = new Ring()));
      ring.push(dr, de);
      if (dr > 0 || de > 0) s[svc.id] = [round(dr), round(de)];
    }
    for (const id of [...this.#serviceRates.keys()]) {
      if (live.has(id)) continue;
      this.#serviceRates.delete(id);
      this.#lastService.delete(id);
    }
    this.#lastRates = { t, s };
    if (this.#streams.size > 0) this.#broadcast(this.#event('rates', { ...this.#clock(), ...this.#lastRates }));
  }

  #clock(): { now: number; store_now: number } {
    return { now: Date.now(), store_now: this.#src.store.now() };
  }

  /** A flush soon (a transition happened), at most every minFlushMs. */
  #soon(): void {
    if (this.#flushTimer || this.#streams.size === 0) return;
    // a flush that took d ms is followed by at least 4·d ms without one (a large gateway under churn)
    const spacing = Math.max(this.#minFlushMs, 4 * this.#lastFlushMs);
    const wait = Math.max(0, this.#lastFlushAt + spacing - performance.now());
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      const started = performance.now();
      try {
        this.#flush();
      } catch (err) {
        this.#log.error({ err }, 'dashboard flush failed');
      }
      this.stats.workMs += performance.now() - started;
    }, wait);
    this.#flushTimer.unref();
  }

  /** Move pending removals to the feed, then (streams open) send the difference and the new feed entries. */
  #flush(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    for (const [id, e] of this.#removals) {
      if (this.#leaseExpired.delete(id)) this.#push({ ...e, kind: 'lease-expired', reason: 'not renewed within its ttl' });
      else this.#push(e);
    }
    this.#removals.clear();
    this.#leaseExpired.clear();
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    if (this.#streams.size === 0) {
      this.#newFeed = [];
      return;
    }
    this.#lastFlushAt = performance.now();
    const next = this.#describeAll();
    const set: Record<string, unknown> = {};
    const del: string[] = [];
    let changed = false;
    for (const [k, json] of next) {
      if (this.#described.get(k) !== json) {
        set[k] = JSON.parse(json) as unknown;
        changed = true;
      }
    }
    for (const k of this.#described.keys()) {
      if (!next.has(k)) {
        del.push(k);
        changed = true;
      }
    }
    this.#described = next;
    this.#lastFlushMs = performance.now() - this.#lastFlushAt;
    let out = '';
    if (changed) out += this.#event('diff', { ...this.#clock(), set, del });
    if (this.#newFeed.length > 0) out += this.#event('feed', this.#newFeed);
    this.#newFeed = [];
    if (out !== '') this.#broadcast(out);
    this.stats.flushes++;
  }

  #event(name: string, data: unknown): string {
    return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
  }

  #broadcast(chunk: string): void {
    for (const s of this.#streams) this.#write(s, chunk);
  }

  #write(s: Stream, chunk: string): void {
    if (s.res.writableLength > MAX_BUFFERED + s.allowance) {
      // not reading: drop it (its page reconnects and gets a fresh snapshot)
      this.stats.dropped++;
      this.#streams.delete(s);
      this.#log.warn({ buffered: s.res.writableLength }, 'dashboard stream dropped: the client does not keep up');
      s.res.destroy();
      return;
    }
    if (!s.res.write(chunk)) s.allowance = Math.max(s.allowance, chunk.length);
    this.stats.bytes += chunk.length;
    this.stats.messages++;
  }

  #snapshot(readOnly: boolean): unknown {
    const entities: Record<string, unknown> = {};
    for (const [k, json] of this.#described) entities[k] = JSON.parse(json) as unknown;
    const history: { t: Record<string, unknown>; s: Record<string, unknown> } = { t: {}, s: {} };
    for (const [id, e] of this.#targets) if (e.ring && !e.ring.idle()) history.t[id] = e.ring.toJSON();
    for (const [id, ring] of this.#serviceRates) if (!ring.idle()) history.s[id] = ring.toJSON();
    return {
      ...this.#clock(),
      node_id: this.#src.nodeId,
      version: this.#src.version,
      cluster: this.#src.cluster,
      read_only: readOnly,
      sample_ms: this.#sampleMs,
      history_len: HISTORY,
      entities,
      history,
      feed: this.#feed,
    };
  }

  // ---- what the page shows, read from the owners ----------------------------

  #describeAll(): Map<string, string> {
    const out = new Map<string, string>();
    const store = this.#src.store;
    const services = store.all('services');
    const upstreams = store.all('upstreams');
    const byName = new Map<string, Service>();
    for (const s of services) if (s.name) byName.set(s.name, s);
    const liveOf = new Map<string, Service>();
    for (const s of services) liveOf.set(s.host, s);
    const serviceOf = (u: Upstream): Service | undefined => {
      const live = liveOf.get(u.name);
      if (live) return live;
      const tagged = tagValue(u.tags, 'gw-service:');
      if (tagged !== undefined) return byName.get(tagged);
      // the SDK's names: <service>.upstream, <service>.<deployment slug>.upstream
      if (!u.name.endsWith('.upstream')) return undefined;
      const stem = u.name.slice(0, -'.upstream'.length);
      const direct = byName.get(stem);
      if (direct) return direct;
      const dot = stem.lastIndexOf('.');
      return dot > 0 && SLUG.test(stem.slice(dot + 1)) ? byName.get(stem.slice(0, dot)) : undefined;
    };
    const upstreamsOf = new Map<string, Upstream[]>();
    for (const u of upstreams) {
      const s = serviceOf(u);
      const key = s?.id ?? '';
      upstreamsOf.set(key, [...(upstreamsOf.get(key) ?? []), u]);
    }
    for (const s of services) {
      const name = s.name ?? s.id;
      const own = upstreamsOf.get(s.id) ?? [];
      const blueGreen = own.some((u) => u.name !== `${name}.upstream` && u.name.startsWith(`${name}.`) && u.name.endsWith('.upstream'));
      out.set(
        `s:${s.id}`,
        JSON.stringify({
          id: s.id,
          name,
          protocol: s.protocol,
          host: s.host,
          port: s.port,
          path: s.path,
          enabled: s.enabled,
          mode: blueGreen ? 'blue-green' : own.length > 0 ? 'rolling' : 'direct',
          previous: tagValue(s.tags, 'gw-previous:') ?? null,
          rolled_back: tagValues(s.tags, 'gw-rolled-back:'),
          routes: store.routesOf(s.id).map((r) => ({
            id: r.id,
            name: r.name,
            paths: r.paths,
            hosts: r.hosts,
            methods: r.methods,
            protocols: r.protocols,
          })),
        }),
      );
    }
    for (const u of upstreams) {
      const s = serviceOf(u);
      const h = this.#src.health.upstream(u.id);
      const a = u.healthchecks.active;
      const p = u.healthchecks.passive.unhealthy;
      const active = a.healthy.interval > 0 || a.unhealthy.interval > 0;
      const passive = p.tcp_failures > 0 || p.timeouts > 0 || p.http_failures > 0;
      out.set(
        `u:${u.id}`,
        JSON.stringify({
          id: u.id,
          name: u.name,
          service: s?.id ?? null,
          live: s !== undefined && s.host === u.name,
          deployment: tagValue(u.tags, 'gw-deployment:') ?? null,
          algorithm: u.algorithm,
          checks: active && passive ? 'active+passive' : active ? 'active' : passive ? 'passive' : 'off',
          all_unhealthy: h?.allUnhealthy ?? false,
          slow_start: h?.gw.slow_start ?? 0,
          breaker_cooldown: h?.gw.breaker_cooldown ?? 0,
        }),
      );
      for (const t of store.targetsOf(u.id)) {
        const rec = h?.targets.get(t.id);
        const view = this.#src.health.view(u.id, t.id);
        const weight = t.weight;
        const factor = rec ? rec.factor : 1;
        const available = rec ? rec.available : weight > 0;
        out.set(
          `t:${t.id}`,
          JSON.stringify({
            id: t.id,
            upstream: u.id,
            target: t.target,
            weight,
            effective_weight: available ? round(weight * factor) : 0,
            slow_start_factor: round(factor),
            state: view?.state ?? (weight === 0 ? 'draining' : 'healthy'),
            health: view?.health ?? (h?.checksOn() ? 'HEALTHY' : 'HEALTHCHECKS_OFF'),
            breaker: rec?.breaker.state.state ?? 'closed',
            in_flight: this.#src.activeRequests(u.id, t.id),
            lease_expires_at: t.ttl === null || t.ttl === undefined ? null : store.leaseOf(t.id),
            ttl: t.ttl ?? null,
            ejected_until: rec?.breaker.until ?? null,
            deployment: tagValue(t.tags, 'gw-deployment:') ?? null,
            instance: tagValue(t.tags, 'gw-instance:') ?? null,
            drained_by_operator: (t.tags ?? []).includes('gw-drained'),
            created_at: t.created_at,
          }),
        );
      }
    }
    for (const n of this.#src.nodes()) {
      out.set(
        `n:${n.id}`,
        JSON.stringify({
          id: n.id,
          hostname: n.hostname,
          version: n.version,
          revision: n.revision,
          // seconds, so a heartbeat is not a change every flush; this node is seen now
          last_seen: n.self ? null : Math.floor(n.last_seen),
          reachable: n.reachable,
          self: n.self,
        }),
      );
    }
    return out;
  }
}
