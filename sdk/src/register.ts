/**
 * `register()`: put this instance in the gateway (upstream, service, routes,
 * target), keep it there (lease renewal on gw, reconcile on Kong), and take
 * it out cleanly on shutdown (drain, wait for in-flight to reach 0, delete).
 * Shared objects (service, routes, upstream) are never deleted by an
 * instance leaving.
 */
import pRetry from 'p-retry';
import { pino, type Logger } from 'pino';
import { detectIdentity, type Identity } from './detect.js';
import { AdminApiError, enc, KongAdmin } from './kong-admin.js';
import { resolveOptions, type RegisterOptions, type ResolvedOptions } from './options.js';

export type RegistrationState = 'registering' | 'registered' | 'draining' | 'deregistered' | 'failed';

export interface Registration {
  readonly state: RegistrationState;
  /** `host:port` as registered */
  readonly target: string | undefined;
  /** 'gw' or 'kong', once known */
  readonly gateway: 'gw' | 'kong' | undefined;
  /** Drain, wait for in-flight requests, deregister, then run onShutdown. Idempotent. */
  close(): Promise<void>;
}

/** Route name derived from service and path, so every instance upserts the same route. */
export function routeName(service: string, path: string): string {
  const slug = path.replace(/^~/, 're-').replace(/[^A-Za-z0-9._~-]+/g, '-').replace(/^-+|-+$/g, '');
  return `${service}-${slug || 'root'}`;
}

class RegistrationImpl implements Registration {
  state: RegistrationState = 'registering';
  target: string | undefined;
  gateway: 'gw' | 'kong' | undefined;
  readonly #o: ResolvedOptions;
  readonly #admin: KongAdmin;
  readonly #log: Logger;
  #identity: Identity | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  #abort = new AbortController();
  #signalHandler: (() => void) | undefined;

  constructor(o: ResolvedOptions) {
    this.#o = o;
    this.#admin = new KongAdmin(o.adminUrl, o.adminToken);
    this.#log = (o.logger ?? pino({ name: 'gw-register' })).child({ component: 'gw-register', service: o.service });
  }

  /** Register with retries; resolves once registered, rejects after registerTimeout. */
  async start(bounded = true): Promise<void> {
    const deadline = bounded ? Date.now() + this.#o.registerTimeout : Infinity;
    try {
      await pRetry(() => this.#registerOnce(), {
        retries: 1000,
        factor: 2,
        minTimeout: 100,
        maxTimeout: 5000,
        randomize: true,
        signal: this.#abort.signal,
        shouldRetry: ({ error }) => !(error instanceof AdminApiError && !error.retryable) && Date.now() < deadline,
        onFailedAttempt: ({ error, attemptNumber }) => this.#log.warn({ err: error.message, attempt: attemptNumber }, 'registration attempt failed'),
      });
    } catch (err) {
      this.state = 'failed';
      const why = err instanceof Error ? err.message : String(err);
      this.#log.error({ err: why }, 'registration failed');
      throw new Error(`gw register(): could not register ${this.#o.service} within ${this.#o.registerTimeout} ms: ${why}`);
    }
    this.state = 'registered';
    this.#log.info({ target: this.target, gateway: this.gateway, upstream: this.#o.upstream }, 'registered');
    this.#keepAlive();
  }

  async #registerOnce(): Promise<void> {
    const o = this.#o;
    this.#identity ??= await detectIdentity(o);
    const id = this.#identity;
    if (!this.gateway) {
      const root = await this.#admin.expect<{ gw?: unknown }>([200], 'GET', '/');
      this.gateway = root.body.gw ? 'gw' : 'kong';
    }
    const up = await this.#admin.call('GET', `/upstreams/${enc(o.upstream)}`);
    if (up.status === 404) await this.#admin.expect([200, 409], 'PUT', `/upstreams/${enc(o.upstream)}`, { tags: ['gw'] });
    else if (up.status !== 200) throw new AdminApiError(up.status, up.body, `GET /upstreams/${o.upstream}`);
    await this.#admin.expect([200], 'PUT', `/services/${enc(o.service)}`, { host: o.upstream, tags: ['gw'] });
    for (const r of o.routes) {
      const body = typeof r === 'string' ? { paths: [r] } : r;
      const name = typeof r === 'string' ? routeName(o.service, r) : String((r as { name?: unknown }).name ?? routeName(o.service, JSON.stringify(r)));
      await this.#admin.expect([200], 'PUT', `/services/${enc(o.service)}/routes/${enc(name)}`, { ...body, tags: ['gw'] });
    }
    const target = `${id.host}:${o.port}`;
    await this.#guardIdentity(target);
    const body: Record<string, unknown> = { weight: o.weight, tags: ['gw', `gw-instance:${id.instanceId}`, `gw-deployment:${id.deployment}`, ...o.tags] };
    if (this.gateway === 'gw') body.ttl = o.ttl;
    const t = await this.#admin.expect<{ target: string }>([200], 'PUT', `/upstreams/${enc(o.upstream)}/targets/${enc(target)}`, body);
    this.target = t.body.target;
  }

  /** ECS reuses IPs: a target at our address owned by another instance is stale; remove it first. */
  async #guardIdentity(target: string): Promise<void> {
    const existing = await this.#admin.call<{ tags: string[] | null }>('GET', `/upstreams/${enc(this.#o.upstream)}/targets/${enc(target)}`);
    if (existing.status !== 200) return;
    const mine = `gw-instance:${this.#identity!.instanceId}`;
    const owner = (existing.body.tags ?? []).find((x) => x.startsWith('gw-instance:'));
    if (owner && owner !== mine) {
      this.#log.warn({ target, stale_owner: owner.slice('gw-instance:'.length) }, 'removing a stale target left at this address by another instance');
      await this.#admin.expect([204, 404], 'DELETE', `/upstreams/${enc(this.#o.upstream)}/targets/${enc(target)}`);
    }
  }

  #keepAlive(): void {
    const every = this.gateway === 'gw' ? Math.max(1000, (this.#o.ttl * 1000) / 3) : 10_000;
    this.#timer = setInterval(() => void this.#renew(), every);
    this.#timer.unref();
  }

  async #renew(): Promise<void> {
    if (this.state !== 'registered' || !this.target) return;
    const path = `/upstreams/${enc(this.#o.upstream)}/targets/${enc(this.target)}`;
    try {
      const r = this.gateway === 'gw' ? await this.#admin.call('POST', `${path}/heartbeat`) : await this.#admin.call('GET', path);
      if (r.status === 404) {
        this.#log.warn({ target: this.target }, 'the gateway no longer knows this target; registering again');
        await this.#registerOnce();
      }
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'keep-alive failed; will retry');
    }
  }

  close(): Promise<void> {
    return (this.#closing ??= this.#shutdown());
  }

  async #shutdown(): Promise<void> {
    clearInterval(this.#timer);
    this.#abort.abort();
    if (this.#signalHandler) {
      process.off('SIGTERM', this.#signalHandler);
      process.off('SIGINT', this.#signalHandler);
    }
    const o = this.#o;
    const bounded = new Promise<void>((resolve) => setTimeout(resolve, o.shutdownTimeout).unref());
    await Promise.race([this.#drainAndDeregister(), bounded]).catch((err: unknown) => this.#log.error({ err: (err as Error).message }, 'deregistration failed'));
    this.state = 'deregistered';
    if (o.onShutdown) await (o.onShutdown as () => unknown)();
  }

  async #drainAndDeregister(): Promise<void> {
    if (!this.target) return;
    const o = this.#o;
    const path = `/upstreams/${enc(o.upstream)}/targets/${enc(this.target)}`;
    this.state = 'draining';
    await this.#admin.expect([200, 404], 'PATCH', path, { weight: 0 });
    this.#log.info({ target: this.target }, 'draining');
    const end = Date.now() + (this.gateway === 'gw' ? o.drainTimeout : o.drainDelay);
    if (this.gateway === 'gw') {
      // wait until the gateway reports no request in flight to this target
      while (Date.now() < end) {
        const h = await this.#admin.call<{ data?: { target: string; gw?: { active_requests: number } }[] }>('GET', `/upstreams/${enc(o.upstream)}/health`);
        const me = h.body.data?.find((x) => x.target === this.target);
        if (!me || (me.gw?.active_requests ?? 0) === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    } else {
      await new Promise((r) => setTimeout(r, Math.max(0, end - Date.now())));
    }
    await this.#admin.expect([204, 404], 'DELETE', path);
    this.#log.info({ target: this.target }, 'deregistered');
  }

  installSignals(): void {
    this.#signalHandler = () => void this.close();
    process.once('SIGTERM', this.#signalHandler);
    process.once('SIGINT', this.#signalHandler);
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
  const reg = new RegistrationImpl({ ...o, onShutdown });
  if (o.handleSignals) reg.installSignals();
  if (o.background) {
    // keeps trying until registered or closed; failures are logged, the app keeps serving
    reg.start(false).catch(() => undefined);
    return reg;
  }
  await reg.start();
  return reg;
}
