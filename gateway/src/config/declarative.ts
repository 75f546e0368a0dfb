/**
 * Kong declarative configuration (`_format_version` "1.1" | "2.1" | "3.0"),
 * YAML or JSON: services (with nested routes), routes, upstreams (with nested
 * targets), targets. Everything else (plugins, consumers, certificates...) is
 * refused by name: gw never silently ignores, say, an auth plugin.
 *
 * Loading = one atomic store.apply() of every entity, upserted by id. Entities
 * without an id get a deterministic UUIDv5 from their kind and name/key, so
 * loading the same file at every start is idempotent.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { parseEntity, type ForeignRef } from '../entities/index.js';
import type { AnyEntity, EntityKind } from '../entities/types.js';
import { normalizeRoutePath } from '../entities/route-paths.js';
import { INVALID_TARGET } from '../entities/targets.js';
import { GwError } from '../errors.js';
import { ErrorTree, type ErrorPath } from './error-tree.js';
import type { WriteOp } from '../store/store.js';

const FORMATS = new Set(['1.1', '2.1', '3.0']);
// `_comment` (a string) and `_ignore` (an array) are Kong's free-form keys (declarative_config.lua), `_info` decK's
const TOP_LEVEL = new Set([
  '_format_version',
  '_transform',
  '_comment',
  '_ignore',
  '_info',
  '_workspace',
  'services',
  'routes',
  'upstreams',
  'targets',
]);
/** gw's namespace for UUIDv5 ids of declarative entities. */
const NAMESPACE = 'f3a1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b';

export function uuidV5(name: string, namespace: string = NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const h = createHash('sha1').update(ns).update(name).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A file value as text for a label: scalars as they are, a mapping or a list as JSON (not `[object Object]`). */
const show = (v: unknown): string => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));

export interface DeclarativeOptions {
  now: number;
  kongOnly?: boolean;
}

/** Read and parse a declarative file into store writes; throws GwError naming every problem. */
export async function loadDeclarativeFile(path: string, opts: DeclarativeOptions): Promise<WriteOp[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new GwError('GW_ERR_CONFIG_FILE', [path, (err as Error).message]);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text); // YAML is a superset of JSON
  } catch (err) {
    throw new GwError('GW_ERR_CONFIG_FILE', [path, (err as Error).message.split('\n')[0]!]);
  }
  return declarativeToOps(doc, path, opts);
}

/** What a top-level plugin entry applies to: `on service a`, `on route r`, `on consumer c`, or `global`. */
function appliesTo(p: Obj): string {
  const on = (['service', 'route', 'consumer'] as const).flatMap((k) => {
    const ref = p[k];
    const name = isObj(ref) ? (ref.name ?? ref.id ?? ref.username) : ref;
    return ref === undefined || ref === null ? [] : [`${k} ${String(name)}`];
  });
  return on.length > 0 ? `on ${on.join(' and ')}` : 'global';
}

/** A document position as gw's error text writes it: `services[0].routes[1]`. */
const label = (p: ErrorPath): string => p.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');

/**
 * Kong's `failed parsing declarative configuration: ...` (kong/db/declarative/init.lua
 * `unserialize`), as a GwError whose details carry Kong's `fields`.
 */
export function parseFailure(source: string, why: string): GwError {
  return new GwError('GW_ERR_CONFIG_FILE', [source, why], { fields: { error: `failed parsing declarative configuration: ${why}` } });
}

/**
 * What Kong's `flatten_errors` works on for an invalid document (see
 * flatten-errors.ts): the document as the checks saw it and the errors to
 * flatten. Kong flattens the `fields` it reports; gw, which names what it does
 * not implement in one line per key, flattens those per entity (each plugin
 * its own `name` error).
 */
export interface FlattenSource {
  /** the document (route paths migrated); with the ids gw gave its entities once every entity is valid */
  document: Record<string, unknown>;
  fields: Record<string, unknown>;
}

/**
 * The document as store writes. Throws a GwError naming every problem; its
 * `details.fields` holds them where they occur in the document, in Kong's
 * words and order of checks (kong/db/schema/others/declarative_config.lua):
 * schema errors first (each entity's own, as POST of that entity reports
 * them), only when there are none the references and uniqueness, and only
 * for a document Kong would accept, what gw does not implement
 * (GW_ERR_CONFIG_UNSUPPORTED). `details.flatten` ({@link FlattenSource}) is
 * there for every error but a document that is not an object.
 */
export function declarativeToOps(input: unknown, path: string, opts: DeclarativeOptions): WriteOp[] {
  if (!isObj(input)) throw parseFailure(path, 'expected an object');
  let doc: Obj = input;
  const errors: string[] = [];
  /** Kong's schema validation errors */
  const schema = new ErrorTree();
  /** Kong's reference and uniqueness errors (validate_references), reported when the schema ones are none */
  const refs = new ErrorTree();
  const unsupportedFields = new ErrorTree();
  /** the same, per entity: each plugin's own error, for flatten_errors */
  const unsupportedFlat = new ErrorTree();
  /** the ids gw generated, by document position (Kong's generate_ids fills them in before the reference checks) */
  const generated: [ErrorPath, string][] = [];
  const schemaError = (at: ErrorPath, value: unknown, text: string): void => {
    errors.push(text);
    schema.set(at, value);
  };
  const fail = (): never => {
    const fields = (schema.empty ? refs : schema).fields;
    const flatten: FlattenSource = { document: schema.empty ? withIds(doc, generated) : doc, fields };
    throw new GwError('GW_ERR_CONFIG_FILE', [path, errors.join('; ')], { fields, flatten });
  };
  const fmt = doc._format_version;
  // Kong's words (01-validate_spec "requires version 1.1 or 2.1 or 3.0")
  if (typeof fmt !== 'string' || !FORMATS.has(fmt)) {
    const why =
      fmt === undefined || fmt === null
        ? 'required field missing'
        : typeof fmt !== 'string'
          ? 'expected a string'
          : 'expected one of: 1.1, 2.1, 3.0';
    schemaError(['_format_version'], why, `_format_version: ${why} (got ${JSON.stringify(fmt)})`);
    fail();
  }
  if (fmt === '1.1' || fmt === '2.1') doc = migrateRoutePaths(doc);
  const unsupported: string[] = [];
  const notImplemented = (at: ErrorPath, what: string): void => {
    unsupported.push(what);
    const old = unsupportedFields.fields[String(at[0])];
    // several plugins under one key: one line naming them all
    if (at.length === 1 && typeof old === 'string') unsupportedFields.set(at, `${old}, ${what}`);
    else unsupportedFields.set(at, `gw does not implement: ${what}`);
  };
  for (const k of Object.keys(doc)) {
    if (TOP_LEVEL.has(k)) continue;
    // top-level plugins are named like nested ones, with what they apply to (or global)
    if (k === 'plugins' && Array.isArray(doc.plugins) && doc.plugins.length > 0) {
      (doc.plugins as unknown[]).forEach((p, i) => {
        const what = `plugins (${isObj(p) ? `${String(p.name)} ${appliesTo(p)}` : '?'})`;
        notImplemented([k], what);
        unsupportedFlat.set(isObj(p) ? [k, i, 'name'] : [k, i], `gw does not implement: ${what}`);
      });
    } else {
      notImplemented([k], k);
      unsupportedFlat.set([k], `gw does not implement: ${k}`);
    }
  }
  // Kong's free-form keys have a type (01-validate_spec "_comment accepts a string", "_ignore accepts an array of anything")
  const freeForm = (e: Obj, at: ErrorPath): void => {
    const where = at.length > 0 ? `${label(at)}.` : '';
    if (e._comment !== undefined && typeof e._comment !== 'string')
      schemaError([...at, '_comment'], 'expected a string', `${where}_comment: expected a string`);
    if (e._ignore !== undefined && !Array.isArray(e._ignore))
      schemaError([...at, '_ignore'], 'expected an array', `${where}_ignore: expected an array`);
  };
  freeForm(doc, []);
  const ops: WriteOp[] = [];
  const services = new Map<string, string>(); // name or id → id
  const upstreams = new Map<string, string>();

  const list = (key: string): Obj[] => {
    const v = doc[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      schemaError([key], 'expected an array', `${key}: expected a list`);
      return [];
    }
    return v.map((e, i) => (isObj(e) ? e : (schemaError([key, i], 'expected a record', `${key}[${i}]: expected a mapping`), {})));
  };

  /**
   * Where each id and each unique key (name; a target's upstream and address) was first declared: Kong refuses a
   * second one at its position, `uniqueness violation: 'services' entity with name set to 'foo' already declared`
   * (the name first; the primary key only when the name is not the clash).
   */
  const declared = new Map<string, { where: string; id: string }>();
  const once = (kind: EntityKind, e: AnyEntity, at: ErrorPath): boolean => {
    const x = e as unknown as { id: string; name?: string | null; target?: string; upstream?: { id: string } };
    // a target's id derives from its upstream and address, so a repeated target clashes on its primary key
    // (Kong's words: the target is not a unique key); with other ids given, gw still refuses the address twice
    const keys: [string, string, string][] = [];
    if (kind === 'targets')
      keys.push([`${kind} ${x.upstream?.id ?? ''} ${x.target ?? ''}`, `target '${x.target}'`, `target set to '${x.target}'`]);
    else if (x.name) keys.push([`${kind} name ${x.name}`, `name '${x.name}'`, `name set to '${x.name}'`]);
    keys.push([`${kind} id ${x.id}`, `id '${x.id}'`, `primary key set to '${x.id}'`]);
    for (const [key, what, kong] of keys) {
      const first = declared.get(key);
      if (first !== undefined) {
        errors.push(`${label(at)}: ${what} is already declared by ${first.where} (uniqueness violation)`);
        const set = kind === 'targets' && first.id === x.id ? `primary key set to '${x.id}'` : kong;
        refs.set(at, `uniqueness violation: '${kind}' entity with ${set} already declared`);
        return false;
      }
    }
    for (const [key] of keys) declared.set(key, { where: label(at), id: x.id });
    return true;
  };

  const add = (kind: EntityKind, input: Obj, at: ErrorPath, idKey: string): AnyEntity | undefined => {
    // Kong allows `_comment` (a string) and `_ignore` (an array of anything) on every entity record
    const { _comment, _ignore, ...fields } = input;
    void _comment;
    void _ignore;
    freeForm(input, at);
    const withId = { ...fields, id: input.id ?? uuidV5(`${kind}:${idKey}`) };
    if (input.id === undefined) generated.push([at, withId.id as string]);
    const r = parseEntity(kind, withId, { mode: 'create', now: opts.now, kongOnly: opts.kongOnly });
    if (!r.ok) {
      // the entity's own errors, as POST /<kind> reports them, at its position in the document
      const fields = r.error.fields as Obj;
      // a declarative target is checked by Kong's schema (targets.lua validate_target), which names the address
      // unless it is not UTF-8; the Admin API goes through the DAO, whose words gw's schema has
      if (
        kind === 'targets' &&
        fields.target === INVALID_TARGET &&
        typeof input.target === 'string' &&
        !/\p{Surrogate}/u.test(input.target)
      )
        fields.target = `Invalid target ('${input.target}'); not a valid hostname or ip address`;
      const where = label(at);
      if (Object.keys(fields).length > 0) {
        errors.push(...kongPretty(fields, '').map((m) => `${where}: ${m}`));
        schema.set(at, fields);
      } else schemaError(at, r.error.message, `${where}: ${r.error.message}`);
      return undefined;
    }
    const e = r.value as unknown as AnyEntity;
    // targets are checked once their upstream reference is set (below)
    if (kind !== 'targets' && !once(kind, e, at)) return undefined;
    return e;
  };

  const takeNestedPlugins = (e: Obj, at: ErrorPath, what: string): Obj => {
    const { plugins, ...rest } = e;
    if (Array.isArray(plugins) && plugins.length > 0) {
      const names = plugins.map((p) => `plugins (${isObj(p) ? String(p.name) : '?'} on ${what})`);
      unsupported.push(...names);
      unsupportedFields.set([...at, 'plugins'], `gw does not implement: ${names.join(', ')}`);
      plugins.forEach((p: unknown, k) =>
        unsupportedFlat.set(isObj(p) ? [...at, 'plugins', k, 'name'] : [...at, 'plugins', k], `gw does not implement: ${names[k]}`),
      );
    }
    return rest;
  };

  /**
   * Kong files an unresolved reference under the referencing entity's type and its
   * endpoint key, else its id (`errs.routes[name or id]`, a list of messages).
   */
  const refError = (kind: 'routes' | 'targets', at: ErrorPath, key: string, message: string): void => {
    errors.push(`${label(at)}: ${message}`);
    refs.push([kind, key], message);
  };

  const pendingRoutes: { input: Obj; at: ErrorPath; service: string | ForeignRef | null }[] = [];
  list('services').forEach((raw, i) => {
    const at = ['services', i];
    const { routes, ...svc } = takeNestedPlugins(raw, at, `service ${show(raw.name ?? i)}`);
    const e = add('services', svc, at, show(svc.name ?? svc.id ?? i));
    if (e) {
      ops.push({ op: 'put', kind: 'services', entity: e });
      services.set(e.id, e.id);
      const name = (e as { name: string | null }).name;
      if (name) services.set(name, e.id);
    }
    if (routes !== undefined && routes !== null && !Array.isArray(routes))
      schemaError([...at, 'routes'], 'expected an array', `${label(at)}.routes: expected a list`);
    if (Array.isArray(routes)) {
      routes.forEach((r, j) => {
        const rat = [...at, 'routes', j];
        if (!isObj(r)) return schemaError(rat, 'expected a record', `${label(rat)}: expected a mapping`);
        const { service: given, ...input } = takeNestedPlugins(r, rat, `route ${show(r.name ?? j)}`);
        // a nested route naming a service is checked like any reference (03-flatten_spec "fixes #7696")
        if (given !== undefined && given !== null && !refersTo(given, e)) {
          return refError('routes', rat, routeKey(r, e?.id ?? null), invalidReference('service', given, 'services'));
        }
        pendingRoutes.push({ input, at: rat, service: e ? { id: e.id } : null });
      });
    }
  });
  list('routes').forEach((r, i) => {
    const at = ['routes', i];
    const { service, ...rest } = takeNestedPlugins(r, at, `route ${show(r.name ?? i)}`);
    pendingRoutes.push({ input: rest, at, service: (service ?? null) as string | ForeignRef | null });
  });
  for (const pr of pendingRoutes) {
    let serviceId: string | null = null;
    if (pr.service !== null) {
      const key = typeof pr.service === 'string' ? pr.service : 'id' in pr.service ? pr.service.id : pr.service.name;
      serviceId = services.get(key) ?? null;
      if (serviceId === null) {
        // the route itself is still validated: its schema errors come first
        add('routes', { ...pr.input, service: null }, pr.at, routeIdKey(pr.input, null));
        refError('routes', pr.at, routeKey(pr.input, null), invalidReference('service', pr.service, 'services'));
        continue;
      }
    }
    const e = add('routes', { ...pr.input, service: serviceId ? { id: serviceId } : null }, pr.at, routeIdKey(pr.input, serviceId));
    if (e) ops.push({ op: 'put', kind: 'routes', entity: e });
  }

  const pendingTargets: { input: Obj; at: ErrorPath; upstream: string | undefined }[] = [];
  list('upstreams').forEach((raw, i) => {
    const at = ['upstreams', i];
    const { targets, ...up } = raw;
    const e = add('upstreams', up, at, show(up.name ?? i));
    if (e) {
      ops.push({ op: 'put', kind: 'upstreams', entity: e });
      upstreams.set(e.id, e.id);
      upstreams.set((e as { name: string }).name, e.id);
    }
    if (targets !== undefined && targets !== null && !Array.isArray(targets))
      schemaError([...at, 'targets'], 'expected an array', `${label(at)}.targets: expected a list`);
    if (Array.isArray(targets)) {
      targets.forEach((t, j) => {
        const tat = [...at, 'targets', j];
        if (!isObj(t)) return schemaError(tat, 'expected a record', `${label(tat)}: expected a mapping`);
        pendingTargets.push({ input: t, at: tat, upstream: e?.id });
      });
    }
  });
  list('targets').forEach((t, i) => {
    const at = ['targets', i];
    const { upstream, ...rest } = t;
    const key = typeof upstream === 'string' ? upstream : isObj(upstream) ? String(upstream.id ?? upstream.name) : undefined;
    const id = key === undefined ? undefined : upstreams.get(key);
    if (key === undefined)
      return schemaError([...at, 'upstream'], 'required field missing', `${label(at)}.upstream: required field missing`);
    if (id === undefined) {
      const tid = typeof t.id === 'string' ? t.id : uuidV5(`targets:${key}:${String(t.target)}`);
      return refError('targets', at, tid, invalidReference('upstream', upstream, 'upstreams'));
    }
    pendingTargets.push({ input: rest, at, upstream: id });
  });
  for (const pt of pendingTargets) {
    if (pt.upstream === undefined) continue;
    const e = add('targets', { ...pt.input, upstream: { id: pt.upstream } }, pt.at, `${pt.upstream}:${String(pt.input.target)}`);
    const entity = e && ({ ...e, upstream: { id: pt.upstream } } as AnyEntity);
    if (entity && once('targets', entity, pt.at)) ops.push({ op: 'put', kind: 'targets', entity });
  }

  if (errors.length > 0) fail();
  if (unsupported.length > 0) {
    const flatten: FlattenSource = { document: withIds(doc, generated), fields: unsupportedFlat.fields };
    throw new GwError('GW_ERR_CONFIG_UNSUPPORTED', [path, unsupported.join(', ')], { fields: unsupportedFields.fields, flatten });
  }
  return ops;
}

/** A copy of `doc` with each generated id at its entity's position (entities given an id keep theirs). */
function withIds(doc: Obj, ids: readonly [ErrorPath, string][]): Obj {
  const copy = structuredClone(doc);
  for (const [at, id] of ids) {
    let node: unknown = copy;
    for (const k of at) node = isObj(node) || Array.isArray(node) ? (node as Record<string | number, unknown>)[k] : undefined;
    if (isObj(node) && node.id === undefined) node.id = id;
  }
  return copy;
}

/** What a route's generated id derives from: its name, else its service and paths. */
function routeIdKey(r: Obj, serviceId: string | null): string {
  return show(r.name ?? `${serviceId}:${JSON.stringify(r.paths)}`);
}

/** A route as Kong keys its reference errors: its name, else its id (given or generated). */
function routeKey(r: Obj, serviceId: string | null): string {
  if (typeof r.name === 'string') return r.name;
  return typeof r.id === 'string' ? r.id : uuidV5(`routes:${routeIdKey(r, serviceId)}`);
}

/**
 * Kong 3's migration of `_format_version` "1.1"/"2.1" files
 * (kong/db/declarative/migrations/route_path.lua, migrate_path_280_300.lua):
 * a route path with characters outside `[a-zA-Z0-9.\-_~/%]` was a regex in
 * Kong 2 and gets the `~` prefix, with percent-encoded triplets decoded (regex
 * meta characters escaped, reserved ones kept encoded). Returns a copy.
 */
export function migrateRoutePaths(doc: Obj): Obj {
  const migrateRoutes = (routes: unknown): unknown =>
    Array.isArray(routes)
      ? (routes as unknown[]).map((r) =>
          isObj(r) && Array.isArray(r.paths)
            ? { ...r, paths: (r.paths as unknown[]).map((p) => (typeof p === 'string' ? migratePath(p) : p)) }
            : r,
        )
      : routes;
  const out: Obj = { ...doc };
  if (doc.routes !== undefined) out.routes = migrateRoutes(doc.routes);
  if (Array.isArray(doc.services))
    out.services = (doc.services as unknown[]).map((svc) =>
      isObj(svc) && svc.routes !== undefined ? { ...svc, routes: migrateRoutes(svc.routes) } : svc,
    );
  return out;
}

const RESERVED = new Set([
  0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2f, 0x3a, 0x3b, 0x3d, 0x3f, 0x40, 0x5b, 0x5d,
]);
const REGEX_META: Record<number, string> = { 0x2e: '\\.', 0x5e: '\\^', 0x2d: '\\-', 0x7b: '\\{', 0x7d: '\\}', 0x5c: '\\\\', 0x7c: '\\|' };

function migratePath(path: string): string {
  if (/^[a-zA-Z0-9.\-_~/%]*$/.test(path)) return normalizeRoutePath(path); // not a regex: Kong normalises it
  const decoded = path.includes('%')
    ? path.replace(/%([0-9A-Fa-f]{2})/g, (m, hex: string) => {
        const n = parseInt(hex, 16);
        if (RESERVED.has(n)) return m.toUpperCase();
        return REGEX_META[n] ?? String.fromCharCode(n);
      })
    : path;
  return `~${decoded}`;
}

/**
 * A store UNIQUE violation while applying a declarative source, as an error
 * naming the source (the `--config` file) and the clashing entity: another
 * entity of that name exists outside the file (made through the Admin API,
 * or by an earlier version of the file with other ids). Other errors as they are.
 */
export function clashInSource(err: unknown, source: string): unknown {
  if (!(err instanceof GwError) || err.code !== 'GW_ERR_STORE_UNIQUE') return err;
  const d = (err.details ?? {}) as { kind?: string; fields?: Record<string, unknown> };
  const what = d.fields
    ? Object.entries(d.fields)
        .map(([k, v]) => `${k} '${typeof v === 'string' ? v : JSON.stringify(v)}'`)
        .join(', ')
    : err.message;
  return new GwError('GW_ERR_CONFIG_FILE', [
    source,
    `${d.kind ?? 'an entity'} with ${what}: the store already has one with that name and another id (made through the Admin API, or by an earlier file); delete it, or give this entry its id`,
  ]);
}

/** Kong's flatten message for a reference to nothing in the file: `invalid reference 'service: svc1' (no such entry in 'services')`. */
function invalidReference(field: string, ref: unknown, kind: string): string {
  return `invalid reference '${field}: ${typeof ref === 'string' ? ref : JSON.stringify(ref)}' (no such entry in '${kind}')`;
}

/** A nested entity's explicit parent reference names the entity it is nested in (by id or name). */
function refersTo(ref: unknown, parent: AnyEntity | undefined): boolean {
  if (parent === undefined) return true; // the parent itself is invalid and already reported
  const name = (parent as { name?: string | null }).name;
  if (typeof ref === 'string') return ref === parent.id || ref === name;
  if (isObj(ref)) return ref.id === parent.id || (ref.id === undefined && ref.name !== undefined && ref.name === name);
  return false;
}

/**
 * One line per field error in the words of Kong's `pretty_print_error`
 * (`kong/db/declarative/init.lua`), which 02-start_stop_spec "does not start
 * with an invalid declarative config file" matches: `in 'protocol': expected
 * one of: ...`, `in 'hosts': - in entry 2 of 'hosts': invalid hostname: x`
 * (entries count from 1).
 */
function kongPretty(v: unknown, item: string): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) {
    return v.flatMap((e, i) =>
      e === null || e === undefined ? [] : kongPretty(e, item).map((m) => `- in entry ${i + 1} of '${item}': ${m}`),
    );
  }
  if (isObj(v)) {
    return Object.entries(v).flatMap(([k, e]) =>
      k === '@entity' && Array.isArray(e) ? e.map((m) => String(m)) : kongPretty(e, k).map((m) => `in '${k}': ${m}`),
    );
  }
  return [JSON.stringify(v)];
}
