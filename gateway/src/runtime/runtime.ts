/**
 * Runtime: subscribes to the store and keeps an immutable snapshot (router +
 * balancers). Changes are coalesced per microtask; only what changed is
 * rebuilt: route writes go to the router's overlay (router/layered.ts: the
 * written routes compiled on their own, the base skipping what they
 * replaced), compacted into one router after COMPACT_AFTER_MS without route
 * writes or when the overlay outgrows its limit; a service change or a reset
 * compiles the whole router; an upstream change rebuilds that upstream's
 * balancer. Route-only changes keep the services map (and its identity). When only targets changed, the
 * runtime keeps which ones and derives the next balancer from the previous
 * one in place, at a cost proportional to the change (registry.ts
 * `updateBalancer`); an algorithm that cannot (consistent-hashing) is
 * rebuilt. A store `reset` (the runtime missed changes it cannot be given
 * one by one) rebuilds everything.
 *
 * Hostname targets (with `dns`): each is expanded into one balancer entry
 * per resolved address (dns/targets.ts); a name whose addresses change is
 * followed like a change of the targets that use it (derived in place).
 *
 * Rebuilds are coalesced over time too: after a rebuild that took d ms
 * (over 1 ms: a large router or upstream) the next one waits d ms, batching
 * every change that arrived meanwhile, so a stream of writes costs at most
 * half the CPU in rebuilds (never one router compile per write) while each
 * write is live within about two rebuild times.
 */
import type { Service, Target, Upstream } from '../entities/types.js';
import type { Balancer } from '../balancer/balancer.js';
import { createBalancer, updateBalancer } from '../balancer/registry.js';
import type { TargetInput } from '../balancer/target-set.js';
import type { DnsCache } from '../dns/resolver.js';
import { expandTarget, targetHostname } from '../dns/targets.js';
import type { Logger } from '../observability/log.js';
import { compileRouter } from '../router/router.js';
import { isLayered, updateRouter } from '../router/layered.js';
import type { ChangeEvent, Store } from '../store/store.js';
import type { Snapshot, UpstreamEntry } from './snapshot.js';

export type { Snapshot, UpstreamEntry } from './snapshot.js';

/** quiet time after a route write before a layered router is compiled into one */
const COMPACT_AFTER_MS = 1000;

export interface RuntimeOptions {
  store: Store;
  logger: Logger;
  /** injected clock, milliseconds */
  now?: () => number;
  /** resolves hostname targets into addresses (absent: a hostname target is one entry, connected to by name) */
  dns?: DnsCache;
}

/** What a target was last expanded into. */
interface Expansion {
  /** its host name (undefined: an IP target) */
  readonly name: string | undefined;
  readonly entries: readonly TargetInput[];
}

export class Runtime {
  readonly #store: Store;
  readonly #log: Logger;
  #snapshot: Snapshot | undefined;
  #unsubscribe: (() => void) | undefined;
  #pendingRouter = false;
  /** ids of routes written (put or deleted) since the last rebuild: the router follows them in an overlay */
  #pendingRoutes = new Set<string>();
  /** compile the whole router (a service changed, a reset, or compacting a layered router) */
  #pendingRouterFull = false;
  #compactTimer: NodeJS.Timeout | undefined;
  /** services changed: the services map is rebuilt (route-only changes keep it, and its identity) */
  #pendingServices = false;
  /** upstream ids whose balancer must be rebuilt */
  #pendingUpstreams = new Set<string>();
  /** upstream id → ids of its targets added, changed or removed (the balancer may follow in place) */
  #pendingTargets = new Map<string, Set<string>>();
  #scheduled = false;
  /** a reset: rebuild every balancer and the router */
  #pendingFull = false;
  /** performance.now() before which the next rebuild waits (coalescing) */
  #nextAt = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #listeners = new Set<(s: Snapshot) => void>();
  /** {@link flushed} callers waiting for the pending rebuild */
  #waiters: (() => void)[] = [];
  /** changes the runtime could not build (the previous router/balancer kept serving) */
  buildFailures = 0;
  readonly #dns: DnsCache | undefined;
  /** target id → the balancer entries it was last expanded into (with `dns`) */
  readonly #expanded = new Map<string, Expansion>();
  /** host name → ids of the targets using it */
  readonly #users = new Map<string, Set<string>>();
  /** upstream id → ids of its targets last expanded */
  readonly #ofUpstream = new Map<string, Set<string>>();

  constructor(opts: RuntimeOptions) {
    this.#store = opts.store;
    this.#log = opts.logger.child({ component: 'runtime' });
    this.#dns = opts.dns;
  }

  get dns(): DnsCache | undefined {
    return this.#dns;
  }

  /**
   * The addresses of a hostname target as its balancer has them (empty:
   * none resolved), or undefined for an IP target or without `dns`.
   */
  addressesOf(targetId: string): { readonly name: string; readonly entries: readonly TargetInput[] } | undefined {
    const e = this.#expanded.get(targetId);
    return e?.name === undefined ? undefined : { name: e.name, entries: e.entries };
  }

  /** The `host:port` of the target entity behind a balancer entry (an address of a hostname target, or the target). */
  targetOf(entry: { readonly id: string; readonly address: string; readonly targetId?: string | undefined }): string {
    return entry.targetId === undefined ? entry.address : (this.#store.get('targets', entry.targetId)?.target ?? entry.address);
  }

  /** The hostname targets of an upstream that have no address now (DNS_ERROR, or their first query running). */
  unresolvedTargets(upstreamId: string): Target[] {
    const out: Target[] = [];
    for (const id of this.#ofUpstream.get(upstreamId) ?? []) {
      const e = this.#expanded.get(id);
      const t = e?.name !== undefined && e.entries.length === 0 ? this.#store.get('targets', id) : undefined;
      if (t) out.push(t);
    }
    return out;
  }

  /** The resolver's news: `name`'s addresses changed; its targets' balancers follow (DnsCache onChange). */
  dnsChanged(name: string): void {
    const ids = this.#users.get(name);
    if (!ids || !this.#unsubscribe) return;
    for (const id of ids) {
      const t = this.#store.get('targets', id);
      if (t) this.#targetChanged(t.upstream.id, id);
    }
    this.#schedule();
  }

  get snapshot(): Snapshot {
    if (!this.#snapshot) throw new Error('runtime not started');
    return this.#snapshot;
  }

  /** Build the first snapshot and subscribe to store changes. */
  start(): void {
    if (this.#unsubscribe) return;
    const upstreams = new Map<string, UpstreamEntry>();
    for (const u of this.#store.all('upstreams')) {
      try {
        upstreams.set(u.name, this.#entry(u));
      } catch (err) {
        this.buildFailures++;
        this.#log.error({ err, upstream: u.name }, 'cannot build the balancer for this upstream; it is left out');
      }
    }
    this.#snapshot = { version: 1, router: this.#router(), servicesById: this.#services(), upstreams };
    this.#unsubscribe = this.#store.subscribe((events) => this.#onChange(events), {
      fromRevision: this.#store.revision,
      onReset: () => {
        this.#pendingFull = true;
        this.#schedule();
      },
    });
  }

  /** Unsubscribe. Idempotent. */
  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    clearTimeout(this.#compactTimer);
    this.#compactTimer = undefined;
    this.#wake();
  }

  /**
   * A layered router (route writes in an overlay) is compiled into one
   * after route writes have been quiet for COMPACT_AFTER_MS, so the steady
   * state matches a request against one router.
   */
  #compactLater(layered: boolean): void {
    clearTimeout(this.#compactTimer);
    this.#compactTimer = undefined;
    if (!layered || !this.#unsubscribe) return;
    this.#compactTimer = setTimeout(() => {
      this.#compactTimer = undefined;
      this.#pendingRouter = this.#pendingRouterFull = true;
      this.#schedule();
    }, COMPACT_AFTER_MS).unref();
  }

  /**
   * Resolves once every store change this runtime has been given is in its
   * snapshot (at once when nothing is pending), or after `maxMs` at most:
   * the Admin API answers a write when this node's proxy uses it.
   */
  flushed(maxMs = 2000): Promise<void> {
    if (!this.#scheduled && this.#timer === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      // not unref'd: a caller waits for an answer (bounded by maxMs)
      const timer = setTimeout(resolve, maxMs);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Called after every snapshot swap (tests, metrics). Returns the unsubscribe function. */
  onSnapshot(listener: (s: Snapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #onChange(events: readonly ChangeEvent[]): void {
    for (const e of events) {
      if (e.kind === 'routes') {
        this.#pendingRouter = true;
        this.#pendingRoutes.add(e.entity.id);
      } else if (e.kind === 'services') this.#pendingRouter = this.#pendingServices = true;
      else if (e.kind === 'upstreams') {
        this.#pendingUpstreams.add(e.entity.id);
        // a rename changes which services are balanced: nothing else to do, the
        // proxy looks services' hosts up by upstream name on each request
      } else if (!(e.op === 'update' && balancerUnchanged(e))) {
        const t = e.entity as Target;
        this.#targetChanged(t.upstream.id, t.id);
        // moved to another upstream: it left the old one
        const o = e.old as Target | undefined;
        if (o && o.upstream.id !== t.upstream.id) this.#targetChanged(o.upstream.id, o.id);
      }
    }
    this.#schedule();
  }

  #targetChanged(upstreamId: string, targetId: string): void {
    let ids = this.#pendingTargets.get(upstreamId);
    if (!ids) this.#pendingTargets.set(upstreamId, (ids = new Set()));
    ids.add(targetId);
  }

  #schedule(): void {
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.#rebuild());
    }
  }

  /**
   * Never throws: a change the runtime cannot build (it should have been
   * refused at validation) keeps the last good router or balancer serving,
   * logged and counted in `buildFailures`. An exception here would run in a
   * microtask and stop the process.
   */
  #rebuild(): void {
    this.#scheduled = false;
    const wait = this.#nextAt - performance.now();
    if (wait > 0) {
      // rebuilt moments ago: batch what arrives until then
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        this.#schedule();
      }, wait).unref();
      return;
    }
    const prev = this.snapshot;
    const started = performance.now();
    if (this.#pendingFull) {
      this.#pendingFull = false;
      this.#pendingRouter = this.#pendingServices = this.#pendingRouterFull = true;
      for (const e of prev.upstreams.values()) this.#pendingUpstreams.add(e.upstream.id);
      for (const u of this.#store.all('upstreams')) this.#pendingUpstreams.add(u.id);
    }
    let upstreams = prev.upstreams;
    if (this.#pendingUpstreams.size > 0 || this.#pendingTargets.size > 0) {
      const byId = new Map<string, UpstreamEntry>();
      for (const e of prev.upstreams.values()) byId.set(e.upstream.id, e);
      // target changes of an upstream that is not rebuilt anyway: derive its balancer in place
      const derived = new Map<string, UpstreamEntry>();
      for (const [id, targetIds] of this.#pendingTargets) {
        if (this.#pendingUpstreams.has(id)) continue;
        const old = byId.get(id);
        const u = this.#store.get('upstreams', id);
        if (!old || !u || u !== old.upstream) {
          this.#pendingUpstreams.add(id);
          continue;
        }
        const d = this.#derive(old, targetIds);
        if (d) derived.set(id, d);
        else this.#pendingUpstreams.add(id);
      }
      const next = new Map<string, UpstreamEntry>();
      for (const [name, entry] of prev.upstreams) {
        const id = entry.upstream.id;
        if (!this.#pendingUpstreams.has(id)) next.set(name, derived.get(id) ?? entry);
      }
      for (const id of this.#pendingUpstreams) {
        const u = this.#store.get('upstreams', id);
        const old = byId.get(id);
        if (!u) {
          this.#dropUpstream(id);
          continue;
        }
        try {
          next.set(u.name, this.#entry(u, old?.balancer));
        } catch (err) {
          this.buildFailures++;
          this.#log.error({ err, upstream: u.name }, 'cannot build the balancer for this upstream; the last good one keeps serving');
          if (old) next.set(old.upstream.name, old);
        }
      }
      upstreams = next;
    }
    let router = prev.router;
    let servicesById = prev.servicesById;
    if (this.#pendingRouter) {
      try {
        if (this.#pendingServices) servicesById = this.#services();
        router =
          this.#pendingServices || this.#pendingRouterFull
            ? compileRouter(this.#store.all('routes'), servicesById)
            : updateRouter(
                prev.router,
                this.#pendingRoutes,
                (id) => this.#store.get('routes', id),
                () => this.#store.all('routes'),
                servicesById,
              );
        this.#compactLater(isLayered(router));
      } catch (err) {
        this.buildFailures++;
        servicesById = prev.servicesById;
        this.#log.error({ err }, 'cannot compile the router; the last good one keeps serving');
      }
    }
    this.#pendingRouter = this.#pendingServices = this.#pendingRouterFull = false;
    this.#pendingRoutes = new Set();
    this.#pendingUpstreams = new Set();
    this.#pendingTargets = new Map();
    // a rebuild that cost d ms (more than 1 ms) is followed by d ms of batching
    const spent = performance.now() - started;
    this.#nextAt = spent > 1 ? performance.now() + spent : 0;
    // waiters continue after this synchronous swap
    this.#wake();
    if (router === prev.router && upstreams === prev.upstreams) return;
    const snap: Snapshot = { version: prev.version + 1, router, servicesById, upstreams };
    this.#snapshot = snap;
    this.#log.debug({ version: snap.version, ms: +(performance.now() - started).toFixed(3) }, 'snapshot swapped');
    for (const l of this.#listeners) {
      try {
        l(snap);
      } catch (err) {
        this.#log.error({ err }, 'snapshot listener failed');
      }
    }
  }

  /**
   * `previous` carries the latency algorithm's averages over; availability
   * and in-flight counts live in health's per-target records, which survive
   * the rebuild (Kong #7835).
   */
  #entry(u: Upstream, previous?: Balancer): UpstreamEntry {
    const targets = this.#store.targetsOf(u.id);
    let inputs: readonly TargetInput[] = targets;
    if (this.#dns) {
      const before = this.#ofUpstream.get(u.id);
      const now = new Set<string>();
      const all: TargetInput[] = [];
      for (const t of targets) {
        now.add(t.id);
        for (const x of this.#expand(t)) all.push(x);
      }
      if (before) for (const id of before) if (!now.has(id)) this.#drop(id);
      this.#ofUpstream.set(u.id, now);
      inputs = all;
    }
    const balancer: Balancer = createBalancer(u, inputs, previous ? { previous } : undefined);
    return { upstream: u, balancer };
  }

  /** `t`'s balancer entries now (DNS answers as cached), remembered for {@link addressesOf} and {@link dnsChanged}. */
  #expand(t: Target): readonly TargetInput[] {
    const dns = this.#dns!;
    const name = targetHostname(t);
    const entries = expandTarget(t, dns);
    const prev = this.#expanded.get(t.id);
    if (prev?.name !== name) {
      if (prev?.name !== undefined) this.#release(prev.name, t.id);
      if (name !== undefined) {
        let s = this.#users.get(name);
        if (!s) this.#users.set(name, (s = new Set()));
        s.add(t.id);
      }
    }
    this.#expanded.set(t.id, { name, entries });
    return entries;
  }

  /** The ids `targetId` had in its balancer (itself when never expanded). */
  #entryIds(targetId: string): string[] {
    const e = this.#expanded.get(targetId);
    return e ? e.entries.map((x) => x.id) : [targetId];
  }

  #drop(targetId: string): void {
    const e = this.#expanded.get(targetId);
    if (!e) return;
    this.#expanded.delete(targetId);
    if (e.name !== undefined) this.#release(e.name, targetId);
  }

  #dropUpstream(upstreamId: string): void {
    for (const id of this.#ofUpstream.get(upstreamId) ?? []) this.#drop(id);
    this.#ofUpstream.delete(upstreamId);
  }

  /** `targetId` no longer uses `name`; a name nobody uses is no longer re-resolved. */
  #release(name: string, targetId: string): void {
    const s = this.#users.get(name);
    if (!s) return;
    s.delete(targetId);
    if (s.size === 0) {
      this.#users.delete(name);
      this.#dns?.forget(name);
    }
  }

  /**
   * The entry of `old`'s upstream after changes to `targetIds`, derived
   * from its balancer in place, or undefined when it must be rebuilt (the
   * algorithm cannot follow, or a target does not parse: the rebuild then
   * reports it and keeps the last good balancer).
   */
  #derive(old: UpstreamEntry, targetIds: ReadonlySet<string>): UpstreamEntry | undefined {
    const uid = old.upstream.id;
    const upserts: TargetInput[] = [];
    const removed: string[] = [];
    for (const id of targetIds) {
      const t = this.#store.get('targets', id);
      if (!this.#dns) {
        if (t && t.upstream.id === uid) upserts.push(t);
        else removed.push(id);
        continue;
      }
      // a hostname target: its addresses now, and those it no longer has
      const before = this.#entryIds(id);
      const mine = this.#ofUpstream.get(uid);
      if (t && t.upstream.id === uid) {
        const now = this.#expand(t);
        const ids = new Set(now.map((x) => x.id));
        for (const x of now) upserts.push(x);
        for (const b of before) if (!ids.has(b)) removed.push(b);
        mine?.add(id);
      } else {
        removed.push(...before);
        // moved to another upstream: that one's expansion stays
        if (mine?.delete(id) && !t) this.#drop(id);
      }
    }
    try {
      const balancer = updateBalancer(old.balancer, old.upstream, upserts, removed);
      return balancer ? { upstream: old.upstream, balancer } : undefined;
    } catch {
      return undefined;
    }
  }

  #services(): Map<string, Service> {
    return new Map(this.#store.all('services').map((s) => [s.id, s]));
  }

  #router() {
    return compileRouter(this.#store.all('routes'), this.#services());
  }
}

/**
 * A target update that keeps address, weight and upstream (a lease renewal,
 * new tags) changes nothing the balancer uses: skip the rebuild.
 */
function balancerUnchanged(e: ChangeEvent): boolean {
  const a = e.old as Target | undefined;
  const b = e.entity as Target;
  return a !== undefined && a.target === b.target && a.weight === b.weight && a.upstream.id === b.upstream.id;
}
