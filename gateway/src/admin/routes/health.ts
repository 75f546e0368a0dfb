/**
 * `GET /upstreams/{u}/health` in Kong's shape, plus per target the gw
 * runtime view (`gw: { state, active_requests, ejected_until,
 * lease_expires_at }`), `?balancer_health=1`, and Kong's manual overrides
 * `PUT /upstreams/{u}/targets/{t}[/{address}]/healthy|unhealthy`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { splitHostPort } from '../../entities/hosts.js';
import { isUuid, normalizeTarget } from '../../entities/index.js';
import type { Target, Upstream } from '../../entities/types.js';
import { balancerHealthy } from '../../health/threshold.js';
import { leaseExpiresAt } from '../../leases/lease-keeper.js';
import type { AdminContext } from '../context.js';
import { AdminError, notFound } from '../kong-errors.js';
import { paginate } from '../pagination.js';
import { param, query, resource, type Result } from '../resource.js';

/** One target's health as the health code reports it. */
export interface TargetHealthInfo {
  readonly health: 'HEALTHY' | 'UNHEALTHY' | 'HEALTHCHECKS_OFF' | 'DNS_ERROR';
  readonly state: 'warming' | 'healthy' | 'unhealthy' | 'draining' | 'ejected';
  readonly ejected_until: string | null;
}

/** What the admin may read of the runtime, without importing it (wired in gateway.ts). */
export interface TargetRuntimeView {
  /** requests in flight to the target, summed over the node's processes (and, in a cluster, its nodes) */
  activeRequests(upstreamId: string, targetId: string): number;
  targetHealth?(upstreamId: string, targetId: string): TargetHealthInfo | undefined;
  setTargetHealth?(upstreamId: string, targetId: string, healthy: boolean): 'ok' | 'no-balancer' | 'no-checker' | 'not-found';
  /** a hostname target's resolved addresses (each with its own health record, by `id`), or undefined for an IP target */
  dnsAddresses?(upstreamId: string, targetId: string): DnsAddressesView | undefined;
}

/** What DNS gave a hostname target (dns/targets.ts). */
export interface DnsAddressesView {
  /** record type of the answer in use (A, AAAA, SRV) */
  readonly type: string;
  /** the last query's error (with addresses: a stale answer is in use) */
  readonly error: string | undefined;
  readonly addresses: readonly { readonly id: string; readonly address: string; readonly weight: number }[];
}

function checksConfigured(u: Upstream): boolean {
  const h = u.healthchecks;
  const p = h.passive.unhealthy;
  return h.active.healthy.interval > 0 || h.active.unhealthy.interval > 0 || p.tcp_failures > 0 || p.timeouts > 0 || p.http_failures > 0;
}

interface HealthData {
  addresses: { ip: string; port: number; weight: number; health: string }[];
}

/**
 * A target's `data` as the balancer view shows it: each address with
 * `healthy` (Kong's `addr.available`) instead of `health`, which Kong adds
 * (and `healthy` removes) only for the per-target list (balancers.lua
 * getTargetStatus; healthcheckers.lua get_upstream_health).
 */
function balancerHost(data: HealthData): HealthData | Record<string, unknown> {
  return {
    ...data,
    addresses: data.addresses.map(({ ip, port, weight, health }) => ({ ip, port, weight, healthy: health !== 'UNHEALTHY' })),
  };
}

/** Kong's `data.host`/`port` of a target (IPv6 stays bracketed, as Kong prints it). */
function splitAddress(target: string): { ip: string; port: number } {
  const p = splitHostPort(target);
  if (!p || p.port === undefined || !/^\d+$/.test(p.port)) return { ip: target, port: 8000 };
  return { ip: p.ipv6 ? `[${p.host}]` : p.host, port: Number(p.port) };
}

export function registerHealthRoutes(app: FastifyInstance, ctx: AdminContext, nodeId: string, view: TargetRuntimeView | undefined): void {
  const infoOf = (u: Upstream, t: Target): TargetHealthInfo => {
    const live = view?.targetHealth?.(u.id, t.id);
    // Kong's 08-targets_routes_spec "returns HEALTHCHECKS_OFF for target with weight 0": a target
    // that takes no traffic is not health-checked, whatever its last state
    if (t.weight === 0) return { health: 'HEALTHCHECKS_OFF', state: live?.state ?? 'draining', ejected_until: live?.ejected_until ?? null };
    if (live) return live;
    // not in the runtime yet (created a moment ago): Kong's targets start healthy
    return {
      health: checksConfigured(u) ? 'HEALTHY' : 'HEALTHCHECKS_OFF',
      state: t.weight === 0 ? 'draining' : 'healthy',
      ejected_until: null,
    };
  };
  const describe = (u: Upstream, t: Target) => {
    const dns = view?.dnsAddresses?.(u.id, t.id);
    if (dns) return describeResolved(u, t, dns);
    const info = infoOf(u, t);
    const unavailable = info.health === 'UNHEALTHY' ? t.weight : 0;
    const { ip, port } = splitAddress(t.target);
    const entry: Record<string, unknown> = {
      ...ctx.present(t),
      health: info.health,
      data: {
        host: ip,
        port,
        dns: 'A',
        nodeWeight: t.weight,
        weight: { total: t.weight, unavailable, available: t.weight - unavailable },
        addresses: [{ ip, port, weight: t.weight, health: info.health }],
      },
    };
    if (!ctx.kongOnly) {
      entry.gw = {
        state: info.state,
        active_requests: view?.activeRequests(u.id, t.id) ?? 0,
        ejected_until: info.ejected_until,
        lease_expires_at: leaseExpiresAt(ctx.store, t),
      };
    }
    return { entry, unavailable, total: undefined as number | undefined };
  };

  /**
   * A hostname target: one `addresses` entry per resolved address with its
   * own health; the target is HEALTHY while one address is, DNS_ERROR
   * without any address (Kong: the name did not resolve).
   */
  const describeResolved = (u: Upstream, t: Target, dns: DnsAddressesView) => {
    // a weight-0 target is HEALTHCHECKS_OFF on every address, as an IP target of weight 0 (Kong's 08-targets_routes_spec)
    const checks = checksConfigured(u) && t.weight > 0;
    const { ip: host, port } = splitAddress(t.target);
    const addresses = dns.addresses.map((a) => {
      const live = view?.targetHealth?.(u.id, a.id);
      const health = !checks ? 'HEALTHCHECKS_OFF' : (live?.health ?? 'HEALTHY');
      const { ip, port: p } = splitAddress(a.address);
      return { a, live, entry: { ip, port: p, weight: a.weight, health } };
    });
    const total = addresses.reduce((n, x) => n + x.a.weight, 0);
    const unavailable = addresses.reduce((n, x) => n + (x.entry.health === 'UNHEALTHY' ? x.a.weight : 0), 0);
    const health: TargetHealthInfo['health'] =
      addresses.length === 0
        ? 'DNS_ERROR'
        : !checks
          ? 'HEALTHCHECKS_OFF'
          : addresses.some((x) => x.entry.health !== 'UNHEALTHY')
            ? 'HEALTHY'
            : 'UNHEALTHY';
    const entry: Record<string, unknown> = {
      ...ctx.present(t),
      health,
      data: {
        host,
        port,
        dns: dns.type,
        nodeWeight: t.weight,
        weight: { total, unavailable, available: total - unavailable },
        addresses: addresses.map((x) => x.entry),
      },
    };
    if (!ctx.kongOnly) {
      const states = addresses.map((x) => x.live?.state ?? 'healthy');
      entry.gw = {
        state: states.length === 0 ? 'dns_error' : states.includes('healthy') ? 'healthy' : states[0],
        active_requests: addresses.reduce((n, x) => n + (view?.activeRequests(u.id, x.a.id) ?? 0), 0),
        ejected_until: null,
        lease_expires_at: leaseExpiresAt(ctx.store, t),
        dns_error: dns.error ?? null,
      };
    }
    // Kong's balancer weight: an unresolved name contributes nothing
    return { entry, unavailable, total };
  };

  resource(app, '/upstreams/:upstream/health', {
    GET: (req: FastifyRequest) => {
      const u = ctx.lookup('upstreams', param(req, 'upstream'));
      if (!u) throw notFound();
      const targets = [...ctx.store.targetsOf(u.id)].reverse();
      const q = query(req);
      const described = targets.map((t) => describe(u, t));
      // exactly `1`, as Kong (upstreams.lua: tostring(self.params.balancer_health) == "1")
      if (q.balancer_health === '1') {
        const total = described.reduce((a, d, i) => a + (d.total ?? targets[i]!.weight), 0);
        const unavailable = described.reduce((a, d) => a + d.unavailable, 0);
        const healthy = balancerHealthy(total, total - unavailable, u.healthchecks.threshold);
        return {
          status: 200,
          body: {
            data: {
              health: checksConfigured(u) ? (healthy ? 'HEALTHY' : 'UNHEALTHY') : 'HEALTHCHECKS_OFF',
              balancer_health: healthy ? 'HEALTHY' : 'UNHEALTHY',
              id: u.id,
              details: {
                healthy,
                weight: { total, unavailable, available: total - unavailable },
                hosts: described.map((d) => balancerHost(d.entry.data as HealthData)),
              },
            },
            next: null,
            node_id: nodeId,
          },
        };
      }
      // Kong pages this list like a nested collection: `next` is /upstreams/{u}/health?offset=...
      const page = paginate(
        described.map((d) => d.entry),
        { size: q.size, offset: q.offset },
        `/upstreams/${param(req, 'upstream')}/health`,
        'nested',
        'index',
      );
      return { status: 200, body: { ...page, node_id: nodeId } };
    },
  });

  const manual = (healthy: boolean) => (req: FastifyRequest) => {
    const u = ctx.lookup('upstreams', param(req, 'upstream'));
    if (!u) throw notFound();
    const key = param(req, 'target');
    const t = ctx.lookupTarget(u, isUuid(key) ? key : (normalizeTarget(key) ?? key));
    if (!t) throw notFound();
    const address = (req.params as Record<string, string | undefined>).address;
    /**
     * An address the health checker does not know (not one of the target's; or a weight-0 target, which
     * Kong keeps out of its checker): Kong's lua-resty-healthcheck logs it and succeeds, so nothing
     * changes and the answer is 204, once a checker exists (set_target_status, "sync issue").
     */
    const unknownAddress = (): Result => {
      if (!checksConfigured(u)) throw new AdminError(400, { message: `no healthchecker found for ${u.name}` });
      return { status: 204 };
    };
    if (t.weight === 0) return unknownAddress();
    const dns = view?.dnsAddresses?.(u.id, t.id);
    // a hostname target: the one address named (`ip[:port]`, port 8000 when absent), or all of them
    let ids = [t.id];
    if (dns) {
      const a = address === undefined ? undefined : normalizeTarget(address);
      ids = dns.addresses.filter((x) => address === undefined || x.address === a).map((x) => x.id);
      if (ids.length === 0) return unknownAddress();
    } else if (address !== undefined) {
      // an IP target is its only address
      if (normalizeTarget(address) !== t.target) return unknownAddress();
    }
    let r: ReturnType<NonNullable<TargetRuntimeView['setTargetHealth']>> = 'no-balancer';
    for (const id of ids) r = view?.setTargetHealth?.(u.id, id, healthy) ?? 'no-balancer';
    switch (r) {
      case 'ok':
        return { status: 204 };
      case 'no-checker':
        throw new AdminError(400, { message: `no healthchecker found for ${u.name}` });
      case 'not-found':
      case 'no-balancer':
        throw new AdminError(400, { message: `Upstream ${u.name} has no balancer` });
      default:
        return r satisfies never;
    }
  };
  for (const [suffix, healthy] of [
    ['healthy', true],
    ['unhealthy', false],
  ] as const) {
    resource(app, `/upstreams/:upstream/targets/:target/${suffix}`, { PUT: manual(healthy) });
    resource(app, `/upstreams/:upstream/targets/:target/:address/${suffix}`, { PUT: manual(healthy) });
  }
}
