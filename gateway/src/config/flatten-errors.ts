/**
 * Kong 3's flattened declarative errors: `errors:declarative_config_flattened(err_t, input)`
 * (kong/db/errors.lua, `flatten_errors`), which `POST /config?flatten_errors=1` answers with.
 *
 * It walks a code 14 `fields` tree beside the document it describes and turns
 * every entity's errors into one entry: `{ entity_type: "service", entity_id?,
 * entity_name?, entity_tags?, entity, errors: [{ type: "field", field:
 * "healthchecks.active.concurrency", message }, { type: "entity", message }] }`.
 * Nested entities get their own entry (a service's routes and plugins, an
 * upstream's targets, a `client_certificate` record), with the parent's `id`
 * as their foreign key when the parent has a valid one; the parent's `entity`
 * loses the nested list. Entries are drained from the tree: what is left
 * (errors that are not an entity's, like `_format_version` or a top-level
 * string) stays in `fields`.
 *
 * Kong's order is kept: keys sorted, then taken from the last (`drain`), an
 * entity's nested entities before itself.
 */
import { isUuid } from '../entities/fields.js';

export type FlattenedEntry = { type: 'field'; field: string | number; message: unknown } | { type: 'entity'; message: unknown };

export interface FlattenedError {
  entity_type: string;
  entity_id?: string;
  entity_name?: string;
  entity_tags?: string[];
  /** the entity as the document has it, its nested entities taken out */
  entity: Record<string, unknown>;
  errors: FlattenedEntry[];
}

type Obj = Record<string, unknown>;
type Key = string | number;
/** A Lua table: a JS array's entry i is key i + 1, null is a hole. */
type Table = Map<Key, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNode = (v: unknown): v is Obj | unknown[] => typeof v === 'object' && v !== null;

function table(node: Obj | unknown[]): Table {
  const t: Table = new Map();
  if (Array.isArray(node)) node.forEach((v, i) => v !== null && v !== undefined && t.set(i + 1, v));
  else for (const [k, v] of Object.entries(node)) if (v !== undefined) t.set(k, v);
  return t;
}

/** Back to the tree's shape: integer keys as a JS array (null in the holes), else an object. */
function untable(t: Table): Obj | unknown[] {
  if ([...t.keys()].every((k) => typeof k === 'number')) {
    const a: unknown[] = [];
    for (const [k, v] of t) {
      while (a.length < (k as number) - 1) a.push(null);
      a[(k as number) - 1] = v;
    }
    return a;
  }
  return Object.fromEntries([...t].map(([k, v]) => [String(k), v]));
}

/** Kong's `drain`: the keys sorted (numbers first, as a Lua sequence has them), taken from the last. */
function drainOrder(t: Table): Key[] {
  const keys = [...t.keys()].sort((a, b) =>
    typeof a === 'number' && typeof b === 'number'
      ? a - b
      : typeof a === 'number'
        ? -1
        : typeof b === 'number'
          ? 1
          : a < b
            ? -1
            : a > b
              ? 1
              : 0,
  );
  return keys.reverse();
}

interface Relation {
  /** the entity type that has the foreign field */
  entity: string;
  field: string;
  reference: string;
}
/** Kong's foreign fields among the types a document for gw can hold (kong/db/schema/entities/*.lua). */
const FOREIGN: readonly Relation[] = [
  { entity: 'routes', field: 'service', reference: 'services' },
  { entity: 'targets', field: 'upstream', reference: 'upstreams' },
  { entity: 'services', field: 'client_certificate', reference: 'certificates' },
  { entity: 'upstreams', field: 'client_certificate', reference: 'certificates' },
  { entity: 'plugins', field: 'service', reference: 'services' },
  { entity: 'plugins', field: 'route', reference: 'routes' },
];
/** Kong's `each_foreign_field`: an entity type's own foreign fields and the types nested under it. */
const relationsOf = (type: string): Relation[] => FOREIGN.filter((r) => r.entity === type || r.reference === type);

const singular = (noun: string): string => (noun.endsWith('s') ? noun.slice(0, -1) : noun);
const join = (ns: string | undefined, field: Key): Key => (ns ? `${ns}.${field}` : field);
const primaryKey = (e: Obj): { id: string } | undefined => (typeof e.id === 'string' && isUuid(e.id) ? { id: e.id } : undefined);

function addEntityError(err: unknown, out: FlattenedEntry[]): void {
  if (Array.isArray(err)) {
    // ipairs: up to the first hole
    for (const m of err) {
      if (m === null || m === undefined) break;
      addEntityError(m, out);
    }
  } else if (!isObj(err)) out.push({ type: 'entity', message: err });
}

/** Kong's `categorize_errors`: an entity's own errors, field paths joined with `.`. */
function categorize(errs: Table, ns: string | undefined, out: FlattenedEntry[]): FlattenedEntry[] {
  for (const key of drainOrder(errs)) {
    const err = errs.get(key);
    if (key === '@entity') addEntityError(err, out);
    else if (typeof err === 'string') out.push({ type: 'field', field: join(ns, key), message: err });
    else if (isNode(err)) categorize(table(err), String(join(ns, key)), out);
  }
  return out;
}

/** Kong's `add_entity_errors`. */
function addEntityErrors(type: string, entity: Obj, errT: unknown, out: FlattenedError[]): void {
  if (typeof errT === 'string') errT = { '@entity': errT };
  if (!isNode(errT)) return;
  const errs = table(errT);
  if (errs.size === 0) return;
  const pk = primaryKey(entity);
  for (const rel of relationsOf(type)) {
    if (rel.entity === type) {
      // the entity's own foreign record (a nested client_certificate): its errors are that entity's
      const value = entity[rel.field];
      if (!isObj(value)) continue; // a name or id: its errors are a field error of this entity
      const fk = primaryKey(value);
      if (fk) entity[rel.field] = fk;
      else delete entity[rel.field];
      const sub = errs.get(rel.field);
      errs.delete(rel.field);
      addEntityErrors(rel.reference, value, sub, out);
    } else {
      // entities nested under this one (a service's routes): one entry each, with this entity as their foreign key
      const list = entity[rel.entity];
      if (!Array.isArray(list)) continue; // not a list: "expected an array" stays this entity's field error
      delete entity[rel.entity];
      const sub = errs.get(rel.entity);
      if (!isNode(sub)) continue;
      errs.delete(rel.entity);
      const subErrs = table(sub);
      const kept: Table = new Map();
      list.forEach((item: unknown, i) => {
        const err = subErrs.get(i + 1);
        // not a record (Kong would fail indexing it): its error stays with this entity, as `routes.1`
        if (!isObj(item)) {
          if (err !== undefined) kept.set(i + 1, err);
          return;
        }
        if (item[rel.field] === undefined && pk) item[rel.field] = { ...pk };
        addEntityErrors(rel.entity, item, err, out);
      });
      if (kept.size > 0) errs.set(rel.entity, untable(kept));
    }
  }
  if (errs.size === 0) return;
  const errors = categorize(errs, undefined, []);
  if (errors.length === 0) return;
  // entity_id, entity_name and entity_tags are left out when not valid, so the entry is well-formed (`entity` keeps them)
  const id = primaryKey(entity)?.id;
  const name = typeof entity.name === 'string' && entity.name.length > 0 ? entity.name : undefined;
  const tags = Array.isArray(entity.tags) && entity.tags.every((t) => typeof t === 'string') ? (entity.tags as string[]) : undefined;
  out.push({
    entity_type: singular(type),
    ...(id !== undefined && { entity_id: id }),
    ...(name !== undefined && { entity_name: name }),
    ...(tags !== undefined && { entity_tags: tags }),
    entity,
    errors,
  });
}

/**
 * Kong's `flatten_errors(input, err_t)`: the flattened list, and the `fields`
 * left once it is drained. Neither argument is changed.
 *
 * Where Kong's Lua drops an error it cannot place (an entry whose position is
 * not a record in the document, a reference error filed under a name), this
 * keeps it in `fields`, as Kong's code means to ("put it back").
 */
export function flattenErrors(
  document: unknown,
  fields: Record<string, unknown>,
): { fields: Record<string, unknown>; flattened: FlattenedError[] } {
  const input: Obj = isObj(document) ? structuredClone(document) : {};
  const err = table(structuredClone(fields));
  const flattened: FlattenedError[] = [];
  const left: Table = new Map();
  for (const type of drainOrder(err)) {
    const section = err.get(type);
    const entities = input[type];
    if (!isNode(section) || !Array.isArray(entities)) {
      left.set(type, section);
      continue;
    }
    const errs = table(section);
    const kept: Table = new Map();
    for (const i of drainOrder(errs)) {
      const entity = typeof i === 'number' ? (entities[i - 1] as unknown) : undefined;
      if (isObj(entity)) addEntityErrors(String(type), entity, errs.get(i), flattened);
      else kept.set(i, errs.get(i));
    }
    if (kept.size > 0) left.set(type, untable(kept));
  }
  // in the order the tree had them
  const remaining = Object.fromEntries(Object.keys(fields).flatMap((k) => (left.has(k) ? [[k, left.get(k)]] : [])));
  return { fields: remaining, flattened };
}
