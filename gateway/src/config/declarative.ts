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
import { GwError } from '../errors.js';
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

export function declarativeToOps(input: unknown, path: string, opts: DeclarativeOptions): WriteOp[] {
  if (!isObj(input)) throw new GwError('GW_ERR_CONFIG_FILE', [path, 'expected a mapping at the top level']);
  let doc: Obj = input;
  const fmt = doc._format_version;
  // Kong's words (01-validate_spec "requires version 1.1 or 2.1 or 3.0")
  if (typeof fmt !== 'string' || !FORMATS.has(fmt)) {
    const why =
      fmt === undefined || fmt === null
        ? 'required field missing'
        : typeof fmt !== 'string'
          ? 'expected a string'
          : 'expected one of: 1.1, 2.1, 3.0';
    throw new GwError('GW_ERR_CONFIG_FILE', [path, `_format_version: ${why} (got ${JSON.stringify(fmt)})`]);
  }
  if (fmt === '1.1' || fmt === '2.1') doc = migrateRoutePaths(doc);
  const unsupported: string[] = [];
  for (const k of Object.keys(doc)) {
    if (TOP_LEVEL.has(k)) continue;
    // top-level plugins are named like nested ones, with what they apply to (or global)
    if (k === 'plugins' && Array.isArray(doc.plugins) && doc.plugins.length > 0)
      for (const p of doc.plugins) unsupported.push(`plugins (${isObj(p) ? `${String(p.name)} ${appliesTo(p)}` : '?'})`);
    else unsupported.push(k);
  }
  const errors: string[] = [];
  // Kong's free-form keys have a type (01-validate_spec "_comment accepts a string", "_ignore accepts an array of anything")
  const freeForm = (e: Obj, where: string): void => {
    if (e._comment !== undefined && typeof e._comment !== 'string') errors.push(`${where}_comment: expected a string`);
    if (e._ignore !== undefined && !Array.isArray(e._ignore)) errors.push(`${where}_ignore: expected an array`);
  };
  freeForm(doc, '');
  const ops: WriteOp[] = [];
  const services = new Map<string, string>(); // name or id → id
  const upstreams = new Map<string, string>();

  const list = (key: string): Obj[] => {
    const v = doc[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      errors.push(`${key}: expected a list`);
      return [];
    }
    return v.map((e, i) => (isObj(e) ? e : (errors.push(`${key}[${i}]: expected a mapping`), {})));
  };

  /** where each id and each unique key (name; a target's upstream and address) was first declared: Kong refuses a second one */
  const declared = new Map<string, string>();
  const once = (kind: EntityKind, e: AnyEntity, where: string): boolean => {
    const x = e as unknown as { id: string; name?: string | null; target?: string; upstream?: { id: string } };
    // the name first: an id derived from the name clashes too, but the name is what the author wrote
    const keys: [string, string][] = [];
    if (kind === 'targets') keys.push([`${kind} ${x.upstream?.id ?? ''} ${x.target ?? ''}`, `target '${x.target}'`]);
    else if (x.name) keys.push([`${kind} name ${x.name}`, `name '${x.name}'`]);
    keys.push([`${kind} id ${x.id}`, `id '${x.id}'`]);
    for (const [key, what] of keys) {
      const first = declared.get(key);
      if (first !== undefined) {
        errors.push(`${where}: ${what} is already declared by ${first} (uniqueness violation)`);
        return false;
      }
    }
    for (const [key] of keys) declared.set(key, where);
    return true;
  };

  const add = (kind: EntityKind, input: Obj, where: string, idKey: string): AnyEntity | undefined => {
    // Kong allows `_comment` (a string) and `_ignore` (an array of anything) on every entity record
    const { _comment, _ignore, ...fields } = input;
    void _comment;
    void _ignore;
    freeForm(input, `${where}.`);
    const withId = { ...fields, id: input.id ?? uuidV5(`${kind}:${idKey}`) };
    const r = parseEntity(kind, withId, { mode: 'create', now: opts.now, kongOnly: opts.kongOnly });
    if (!r.ok) {
      const fields = r.error.fields as Obj;
      const msgs = Object.keys(fields).length > 0 ? kongPretty(fields, '').map((m) => `${where}: ${m}`) : [`${where}: ${r.error.message}`];
      errors.push(...msgs);
      return undefined;
    }
    const e = r.value as unknown as AnyEntity;
    // targets are checked once their upstream reference is set (below)
    if (kind !== 'targets' && !once(kind, e, where)) return undefined;
    return e;
  };

  const takeNestedPlugins = (e: Obj, where: string): Obj => {
    const { plugins, ...rest } = e;
    if (Array.isArray(plugins) && plugins.length > 0) {
      for (const p of plugins) unsupported.push(`plugins (${isObj(p) ? String(p.name) : '?'} on ${where})`);
    }
    return rest;
  };

  const pendingRoutes: { input: Obj; where: string; service: string | ForeignRef | null }[] = [];
  list('services').forEach((raw, i) => {
    const where = `services[${i}]`;
    const { routes, ...svc } = takeNestedPlugins(raw, `service ${show(raw.name ?? i)}`);
    const e = add('services', svc, where, show(svc.name ?? svc.id ?? i));
    if (e) {
      ops.push({ op: 'put', kind: 'services', entity: e });
      services.set(e.id, e.id);
      const name = (e as { name: string | null }).name;
      if (name) services.set(name, e.id);
    }
    if (Array.isArray(routes)) {
      routes.forEach((r, j) => {
        if (!isObj(r)) return errors.push(`${where}.routes[${j}]: expected a mapping`);
        const { service: given, ...input } = takeNestedPlugins(r, `route ${show(r.name ?? j)}`);
        // a nested route naming a service is checked like any reference (03-flatten_spec "fixes #7696")
        if (given !== undefined && given !== null && !refersTo(given, e)) {
          return errors.push(`${where}.routes[${j}]: ${invalidReference('service', given, 'services')}`);
        }
        pendingRoutes.push({ input, where: `${where}.routes[${j}]`, service: e ? { id: e.id } : null });
      });
    }
  });
  list('routes').forEach((r, i) => {
    const { service, ...rest } = takeNestedPlugins(r, `route ${show(r.name ?? i)}`);
    pendingRoutes.push({ input: rest, where: `routes[${i}]`, service: (service ?? null) as string | ForeignRef | null });
  });
  for (const pr of pendingRoutes) {
    let serviceId: string | null = null;
    if (pr.service !== null) {
      const key = typeof pr.service === 'string' ? pr.service : 'id' in pr.service ? pr.service.id : pr.service.name;
      serviceId = services.get(key) ?? null;
      if (serviceId === null) {
        errors.push(`${pr.where}: ${invalidReference('service', pr.service, 'services')}`);
        continue;
      }
    }
    const e = add(
      'routes',
      { ...pr.input, service: serviceId ? { id: serviceId } : null },
      pr.where,
      show(pr.input.name ?? `${serviceId}:${JSON.stringify(pr.input.paths)}`),
    );
    if (e) ops.push({ op: 'put', kind: 'routes', entity: e });
  }

  const pendingTargets: { input: Obj; where: string; upstream: string | undefined }[] = [];
  list('upstreams').forEach((raw, i) => {
    const where = `upstreams[${i}]`;
    const { targets, ...up } = raw;
    const e = add('upstreams', up, where, show(up.name ?? i));
    if (e) {
      ops.push({ op: 'put', kind: 'upstreams', entity: e });
      upstreams.set(e.id, e.id);
      upstreams.set((e as { name: string }).name, e.id);
    }
    if (Array.isArray(targets)) {
      targets.forEach((t, j) => {
        if (!isObj(t)) return errors.push(`${where}.targets[${j}]: expected a mapping`);
        pendingTargets.push({ input: t, where: `${where}.targets[${j}]`, upstream: e?.id });
      });
    }
  });
  list('targets').forEach((t, i) => {
    const { upstream, ...rest } = t;
    const key = typeof upstream === 'string' ? upstream : isObj(upstream) ? String(upstream.id ?? upstream.name) : undefined;
    const id = key === undefined ? undefined : upstreams.get(key);
    if (id === undefined)
      return errors.push(
        key === undefined
          ? `targets[${i}].upstream: required field missing`
          : `targets[${i}]: ${invalidReference('upstream', upstream, 'upstreams')}`,
      );
    pendingTargets.push({ input: rest, where: `targets[${i}]`, upstream: id });
  });
  for (const pt of pendingTargets) {
    if (pt.upstream === undefined) continue;
    const e = add('targets', { ...pt.input, upstream: { id: pt.upstream } }, pt.where, `${pt.upstream}:${String(pt.input.target)}`);
    const entity = e && ({ ...e, upstream: { id: pt.upstream } } as AnyEntity);
    if (entity && once('targets', entity, pt.where)) ops.push({ op: 'put', kind: 'targets', entity });
  }

  if (unsupported.length > 0) throw new GwError('GW_ERR_CONFIG_UNSUPPORTED', [path, unsupported.join(', ')]);
  if (errors.length > 0) throw new GwError('GW_ERR_CONFIG_FILE', [path, errors.join('; ')]);
  return ops;
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
