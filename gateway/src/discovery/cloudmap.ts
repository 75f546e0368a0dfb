/**
 * The AWS Cloud Map provider (DESIGN §7, docs/cloudmap.md): discover the
 * instances of the configured namespaces and keep upstreams, targets (and the
 * services and routes gw's SDK declares in attributes) in sync, through the
 * store, like any other writer.
 *
 * One poll, every `intervalMs`:
 * - namespaces by name → id once (`ListNamespaces`, filter NAME), then
 *   `ListServices` per namespace (filter NAMESPACE_ID, paged);
 * - per service, `DiscoverInstancesRevision`; only when the revision changed,
 *   `DiscoverInstances` (HealthStatus ALL: UNHEALTHY instances are kept at
 *   weight 0, not forgotten);
 * - the store is brought to the mapped view (cloudmap-mapping.ts): new
 *   instances are created, weight and health changes applied, instances that
 *   disappeared are drained (weight 0, tag `gw-cloudmap-gone`) and removed
 *   once no request is in flight to them anywhere (or after `drainTimeoutMs`).
 *
 * Failures (throttling, 5xx, timeouts, anything) never empty an upstream:
 * what is not known anew keeps its last good view; the next poll waits
 * `backoffDelay()` (exponential, jittered; clock and random injectable);
 * the state change is logged once each way; calls and errors are counted
 * (gw_cloudmap_* metrics). In cluster mode only the node `isLeader()`
 * approves polls (a PostgreSQL advisory lock); the others see its writes
 * through the change feed.
 */
// the AWS SDK (about 17 MB of RSS) is loaded when discovery starts, not by every gateway
import type { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';

type Aws = typeof import('@aws-sdk/client-servicediscovery');
let awsModule: Promise<Aws> | undefined;
const loadAws = (): Promise<Aws> => (awsModule ??= import('@aws-sdk/client-servicediscovery'));
import { parseEntity, type EntityKind } from '../entities/index.js';
import type { EntityByKind, Target, Upstream } from '../entities/types.js';
import { isGwError } from '../errors.js';
import type { Logger } from '../observability/log.js';
import type { Store, WriteOp } from '../store/store.js';
import {
  backoffDelay,
  CLOUDMAP_SOURCE_TAG,
  CLOUDMAP_TAG,
  mapService,
  tagSafe,
  upstreamNameOf,
  type DiscoveredInstance,
  type MappedService,
} from './cloudmap-mapping.js';

export { CLOUDMAP_SOURCE_TAG } from './cloudmap-mapping.js';

/** A timer source: real by default; tests inject one they advance by hand. */
export interface ProviderClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: ProviderClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface CloudMapProviderOptions {
  store: Store;
  logger: Logger;
  /** namespace names (HTTP or DNS namespaces; DiscoverInstances works for both) */
  namespaces: readonly string[];
  region?: string | undefined;
  /** endpoint override (tests, VPC endpoints): `disableHostPrefix` is set so DiscoverInstances keeps the host */
  endpoint?: string | undefined;
  /** a client to use as is (else one is built from region/endpoint with the default credential chain) */
  client?: ServiceDiscoveryClient;
  /** poll interval, ms (default 5000) */
  intervalMs?: number;
  /** longest backoff after failures, ms (default 60 × interval, at most 5 min) */
  maxBackoffMs?: number;
  /** one API call fails after this, ms (default 5000) */
  requestTimeoutMs?: number;
  /** port for instances without AWS_INSTANCE_PORT */
  defaultPort?: number | undefined;
  /** a gone instance's target is removed once nothing is in flight, at least this long after it went to weight 0 (ms, default 2000) */
  minDrainMs?: number;
  /** … and at the latest after this (ms, default 30000) */
  drainTimeoutMs?: number;
  /** how often draining targets are checked (ms, default 200) */
  drainCheckMs?: number;
  /** requests in flight to a target over every process and node */
  activeRequests?: (upstreamId: string, targetId: string) => number;
  /** cluster mode: whether this node polls now (default: always) */
  isLeader?: () => boolean;
  clock?: ProviderClock;
  random?: () => number;
}

export interface CloudMapStats {
  /** API calls by operation */
  readonly calls: Map<string, number>;
  /** API errors by `operation\0error` (error: throttled, server, timeout, or the AWS error name) */
  readonly errors: Map<string, number>;
  polls: number;
  failedPolls: number;
  /** consecutive failed polls now */
  failures: number;
  /** the delay before the next poll, ms */
  nextDelayMs: number;
  /** this node polls (cluster mode: holds the lock) */
  polling: boolean;
}

interface ServiceView {
  namespace: string;
  service: string;
  revision: number | undefined;
  instances: DiscoveredInstance[];
}

class PollError extends Error {
  constructor(
    readonly operation: string,
    readonly kind: string,
    cause: unknown,
  ) {
    super(`${operation}: ${cause instanceof Error ? `${cause.name === 'Error' ? '' : `${cause.name}: `}${cause.message}` : String(cause)}`);
  }
}

const THROTTLED = new Set(['ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException', 'Throttling']);
/** the kind of a failed call, for metrics and the backoff */
export function errorKind(err: unknown): string {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (THROTTLED.has(e.name ?? '')) return 'throttled';
  if (e.name === 'AbortError' || e.name === 'TimeoutError') return 'timeout';
  if ((e.$metadata?.httpStatusCode ?? 0) >= 500) return 'server';
  return e.name && e.name !== 'Error' ? e.name : 'error';
}

/** Build the client: region, endpoint override (with `disableHostPrefix`), default credential chain; our own backoff instead of the SDK's retries. */
export async function cloudMapDiscoveryClient(o: {
  region?: string | undefined;
  endpoint?: string | undefined;
}): Promise<ServiceDiscoveryClient> {
  const { ServiceDiscoveryClient } = await loadAws();
  return new ServiceDiscoveryClient({
    region: o.region,
    maxAttempts: 1,
    ...(o.endpoint ? { endpoint: o.endpoint, disableHostPrefix: true } : {}),
  });
}

const CONCURRENCY = 8;

export class CloudMapProvider {
  readonly stats: CloudMapStats = {
    calls: new Map(),
    errors: new Map(),
    polls: 0,
    failedPolls: 0,
    failures: 0,
    nextDelayMs: 0,
    polling: false,
  };
  readonly #o: CloudMapProviderOptions;
  readonly #log: Logger;
  /** the SDK module and client, loaded by the first poll */
  #aws: { sdk: Aws; client: ServiceDiscoveryClient } | undefined;
  readonly #clock: ProviderClock;
  readonly #interval: number;
  readonly #namespaceIds = new Map<string, string>();
  /** upstream name → the last good view of its Cloud Map service */
  readonly #views = new Map<string, ServiceView>();
  /** namespaces whose service list was read this poll → the upstream names in it */
  #listed = new Map<string, Set<string>>();
  /** target id → when this node saw it draining (clock ms) */
  readonly #draining = new Map<string, number>();
  /** messages logged once (per instance problem, per foreign entity) */
  readonly #said = new Set<string>();
  readonly #abort = new AbortController();
  #timer: unknown;
  #drainTimer: unknown;
  #running: Promise<void> | undefined;
  #stopped = true;
  #failing = false;

  constructor(o: CloudMapProviderOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'cloudmap' });
    this.#clock = o.clock ?? realClock;
    this.#interval = o.intervalMs ?? 5000;
    this.stats.nextDelayMs = this.#interval;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#log.info({ namespaces: this.#o.namespaces, interval_ms: this.#interval }, 'Cloud Map discovery started');
    this.#schedule(0);
    this.#scheduleDrains();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#clock.clearTimeout(this.#timer);
    this.#clock.clearTimeout(this.#drainTimer);
    this.#abort.abort();
    await this.#running?.catch(() => undefined);
  }

  /** Resolves when the poll running now (if any) finished: for tests driving an injected clock. */
  async idle(): Promise<void> {
    await this.#running?.catch(() => undefined);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = this.#clock.setTimeout(() => {
      const started = this.#clock.now();
      // fixed rate: the next poll starts `nextDelayMs` after this one started (a long poll does not stretch the interval)
      this.#running = this.poll()
        // poll() handles its own failures; this only keeps a bug from ending the loop (or the process)
        .catch((err: unknown) => this.#log.error({ err }, 'Cloud Map poll failed unexpectedly; retried'))
        .then(() => this.#schedule(Math.max(0, this.stats.nextDelayMs - (this.#clock.now() - started))));
    }, ms);
  }

  #scheduleDrains(): void {
    if (this.#stopped) return;
    this.#drainTimer = this.#clock.setTimeout(() => {
      void this.checkDrains()
        .catch((err: unknown) => this.#log.warn({ err: (err as Error).message }, 'drain check failed; retried'))
        .then(() => this.#scheduleDrains());
    }, this.#o.drainCheckMs ?? 200);
  }

  /** One poll (never throws): discover, bring the store in line, set the next delay. */
  async poll(): Promise<void> {
    const leader = this.#o.isLeader?.() ?? true;
    if (leader !== this.stats.polling) {
      this.stats.polling = leader;
      this.#log.info({}, leader ? 'this node polls Cloud Map now' : 'another node polls Cloud Map; following the store');
      // a view held while another node wrote may be stale: read everything again when (re)taking over
      this.#views.clear();
      this.#draining.clear();
    }
    if (!leader) {
      this.stats.nextDelayMs = this.#interval;
      return;
    }
    this.stats.polls++;
    let error: PollError | undefined;
    try {
      error = await this.#discover();
    } catch (err) {
      error = err instanceof PollError ? err : new PollError('discover', errorKind(err), err);
    }
    try {
      await this.#reconcile();
    } catch (err) {
      // the store refused (a shared database away, a conflicting write): the next poll tries again
      error ??= new PollError('store', isGwError(err) ? err.code : 'store', err);
    }
    if (error) {
      this.stats.failedPolls++;
      this.stats.failures++;
      const maxMs = this.#o.maxBackoffMs ?? Math.min(300_000, this.#interval * 60);
      this.stats.nextDelayMs = backoffDelay(this.stats.failures, { baseMs: this.#interval, maxMs, random: this.#o.random });
      if (!this.#failing) {
        this.#failing = true;
        this.#log.warn(
          { err: error.message, kind: error.kind, retry_in_ms: this.stats.nextDelayMs },
          'Cloud Map discovery failing; keeping the last good view and backing off',
        );
      }
    } else {
      if (this.#failing) {
        this.#failing = false;
        this.#log.info({ failed_polls: this.stats.failures }, 'Cloud Map discovery recovered');
      }
      this.stats.failures = 0;
      this.stats.nextDelayMs = this.#interval;
    }
  }

  async #call<T>(operation: string, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
    this.stats.calls.set(operation, (this.stats.calls.get(operation) ?? 0) + 1);
    try {
      return await send(AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#o.requestTimeoutMs ?? 5000)]));
    } catch (err) {
      const kind = errorKind(err);
      const key = `${operation}\0${kind}`;
      this.stats.errors.set(key, (this.stats.errors.get(key) ?? 0) + 1);
      throw new PollError(operation, kind, err);
    }
  }

  /** Read what changed; returns the first failure (what succeeded is kept), or undefined. */
  async #discover(): Promise<PollError | undefined> {
    this.#aws ??= { sdk: await loadAws(), client: this.#o.client ?? (await cloudMapDiscoveryClient(this.#o)) };
    this.#listed = new Map();
    let first: PollError | undefined;
    const services: { namespace: string; name: string }[] = [];
    for (const ns of this.#o.namespaces) {
      try {
        const id = await this.#namespaceId(ns);
        const names = new Set<string>();
        let next: string | undefined;
        do {
          const r = await this.#call('ListServices', (abortSignal) =>
            this.#aws!.client.send(
              new this.#aws!.sdk.ListServicesCommand({
                Filters: [{ Name: 'NAMESPACE_ID', Values: [id], Condition: 'EQ' }],
                MaxResults: 100,
                NextToken: next,
              }),
              { abortSignal },
            ),
          );
          for (const s of r.Services ?? []) {
            if (!s.Name) continue;
            names.add(upstreamNameOf(s.Name, ns));
            services.push({ namespace: ns, name: s.Name });
          }
          next = r.NextToken;
        } while (next);
        this.#listed.set(ns, names);
      } catch (err) {
        first ??= err as PollError;
        if ((err as PollError).kind === 'throttled') return first;
      }
    }
    // a service that left a listed namespace: nothing of it is left to route to
    for (const [upstream, v] of this.#views) if (this.#listed.get(v.namespace)?.has(upstream) === false) this.#views.delete(upstream);
    let next = 0;
    let throttled = false;
    const worker = async (): Promise<void> => {
      while (!throttled && !this.#abort.signal.aborted && next < services.length) {
        const s = services[next++]!;
        try {
          await this.#refresh(s.namespace, s.name);
        } catch (err) {
          // listed but not found by the data plane yet (Cloud Map is eventually consistent): next poll, no backoff
          if ((err as PollError).kind === 'ServiceNotFound') continue;
          first ??= err as PollError;
          // throttled: stop calling for this poll; the backoff spaces the next one
          if ((err as PollError).kind === 'throttled') throttled = true;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, services.length) }, worker));
    return first;
  }

  async #namespaceId(name: string): Promise<string> {
    const known = this.#namespaceIds.get(name);
    if (known) return known;
    let next: string | undefined;
    do {
      const r = await this.#call('ListNamespaces', (abortSignal) =>
        this.#aws!.client.send(
          new this.#aws!.sdk.ListNamespacesCommand({ Filters: [{ Name: 'NAME', Values: [name], Condition: 'EQ' }], NextToken: next }),
          {
            abortSignal,
          },
        ),
      );
      const ns = (r.Namespaces ?? []).find((n) => n.Name === name);
      if (ns?.Id) {
        this.#namespaceIds.set(name, ns.Id);
        this.#log.info({ namespace: name, id: ns.Id, type: ns.Type }, 'Cloud Map namespace found');
        return ns.Id;
      }
      next = r.NextToken;
    } while (next);
    throw new PollError('ListNamespaces', 'NamespaceNotFound', new Error(`no Cloud Map namespace named '${name}' (--cloudmap-namespace)`));
  }

  /** One service: its revision, and its instances when that changed. */
  async #refresh(namespace: string, service: string): Promise<void> {
    const upstream = upstreamNameOf(service, namespace);
    const known = this.#views.get(upstream);
    const q = { NamespaceName: namespace, ServiceName: service };
    const rev = await this.#call('DiscoverInstancesRevision', (abortSignal) =>
      this.#aws!.client.send(new this.#aws!.sdk.DiscoverInstancesRevisionCommand(q), { abortSignal }),
    );
    if (known && known.revision !== undefined && rev.InstancesRevision === known.revision) return;
    const r = await this.#call('DiscoverInstances', (abortSignal) =>
      this.#aws!.client.send(new this.#aws!.sdk.DiscoverInstancesCommand({ ...q, HealthStatus: 'ALL', MaxResults: 1000 }), { abortSignal }),
    );
    const instances: DiscoveredInstance[] = (r.Instances ?? []).map((i) => ({
      id: i.InstanceId ?? '',
      health: i.HealthStatus === 'UNHEALTHY' ? 'UNHEALTHY' : i.HealthStatus === 'HEALTHY' ? 'HEALTHY' : 'UNKNOWN',
      attributes: i.Attributes ?? {},
    }));
    this.#views.set(upstream, { namespace, service, revision: r.InstancesRevision ?? rev.InstancesRevision, instances });
  }

  #once(key: string, fn: () => void): void {
    if (this.#said.has(key)) return;
    this.#said.add(key);
    fn();
  }

  #parse<K extends EntityKind>(kind: K, input: Record<string, unknown>, existing?: EntityByKind[K]): EntityByKind[K] | undefined {
    // the Admin API's one door (entities/parse.ts): defaults, validation and stamps exactly as a registration through it
    const r = parseEntity(kind, input, { mode: existing ? 'update' : 'create', existing, now: this.#o.store.now() });
    if (!r.ok) {
      this.#once(`parse:${kind}:${JSON.stringify(input)}`, () =>
        this.#log.warn({ kind, input, error: r.error.message }, 'a Cloud Map entity does not validate; skipped'),
      );
      return undefined;
    }
    return r.value as unknown as EntityByKind[K];
  }

  /** Bring the store in line with every known view, and with services gone from listed namespaces. */
  async #reconcile(): Promise<void> {
    const store = this.#o.store;
    for (const v of this.#views.values()) {
      const mapped = mapService(v.service, v.namespace, v.instances, { defaultPort: this.#o.defaultPort });
      for (const s of mapped.skipped)
        this.#once(`skip:${mapped.upstream}:${s.id}:${s.reason}`, () =>
          this.#log.warn({ upstream: mapped.upstream, instance: s.id, reason: s.reason }, 'Cloud Map instance not routed'),
        );
      await this.#sync(v.namespace, mapped);
    }
    // upstreams this provider made for a service no longer in its (listed) namespace: drain their targets
    for (const u of store.all('upstreams')) {
      if (!(u.tags ?? []).includes(CLOUDMAP_SOURCE_TAG) || this.#views.has(u.name)) continue;
      const ns = (u.tags ?? []).find((t) => t.startsWith(CLOUDMAP_TAG.namespace))?.slice(CLOUDMAP_TAG.namespace.length);
      // only a service the namespace's list (read this poll) no longer has: a failed read of a listed one keeps its targets
      if (ns === undefined || this.#listed.get(ns)?.has(u.name) !== false) continue;
      await this.#sync(ns, { upstream: u.name, targets: [], registration: undefined, skipped: [] });
    }
  }

  async #sync(namespace: string, m: MappedService): Promise<void> {
    const store = this.#o.store;
    let upstream: Upstream | undefined = store.getByName('upstreams', m.upstream);
    if (!upstream) {
      if (m.targets.length === 0) return;
      upstream = this.#parse('upstreams', {
        name: m.upstream,
        tags: ['gw', CLOUDMAP_SOURCE_TAG, CLOUDMAP_TAG.namespace + tagSafe(namespace)],
      });
      if (!upstream) return;
      await store.apply([{ op: 'put', kind: 'upstreams', entity: upstream, ifAbsent: true }]);
      this.#log.info({ upstream: m.upstream }, 'Cloud Map service: upstream created');
    } else if (!(upstream.tags ?? []).includes(CLOUDMAP_SOURCE_TAG)) {
      // an upstream of that name made by hand (health checks, algorithm): Cloud Map fills its targets, the rest is the operator's
      this.#once(`adopt:${upstream.id}`, () =>
        this.#log.info({ upstream: m.upstream }, 'Cloud Map service: using the existing upstream of that name for its targets'),
      );
    }
    if (m.registration) await this.#register(m.upstream, m.registration);
    const ops: WriteOp[] = [];
    const desired = new Map(m.targets.map((t) => [t.target, t]));
    const now = this.#clock.now();
    for (const t of m.targets) {
      const existing = store.getTarget(upstream.id, t.target);
      if (existing && !(existing.tags ?? []).includes(CLOUDMAP_SOURCE_TAG)) {
        this.#once(`foreign:${existing.id}`, () =>
          this.#log.warn(
            { upstream: m.upstream, target: t.target },
            'a target at this address was not made by Cloud Map discovery; left as it is',
          ),
        );
        continue;
      }
      if (existing && existing.weight === t.weight && sameTags(existing.tags, t.tags)) continue;
      const entity = this.#parse('targets', { target: t.target, weight: t.weight, tags: t.tags, upstream: { id: upstream.id } }, existing);
      if (!entity) continue;
      const e = { ...entity, upstream: { id: upstream.id } } as Target;
      ops.push(
        existing
          ? { op: 'put', kind: 'targets', entity: e, ifRevision: store.revisionOf('targets', existing.id) }
          : { op: 'put', kind: 'targets', entity: e, ifAbsent: true },
      );
      if (existing) this.#draining.delete(existing.id);
    }
    for (const t of store.targetsOf(upstream.id)) {
      if (!(t.tags ?? []).includes(CLOUDMAP_SOURCE_TAG) || desired.has(t.target)) continue;
      if ((t.tags ?? []).includes(CLOUDMAP_TAG.gone) && t.weight === 0) continue; // draining already
      const entity = {
        ...t,
        weight: 0,
        tags: [...(t.tags ?? []).filter((x) => x !== CLOUDMAP_TAG.gone), CLOUDMAP_TAG.gone],
        updated_at: store.now(),
      };
      ops.push({ op: 'put', kind: 'targets', entity, ifRevision: store.revisionOf('targets', t.id) });
      this.#draining.set(t.id, now);
      this.#log.info({ upstream: m.upstream, target: t.target }, 'Cloud Map instance gone: draining its target');
    }
    if (ops.length > 0) await store.apply(ops);
  }

  /** The service and routes the SDK declared: created when absent; an entity made by someone else is left alone (said once). */
  async #register(upstream: string, reg: NonNullable<MappedService['registration']>): Promise<void> {
    const store = this.#o.store;
    const tags = ['gw', CLOUDMAP_SOURCE_TAG];
    let service = store.getByName('services', reg.service);
    if (!service) {
      service = this.#parse('services', { name: reg.service, host: upstream, tags });
      if (!service) return;
      await store.apply([{ op: 'put', kind: 'services', entity: service, ifAbsent: true }]);
      this.#log.info({ service: reg.service, host: upstream }, 'Cloud Map service: gw service created from GW_SERVICE');
    } else if (!(service.tags ?? []).includes(CLOUDMAP_SOURCE_TAG)) {
      this.#once(`foreign-service:${service.id}`, () =>
        this.#log.info({ service: reg.service }, 'a service of this name exists (not made by Cloud Map discovery); left as it is'),
      );
    } else if (service.host !== upstream) {
      const updated = this.#parse('services', { host: upstream }, service);
      if (updated)
        await store.apply([{ op: 'put', kind: 'services', entity: updated, ifRevision: store.revisionOf('services', service.id) }]);
    }
    const serviceId = service.id;
    const ops: WriteOp[] = [];
    for (const r of reg.routes) {
      if (store.getByName('routes', r.name)) continue; // shared objects: written once, never deleted by an instance leaving
      const parsed = this.#parse('routes', { name: r.name, paths: r.paths, service: { id: serviceId }, tags });
      if (parsed) ops.push({ op: 'put', kind: 'routes', entity: { ...parsed, service: { id: serviceId } }, ifAbsent: true });
    }
    if (ops.length > 0) await store.apply(ops);
  }

  /** Remove drained targets: nothing in flight (after `minDrainMs`), or `drainTimeoutMs` passed. Leader only. */
  async checkDrains(): Promise<void> {
    if (!this.stats.polling) return;
    const store = this.#o.store;
    const now = this.#clock.now();
    const ops: WriteOp[] = [];
    for (const u of store.all('upstreams')) {
      for (const t of store.targetsOf(u.id)) {
        if (!(t.tags ?? []).includes(CLOUDMAP_TAG.gone) || !(t.tags ?? []).includes(CLOUDMAP_SOURCE_TAG)) continue;
        let since = this.#draining.get(t.id);
        if (since === undefined) this.#draining.set(t.id, (since = now));
        const age = now - since;
        const inFlight = this.#o.activeRequests?.(u.id, t.id) ?? 0;
        if ((age >= (this.#o.minDrainMs ?? 2000) && inFlight === 0) || age >= (this.#o.drainTimeoutMs ?? 30_000)) {
          ops.push({ op: 'delete', kind: 'targets', id: t.id, ifRevision: store.revisionOf('targets', t.id) });
          this.#draining.delete(t.id);
          this.#log.info(
            { upstream: u.name, target: t.target, in_flight: inFlight, drained_ms: age },
            'Cloud Map target drained and removed',
          );
        }
      }
    }
    if (ops.length > 0) await store.apply(ops);
  }
}

function sameTags(a: readonly string[] | null, b: readonly string[]): boolean {
  const x = [...(a ?? [])].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}
