/**
 * Entity validation: the one door through which input becomes an entity.
 * CONTRACT (implemented by the entities work): signatures here are fixed.
 */
import type { EntityByKind, EntityKind } from './types.js';

export type * from './types.js';

/** Kong's error body for a schema violation (code 2). */
export interface SchemaViolation {
  code: 2;
  name: 'schema violation';
  message: string;
  fields: Record<string, unknown>;
}

/** Input foreign key before resolution: Kong accepts `{id}` or `{name}` (routes.service), or a bare string in declarative files. */
export type ForeignRef = { id: string } | { name: string };

export type ParseMode =
  /** POST: all defaults applied, required fields enforced */
  | 'create'
  /** PUT: full replacement; omitted fields revert to defaults */
  | 'upsert'
  /** PATCH: merged over `existing` (nested records merged, arrays replaced), then validated as a whole */
  | 'update';

export interface ParseOptions<K extends EntityKind> {
  mode: ParseMode;
  /** the current entity, required for 'update' */
  existing?: EntityByKind[K];
  /** Unix time in seconds (float) to stamp created_at/updated_at; injected for tests */
  now: number;
  /** strict Kong mode: gw extension fields (`ttl`, `gw`) are unknown fields */
  kongOnly?: boolean;
}

/**
 * The parsed entity, with its foreign key still unresolved (`service`/`upstream`
 * as given). The caller resolves it against the store and sets `{id}`.
 */
export type Parsed<K extends EntityKind> = Omit<EntityByKind[K], 'service' | 'upstream'> & {
  service?: ForeignRef | null;
  upstream?: ForeignRef;
};

export type ParseResult<K extends EntityKind> = { ok: true; value: Parsed<K> } | { ok: false; error: SchemaViolation };

export { parseEntity, normalizeTarget, invalidName } from './parse.js';
export { isUuid } from './fields.js';
export { formatSchemaViolation } from './kong-errors.js';
export { HEALTHCHECK_DEFAULTS } from './healthchecks.js';
export { UPSTREAM_GW_DEFAULTS } from './upstreams.js';
export { coerceFormInput } from './form.js';
export { describeEntity } from './describe.js';
