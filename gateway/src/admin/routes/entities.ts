/**
 * Services, routes and upstreams: collection and entity endpoints (written
 * once for the three), plus the nested `/services/{s}/routes` and
 * `/routes/{r}/service` endpoints.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { EntityByKind, Route } from '../../entities/types.js';
import { isUuid } from '../../entities/index.js';
import type { AdminContext, NamedKind } from '../context.js';
import { methodNotAllowed, notFound } from '../kong-errors.js';
import { paginate, tagFilter, type NextStyle, type OffsetStyle } from '../pagination.js';
import { bodyOf, param, query, resource, type Result } from '../resource.js';

/**
 * List `items` filtered by `?tags`, one page, presented. Nested lists
 * (`/services/{s}/routes`, `/upstreams/{u}/targets`) ignore `?tags=` and
 * their `next` carries the offset only, as Kong's.
 */
export function listPage<T extends { tags: string[] | null }>(
  ctx: AdminContext,
  req: FastifyRequest,
  items: readonly T[],
  basePath: string,
  style: NextStyle = 'collection',
  offsets: OffsetStyle = 'cursor',
): Result {
  const q = query(req);
  const filter = style === 'collection' ? tagFilter(q.tags) : undefined;
  const list = filter ? items.filter((e) => filter(e.tags)) : items;
  const page = paginate(
    list,
    { size: q.size, offset: q.offset, tags: style === 'collection' ? q.tags : undefined },
    basePath,
    style,
    offsets,
  );
  return { status: 200, body: { ...page, data: page.data.map((e) => ctx.present(e)) } };
}

/** PUT semantics: the key in the URL names (or identifies) the entity. */
function withKey(input: Record<string, unknown>, key: string): Record<string, unknown> {
  return isUuid(key) ? { ...input, id: key } : { ...input, name: key };
}

async function put<K extends NamedKind>(
  ctx: AdminContext,
  kind: K,
  key: string,
  input: Record<string, unknown>,
  force?: (e: EntityByKind[K]) => EntityByKind[K],
): Promise<Result> {
  return ctx.write(async () => {
    const existing = ctx.lookup(kind, key);
    let entity = ctx.resolve(kind, ctx.parse(kind, withKey(input, key), 'upsert', existing));
    if (force) entity = force(entity);
    // by name: "nothing there" must still hold when the write lands (two PUTs
    // of one new name create it once); by id: a plain upsert by that id
    const op = existing || !isUuid(key) ? ctx.putOp(kind, entity, existing) : ({ op: 'put', kind, entity } as const);
    await ctx.store.apply([op]);
    return { status: 200, body: ctx.present(entity) };
  });
}

async function patch<K extends NamedKind>(
  ctx: AdminContext,
  kind: K,
  existing: EntityByKind[K] | undefined,
  input: Record<string, unknown>,
): Promise<Result> {
  return ctx.write(async () => {
    const current = existing && ctx.store.get(kind, existing.id);
    if (!current) throw notFound();
    const entity = ctx.resolve(kind, ctx.parse(kind, input, 'update', current));
    await ctx.store.apply([ctx.putOp(kind, entity, current)]);
    return { status: 200, body: ctx.present(entity) };
  });
}

async function create<K extends NamedKind>(ctx: AdminContext, kind: K, input: Record<string, unknown>): Promise<Result> {
  return ctx.write(async () => {
    const entity = ctx.resolve(kind, ctx.parse(kind, input, 'create'));
    await ctx.store.apply([{ op: 'put', kind, entity, insert: true }]);
    return { status: 201, body: ctx.present(entity) };
  });
}

async function remove(ctx: AdminContext, kind: NamedKind, id: string | undefined): Promise<Result> {
  return ctx.write(async () => {
    if (id) await ctx.store.apply([{ op: 'delete', kind, id }]);
    return { status: 204 };
  });
}

export function registerEntityRoutes(app: FastifyInstance, ctx: AdminContext): void {
  for (const kind of ['services', 'routes', 'upstreams'] as const) {
    resource(app, `/${kind}`, {
      GET: (req) => listPage(ctx, req, ctx.store.all(kind), `/${kind}`),
      POST: (req) => create(ctx, kind, bodyOf(req, kind)),
    });
    resource(app, `/${kind}/:key`, {
      GET: (req) => {
        const e = ctx.lookup(kind, param(req, 'key'));
        if (!e) throw notFound();
        return { status: 200, body: ctx.present(e) };
      },
      PUT: (req) => put(ctx, kind, param(req, 'key'), bodyOf(req, kind)),
      PATCH: (req) => patch(ctx, kind, ctx.lookup(kind, param(req, 'key')), bodyOf(req, kind)),
      DELETE: (req) => remove(ctx, kind, ctx.lookup(kind, param(req, 'key'))?.id),
    });
  }

  // /services/{s}/routes
  const serviceOf = (req: FastifyRequest) => {
    const s = ctx.lookup('services', param(req, 'service'));
    if (!s) throw notFound();
    return s;
  };
  const routeUnder = (req: FastifyRequest): Route | undefined => {
    const s = serviceOf(req);
    const r = ctx.lookup('routes', param(req, 'key'));
    return r && r.service?.id === s.id ? r : undefined;
  };
  resource(app, '/services/:service/routes', {
    GET: (req) => {
      const s = serviceOf(req);
      return listPage(ctx, req, ctx.store.routesOf(s.id), `/services/${param(req, 'service')}/routes`, 'nested');
    },
    POST: (req) => {
      const s = serviceOf(req);
      return create(ctx, 'routes', { ...bodyOf(req, 'routes'), service: { id: s.id } });
    },
  });
  resource(app, '/services/:service/routes/:key', {
    GET: (req) => {
      const r = routeUnder(req);
      if (!r) throw notFound();
      return { status: 200, body: ctx.present(r) };
    },
    // Kong's nested PUT has no ownership check (endpoints.lua put_entity_endpoint): a route of another service is upserted into this one
    PUT: (req) => {
      const s = serviceOf(req);
      return put(ctx, 'routes', param(req, 'key'), { ...bodyOf(req, 'routes'), service: { id: s.id } });
    },
    PATCH: (req) => {
      const r = routeUnder(req);
      if (!r) throw notFound();
      return patch(ctx, 'routes', r, bodyOf(req, 'routes'));
    },
    DELETE: (req) => {
      const r = routeUnder(req);
      if (!r) throw notFound();
      return remove(ctx, 'routes', r.id);
    },
  });

  // /routes/{r}/service
  const routeOf = (req: FastifyRequest) => {
    const r = ctx.lookup('routes', param(req, 'key'));
    if (!r) throw notFound();
    return r;
  };
  resource(app, '/routes/:key/service', {
    // Kong (09-routes_routes_spec, endpoints.lua delete_entity_endpoint): 404 when the route does not exist or has no service, else 405
    DELETE: (req) => {
      if (!routeOf(req).service) throw notFound();
      throw methodNotAllowed();
    },
    GET: (req) => {
      const r = routeOf(req);
      const s = r.service && ctx.store.get('services', r.service.id);
      if (!s) throw notFound();
      return { status: 200, body: ctx.present(s) };
    },
    PATCH: (req) => {
      const r = routeOf(req);
      return patch(ctx, 'services', r.service ? ctx.store.get('services', r.service.id) : undefined, bodyOf(req, 'services'));
    },
    PUT: (req) =>
      ctx.write(async () => {
        const r = routeOf(req);
        const existing = r.service ? ctx.store.get('services', r.service.id) : undefined;
        const service = ctx.parse('services', bodyOf(req, 'services'), 'upsert', existing) as EntityByKind['services'];
        const ops = [ctx.putOp('services', service, existing)];
        if (!existing) {
          const route: Route = { ...r, service: { id: service.id }, updated_at: Math.floor(ctx.now()) };
          await ctx.store.apply([...ops, ctx.putOp('routes', route, r)]);
        } else {
          await ctx.store.apply(ops);
        }
        return { status: 200, body: ctx.present(service) };
      }),
  });
}
