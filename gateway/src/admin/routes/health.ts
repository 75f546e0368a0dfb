/**
 * `GET /upstreams/{u}/health` in Kong's shape, plus per target the gw
 * runtime view (`gw: { state, active_requests, ejected_until,
 * lease_expires_at }`), and `?balancer_health=1`.
 *
 * Health checks are not built yet: every address is reported HEALTHY, or
 * HEALTHCHECKS_OFF when the upstream configures none (Kong's words).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Target, Upstream } from '../../entities/types.js';
import { leaseExpiresAt } from '../../leases/lease-keeper.js';
import type { AdminContext } from '../context.js';
import { notFound } from '../kong-errors.js';
import { param, query, resource } from '../resource.js';

/** What the admin may read of the runtime (in-flight counts), without importing it. */
export interface TargetRuntimeView {
  activeRequests(targetId: string): number;
}

function checksConfigured(u: Upstream): boolean {
  const h = u.healthchecks;
  const p = h.passive.unhealthy;
  return h.active.healthy.interval > 0 || h.active.unhealthy.interval > 0 || p.tcp_failures > 0 || p.timeouts > 0 || p.http_failures > 0;
}

function splitAddress(target: string): { ip: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(target);
  return m ? { ip: m[1]!, port: Number(m[2]) } : { ip: target, port: 8000 };
}

export function registerHealthRoutes(app: FastifyInstance, ctx: AdminContext, nodeId: string, view: TargetRuntimeView | undefined): void {
  const describe = (u: Upstream, t: Target) => {
    const health = checksConfigured(u) ? 'HEALTHY' : 'HEALTHCHECKS_OFF';
    const active = view?.activeRequests(t.id) ?? 0;
    const { ip, port } = splitAddress(t.target);
    const entry: Record<string, unknown> = {
      ...ctx.present(t),
      health,
      data: {
        host: ip,
        port,
        dns: 'A',
        nodeWeight: t.weight,
        weight: { total: t.weight, unavailable: 0, available: t.weight },
        addresses: [{ ip, port, weight: t.weight, health }],
      },
    };
    if (!ctx.kongOnly) {
      entry.gw = {
        // warming/unhealthy/ejected come with the health-check work
        state: t.weight === 0 ? 'draining' : 'healthy',
        active_requests: active,
        ejected_until: null,
        lease_expires_at: leaseExpiresAt(t),
      };
    }
    return entry;
  };

  resource(app, '/upstreams/:upstream/health', {
    GET: (req: FastifyRequest) => {
      const u = ctx.lookup('upstreams', param(req, 'upstream'));
      if (!u) throw notFound();
      const targets = [...ctx.store.targetsOf(u.id)].reverse();
      const q = query(req);
      if (q.balancer_health === '1' || q.balancer_health === 'true') {
        const total = targets.reduce((a, t) => a + t.weight, 0);
        const healthy = total > 0;
        return {
          status: 200,
          body: {
            data: {
              health: checksConfigured(u) ? (healthy ? 'HEALTHY' : 'UNHEALTHY') : 'HEALTHCHECKS_OFF',
              balancer_health: healthy ? 'HEALTHY' : 'UNHEALTHY',
              id: u.id,
              details: { healthy, weight: { total, unavailable: 0, available: total }, hosts: targets.map((t) => describe(u, t).data) },
            },
            next: null,
            node_id: nodeId,
          },
        };
      }
      return { status: 200, body: { data: targets.map((t) => describe(u, t)), next: null, node_id: nodeId } };
    },
  });
}
