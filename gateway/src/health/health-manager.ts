/**
 * The node's health and limits, one {@link UpstreamHealth} and
 * {@link UpstreamLimits} per upstream, following the runtime's snapshots:
 * the proxy reports outcomes here ({@link OutcomeSink}, declared in
 * health/outcomes.ts), active probes run from here, and each upstream's
 * balancer is bound to the upstream's per-target records.
 *
 * Data flow: health events → target record → balancer (reads the record).
 */
import type { Upstream } from '../entities/types.js';
import { UpstreamLimits } from '../limits/upstream-limits.js';
import type { Logger } from '../observability/log.js';
import type { Runtime, Snapshot } from '../runtime/runtime.js';
import { probeTarget, type Probe } from './active-prober.js';
import { LoopLateness } from './loop-lateness.js';
import type { OutcomeKind } from './counters.js';
import type { OutcomeSink } from './outcomes.js';
import type { TargetRuntime, TargetState } from './target-runtime.js';
import { UpstreamHealth, type AvailabilityListener, type HealthEvent } from './upstream-health.js';

export interface HealthManagerOptions {
  runtime: Runtime;
  logger: Logger;
  /** clock in ms (default Date.now) */
  now?: () => number;
  /** the active probe (default: real TCP/HTTP probes) */
  probe?: Probe;
  /** timer period for time-driven transitions and probe scheduling, ms; 0 = no timer (tests call tick()) */
  tickMs?: number;
  /** [0,1) source for probe jitter */
  random?: () => number;
  /** told of every availability change (`--workers` pushes them to the proxies) */
  onAvailability?: AvailabilityListener;
}

/** What the Admin API shows per target. */
export interface TargetHealthView {
  readonly health: 'HEALTHY' | 'UNHEALTHY' | 'HEALTHCHECKS_OFF';
  readonly state: TargetState;
  /** ISO time the circuit re-admits trial requests, or null */
  readonly ejected_until: string | null;
}

export type ManualResult = 'ok' | 'no-balancer' | 'no-checker' | 'not-found';

/** how long a deleted upstream's target health waits for an upstream of the same name (ms), and for how many names */
const RETIRED_KEEP_MS = 10 * 60_000;
const RETIRED_MAX = 1000;

export class HealthManager implements OutcomeSink {
  readonly #runtime: Runtime;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #probe: Probe;
  readonly #random: () => number;
  readonly #tickMs: number;
  readonly #onAvailability: AvailabilityListener | undefined;
  readonly #health = new Map<string, UpstreamHealth>();
  readonly #limits = new Map<string, UpstreamLimits>();
  /** upstream id → the balancer bound to the records last */
  readonly #attached = new Map<string, object>();
  readonly #listeners = new Set<(e: HealthEvent) => void>();
  /** probes running per upstream id (active.concurrency) */
  readonly #probing = new Map<string, number>();
  /**
   * Per upstream id, the targets found due at the last tick and not yet
   * probed, in order: a probe that ends starts the next one at once (as
   * Kong's `concurrency` work packages run their checks back to back), so
   * the probe rate is bounded by `concurrency` / probe time, not by
   * `concurrency` per tick.
   */
  readonly #due = new Map<string, { list: TargetRuntime[]; next: number }>();
  /** deleted upstreams' target health by upstream name, then address (see {@link UpstreamHealth.inherit}) */
  readonly #retired = new Map<string, { at: number; targets: Map<string, TargetRuntime> }>();
  #unsubscribe: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** how late the timer's ticks ran (the stall guard discounts it); none when ticks are driven by hand (tickMs 0) */
  readonly #lateness: LoopLateness | undefined;
  /** counters the metrics read */
  readonly stats = { probes: new Map<string, number>(), shed: 0 };

  constructor(opts: HealthManagerOptions) {
    this.#runtime = opts.runtime;
    this.#log = opts.logger.child({ component: 'health' });
    this.#now = opts.now ?? Date.now;
    this.#probe = opts.probe ?? probeTarget;
    this.#random = opts.random ?? Math.random;
    this.#tickMs = opts.tickMs ?? 100;
    this.#lateness = this.#tickMs > 0 ? new LoopLateness(this.#tickMs) : undefined;
    this.#onAvailability = opts.onAvailability;
  }

  start(): void {
    if (this.#unsubscribe) return;
    this.#follow(this.#runtime.snapshot, true);
    this.#unsubscribe = this.#runtime.onSnapshot((s) => this.#follow(s, false));
    if (this.#tickMs > 0) {
      this.#timer = setInterval(() => this.tick(), this.#tickMs);
      this.#timer.unref();
    }
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Subscribe to health events (flips, breaker transitions, all-unhealthy); returns the disposer. */
  onEvent(listener: (e: HealthEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  upstream(id: string): UpstreamHealth | undefined {
    return this.#health.get(id);
  }

  // ---- OutcomeSink (the proxy's reports) ---------------------------------

  admit(upstreamId: string): number {
    const l = this.#limits.get(upstreamId);
    if (!l) return 0;
    const r = l.admit();
    if (r > 0) this.stats.shed++;
    return r;
  }

  requestDone(upstreamId: string, failed: boolean): void {
    this.#limits.get(upstreamId)?.done(failed);
  }

  tryStarted(upstreamId: string, targetId: string, longLived?: boolean): number {
    return this.#health.get(upstreamId)?.tryStarted(targetId, longLived) ?? 0;
  }

  tryEnded(upstreamId: string, targetId: string, token: number, durationMs: number, ok: boolean): void {
    this.#health.get(upstreamId)?.tryEnded(targetId, token, durationMs, ok);
  }

  // ---- what other processes of the node report (`--workers`) --------------

  /** A proxy that held a half-open trial slot sent the trial. */
  trialStarted(upstreamId: string, targetId: string): void {
    const h = this.#health.get(upstreamId);
    const t = h?.targets.get(targetId);
    if (h && t) h.trialStarted(t);
  }

  /** The oldest try waiting for headers on a target in the other processes (ms, 0 = none). */
  remoteWaiting(upstreamId: string, targetId: string, oldest: number): void {
    const t = this.#health.get(upstreamId)?.targets.get(targetId);
    if (t) t.remoteOldest = oldest;
  }

  /** Tries in flight to a target on this process. */
  inFlight(upstreamId: string, targetId: string): number {
    return this.#health.get(upstreamId)?.targets.get(targetId)?.inFlight ?? 0;
  }

  /** The record of a target (metrics, tests). */
  target(upstreamId: string, targetId: string): TargetRuntime | undefined {
    return this.#health.get(upstreamId)?.targets.get(targetId);
  }

  onOutcome(upstreamId: string, targetId: string, token: number, kind: OutcomeKind, status?: number, latencyMs?: number): void {
    this.#health.get(upstreamId)?.outcome(targetId, kind, status, latencyMs, token);
  }

  hedgeDelay(upstreamId: string, readTimeoutMs: number): number | undefined {
    return this.#health.get(upstreamId)?.hedgeDelay(readTimeoutMs);
  }

  // ---- Admin API ----------------------------------------------------------

  view(upstreamId: string, targetId: string): TargetHealthView | undefined {
    const h = this.#health.get(upstreamId);
    const t = h?.targets.get(targetId);
    if (!h || !t) return undefined;
    const until = t.breaker.until;
    return {
      health: h.checksOn() ? t.kongHealth() : 'HEALTHCHECKS_OFF',
      state: t.state(),
      ejected_until: until === null ? null : new Date(until).toISOString(),
    };
  }

  /** Kong's `PUT …/healthy|unhealthy`. */
  setManual(upstreamId: string, targetId: string, healthy: boolean): ManualResult {
    const h = this.#health.get(upstreamId);
    if (!h) return 'no-balancer';
    if (!h.checksOn()) return 'no-checker';
    return h.manual(targetId, healthy) ? 'ok' : 'not-found';
  }

  /** Another node ejected a target (cluster mode), named as health events name it: upstream name and target address. */
  ejectedElsewhere(upstreamName: string, address: string, reason: string): boolean {
    for (const h of this.#health.values()) {
      if (h.upstream.name !== upstreamName) continue;
      for (const t of h.targets.values()) if (t.address === address) return h.ejectedElsewhere(t.id, reason);
    }
    return false;
  }

  // ---- time ---------------------------------------------------------------

  /** Time-driven work: breaker cool-downs, slow-start ramps, the stall guard, due probes. */
  tick(): void {
    const lateness = this.#lateness;
    lateness?.tick(this.#now());
    for (const h of this.#health.values()) {
      h.tick(lateness?.since);
      if (h.activeOn()) this.#scheduleProbes(h);
    }
  }

  #scheduleProbes(h: UpstreamHealth): void {
    const now = this.#now();
    const list: TargetRuntime[] = [];
    for (const t of h.targets.values()) {
      if (t.weight === 0 || t.probing) continue;
      const ms = this.#intervalMs(h, t);
      if (ms === 0) continue;
      // first probe jittered over one interval (a fleet restart does not probe at one instant), warming ones soon
      if (t.nextProbeAt === 0) t.nextProbeAt = now + this.#random() * (t.warming ? Math.min(ms, 250) : ms);
      if (now >= t.nextProbeAt) list.push(t);
    }
    this.#due.set(h.upstream.id, { list, next: 0 });
    this.#pump(h);
  }

  /** Start due probes of `h` while fewer than `active.concurrency` run. */
  #pump(h: UpstreamHealth): void {
    const a = h.upstream.healthchecks.active;
    const id = h.upstream.id;
    const due = this.#due.get(id);
    if (due === undefined) return;
    while (due.next < due.list.length) {
      const running = this.#probing.get(id) ?? 0;
      if (running >= a.concurrency) return;
      const t = due.list[due.next++]!;
      // left, or changed since the tick found it due
      if (t.probing || t.weight === 0 || h.targets.get(t.id) !== t) continue;
      this.#probing.set(id, running + 1);
      t.probing = true;
      const started = this.#now();
      // an address of a hostname target is probed with the name as Host (Kong), like the proxy sends it
      const hostHeader = h.upstream.host_header ?? (t.name === undefined ? null : `${t.name}:${t.port}`);
      void this.#probe({ host: t.host, port: t.port, address: t.address, hostHeader, active: a })
        .catch((): OutcomeKind => 'tcp_failure')
        .then((kind) => {
          t.probing = false;
          this.#probing.set(id, Math.max(0, (this.#probing.get(id) ?? 1) - 1));
          const label = kind ?? 'ignored';
          this.stats.probes.set(label, (this.stats.probes.get(label) ?? 0) + 1);
          if (kind) h.probed(t.id, kind);
          const next = this.#intervalMs(h, t) || this.#intervalMs(h, t, true);
          t.nextProbeAt = started + next * (0.9 + 0.2 * this.#random());
          // the next due target, unless the upstream left or its checks went off meanwhile
          if (this.#health.get(id) === h && h.activeOn()) this.#pump(h);
        });
    }
    this.#due.delete(id);
  }

  /** Kong: healthy targets every healthy.interval, unhealthy ones every unhealthy.interval; warming ones at the shorter. */
  #intervalMs(h: UpstreamHealth, t: TargetRuntime, any = false): number {
    const a = h.upstream.healthchecks.active;
    const hi = a.healthy.interval * 1000;
    const ui = a.unhealthy.interval * 1000;
    if (t.warming || any) return hi && ui ? Math.min(hi, ui) : hi || ui;
    return t.unhealthy() ? ui : hi;
  }

  // ---- following the runtime ----------------------------------------------

  #follow(snap: Snapshot, initial: boolean): void {
    const live = new Set<string>();
    for (const entry of snap.upstreams.values()) live.add(entry.upstream.id);
    // deleted upstreams: their targets' health is kept a while by name (Kong keys health by upstream name)
    const now = this.#now();
    for (const [id, h] of [...this.#health]) {
      if (live.has(id)) continue;
      this.#retired.delete(h.upstream.name);
      this.#retired.set(h.upstream.name, { at: now, targets: new Map([...h.targets.values()].map((t) => [t.address, t])) });
      this.#health.delete(id);
      this.#limits.delete(id);
      this.#attached.delete(id);
      this.#probing.delete(id);
      this.#due.delete(id);
    }
    for (const [name, r] of this.#retired) {
      if (now - r.at <= RETIRED_KEEP_MS && this.#retired.size <= RETIRED_MAX) break;
      this.#retired.delete(name); // oldest first (insertion order)
    }
    for (const entry of snap.upstreams.values()) {
      const u = entry.upstream;
      let h = this.#health.get(u.id);
      if (!h) {
        h = new UpstreamHealth(u, this.#now, (e) => this.#emit(e), this.#onAvailability);
        const retired = this.#retired.get(u.name);
        if (retired) {
          h.inherit = retired.targets;
          this.#retired.delete(u.name);
        }
        this.#health.set(u.id, h);
        this.#limits.set(u.id, new UpstreamLimits(h.gw, this.#now));
      } else if (h.upstream !== u) {
        this.#reconfigure(h, u);
      }
      const attached = this.#attached.get(u.id);
      if (attached !== entry.balancer) {
        const d = entry.balancer.derivation;
        if (attached !== undefined && d?.from === attached) {
          // derived in place from the balancer health is bound to: only these targets changed
          h.syncChanges(d.changed, d.removed, initial);
          h.attach(entry.balancer, d.changed);
        } else {
          h.sync(entry.balancer.targets, initial);
          h.attach(entry.balancer);
        }
        this.#attached.set(u.id, entry.balancer);
      }
    }
  }

  #reconfigure(h: UpstreamHealth, u: Upstream): void {
    h.configure(u);
    this.#limits.get(u.id)?.configure(h.gw);
  }

  #emit(e: HealthEvent): void {
    switch (e.kind) {
      case 'state':
        this.#log.info({ upstream: e.upstream, target: e.target, from: e.from, to: e.to, reason: e.reason }, 'target health changed');
        break;
      case 'breaker':
        this.#log.info({ upstream: e.upstream, target: e.target, from: e.from, to: e.to, reason: e.reason }, 'circuit breaker changed');
        break;
      case 'all-unhealthy':
        if (e.on)
          this.#log.warn(
            { upstream: e.upstream, policy: e.policy },
            e.policy === 'fail-open'
              ? 'every target is unhealthy: failing open (routing to all)'
              : 'every target is unhealthy: failing closed (503)',
          );
        else this.#log.info({ upstream: e.upstream }, 'a target is healthy again');
        break;
      case 'ejection-capped':
        this.#log.warn({ upstream: e.upstream, target: e.target, reason: e.reason }, 'ejection skipped');
        break;
      default:
        break;
    }
    for (const l of this.#listeners) l(e);
  }
}
