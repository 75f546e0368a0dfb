/**
 * `parseEntity`: the one door through which input becomes an entity. Input is
 * screened for hostile shapes, shorthand fields are expanded, PATCH input is
 * merged over the existing entity, then the zod schema validates the whole
 * and the kind's cross-field checks run. Never throws.
 */
import { randomUUID } from 'node:crypto';
import type { EntityKind } from './types.js';
import type { ParseOptions, ParseResult, Parsed } from './index.js';
import { addZodIssues, ErrorBag, formatSchemaViolation } from './kong-errors.js';
import { isPlainRecord, mergeForUpdate, scanHostile, toPlain } from './input.js';
import { routeSpec } from './routes.js';
import { serviceSpec } from './services.js';
import type { EntitySpec, Obj } from './spec.js';
import { targetSpec } from './targets.js';
import { upstreamSpec } from './upstreams.js';

export { normalizeTarget } from './hosts.js';

const specs: Record<EntityKind, EntitySpec> = {
  services: serviceSpec,
  routes: routeSpec,
  upstreams: upstreamSpec,
  targets: targetSpec,
};

/**
 * Validate `input` as a `kind` entity in the given mode (create/upsert/update),
 * applying Kong's defaults and stamping `id`, `created_at`, `updated_at`.
 * Returns Kong's schema-violation body on bad input; never throws.
 */
export function parseEntity<K extends EntityKind>(kind: K, input: unknown, opts: ParseOptions<K>): ParseResult<K> {
  try {
    return parseUnsafe(kind, input, opts);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return { ok: false, error: formatSchemaViolation({}, [`invalid input: ${reason}`]) };
  }
}

function parseUnsafe<K extends EntityKind>(kind: K, input: unknown, opts: ParseOptions<K>): ParseResult<K> {
  const spec = specs[kind];
  if (spec === undefined) return { ok: false, error: formatSchemaViolation({}, [`unknown entity '${String(kind)}'`]) };
  if (!isPlainRecord(input)) return { ok: false, error: formatSchemaViolation({}, ['expected a record']) };

  const bag = new ErrorBag();
  scanHostile(input, [], bag);
  if (!bag.empty) return { ok: false, error: bag.toViolation() };

  const body = toPlain(input) as Obj;
  spec.shorthand?.(body, bag);
  const kongOnly = opts.kongOnly === true;
  const existing = opts.existing === undefined ? undefined : (toPlain(opts.existing) as Obj);
  if (existing !== undefined && kongOnly) for (const f of spec.gwFields) delete existing[f];

  let work: Obj;
  if (opts.mode === 'update') {
    if (existing === undefined) return { ok: false, error: formatSchemaViolation({}, ['update needs the existing entity']) };
    work = mergeForUpdate(existing, body);
    work.id = existing.id;
  } else {
    work = { ...body };
    if (existing !== undefined) work.id = existing.id;
  }
  delete work.created_at;
  delete work.updated_at;
  if (!bag.empty) return { ok: false, error: bag.toViolation() };

  const result = spec.schema(kongOnly).safeParse({ ...work, created_at: body.created_at, updated_at: body.updated_at });
  if (!result.success) {
    addZodIssues(bag, result.error.issues);
    return { ok: false, error: bag.toViolation() };
  }
  const value = result.data as Obj;
  spec.check?.(value, body, bag);
  if (!bag.empty) return { ok: false, error: bag.toViolation() };

  const stamp = spec.floatTimestamps ? Math.floor(opts.now * 1000) / 1000 : Math.floor(opts.now);
  // an explicit `id: undefined` in the input must not erase the generated id
  const { id, ...rest } = value;
  const entity: Obj = {
    id: id ?? randomUUID(),
    ...rest,
    created_at: value.created_at ?? existing?.created_at ?? stamp,
    updated_at: value.updated_at ?? stamp,
  };
  return { ok: true, value: entity as unknown as Parsed<K> };
}

/** The zod schema of an entity kind (for `GET /schemas/{entity}`). */
export function entitySchema(kind: EntityKind, kongOnly: boolean): import('zod').ZodTypeAny {
  return specs[kind].schema(kongOnly);
}

/**
 * Why `name` cannot name a `kind` entity (Kong validates the key of a
 * by-name lookup against the field: `PUT /upstreams/1.2.3.4` answers the
 * field's own message), or null when it can.
 */
export function invalidName(kind: Exclude<EntityKind, 'targets'>, name: string): string | null {
  const schema = entitySchema(kind, false) as unknown as { shape?: Record<string, import('zod').ZodTypeAny> };
  const field = schema.shape?.name;
  if (field === undefined) return null;
  const r = field.safeParse(name);
  return r.success ? null : (r.error.issues[0]?.message ?? 'invalid name');
}
