/**
 * Who is calling the Admin API, and what they may do (DESIGN §4, §7).
 *
 * - `admin`: the `--admin-token`; everything.
 * - `registration:<service>`: a `--registration-token SERVICE=TOKEN`; only
 *   what an instance of that service needs to register itself (see
 *   {@link registrationDenial}); anything else is 403.
 * - `anonymous`: no token configured (loopback only, settings refuse
 *   otherwise); everything, as before tokens existed.
 *
 * Tokens arrive as `Authorization: Bearer TOKEN` or `Kong-Admin-Token: TOKEN`
 * and are compared in constant time (SHA-256 of both sides, every known
 * token compared, no early exit), so timing reveals neither a token nor
 * which kind matched.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { isUuid } from '../entities/index.js';
import type { EntityKind, Route, Service } from '../entities/types.js';
import type { Store } from '../store/store.js';
import { bodyOf } from './resource.js';

export type Caller = { kind: 'admin' } | { kind: 'registration'; service: string } | { kind: 'anonymous' };

/** The caller as written in the audit log: `admin`, `registration:<service>` or `anonymous`. */
export function callerLabel(c: Caller): string {
  return c.kind === 'registration' ? `registration:${c.service}` : c.kind;
}

const callers = new WeakMap<FastifyRequest, Caller>();

/** The caller identified for `req` by the admin server's onRequest hook. */
export function callerOf(req: FastifyRequest): Caller {
  return callers.get(req) ?? { kind: 'anonymous' };
}

export function setCaller(req: FastifyRequest, c: Caller): void {
  callers.set(req, c);
}

const sha = (s: string): Buffer => createHash('sha256').update(s).digest();

export interface AdminAuthOptions {
  adminToken?: string | undefined;
  /** service name → token */
  registrationTokens?: Readonly<Record<string, string>> | undefined;
}

export class AdminAuth {
  readonly #admin: Buffer | undefined;
  readonly #registration: readonly { service: string; digest: Buffer }[];

  constructor(o: AdminAuthOptions) {
    this.#admin = o.adminToken !== undefined ? sha(o.adminToken) : undefined;
    this.#registration = Object.entries(o.registrationTokens ?? {}).map(([service, token]) => ({ service, digest: sha(token) }));
  }

  /** True when some token is configured (requests then may need one). */
  get enabled(): boolean {
    return this.#admin !== undefined || this.#registration.length > 0;
  }

  /**
   * The caller of a request, or undefined when it must be refused with 401:
   * with an admin token configured, a request without a known token. Without
   * one, a request without a known token is `anonymous` (full rights, the
   * admin listener is loopback only then).
   */
  identify(headers: Record<string, string | string[] | undefined>): Caller | undefined {
    const presented: Buffer[] = [];
    const auth = headers.authorization;
    if (typeof auth === 'string' && auth.startsWith('Bearer ')) presented.push(sha(auth.slice(7)));
    const kong = headers['kong-admin-token'];
    if (typeof kong === 'string') presented.push(sha(kong));
    let admin = false;
    let service: string | undefined;
    for (const p of presented) {
      if (this.#admin !== undefined) admin = timingSafeEqual(p, this.#admin) || admin;
      for (const r of this.#registration) if (timingSafeEqual(p, r.digest) && service === undefined) service = r.service;
    }
    if (admin) return { kind: 'admin' };
    if (service !== undefined) return { kind: 'registration', service };
    return this.#admin === undefined ? { kind: 'anonymous' } : undefined;
  }
}

/** DNS-label-safe deployment slug, as the SDK writes it (sdk/src/blue-green.ts `deploymentSlug`). */
const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const SERVICE_TAG = 'gw-service:';

function serviceTag(tags: readonly string[] | null | undefined): string | undefined {
  const t = (tags ?? []).find((x) => x.startsWith(SERVICE_TAG));
  if (t === undefined) return undefined;
  try {
    return decodeURIComponent(t.slice(SERVICE_TAG.length));
  } catch {
    return t.slice(SERVICE_TAG.length);
  }
}

/**
 * Does upstream `name` belong to `service`? Yes when it is the upstream the
 * service points at now, or named as the SDK names them: `<service>.upstream`
 * (rolling) or `<service>.<deployment slug>.upstream` (blue-green), unless
 * that name is another existing service's rolling upstream; never when the
 * upstream exists and its `gw-service:` tag names another service.
 */
export function ownsUpstream(store: Store, service: string, name: string): boolean {
  const existing = store.getByName('upstreams', name);
  const tagged = existing && serviceTag(existing.tags);
  if (tagged !== undefined && tagged !== service) return false;
  const svc = store.getByName('services', service);
  if (existing && svc?.host === name) return true;
  if (name === `${service}.upstream`) return true;
  const prefix = `${service}.`;
  if (!name.startsWith(prefix) || !name.endsWith('.upstream')) return false;
  const slug = name.slice(prefix.length, -'.upstream'.length);
  if (!SLUG.test(slug)) return false;
  // `a.b.upstream` is also service `a.b`'s rolling upstream: theirs if that service exists
  return store.getByName('services', `${service}.${slug}`) === undefined;
}

interface Decision {
  allowed: boolean;
  reason?: string;
}
const ok: Decision = { allowed: true };
const no = (reason: string): Decision => ({ allowed: false, reason });

const READS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

function params(req: FastifyRequest): Record<string, string> {
  return (req.params ?? {}) as Record<string, string>;
}

/** A string field of the write's body, `undefined` when absent, `null` when present but not a string. */
function field(req: FastifyRequest, kind: EntityKind, name: string): string | undefined | null {
  const b = bodyOf(req, kind);
  const v = b[name];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : null;
}

/** The service a route body references (`service: {id}` or `{name}`), `null` when malformed. */
function routeServiceRef(store: Store, req: FastifyRequest): Service | undefined | null {
  const ref = bodyOf(req, 'routes').service;
  if (ref === undefined) return undefined;
  if (ref === null || typeof ref !== 'object') return null;
  const r = ref as { id?: unknown; name?: unknown };
  if (typeof r.id === 'string') return store.get('services', r.id) ?? null;
  if (typeof r.name === 'string') return store.getByName('services', r.name) ?? null;
  return null;
}

const lookup = <K extends 'services' | 'routes' | 'upstreams'>(store: Store, kind: K, key: string) =>
  isUuid(key) ? store.get(kind, key) : store.getByName(kind, key);

/**
 * Why a `registration:<service>` caller may not make this request, or
 * undefined when it may. Allowed: `GET /` and `/status`; read and upsert
 * (PUT, PATCH, POST) the service itself, its routes and its upstreams
 * ({@link ownsUpstream}), pointing the service only at its own upstreams;
 * read, create, renew, drain and delete targets in those upstreams and read
 * their health. Not allowed: deleting the service, routes or upstreams,
 * lists of all entities, `/targets?target=`, manual health overrides,
 * `/metrics`, and anything about other services.
 */
export function registrationDenial(store: Store, service: string, req: FastifyRequest): string | undefined {
  const d = decide(store, service, req);
  return d.allowed ? undefined : d.reason;
}

function decide(store: Store, service: string, req: FastifyRequest): Decision {
  const url = req.routeOptions.url;
  const method = req.method;
  if (url === undefined || method === 'OPTIONS') return ok; // 404s and Allow lists reveal nothing
  const read = READS.has(method);
  const p = params(req);
  const svc = store.getByName('services', service);
  const isOwnService = (key: string): boolean => (isUuid(key) ? svc !== undefined && svc.id === key : key === service);
  const ownRoute = (r: Route | undefined): boolean => r === undefined || (svc !== undefined && r.service?.id === svc.id);
  const upstreamName = (key: string): string | undefined => (isUuid(key) ? store.get('upstreams', key)?.name : key);
  const isOwnUpstream = (key: string): boolean => {
    const name = upstreamName(key);
    return name !== undefined && ownsUpstream(store, service, name);
  };
  /** a service body may point the service only at one of its upstreams */
  const serviceBody = (): Decision => {
    const name = field(req, 'services', 'name');
    if (name === null || (name !== undefined && name !== service)) return no(`the service's name must stay '${service}'`);
    const host = field(req, 'services', 'host');
    const rawUrl = field(req, 'services', 'url');
    if (host === null || rawUrl === null) return no('host and url must be strings');
    let target = host;
    if (rawUrl !== undefined) {
      try {
        target = new URL(rawUrl).hostname;
      } catch {
        return no('url is not a URL');
      }
    }
    if (target !== undefined && !ownsUpstream(store, service, target))
      return no(
        `the service may only point at its own upstreams (${service}.upstream or ${service}.<deployment>.upstream), not '${target}'`,
      );
    return ok;
  };
  const upstreamBody = (name: string): Decision => {
    const given = field(req, 'upstreams', 'name');
    if (given === null || (given !== undefined && given !== name)) return no('an upstream may not be renamed');
    return ok;
  };

  switch (url) {
    case '/':
    case '/status':
      return read ? ok : no('read only');
    case '/services/:key':
      if (!isOwnService(p.key ?? '')) return no(`only service '${service}' is in scope`);
      if (read) return ok;
      if (method === 'PUT' || method === 'PATCH') return serviceBody();
      return no(`the service may be read and upserted, not deleted`);
    case '/services':
      if (method !== 'POST') return no('listing every service needs the admin token');
      if (field(req, 'services', 'name') !== service) return no(`only service '${service}' may be created`);
      return serviceBody();
    case '/services/:service/routes':
    case '/services/:service/routes/:key': {
      if (!isOwnService(p.service ?? '')) return no(`only the routes of service '${service}' are in scope`);
      if (read) return ok;
      if (method === 'DELETE') return no('routes may be upserted, not deleted');
      if (p.key !== undefined && !ownRoute(lookup(store, 'routes', p.key))) return no(`route '${p.key}' belongs to another service`);
      return ok;
    }
    case '/routes/:key': {
      const r = lookup(store, 'routes', p.key ?? '');
      if (!ownRoute(r)) return no(`route '${p.key}' belongs to another service`);
      if (read) return ok;
      if (method === 'DELETE') return no('routes may be upserted, not deleted');
      const ref = routeServiceRef(store, req);
      // PATCH may leave the service as it is; a new route (PUT) must name this one
      if (ref === undefined ? r === undefined : ref === null || ref.id !== svc?.id) return no(`the route's service must be '${service}'`);
      return ok;
    }
    case '/routes': {
      if (method !== 'POST') return no('listing every route needs the admin token');
      const ref = routeServiceRef(store, req);
      if (!ref || ref.id !== svc?.id) return no(`the route's service must be '${service}'`);
      return ok;
    }
    case '/upstreams/:key': {
      const key = p.key ?? '';
      if (!isOwnUpstream(key))
        return no(
          `upstream '${key}' is not one of service '${service}' (${service}.upstream, ${service}.<deployment>.upstream or its current host)`,
        );
      if (read) return ok;
      if (method === 'PUT' || method === 'PATCH') return upstreamBody(upstreamName(key)!);
      return no('upstreams may be upserted, not deleted');
    }
    case '/upstreams': {
      if (method !== 'POST') return no('listing every upstream needs the admin token');
      const name = field(req, 'upstreams', 'name');
      if (typeof name !== 'string' || !ownsUpstream(store, service, name))
        return no(`only upstreams of service '${service}' may be created`);
      return ok;
    }
    case '/upstreams/:upstream/health':
    case '/upstreams/:upstream/targets':
    case '/upstreams/:upstream/targets/all':
    case '/upstreams/:upstream/targets/:target':
    case '/upstreams/:upstream/targets/:target/heartbeat': {
      const key = p.upstream ?? '';
      if (!isOwnUpstream(key)) return no(`upstream '${key}' is not one of service '${service}'`);
      return ok;
    }
    default:
      return no('this endpoint needs the admin token');
  }
}
