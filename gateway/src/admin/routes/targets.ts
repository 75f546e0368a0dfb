import type { WriteOp } from '../../store/store.js';
/**
 * `/upstreams/{u}/targets*`: Kong's special-cased target endpoints.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isUuid, normalizeTarget } from '../../entities/index.js';
import type { Target, Upstream } from '../../entities/types.js';
import type { AdminContext } from '../context.js';
import type { IdentityGuard } from '../identity-guard.js';
import { AdminError, notFound } from '../kong-errors.js';
import { bodyOf, param, query, resource, type Result } from '../resource.js';
import { listPage } from './entities.js';
import { CLOUDMAP_SOURCE_TAG } from '../../discovery/cloudmap-mapping.js';

/**
 * A target Cloud Map discovery wrote is Cloud Map's: change it there (the
 * next poll would undo an edit here). 400 naming the source.
 */
function refuseDiscovered(t: Target | undefined, u: Upstream): void {
  if (!t || !(t.tags ?? []).includes(CLOUDMAP_SOURCE_TAG)) return;
  throw new AdminError(400, {
    message: `target ${t.target} of upstream ${u.name ?? u.id} comes from AWS Cloud Map (tag ${CLOUDMAP_SOURCE_TAG}) and cannot be changed through the Admin API; change the Cloud Map instance (or deregister it) instead`,
  });
}

export function registerTargetRoutes(app: FastifyInstance, ctx: AdminContext, guard?: IdentityGuard): void {
  /** Write a target; on gw, with the identity guard's deletes in the same atomic batch. */
  /** the target write `op` (with its preconditions), plus the identity guard's deletes in the same batch */
  const writeTarget = async (entity: Target, op: WriteOp = { op: 'put', kind: 'targets', entity }): Promise<void> => {
    if (!guard || ctx.kongOnly) {
      await ctx.store.apply([op]);
      return;
    }
    const { ops: guarded, stale } = guard.opsFor(ctx.store, entity);
    const ops = guarded.map((o) => (o.op === 'put' && o.kind === 'targets' && o.entity.id === entity.id ? op : o));
    await ctx.store.apply(ops);
    guard.applied(ctx.store, entity, stale);
  };
  const upstreamOf = (req: FastifyRequest): Upstream => {
    const u = ctx.lookup('upstreams', param(req, 'upstream'));
    if (!u) throw notFound();
    return u;
  };
  const targetOf = (req: FastifyRequest): { u: Upstream; t: Target | undefined } => {
    const u = upstreamOf(req);
    const key = param(req, 'target');
    const normalized = isUuid(key) ? key : (normalizeTarget(key) ?? key);
    return { u, t: ctx.lookupTarget(u, normalized) };
  };
  const asTarget = (u: Upstream, value: object): Target => ({ ...(value as Target), upstream: { id: u.id } });
  // Kong prints the key as the URL gave it
  const base = (req: FastifyRequest) => `/upstreams/${param(req, 'upstream')}/targets`;

  resource(app, '/upstreams/:upstream/targets', {
    // newest first, offsets a plain index (Kong pages this list in Lua: targets.lua page_for_upstream)
    GET: (req) => listPage(ctx, req, [...ctx.store.targetsOf(upstreamOf(req).id)].reverse(), base(req), 'nested', 'index'),
    POST: (req) =>
      ctx.write(async (): Promise<Result> => {
        const u = upstreamOf(req);
        const entity = asTarget(u, ctx.parse('targets', { ...bodyOf(req, 'targets'), upstream: { id: u.id } }, 'create'));
        await writeTarget(entity, { op: 'put', kind: 'targets', entity, insert: true });
        return { status: 201, body: ctx.present(entity) };
      }),
  });
  resource(app, '/upstreams/:upstream/targets/all', {
    GET: (req) => listPage(ctx, req, ctx.store.targetsOf(upstreamOf(req).id), `${base(req)}/all`, 'nested'),
  });
  // gw extension: renew a target's lease without resending it
  if (!ctx.kongOnly) {
    // gw extension: every target at one address, across upstreams (the SDK's identity guard)
    resource(app, '/targets', {
      GET: (req) => {
        const raw = query(req).target;
        // without the query argument this is Kong's (absent) /targets: 404 as Kong
        if (raw === undefined) throw notFound();
        const address = typeof raw === 'string' ? normalizeTarget(raw) : undefined;
        if (!address)
          throw new AdminError(400, { message: "query argument 'target' must be host:port, e.g. /targets?target=10.0.1.7:3000" });
        const data: unknown[] = [];
        for (const u of ctx.store.all('upstreams')) {
          const t = ctx.store.getTarget(u.id, address);
          if (t) data.push(ctx.present(t));
        }
        return { status: 200, body: { data, next: null } };
      },
    });
    resource(app, '/upstreams/:upstream/targets/:target/heartbeat', {
      POST: async (req) => {
        const { t } = targetOf(req);
        if (!t) throw notFound();
        // a lease renewal, not an entity write (a target without ttl has nothing to renew)
        if (t.ttl !== null && t.ttl !== undefined && (await ctx.store.touch(t.id, t.ttl)) === undefined) throw notFound();
        return { status: 200, body: ctx.present(t) };
      },
    });
  }
  resource(app, '/upstreams/:upstream/targets/:target', {
    GET: (req) => {
      const { t } = targetOf(req);
      if (!t) throw notFound();
      return { status: 200, body: ctx.present(t) };
    },
    PATCH: (req) =>
      ctx.write(async () => {
        const { u, t } = targetOf(req);
        if (!t) throw notFound();
        refuseDiscovered(t, u);
        const entity = asTarget(u, ctx.parse('targets', { ...bodyOf(req, 'targets'), upstream: { id: u.id } }, 'update', t));
        await writeTarget(entity, ctx.putOp('targets', entity, t));
        return { status: 200, body: ctx.present(entity) };
      }),
    PUT: (req) =>
      ctx.write(async () => {
        const { u, t } = targetOf(req);
        refuseDiscovered(t, u);
        const key = param(req, 'target');
        const input: Record<string, unknown> = { ...bodyOf(req, 'targets'), upstream: { id: u.id } };
        if (input.target === undefined && !isUuid(key)) input.target = key;
        if (isUuid(key) && !t) input.id = key;
        // the gw lease is declared by each PUT (the SDK's registration): no `ttl` sent, no lease
        if (t && !ctx.kongOnly && !('ttl' in input)) input.ttl = null;
        // Kong's PUT on a target is its PATCH (kong/api/routes/upstreams.lua update_target_cb): fields
        // not sent keep their values (08-targets_routes_spec "updates target (by id)"); on a missing
        // target gw creates it (Kong: 404), see docs/admin-api.md "Differences from Kong"
        const entity = asTarget(u, ctx.parse('targets', input, t ? 'update' : 'upsert', t));
        // the same target again (the SDK's keep-alive PUT): a lease renewal, not a write
        if (
          t &&
          entity.ttl !== null &&
          entity.ttl !== undefined &&
          sameTarget(t, entity) &&
          (await ctx.store.touch(t.id, entity.ttl)) !== undefined
        ) {
          return { status: 200, body: ctx.present(t) };
        }
        await writeTarget(entity, t || !isUuid(key) ? ctx.putOp('targets', entity, t) : { op: 'put', kind: 'targets', entity });
        return { status: 200, body: ctx.present(entity) };
      }),
    DELETE: (req) =>
      ctx.write(async () => {
        const { u, t } = targetOf(req);
        if (!t) throw notFound();
        refuseDiscovered(t, u);
        await ctx.store.apply([{ op: 'delete', kind: 'targets', id: t.id }]);
        return { status: 204 };
      }),
  });
}

/** Equal except for the write stamp. */
function sameTarget(a: Target, b: Target): boolean {
  const { updated_at: _a, ...x } = a;
  const { updated_at: _b, ...y } = b;
  void _a;
  void _b;
  return JSON.stringify(x) === JSON.stringify(y);
}
