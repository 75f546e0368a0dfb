/**
 * Form-urlencoded / multipart bodies → typed input, guided by the schema
 * (Kong accepts `hosts[]=a`, `hosts=a`, `hosts[1]=a` and dotted
 * `healthchecks.active.healthy.interval=5`).
 */
import { z } from 'zod';
import type { EntityKind } from './types.js';
import { routeSchema } from './routes.js';
import { serviceSchema } from './services.js';
import type { Obj } from './spec.js';
import { targetSchema } from './targets.js';
import { upstreamSchema } from './upstreams.js';

const schemas: Record<EntityKind, z.ZodTypeAny> = {
  services: serviceSchema,
  routes: routeSchema,
  upstreams: upstreamSchema,
  targets: targetSchema,
};

/** Strip wrappers (defaults, nullable, optional, effects) down to the structural type. */
function unwrap(s: z.ZodTypeAny | undefined): { type: z.ZodTypeAny | undefined; nullable: boolean } {
  let nullable = false;
  let cur = s;
  for (let i = 0; i < 16 && cur !== undefined; i++) {
    if (cur instanceof z.ZodDefault) cur = cur._def.innerType as z.ZodTypeAny;
    else if (cur instanceof z.ZodOptional) cur = cur.unwrap() as z.ZodTypeAny;
    else if (cur instanceof z.ZodNullable) {
      nullable = true;
      cur = cur.unwrap() as z.ZodTypeAny;
    } else if (cur instanceof z.ZodEffects) cur = cur.innerType() as z.ZodTypeAny;
    else break;
  }
  return { type: cur, nullable };
}

/** Foreign keys whose sub-fields are typed by the foreign entity's schema (Kong's `infer` of a foreign field). */
const FOREIGN: Readonly<Record<string, z.ZodTypeAny>> = { service: serviceSchema };

function child(s: z.ZodTypeAny | undefined, key: string, descend = false): z.ZodTypeAny | undefined {
  const { type } = unwrap(s);
  if (descend && type instanceof z.ZodObject) {
    const field = (type.shape as Record<string, z.ZodTypeAny>)[key];
    const foreign = FOREIGN[key];
    if (foreign !== undefined && unwrap(field).type instanceof z.ZodRecord) return foreign;
  }
  if (type instanceof z.ZodObject) return (type.shape as Record<string, z.ZodTypeAny>)[key];
  if (type instanceof z.ZodRecord) return type.valueSchema as z.ZodTypeAny;
  return undefined;
}

function isNumeric(t: z.ZodTypeAny | undefined): boolean {
  const { type } = unwrap(t);
  return (
    type instanceof z.ZodNumber ||
    (type instanceof z.ZodUnion && (type.options as z.ZodTypeAny[]).every((o) => o instanceof z.ZodLiteral && typeof o.value === 'number'))
  );
}

function scalar(t: z.ZodTypeAny | undefined, raw: string): unknown {
  const { type } = unwrap(t);
  if (isNumeric(t)) return /^\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*$/.test(raw) ? Number(raw) : raw;
  if (type instanceof z.ZodBoolean) return raw === 'true' ? true : raw === 'false' ? false : raw;
  return raw;
}

function coerce(t: z.ZodTypeAny | undefined, raw: string | string[]): unknown {
  const { type, nullable } = unwrap(t);
  const values = Array.isArray(raw) ? raw : [raw];
  if (type instanceof z.ZodArray) {
    if (nullable && values.length === 1 && values[0] === '') return null;
    return values.map((v) => scalar(type.element as z.ZodTypeAny, v));
  }
  const last = values[values.length - 1] ?? '';
  // Kong's arguments.lua: an empty form value is null (`service.name=` is no name)
  if ((nullable || type instanceof z.ZodUnknown) && last === '') return null;
  return scalar(t, last);
}

function define(target: Obj, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Turn flat form fields into the object a JSON body would have carried:
 * arrays from `a[]`/`a[n]`/repeated keys, nested records from dotted keys,
 * numbers and booleans where the schema has them. Unknown fields stay strings
 * (parseEntity then reports them). Keys such as `__proto__` are kept as own
 * properties so that validation refuses them.
 */
export function coerceFormInput(kind: EntityKind, flat: Record<string, string | string[]>): unknown {
  const root = schemas[kind];
  const out: Obj = {};
  const pending = new Map<string, { parent: Obj; key: string; schema: z.ZodTypeAny | undefined; values: string[] }>();
  for (const rawKey of Object.keys(flat)) {
    const value = flat[rawKey] as string | string[];
    const key = rawKey.replace(/\[\d*\]$/, '');
    const segs = key.split('.');
    let parent = out;
    let schema: z.ZodTypeAny | undefined = root;
    for (let i = 0; i < segs.length - 1; i++) {
      const seg = segs[i] as string;
      schema = child(schema, seg, true);
      const existing = Object.prototype.hasOwnProperty.call(parent, seg) ? parent[seg] : undefined;
      if (typeof existing !== 'object' || existing === null || Array.isArray(existing)) define(parent, seg, {});
      parent = parent[seg] as Obj;
    }
    const leaf = segs[segs.length - 1] as string;
    const entry = pending.get(key) ?? { parent, key: leaf, schema: child(schema, leaf), values: [] };
    entry.values.push(...(Array.isArray(value) ? value : [value]));
    pending.set(key, entry);
  }
  for (const { parent, key, schema, values } of pending.values()) {
    define(parent, key, coerce(schema, values.length === 1 ? (values[0] as string) : values));
  }
  return out;
}
