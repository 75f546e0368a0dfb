/**
 * The Admin API endpoints Kong clients call besides the four entities
 * (`kong/api/routes/kong.lua`, `tags.lua`, `kong/status/ready.lua`):
 * `/endpoints`, `/schemas/{entity}` and `/schemas/{entity}/validate`,
 * `/tags` and `/tags/{tag}`, `/status/ready`, and empty collections for the
 * entity kinds gw does not implement, so tools that dump a whole Kong work,
 * while creating one is refused by name (never silently accepted).
 */
import type { FastifyInstance } from 'fastify';
import { describeEntity, parseEntity } from '../../entities/index.js';
import type { AnyEntity, EntityKind } from '../../entities/types.js';
import type { AdminContext } from '../context.js';
import { AdminError, notFound, schemaViolation } from '../kong-errors.js';
import { paginate } from '../pagination.js';
import { bodyOf, param, query, resource } from '../resource.js';

const KINDS: readonly EntityKind[] = ['services', 'routes', 'upstreams', 'targets'];

/**
 * Kong entity kinds gw does not implement: listing answers an empty page,
 * creating one is a 400 naming it.
 */
export const UNIMPLEMENTED_KINDS = [
  'plugins',
  'consumers',
  'certificates',
  'snis',
  'ca_certificates',
  'vaults',
  'keys',
  'key-sets',
  'filter-chains',
] as const;

const ENTITY_COLLECTIONS = new Set<string>([...KINDS, ...UNIMPLEMENTED_KINDS]);

/** Collections nested under an entity that Kong has and gw keeps empty. */
const NESTED_UNIMPLEMENTED: readonly [string, string][] = [
  ['services', 'plugins'],
  ['routes', 'plugins'],
];

export interface KongEndpointsOptions {
  isReady: () => boolean;
  /** true once shutdown began: `/status/ready` answers 503 "draining", as Kong */
  isDraining?: () => boolean;
}

/** `GET /status/ready` (Kong 3.3+), shared by the admin and the status listener. */
export function readyHandler(opts: KongEndpointsOptions): () => { status: number; body: unknown } {
  return () => {
    if (opts.isDraining?.() === true) return { status: 503, body: { message: 'draining' } };
    if (!opts.isReady()) return { status: 503, body: { message: 'configuration not loaded yet' } };
    return { status: 200, body: { message: 'ready' } };
  };
}

/**
 * Collect every admin path for `/endpoints`; call before any other route is
 * registered so the list is complete.
 */
export function collectEndpoints(app: FastifyInstance): Set<string> {
  const paths = new Set<string>();
  app.addHook('onRoute', (r) => {
    if (r.url.includes('*')) return;
    // Kong names an entity's key after its collection: /services/{services}/routes/{routes}
    const segments = r.url.split('/').map((seg, i, all) => {
      if (!seg.startsWith(':')) return seg;
      const collection = all[i - 1] ?? '';
      return ENTITY_COLLECTIONS.has(collection) ? `{${collection}}` : `{${seg.slice(1)}}`;
    });
    paths.add(segments.join('/'));
  });
  return paths;
}

function notImplemented(kind: string): AdminError {
  return new AdminError(400, { message: `gw does not implement ${kind}: the request was not applied` });
}

export function registerKongEndpoints(app: FastifyInstance, ctx: AdminContext, opts: KongEndpointsOptions, endpoints: Set<string>): void {
  resource(app, '/endpoints', {
    GET: () => ({ status: 200, body: { data: [...endpoints].sort() } }),
  });

  resource(app, '/status/ready', { GET: readyHandler(opts) });

  resource(app, '/schemas/:name', {
    GET: (req) => {
      const name = param(req, 'name');
      if (!(KINDS as readonly string[]).includes(name)) return { status: 404, body: { message: `No entity named '${name}'` } };
      return { status: 200, body: describeEntity(name as EntityKind, ctx.kongOnly) };
    },
  });
  resource(app, '/schemas/:db_entity_name/validate', {
    POST: (req) => {
      const name = param(req, 'db_entity_name');
      if (!(KINDS as readonly string[]).includes(name)) return { status: 404, body: { message: `No entity named '${name}'` } };
      const kind = name as EntityKind;
      const r = parseEntity(kind, bodyOf(req, kind), { mode: 'create', now: ctx.now(), kongOnly: ctx.kongOnly });
      if (!r.ok) throw schemaViolation(r.error);
      return { status: 200, body: { message: 'schema validation successful' } };
    },
  });

  resource(app, '/tags', {
    // Kong ignores `?tags=` here
    GET: (req) => {
      const q = query(req);
      return { status: 200, body: paginate(tagRows(ctx), { size: q.size, offset: q.offset }, '/tags') };
    },
  });
  resource(app, '/tags/:tags', {
    GET: (req) => {
      const tag = param(req, 'tags');
      if (tag === '' || /[\uFFFD]/.test(tag)) {
        throw new AdminError(400, {
          code: 3,
          name: 'unique constraint violation',
          message: `invalid tag '${tag}': invalid utf-8`,
          fields: { tag: 'invalid utf-8' },
        });
      }
      const q = query(req);
      const rows = tagRows(ctx).filter((r) => r.tag === tag);
      return { status: 200, body: paginate(rows, { size: q.size, offset: q.offset }, `/tags/${encodeURIComponent(tag)}`) };
    },
  });

  for (const kind of UNIMPLEMENTED_KINDS) {
    resource(app, `/${kind}`, {
      GET: () => ({ status: 200, body: { data: [], next: null } }),
      POST: () => {
        throw notImplemented(kind);
      },
    });
    const one = `/${kind}/:${kind.replace(/-/g, '_')}`;
    resource(app, one, {
      GET: () => {
        throw notFound();
      },
      PUT: () => {
        throw notImplemented(kind);
      },
      PATCH: () => {
        throw notFound();
      },
      DELETE: () => ({ status: 204 }),
    });
  }
  resource(app, '/plugins/enabled', {
    GET: () => ({ status: 200, body: { enabled_plugins: [] } }),
  });
  for (const [parent, child] of NESTED_UNIMPLEMENTED) {
    resource(app, `/${parent}/:${parent}/${child}`, {
      GET: (req) => {
        const key = param(req, parent);
        const kind = parent as Exclude<EntityKind, 'targets'>;
        if (!ctx.lookup(kind, key)) throw notFound();
        return { status: 200, body: { data: [], next: null } };
      },
      POST: () => {
        throw notImplemented(child);
      },
    });
  }
}

interface TagRow {
  entity_id: string;
  entity_name: EntityKind;
  tag: string;
}

/** Every (entity, tag) pair, ordered by entity id then tag position, as Kong's tags table. */
function tagRows(ctx: AdminContext): TagRow[] {
  const rows: TagRow[] = [];
  const entities: [string, EntityKind, readonly string[]][] = [];
  for (const kind of KINDS) {
    for (const e of ctx.store.all(kind) as readonly AnyEntity[]) {
      const tags = (e as { tags?: string[] | null }).tags;
      if (tags && tags.length > 0) entities.push([e.id, kind, tags]);
    }
  }
  entities.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (const [id, kind, tags] of entities) for (const tag of tags) rows.push({ entity_id: id, entity_name: kind, tag });
  return rows;
}
