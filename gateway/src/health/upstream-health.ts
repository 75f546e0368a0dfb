/**
 * The health of one upstream's targets: passive checks (Kong's counters over
 * real outcomes), the circuit breaker per target, active-check results,
 * manual overrides, warming, slow start, the stall guard, max ejection
 * percent and the all-unhealthy policy, over one {@link TargetRuntime}
 * record per target. The balancer is bound to those records (one narrow
 * method, `Balancer.bind`) and reads availability, factor and in-flight
 * counts from them.
 *
 * Pure state: time is injected, probes and timers belong to the
 * {@link HealthManager}; every real flip is reported once as a
 * {@link HealthEvent}.
 */
import type { Balancer } from '../balancer/balancer.js';
import type { BreakerTransition } from '../breaker/circuit-breaker.js';
import type { Upstream, UpstreamGwExtensions } from '../entities/types.js';
import { UPSTREAM_GW_DEFAULTS } from '../entities/upstreams.js';
import type { OutcomeKind, Thresholds } from './counters.js';
import { balancerHealthy } from './threshold.js';
import { LatencyStats } from './latency-stats.js';
import { TargetRuntime, type TargetRef, type TargetState } from './target-runtime.js';

export type { TargetRef } from './target-runtime.js';

/**
 * Told whenever a target's availability (what balancers read) changed:
 * `--workers` pushes it to the proxies. `trial`: the target is half-open and
 * the change admits one trial request (the owner grants that slot to one
 * process only).
 */
export type AvailabilityListener = (upstreamId: string, t: TargetRuntime, trial: boolean) => void;

export type HealthEvent =
  | {
      readonly kind: 'state';
      readonly upstream: string;
      readonly target: string;
      readonly from: TargetState;
      readonly to: TargetState;
      readonly reason: string;
    }
  | {
      readonly kind: 'breaker';
      readonly upstream: string;
      readonly target: string;
      readonly from: string;
      readonly to: string;
      readonly reason: string;
    }
  | { readonly kind: 'all-unhealthy'; readonly upstream: string; readonly on: boolean; readonly policy: 'fail-closed' | 'fail-open' }
  | { readonly kind: 'ejection-capped'; readonly upstream: string; readonly target: string; readonly reason: string };

/** Held out by passive evidence (an open or half-open circuit, the stall guard): what max_ejection_percent caps. */
const heldOut = (t: TargetRuntime): boolean => t.breaker.state.state !== 'closed' || t.stalled;

/** No time lost by the process itself (tests, and ticks driven by hand). */
const noLateness = (): number => 0;

/** Stall guard: how many hedging deadlines the oldest in-flight try may wait. */
export const STALL_DEADLINES = 2;
/** Upper bound of any adaptive deadline, ms (services' read_timeout caps hedging further). */
const DEADLINE_CAP_MS = 60_000;

export class UpstreamHealth {
  upstream: Upstream;
  readonly targets = new Map<string, TargetRuntime>();
  readonly latency = new LatencyStats();
  allUnhealthy = false;
  /** health of the targets of a deleted upstream of the same name, by address, taken over by new targets there */
  inherit: Map<string, TargetRuntime> | undefined;
  /** what {@link applyAll} last counted (kept up to date by derived attaches): targets of weight > 0, their weight, the routable ones, theirs */
  readonly #sums = { weighted: 0, totalWeight: 0, routable: 0, routableWeight: 0 };
  #gw: UpstreamGwExtensions;
  readonly #breakerCfg: { cooldownMs: number; cooldownMaxMs: number; halfOpenMax: number };
  readonly #now: () => number;
  readonly #emit: (e: HealthEvent) => void;
  readonly #onAvailability: AvailabilityListener | undefined;
  #nextToken = 1;

  constructor(upstream: Upstream, now: () => number, emit: (e: HealthEvent) => void, onAvailability?: AvailabilityListener) {
    this.#now = now;
    this.#emit = emit;
    this.#onAvailability = onAvailability;
    this.upstream = upstream;
    this.#gw = { ...UPSTREAM_GW_DEFAULTS, ...(upstream.gw ?? {}) };
    this.#breakerCfg = { cooldownMs: 0, cooldownMaxMs: 0, halfOpenMax: 1 };
    this.configure(upstream);
  }

  get gw(): UpstreamGwExtensions {
    return this.#gw;
  }

  /** Take a new version of the upstream entity (thresholds and gw knobs apply at once). */
  configure(upstream: Upstream): void {
    this.upstream = upstream;
    this.#gw = { ...UPSTREAM_GW_DEFAULTS, ...(upstream.gw ?? {}) };
    // shared by every breaker of this upstream, so a change applies to all
    this.#breakerCfg.cooldownMs = this.#gw.breaker_cooldown * 1000;
    this.#breakerCfg.cooldownMaxMs = Math.max(this.#gw.breaker_cooldown_max, this.#gw.breaker_cooldown) * 1000;
  }

  /** Kong: a checker exists when an active interval or a passive unhealthy threshold is set. */
  checksOn(): boolean {
    const h = this.upstream.healthchecks;
    const p = h.passive.unhealthy;
    return this.activeOn() || p.tcp_failures > 0 || p.timeouts > 0 || p.http_failures > 0;
  }

  /** Active probing configured (`type: tcp` included; intervals 0 = off). */
  activeOn(): boolean {
    const a = this.upstream.healthchecks.active;
    return a.healthy.interval > 0 || a.unhealthy.interval > 0;
  }

  /**
   * Follow the balancer's target list. Targets seen for the first time
   * start `warming` when active checks are on and `initial` is false (a
   * target added at run time gets no traffic before its first good probe).
   */
  sync(refs: readonly TargetRef[], initial: boolean): void {
    this.#heldOut = -1;
    const seen = new Set<string>();
    for (const r of refs) {
      seen.add(r.id);
      this.#upsert(r, initial);
    }
    for (const id of this.targets.keys()) if (!seen.has(id)) this.targets.delete(id);
  }

  /**
   * {@link sync} for a balancer derived in place: only `changed` targets
   * (new or changed) and `removed` ids. Their part of the all-unhealthy
   * sums is taken out here and counted again by {@link attach}.
   */
  syncChanges(changed: readonly TargetRef[], removed: readonly string[], initial: boolean): void {
    this.#heldOut = -1;
    for (const id of removed) {
      const t = this.targets.get(id);
      if (!t) continue;
      this.#uncount(t);
      this.targets.delete(id);
    }
    for (const r of changed) {
      const t = this.targets.get(r.id);
      if (t) this.#uncount(t);
      this.#upsert(r, initial);
    }
  }

  #upsert(r: TargetRef, initial: boolean): void {
    const t = this.targets.get(r.id);
    if (t) {
      t.address = r.address;
      t.host = r.host;
      t.port = r.port;
      t.weight = r.weight;
      return;
    }
    const nt = new TargetRuntime(r, this.#breakerCfg, this.#now);
    const old = this.inherit?.get(r.address);
    if (old !== undefined) {
      this.inherit?.delete(r.address);
      nt.adoptHealth(old);
    } else if (!initial && this.activeOn() && r.weight > 0) {
      nt.warming = true;
      nt.nextProbeAt = this.#now(); // the manager jitters the first probe
    }
    this.targets.set(r.id, nt);
  }

  /**
   * Route with `balancer` from now on: bind it to this upstream's records
   * (call after {@link sync}). With `only` (a balancer derived in place from
   * the bound one), just those targets are bound; the rest already are.
   */
  attach(balancer: Balancer, only?: readonly TargetRef[]): void {
    if (!only || !this.#applySome(only)) this.applyAll();
    balancer.bind(
      (id) => this.targets.get(id),
      only?.map((r) => r.id),
    );
  }

  // ---- what the proxy reports -------------------------------------------

  /** A try started on `id`: counts it in flight, takes a half-open trial slot; returns a token for {@link tryEnded}. */
  tryStarted(id: string, longLived = false): number {
    const t = this.targets.get(id);
    const token = this.#nextToken++;
    if (!t) return token;
    t.tryStarted(token, this.#now(), !longLived);
    if (t.breaker.state.state === 'half-open') this.trialStarted(t);
    return token;
  }

  /** A half-open trial request was sent to `t` (here, or by a `--workers` proxy that held the slot). */
  trialStarted(t: TargetRuntime): void {
    if (t.breaker.state.state !== 'half-open') return;
    t.breaker.trialStarted();
    if (!t.breaker.admits()) this.applyAll();
  }

  /** The try is over (answered, failed or cancelled). */
  tryEnded(id: string, token: number, latencyMs = 0, ok = true): void {
    this.targets.get(id)?.tryEnded(token, latencyMs, ok);
  }

  /**
   * Passive check: the outcome of one try (kong-semantics §5). A status is
   * classified by the passive status lists (others are ignored); `latencyMs`
   * (time to headers) feeds the stall guard and hedging deadline.
   */
  outcome(id: string, kind: OutcomeKind, status?: number, latencyMs?: number, token?: number): void {
    const t = this.targets.get(id);
    if (!t) return;
    const now = this.#now();
    if (token !== undefined) t.answered(token);
    t.outcomes++;
    if (kind === 'tcp_failure' || kind === 'timeout' || (status !== undefined && status >= 500)) t.failedOutcomes++;
    let k: OutcomeKind | null = kind;
    if (kind === 'success' || kind === 'http_failure') {
      t.lastResponseAt = now;
      if (latencyMs !== undefined) this.latency.add(latencyMs);
      t.stallCapped = false;
      if (t.stalled) this.#set(t, () => (t.stalled = false), 'answered again');
      if (status !== undefined) {
        const p = this.upstream.healthchecks.passive;
        k = p.unhealthy.http_statuses.includes(status) ? 'http_failure' : p.healthy.http_statuses.includes(status) ? 'success' : null;
      }
    }
    if (kind === 'timeout' && latencyMs !== undefined && this.#gw.stall_guard && !t.stalled) {
      // a hedge race lost without any answer: the same evidence the stall guard waits for
      this.#stall(t, `lost a hedge race after ${Math.round(latencyMs)} ms without answering`);
    }
    if (k === null) return;
    const b = t.breaker.state.state;
    if (b === 'half-open') {
      if (k === 'success') {
        this.#set(
          t,
          () => {
            this.#bt(t, t.breaker.success());
            t.passiveCounters.reset();
          },
          'trial request succeeded',
        );
      } else this.#set(t, () => this.#bt(t, t.breaker.failure()), 'trial request failed');
      return;
    }
    if (b === 'open') return; // counting stops while already ejected
    const verdict = t.passiveCounters.record(k, this.#passiveThresholds());
    if (verdict !== 'unhealthy') return;
    const reason = `passive ${k.replace('_', ' ')}s reached ${t.passiveCounters[k === 'http_failure' ? 'http_failures' : k === 'tcp_failure' ? 'tcp_failures' : 'timeouts']}`;
    if (!this.#canHoldOut(t)) {
      this.#capped(t, reason);
      t.passiveCounters.reset();
      return;
    }
    this.#set(t, () => this.#bt(t, t.breaker.open(reason)), reason);
  }

  // ---- what active checks and operators report --------------------------

  /** Result of one active probe (already classified by the prober). */
  probed(id: string, kind: OutcomeKind): void {
    const t = this.targets.get(id);
    if (!t || t.weight === 0) return;
    if (kind === 'success' && t.warming) this.#set(t, () => (t.warming = false), 'first successful probe');
    const a = this.upstream.healthchecks.active;
    const verdict = t.activeCounters.record(kind, { ...a.unhealthy, successes: a.healthy.successes });
    if (verdict === 'unhealthy' && !t.failedActive) {
      this.#set(t, () => (t.failedActive = true), `active ${kind.replace('_', ' ')}s reached threshold`);
    } else if (verdict === 'healthy' && t.unhealthy()) {
      this.#set(
        t,
        () => {
          t.failedActive = false;
          t.manualUnhealthy = false;
          this.#bt(t, t.breaker.reset('active checks succeeded'));
        },
        'active successes reached threshold',
      );
    }
  }

  /** Kong's `PUT …/healthy|unhealthy`: immediate, clears the counters. */
  manual(id: string, healthy: boolean): boolean {
    const t = this.targets.get(id);
    if (!t) return false;
    t.activeCounters.reset();
    t.passiveCounters.reset();
    this.#set(
      t,
      () => {
        if (!healthy) {
          t.manualUnhealthy = true;
          return;
        }
        t.manualUnhealthy = t.failedActive = t.warming = t.stalled = false;
        this.#bt(t, t.breaker.reset('set healthy by an operator'));
      },
      healthy ? 'set healthy by an operator' : 'set unhealthy by an operator',
    );
    return true;
  }

  /**
   * Another gateway node ejected this target (its passive checks or breaker,
   * cluster mode): open the breaker here too, with the same cool-down and
   * max_ejection_percent; a target already ejected here is left as it is.
   * Returns whether it was ejected now.
   */
  ejectedElsewhere(id: string, reason: string): boolean {
    const t = this.targets.get(id);
    if (!t || t.breaker.state.state !== 'closed' || !this.#canHoldOut(t)) return false;
    t.passiveCounters.reset();
    this.#set(t, () => this.#bt(t, t.breaker.open(reason)), reason);
    return true;
  }

  // ---- time -------------------------------------------------------------

  /**
   * Advance time-driven transitions: open → half-open, slow-start ramps, the
   * stall guard. `lateSince(t0)`: how long this process itself was busy or
   * paused since `t0` (ms; the health ticks' lateness, health-manager.ts): a
   * try cannot be answered while the process does not run, so that time is
   * not held against its target.
   */
  tick(lateSince: (t0: number) => number = noLateness): void {
    const now = this.#now();
    const stallAfter = this.#gw.stall_guard ? this.stallThreshold() : undefined;
    for (const t of this.targets.values()) {
      if (t.breaker.due()) this.#set(t, () => this.#bt(t, t.breaker.halfOpen()), 'cool-down ended');
      if (stallAfter !== undefined && !t.stalled && t.weight > 0) {
        const oldest = t.oldestWaiting();
        if (oldest !== undefined && now - oldest > stallAfter && this.#othersAnsweredSince(t, oldest)) {
          const waited = now - oldest - lateSince(oldest);
          if (waited > stallAfter)
            this.#stall(t, `oldest in-flight request waiting ${Math.round(waited)} ms (limit ${Math.round(stallAfter)} ms)`);
        }
      }
      // a stalled target that never answered gets traffic again after a cool-down (it may have recovered)
      if (t.stalled && now >= t.stalledUntil) this.#set(t, () => (t.stalled = false), 'stall cool-down ended');
      if (t.rampStart !== null) {
        const f = this.#factor(t);
        if (!this.allUnhealthy) this.#publish(t, t.routable(), f, false);
      }
    }
  }

  /** The passive thresholds of the current configuration, made once per configuration (they are read on every proxied answer). */
  #passiveThresholds(): Thresholds {
    if (this.#thresholdsOf !== this.upstream) {
      this.#thresholds = passiveThresholds(this.upstream);
      this.#thresholdsOf = this.upstream;
    }
    return this.#thresholds!;
  }
  #thresholds: Thresholds | undefined;
  #thresholdsOf: Upstream | undefined;

  /** Hedging deadline for a try, ms, or undefined (off, or too few samples yet). */
  hedgeDelay(readTimeoutMs: number): number | undefined {
    return hedgeDeadline(this.#gw, this.latency, readTimeoutMs);
  }

  /** How long the oldest in-flight try may wait before the stall guard holds the target out, ms. */
  stallThreshold(): number | undefined {
    const d = this.latency.deadline(this.#gw.hedge_min_delay, DEADLINE_CAP_MS);
    return d === undefined ? undefined : STALL_DEADLINES * d;
  }

  /** Derive every target's availability (with the all-unhealthy policy) into its record. */
  applyAll(): void {
    let weighted = 0;
    let routable = 0;
    let totalWeight = 0;
    let routableWeight = 0;
    for (const t of this.targets.values()) {
      t.countedWeight = t.weight;
      t.countedRoutable = t.weight > 0 && t.routable();
      if (t.weight === 0) continue;
      weighted++;
      totalWeight += t.weight;
      if (t.countedRoutable) {
        routable++;
        routableWeight += t.weight;
      }
    }
    const sums = this.#sums;
    [sums.weighted, sums.totalWeight, sums.routable, sums.routableWeight] = [weighted, totalWeight, routable, routableWeight];
    const all = this.#allUnhealthy();
    if (all !== this.allUnhealthy) {
      this.allUnhealthy = all;
      this.#emit({ kind: 'all-unhealthy', upstream: this.upstream.name, on: all, policy: this.#gw.all_unhealthy });
    }
    const open = all && this.#gw.all_unhealthy === 'fail-open';
    const closed = all && !open;
    for (const t of this.targets.values()) {
      const available = open || (!closed && t.routable());
      this.#publish(t, available, open ? 1 : this.#factor(t), available && !open && t.breaker.state.state === 'half-open');
    }
  }

  // ---- internals --------------------------------------------------------

  /** Kong's healthchecks.threshold: at or below this % of the weight available, the whole upstream is unhealthy */
  #allUnhealthy(): boolean {
    const s = this.#sums;
    return s.weighted > 0 && (s.routable === 0 || !balancerHealthy(s.totalWeight, s.routableWeight, this.upstream.healthchecks.threshold));
  }

  /** Take `t`'s part out of the sums {@link applyAll} counted. */
  #uncount(t: TargetRuntime): void {
    const s = this.#sums;
    if (t.countedWeight > 0) {
      s.weighted--;
      s.totalWeight -= t.countedWeight;
      if (t.countedRoutable) {
        s.routable--;
        s.routableWeight -= t.countedWeight;
      }
    }
    t.countedWeight = 0;
    t.countedRoutable = false;
  }

  /**
   * {@link applyAll} for a balancer derived in place, in O(changed): count
   * the changed targets into the sums (syncChanges took their old part and
   * the removed targets' out) and publish just them. Every other target's
   * routability is as last counted (each change of it runs applyAll), so
   * this is what applyAll would publish, unless the upstream is or becomes
   * all-unhealthy: then returns false and the caller runs applyAll.
   */
  #applySome(changed: readonly TargetRef[]): boolean {
    const s = this.#sums;
    const ts: TargetRuntime[] = [];
    for (const r of changed) {
      const t = this.targets.get(r.id);
      if (!t) continue;
      ts.push(t);
      this.#uncount(t);
      t.countedWeight = t.weight;
      t.countedRoutable = t.weight > 0 && t.routable();
      if (t.weight === 0) continue;
      s.weighted++;
      s.totalWeight += t.weight;
      if (t.countedRoutable) {
        s.routable++;
        s.routableWeight += t.weight;
      }
    }
    if (this.allUnhealthy || this.#allUnhealthy()) return false;
    for (const t of ts) {
      const available = t.routable();
      this.#publish(t, available, this.#factor(t), available && t.breaker.state.state === 'half-open');
    }
    return true;
  }

  #publish(t: TargetRuntime, available: boolean, factor: number, trial: boolean): void {
    if (t.setAvailability(available, factor)) this.#onAvailability?.(this.upstream.id, t, trial);
  }

  /** Run `mutate` on `t`, then report the flip (if any) and push availability when routability changed. */
  #set(t: TargetRuntime, mutate: () => void, reason: string): void {
    const before = t.state();
    const wasRoutable = t.routable();
    mutate();
    this.#heldOut = -1;
    const after = t.state();
    if (after !== before) this.#emit({ kind: 'state', upstream: this.upstream.name, target: t.address, from: before, to: after, reason });
    if (t.routable() !== wasRoutable) {
      if (t.routable() && t.breaker.state.state === 'closed' && this.#gw.slow_start > 0) t.rampStart = this.#now();
      this.applyAll();
    }
  }

  /** Passive evidence would hold `t` out, but max_ejection_percent does not let it: say so (logged `ejection skipped`, counted). */
  #capped(t: TargetRuntime, reason: string): void {
    this.#emit({
      kind: 'ejection-capped',
      upstream: this.upstream.name,
      target: t.address,
      reason: `${reason}; max_ejection_percent ${this.#gw.max_ejection_percent} reached`,
    });
  }

  /** The stall guard holds `t` out (until it answers, or for a cool-down), unless max_ejection_percent is reached. */
  #stall(t: TargetRuntime, reason: string): void {
    if (!this.#canHoldOut(t)) {
      if (!t.stallCapped) this.#capped(t, `stall guard: ${reason}`);
      t.stallCapped = true;
      return;
    }
    t.stalledUntil = this.#now() + this.#gw.breaker_cooldown * 1000;
    this.#set(t, () => (t.stalled = true), reason);
  }

  /** Report a breaker transition (call inside {@link #set} so the derived flip is reported too). */
  #bt(t: TargetRuntime, tr: BreakerTransition | null): void {
    if (tr) this.#emit({ kind: 'breaker', upstream: this.upstream.name, target: t.address, from: tr.from, to: tr.to, reason: tr.reason });
  }

  #factor(t: TargetRuntime): number {
    if (t.rampStart === null) return 1;
    const f = (this.#now() - t.rampStart) / (this.#gw.slow_start * 1000);
    if (f >= 1 || this.#gw.slow_start === 0) {
      t.rampStart = null;
      return 1;
    }
    return Math.max(0, f);
  }

  /**
   * Max ejection percent: whether passive evidence may hold `t` out too. It
   * counts every other target held out that way, an open (or half-open)
   * circuit or the stall guard, so that together they never take more than
   * that share of the weighted targets; at least one target may always be
   * held out (Envoy).
   */
  #canHoldOut(t: TargetRuntime): boolean {
    // counted once per change (every flag and breaker change goes through #set, every weight change through a sync):
    // a hung majority re-checked on every tick or lost hedge race costs O(1) each, not a pass over the targets
    if (this.#heldOut < 0) {
      let total = 0;
      let out = 0;
      for (const o of this.targets.values()) {
        if (o.weight === 0) continue;
        total++;
        if (heldOut(o)) out++;
      }
      this.#heldOut = out;
      this.#weighted = total;
    }
    const out = this.#heldOut - (t.weight > 0 && heldOut(t) ? 1 : 0);
    return out === 0 || (out + 1) * 100 <= this.#gw.max_ejection_percent * this.#weighted;
  }
  /** targets with weight held out by passive evidence, and targets with weight; -1: to be counted again */
  #heldOut = -1;
  #weighted = 0;

  #othersAnsweredSince(t: TargetRuntime, since: number): boolean {
    for (const o of this.targets.values()) if (o !== t && o.lastResponseAt > since) return true;
    return false;
  }
}

/** The adaptive hedging deadline of an upstream (also used by `--workers` proxies on their own samples). */
export function hedgeDeadline(gw: UpstreamGwExtensions, latency: LatencyStats, readTimeoutMs: number): number | undefined {
  if (!gw.hedging) return undefined;
  return latency.deadline(gw.hedge_min_delay, Math.min(readTimeoutMs, DEADLINE_CAP_MS));
}

function passiveThresholds(u: Upstream): Thresholds {
  const p = u.healthchecks.passive;
  return {
    successes: p.healthy.successes,
    http_failures: p.unhealthy.http_failures,
    tcp_failures: p.unhealthy.tcp_failures,
    timeouts: p.unhealthy.timeouts,
  };
}
