/**
 * Kong's `GET /schemas/{entity}` view of an entity schema, derived from the
 * zod schema (the one source of truth): `{ fields: [{ name: {type, ...} }],
 * entity_checks }` in Kong's vocabulary (`string`, `integer`, `number`,
 * `boolean`, `array`, `set`, `map`, `record`, `foreign`), with `required`,
 * `default`, `one_of` and `between` where the schema has them.
 */
import type { z } from 'zod';
import type { EntityKind } from './types.js';
import { entitySchema } from './parse.js';

type Field = Record<string, unknown>;

/** fields Kong fills in itself (`auto = true`) */
const AUTO = new Set(['id', 'created_at', 'updated_at']);
/** foreign keys and the entity they reference */
const FOREIGN: Record<string, string> = { service: 'services', upstream: 'upstreams' };

interface Def {
  typeName: string;
  innerType?: z.ZodTypeAny;
  schema?: z.ZodTypeAny;
  type?: z.ZodTypeAny;
  valueType?: z.ZodTypeAny;
  values?: readonly string[];
  options?: readonly z.ZodTypeAny[];
  value?: unknown;
  checks?: readonly { kind: string; value?: number }[];
  defaultValue?: () => unknown;
  shape?: () => Record<string, z.ZodTypeAny>;
}

const defOf = (t: z.ZodTypeAny): Def => (t as unknown as { _def: Def })._def;

/** One field's description and whether input may omit it. */
function describe(t: z.ZodTypeAny): { field: Field; optional: boolean } {
  const d = defOf(t);
  switch (d.typeName) {
    case 'ZodOptional':
    case 'ZodNullable':
      return { field: describe(d.innerType!).field, optional: true };
    case 'ZodDefault': {
      const inner = describe(d.innerType!).field;
      const value = d.defaultValue!();
      return { field: value === null ? inner : { ...inner, default: value }, optional: true };
    }
    case 'ZodEffects': // refinements, transforms and preprocessors keep the type underneath
      return describe(d.schema!);
    case 'ZodString':
      return { field: { type: 'string' }, optional: false };
    case 'ZodNumber': {
      const isInt = d.checks?.some((c) => c.kind === 'int') === true;
      const min = d.checks?.find((c) => c.kind === 'min')?.value;
      const max = d.checks?.find((c) => c.kind === 'max')?.value;
      const field: Field = { type: isInt ? 'integer' : 'number' };
      if (min !== undefined && max !== undefined && max < 2 ** 53) field.between = [min, max];
      return { field, optional: false };
    }
    case 'ZodBoolean':
      return { field: { type: 'boolean' }, optional: false };
    case 'ZodEnum':
      return { field: { type: 'string', one_of: [...(d.values ?? [])] }, optional: false };
    case 'ZodLiteral':
      return { field: { type: typeof d.value === 'number' ? 'number' : 'string' }, optional: false };
    case 'ZodArray': {
      // sets and arrays share a zod type; their type error tells them apart
      const r = t.safeParse('not an array');
      const isSet = !r.success && r.error.issues.some((i) => i.message === 'expected a set');
      return { field: { type: isSet ? 'set' : 'array', elements: describe(d.type!).field }, optional: false };
    }
    case 'ZodRecord':
      return { field: { type: 'map', keys: { type: 'string' }, values: describe(d.valueType!).field }, optional: false };
    case 'ZodObject':
      return { field: { type: 'record', fields: fieldsOf(d.shape!()) }, optional: false };
    case 'ZodUnion':
      return describe(d.options![0]!);
    default:
      return { field: { type: 'string' }, optional: false };
  }
}

function fieldsOf(shape: Record<string, z.ZodTypeAny>): Field[] {
  return Object.entries(shape).map(([name, t]) => {
    if (FOREIGN[name] !== undefined) {
      const { optional } = describe(t);
      return { [name]: { type: 'foreign', reference: FOREIGN[name], ...(optional ? {} : { required: true }) } };
    }
    const { field, optional } = describe(t);
    if (AUTO.has(name)) return { [name]: { ...field, auto: true } };
    return { [name]: optional || 'default' in field ? field : { ...field, required: true } };
  });
}

/** Kong's schema JSON for `kind` (gw extension fields included unless `kongOnly`). */
export function describeEntity(
  kind: EntityKind,
  kongOnly: boolean,
): { name: EntityKind; primary_key: ['id']; fields: Field[]; entity_checks: [] } {
  const schema = entitySchema(kind, kongOnly);
  const d = defOf(schema);
  const shape = d.typeName === 'ZodObject' ? d.shape!() : (defOf(d.schema!).shape?.() ?? {});
  return { name: kind, primary_key: ['id'], fields: fieldsOf(shape), entity_checks: [] };
}
