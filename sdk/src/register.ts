/**
 * `register()`: put this instance in the gateway (upstream, service, routes,
 * target), keep it there (lease renewal on gw, reconcile on Kong), and take
 * it out cleanly on shutdown (drain, wait for in-flight to reach 0, delete).
 * Shared objects (service, routes, upstream) are never deleted by an
 * instance leaving.
 */
import { pino, type Logger } from 'pino';
import { autoPromote, deploymentUpstream, type AutoPromoteOutcome } from './blue-green.js';
import { detectIdentity, type Identity } from './detect.js';
import {
  detectGateway,
  drainTargets,
  isMarkedDrained,
  wasDrainedAway,
  type DrainProgress,
  type DrainResult,
  type TargetEntity,
} from './drain.js';
import { removeStaleHolders } from './identity-guard.js';
import { Lifecycle } from './lifecycle.js';
import { GwSdkError } from './errors.js';
import { AdminApiError, enc, KongAdmin } from './kong-admin.js';
import { resolveOptions, type RegisterOptions, type ResolvedOptions } from './options.js';
import { decide, resolveStamp, stampOf, stampTags, withLedger, type Stamp } from './ownership.js';
import { tag, TAG } from '../../contract/src/tags.js';
import { routeName } from '../../contract/src/registration.js';

/**
 * `drained`: an operator drained this target from outside (`gw-agent drain`,
 * `gw-agent deregister`: weight 0 and tag `gw-drained`, or deleted after
 * such a drain). The registration leaves it that way until the process
 * restarts: no re-registration, no weight change; a drained lease is still
 * renewed, a deleted target stays gone. close() still deregisters.
 */
export type RegistrationState = 'registering' | 'registered' | 'drained' | 'draining' | 'deregistered' | 'failed';

export interface Registration {
  readonly state: RegistrationState;
  /** `host:port` as registered */
  readonly target: string | undefined;
  /** 'gw' or 'kong', once known; 'cloudmap' with backend cloudmap */
  readonly gateway: 'gw' | 'kong' | 'cloudmap' | undefined;
  /** the upstream the target is in (blue-green: this deployment's, known once registered; backend cloudmap: the Cloud Map service id) */
  readonly upstream: string;
  /** blue-green: the last automatic-promotion check's outcome (undefined in rolling mode or before the first check) */
  readonly promotion: AutoPromoteOutcome | undefined;
  /** instance id and deployment, once detected */
  readonly instanceId: string | undefined;
  readonly deployment: string | undefined;
  /**
   * Why registration failed (state `failed`), also with `background: true`:
   * a {@link GwSdkError} `GW_ERR_SDK_REGISTRATION_REFUSED` (the gateway
   * answered what no retry fixes: 401, 403, 400…; `cause` is the
   * {@link AdminApiError}) or `GW_ERR_SDK_REGISTRATION_TIMEOUT` (retried until
   * `registerTimeout`; `cause` is the last attempt's error).
   */
  readonly error: Error | undefined;
  /** false after {@link Registration.setAvailable}(false) or {@link Registration.drain} */
  readonly available: boolean;
  /**
   * Mark the target down (weight 0, e.g. the app's health check fails) or
   * back up (the configured weight). Stays registered; the lease is kept.
   * No-op after drain() or close().
   */
  setAvailable(up: boolean): Promise<void>;
  /**
   * Drain without deregistering: weight 0, then wait until the gateway
   * reports no requests in flight (gw) or the drain delay (Kong), bounded
   * by `timeoutMs` (default drainTimeout). The lease is still kept; close()
   * deregisters later.
   */
  drain(opts?: { timeoutMs?: number; onProgress?: (p: DrainProgress) => void }): Promise<DrainResult>;
  /** Drain, wait for in-flight requests, deregister, then run onShutdown. Idempotent. */
  close(): Promise<void>;
}

/** Route name derived from service and path (the shared contract, contract/src/registration.ts). */
export { routeName };

interface Entity {
  tags?: string[] | null;
  host?: string;
  name?: string;
  paths?: string[] | null;
  [field: string]: unknown;
}

class RegistrationImpl implements Registration {
  state: RegistrationState = 'registering';
  target: string | undefined;
  gateway: 'gw' | 'kong' | undefined;
  available = true;
  promotion: AutoPromoteOutcome | undefined;
  #drained = false;
  /** the registered target's created_at (the gateway's): tells our target from a later one at the same address */
  #createdAt: number | undefined;
  /** drained by an operator and then deleted: nothing left to renew or delete */
  #gone = false;
  #upstream: string;
  #stamp: Stamp | undefined;
  #promoteTimer: NodeJS.Timeout | undefined;
  readonly #o: ResolvedOptions;
  readonly #admin: KongAdmin;
  readonly #log: Logger;
  #identity: Identity | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #life: Lifecycle;

  constructor(o: ResolvedOptions) {
    this.#o = o;
    this.#upstream = o.mode === 'blue-green' && o.deployment ? deploymentUpstream(o.service, o.deployment) : o.upstream;
    this.#admin = new KongAdmin(o.adminUrl ?? '', o.adminToken); // resolveOptions requires adminUrl with backend kong
    this.#log = (o.logger ?? pino({ name: 'gw-register' })).child({ component: 'gw-register', service: o.service });
    this.#life = new Lifecycle(o, this.#log, {
      registerOnce: () => this.#registerOnce(),
      retryable: (error) => !(error instanceof AdminApiError && !error.retryable),
      failure: (err, why, bounded) => {
        const said = err instanceof Error ? err.message : String(err);
        return why === 'refused'
          ? new GwSdkError('GW_ERR_SDK_REGISTRATION_REFUSED', `gw register(): the gateway refused to register ${o.service}: ${said}`, {
              cause: err,
            })
          : new GwSdkError(
              'GW_ERR_SDK_REGISTRATION_TIMEOUT',
              `gw register(): could not register ${o.service}${bounded ? ` within ${o.registerTimeout} ms` : ''}: ${said}`,
              { cause: err },
            );
      },
      registered: async () => {
        this.#log.info(
          { target: this.target, gateway: this.gateway, upstream: this.#upstream, deployment: this.#stamp?.deployment },
          'registered',
        );
        if (o.keepAlive) this.#keepAlive();
        await this.#checkPromotion(Date.now());
      },
      stop: () => {
        clearInterval(this.#timer);
        clearTimeout(this.#promoteTimer);
      },
      drainAndDeregister: () => this.#drainAndDeregister(),
      setState: (st) => (this.state = st),
    });
  }

  get upstream(): string {
    return this.#upstream;
  }
  get error(): Error | undefined {
    return this.#life.error;
  }
  get instanceId(): string | undefined {
    return this.#identity?.instanceId;
  }
  get deployment(): string | undefined {
    return this.#identity?.deployment;
  }

  /** Register with retries; resolves once registered, rejects after registerTimeout. */
  start(bounded = true): Promise<void> {
    return this.#life.start(bounded);
  }

  async #registerOnce(): Promise<void> {
    const o = this.#o;
    this.#identity ??= await detectIdentity(o);
    const id = this.#identity;
    this.gateway ??= await detectGateway(this.#admin);
    const blueGreen = o.mode === 'blue-green';
    const upstream = (this.#upstream = blueGreen ? deploymentUpstream(o.service, id.deployment) : o.upstream);
    const svc = await this.#get(`/services/${enc(o.service)}`);
    const up = await this.#get(`/upstreams/${enc(upstream)}`);
    // newest deployment wins (ownership.ts): each shared object is written only by a deployment newer than the one that wrote it
    const stamp = (this.#stamp = resolveStamp(svc?.tags, id.deployment, [stampOf(up?.tags)]));
    // the identity guard reads every gw upstream: run it alongside the writes below, finish it before the target goes in;
    // gw runs it itself, atomically with the target write (gateway/src/admin/identity-guard.ts), so a scoped token suffices
    const target = `${id.host}:${o.port}`;
    const guard =
      this.gateway === 'gw'
        ? Promise.resolve([])
        : removeStaleHolders(this.#admin, { target, instanceId: id.instanceId, ownUpstream: upstream, log: this.#log });
    guard.catch(() => undefined); // awaited below; this only keeps an early throw of the writes from leaving it unhandled
    const upTags = (existing: Entity | undefined) => [
      ...stampTags(existing?.tags, stamp).filter((t) => !t.startsWith(TAG.service)),
      tag(TAG.service, o.service),
    ];
    switch (decide(up, stamp)) {
      case 'create':
        await this.#admin.expect([200, 409], 'PUT', `/upstreams/${enc(upstream)}`, { ...o.upstreamSettings, tags: upTags(undefined) });
        break;
      case 'update':
        await this.#admin.expect([200], 'PATCH', `/upstreams/${enc(upstream)}`, { ...o.upstreamSettings, tags: upTags(up) });
        break;
      case 'keep':
        break;
    }
    // a service made by hand (or by an older SDK) is taken over: say exactly what changes, once
    const takeover = svc && !stampOf(svc.tags) ? await this.#takeover(svc, upstream, up) : undefined;
    switch (decide(svc, stamp)) {
      case 'create':
        // blue-green: the first deployment of a service is live at once
        await this.#admin.expect([200], 'PUT', `/services/${enc(o.service)}`, {
          ...o.serviceSettings,
          host: upstream,
          tags: withLedger(stampTags([], stamp), stamp),
        });
        break;
      case 'update': {
        const body: Record<string, unknown> = { ...o.serviceSettings, tags: withLedger(stampTags(svc?.tags, stamp), stamp) };
        // blue-green: only a promotion moves the service to another upstream
        if (!blueGreen) body.host = upstream;
        await this.#admin.expect([200], 'PATCH', `/services/${enc(o.service)}`, body);
        break;
      }
      case 'keep':
        break;
    }
    for (const r of o.routes) {
      const declared: Record<string, unknown> = typeof r === 'string' ? { paths: [r] } : { ...r };
      // one name per path, whatever the settings, so deployments that disagree on them write the same route
      const paths = Array.isArray(declared.paths) ? (declared.paths as unknown[]) : [];
      const name =
        typeof r === 'string'
          ? routeName(o.service, r)
          : typeof declared.name === 'string'
            ? declared.name
            : routeName(o.service, typeof paths[0] === 'string' ? paths[0] : JSON.stringify(r));
      const existing = await this.#get(`/routes/${enc(name)}`);
      if (decide(existing, stamp) === 'keep') continue;
      takeover?.route(name, paths, existing);
      const own = Array.isArray(declared.tags) ? (declared.tags as string[]) : [];
      await this.#admin.expect([200], 'PUT', `/services/${enc(o.service)}/routes/${enc(name)}`, {
        ...declared,
        name,
        tags: stampTags(own, stamp),
      });
    }
    takeover?.report();
    await guard;
    const body: Record<string, unknown> = {
      weight: this.available ? o.weight : 0,
      tags: ['gw', tag(TAG.instance, id.instanceId), tag(TAG.deployment, id.deployment), ...o.tags],
    };
    if (this.gateway === 'gw' && o.lease) body.ttl = o.ttl;
    const t = await this.#admin.expect<TargetEntity>([200], 'PUT', `/upstreams/${enc(upstream)}/targets/${enc(target)}`, body);
    this.target = t.body.target;
    this.#createdAt = t.body.created_at;
  }

  /**
   * The changes register() is about to make to a hand-made service `svc`
   * (no deployment stamp): its host, its declared settings, and the routes
   * it adds or rewrites. report() logs them as one warning.
   */
  async #takeover(
    svc: Entity,
    upstream: string,
    up: Entity | undefined,
  ): Promise<{ route(name: string, paths: unknown[], existing: Entity | undefined): void; report(): void }> {
    const o = this.#o;
    const changes: string[] = [];
    let hint: string | undefined;
    if (o.mode !== 'blue-green' && svc.host !== upstream) {
      changes.push(`service host ${String(svc.host)} → ${upstream}`);
      // the hand-made host names an upstream: say how to keep it
      // (a plain call: a registration token may not read another upstream, and a hint is not worth failing for)
      if (
        typeof svc.host === 'string' &&
        o.upstream === `${o.service}.upstream` &&
        (await this.#admin.call('GET', `/upstreams/${enc(svc.host)}`)).status === 200
      ) {
        hint = `to keep using upstream ${svc.host}, register with upstream: '${svc.host}' (gw-agent run --upstream ${svc.host}, env GW_UPSTREAM)`;
      }
    }
    for (const [k, v] of Object.entries(o.serviceSettings ?? {})) {
      if (JSON.stringify(svc[k]) !== JSON.stringify(v))
        changes.push(`service ${k} ${JSON.stringify(svc[k] ?? null)} → ${JSON.stringify(v)}`);
    }
    if (!up) changes.push(`created upstream ${upstream}`);
    else if (!stampOf(up.tags))
      changes.push(
        `adopted the hand-made upstream ${upstream} (tagged gw${o.upstreamSettings ? `, settings ${Object.keys(o.upstreamSettings).join(', ')}` : ''})`,
      );
    // the service's routes as they were, to name those that already serve a path register() adds a route for
    const r = await this.#admin.call<{ data?: Entity[] }>('GET', `/services/${enc(o.service)}/routes`);
    const before = r.status === 200 ? (r.body.data ?? []) : [];
    return {
      route: (name, paths, existing) => {
        const list = paths.map(String);
        if (existing) {
          if (!stampOf(existing.tags)) changes.push(`rewrote the hand-made route ${name}`);
          return;
        }
        const same = before
          .filter((x) => x.name !== name && (x.paths ?? []).some((p) => list.includes(p)))
          .map((x) => x.name ?? '(unnamed)');
        changes.push(
          `added route ${name} (${list.join(', ')})${same.length ? `; route ${same.join(', ')} of the service already has ${same.length === 1 ? 'that path' : 'those paths'}` : ''}`,
        );
      },
      report: () => {
        if (changes.length === 0) return;
        this.#log.warn(
          { service: o.service, changes, ...(hint ? { hint } : {}) },
          `took over the hand-made service ${o.service}: ${changes.join('; ')}${hint ? `; ${hint}` : ''}`,
        );
      },
    };
  }

  /** GET an entity; undefined on 404. */
  async #get(path: string): Promise<Entity | undefined> {
    const r = await this.#admin.call<Entity>('GET', path);
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new AdminApiError(r.status, r.body, `GET ${path}`);
    return r.body;
  }

  /**
   * Blue-green: switch the service to this deployment once it has enough
   * healthy targets (blue-green.ts). Checked once registered, then every
   * second for a minute and every 10 s after, until it is live or cannot be
   * promoted by itself.
   */
  async #checkPromotion(since: number): Promise<void> {
    const o = this.#o;
    if (o.mode !== 'blue-green' || o.promoteWhen === 'manual' || !this.#stamp || this.state !== 'registered') return;
    try {
      this.promotion = await autoPromote(this.#admin, {
        service: o.service,
        upstream: this.#upstream,
        stamp: this.#stamp,
        healthyTargets: o.promoteWhen.healthyTargets,
        log: this.#log,
      });
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'blue-green: promotion check failed; will retry');
      this.promotion = 'waiting';
    }
    if (this.promotion !== 'waiting' || !o.keepAlive || this.#life.closing) return;
    this.#promoteTimer = setTimeout(() => void this.#checkPromotion(since), Date.now() - since < 60_000 ? 1000 : 10_000);
    this.#promoteTimer.unref();
  }

  /** Lease renewal on gw, a check on Kong (no leases there): every ttl/3, at least a second apart (10 s with the default ttl). */
  #keepAlive(): void {
    const every = Math.max(1000, (this.#o.ttl * 1000) / 3);
    this.#timer = setInterval(() => void this.#renew(), every);
    this.#timer.unref();
  }

  #targetPath(): string {
    return `/upstreams/${enc(this.#upstream)}/targets/${enc(this.target ?? '')}`;
  }

  async #renew(): Promise<void> {
    if ((this.state !== 'registered' && this.state !== 'drained') || !this.target || this.#gone) return;
    const path = this.#targetPath();
    try {
      const r =
        this.gateway === 'gw' && this.#o.lease
          ? await this.#admin.call<TargetEntity>('POST', `${path}/heartbeat`)
          : await this.#admin.call<TargetEntity>('GET', path);
      if (this.#life.closing) return;
      if (r.status === 200 && this.state === 'registered' && isMarkedDrained(r.body)) this.#operatorDrained(false);
      if (r.status !== 404) return;
      if (this.state === 'drained') return this.#operatorDrained(true);
      // deleted: by an operator's drain (a note on the upstream), else lost (expired lease, a gateway restarted empty)
      const up = await this.#admin.call<Entity>('GET', `/upstreams/${enc(this.#upstream)}`);
      if (up.status === 200 && wasDrainedAway(up.body.tags, this.target, this.#createdAt)) return this.#operatorDrained(true);
      this.#log.warn({ target: this.target }, 'the gateway no longer knows this target; registering again');
      await this.#registerOnce();
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'keep-alive failed; will retry');
    }
  }

  /** An operator drained this target (gone: and deleted it): leave it so until the process restarts. */
  #operatorDrained(gone: boolean): void {
    const first = this.state !== 'drained';
    this.state = 'drained';
    this.available = false;
    this.#drained = true;
    clearTimeout(this.#promoteTimer);
    if (gone && !this.#gone) {
      this.#gone = true;
      clearInterval(this.#timer); // nothing left to renew
      this.#log.warn(
        { target: this.target },
        'an operator drained and deregistered this target; it stays out of the gateway until this process restarts',
      );
    } else if (first) {
      this.#log.warn(
        { target: this.target },
        'an operator drained this target (weight 0, tag gw-drained); it stays drained until this process restarts (the lease is still renewed)',
      );
    }
  }

  async setAvailable(up: boolean): Promise<void> {
    if (this.#drained || this.#life.closing || this.available === up) return;
    if (this.state === 'registered' && this.target) {
      // an operator's drain wins over the app's health: read before writing
      const cur = await this.#admin.expect<TargetEntity>([200, 404], 'GET', this.#targetPath());
      if (cur.status === 200 && isMarkedDrained(cur.body)) return this.#operatorDrained(false);
    }
    if (this.#drained) return;
    this.available = up;
    if (this.state !== 'registered' || !this.target) return; // applied when (re-)registering
    await this.#admin.expect([200, 404], 'PATCH', this.#targetPath(), { weight: up ? this.#o.weight : 0 });
    this.#log.info({ target: this.target, weight: up ? this.#o.weight : 0 }, up ? 'marked up' : 'marked down');
  }

  async drain(opts: { timeoutMs?: number; onProgress?: (p: DrainProgress) => void } = {}): Promise<DrainResult> {
    this.#drained = true;
    this.available = false;
    if (!this.target || !this.gateway) return { drained: true, targets: [], deregistered: [], targetsLeft: 0, inFlight: 0, elapsedMs: 0 };
    this.#log.info({ target: this.target }, 'draining');
    return drainTargets(this.#admin, {
      upstream: this.#upstream,
      targets: [this.target],
      gateway: this.gateway,
      timeoutMs: opts.timeoutMs ?? this.#o.drainTimeout,
      delayMs: this.#o.drainDelay,
      onProgress: opts.onProgress,
    });
  }

  close(): Promise<void> {
    return this.#life.close();
  }

  async #drainAndDeregister(): Promise<void> {
    // gone after an operator's drain: the address may hold another instance's target by now
    if (!this.target || this.#gone) return;
    const o = this.#o;
    this.state = 'draining';
    this.available = false;
    this.#log.info({ target: this.target }, 'draining');
    // a timed-out drain still deregisters: the instance is leaving either way
    const r = await drainTargets(this.#admin, {
      upstream: this.#upstream,
      targets: [this.target],
      gateway: this.gateway ?? 'kong',
      timeoutMs: o.drainTimeout,
      delayMs: o.drainDelay,
      deregister: true,
      deregisterOnTimeout: true,
    });
    if (!r.drained && r.deregistered.length > 0) {
      const what =
        this.gateway === 'gw'
          ? `with ${r.inFlight} request${r.inFlight === 1 ? '' : 's'} still in flight`
          : `before the drain delay (${o.drainDelay} ms) was over`;
      this.#log.warn(
        { target: this.target, in_flight: r.inFlight, drain_timeout_ms: o.drainTimeout },
        `drain timed out after ${o.drainTimeout} ms ${what}; deregistering anyway (those requests may fail)`,
      );
    }
    this.#log.info({ target: this.target }, 'deregistered');
  }

  installSignals(): void {
    this.#life.installSignals();
  }
}

/**
 * Register this instance with the gateway. Resolves once registered (or at
 * once with `background: true`); rejects with a clear error on bad options
 * or when `registerTimeout` passes. Never crashes the app afterwards.
 */
export async function register(options: Partial<RegisterOptions>): Promise<Registration> {
  const o = resolveOptions(options);
  const onShutdown = o.onShutdown ?? (() => process.exit(0));
  // loaded on demand: the AWS SDK adds ~80 ms to every start-up that does not use it
  const reg =
    o.backend === 'cloudmap'
      ? new (await import('./cloud-map.js')).CloudMapRegistration({ ...o, onShutdown })
      : new RegistrationImpl({ ...o, onShutdown });
  if (o.handleSignals) reg.installSignals();
  if (o.background) {
    // keeps trying until registered or closed; failures are logged, the app keeps serving
    reg.start(false).catch(() => undefined);
    return reg;
  }
  await reg.start();
  return reg;
}
