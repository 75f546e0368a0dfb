/**
 * Kong's Admin API error bodies (`kong/db/errors.lua`), built in one place.
 */
import type { FastifyReply } from 'fastify';
import type { SchemaViolation } from '../entities/index.js';
import type { FlattenSource } from '../config/declarative.js';
import { flattenErrors } from '../config/flatten-errors.js';
import { luaPretty } from '../config/lua-pretty.js';
import { isGwError } from '../errors.js';

/** An error that already carries the HTTP status and Kong body to send. */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(typeof body.message === 'string' ? body.message : 'admin error');
  }
}

export const notFound = (): AdminError => new AdminError(404, { message: 'Not found' });
export const methodNotAllowed = (): AdminError => new AdminError(405, { message: 'Method not allowed' });
export const schemaViolation = (v: SchemaViolation): AdminError => new AdminError(400, { ...v });

export function invalidSize(message: string): AdminError {
  return new AdminError(400, { code: 9, name: 'invalid size', message });
}
export function invalidOffset(offset: string, why = 'bad base64 encoding'): AdminError {
  return new AdminError(400, { code: 7, name: 'invalid offset', message: `'${offset}' is not a valid offset: ${why}` });
}
export function invalidOptions(option: string, msg: string): AdminError {
  return new AdminError(400, {
    code: 11,
    name: 'invalid options',
    message: `invalid option (${option}: ${msg})`,
    options: { [option]: msg },
  });
}
export function foreignKeyUnresolved(field: string, name: string, kind: string): AdminError {
  const message = `foreign key unresolved (${field}.name: the foreign key cannot be resolved with '{name="${name}"}' for an existing '${kind}' entity)`;
  return new AdminError(400, {
    code: 13,
    name: 'foreign keys unresolved',
    message,
    fields: { [field]: { name: `the foreign key cannot be resolved with '{name="${name}"}' for an existing '${kind}' entity` } },
  });
}
export function foreignKeyViolation(field: string, id: string, kind: string): AdminError {
  const message = `the foreign key '{id="${id}"}' does not reference an existing '${kind}' entity.`;
  return new AdminError(400, { code: 4, name: 'foreign key violation', message, fields: { [field]: { id } } });
}

/**
 * Kong's `errors:declarative_config(err_t)`: code 14, `fields` as the document has
 * them, and `message` their Lua rendering (Penlight `pretty.write(err_t, "")`).
 */
export function declarativeConfig(fields: Record<string, unknown>): AdminError {
  return new AdminError(400, {
    code: 14,
    name: 'invalid declarative configuration',
    message: `declarative config is invalid: ${luaPretty(fields)}`,
    fields,
  });
}

/**
 * Kong's `errors:declarative_config_flattened(err_t, input)` (`POST /config?flatten_errors=1`):
 * the same body with `flattened_errors`, one entry per entity in error; `fields`
 * (and the `message` rendering it) keeps only what is no entity's error.
 */
export function declarativeConfigFlattened(source: FlattenSource): AdminError {
  const { fields, flattened } = flattenErrors(source.document, source.fields);
  const err = declarativeConfig(fields);
  return new AdminError(400, { ...err.body, flattened_errors: flattened });
}

/** Map a store constraint error (GwError) or an AdminError to a Kong body; other errors are rethrown. */
export function toAdminError(err: unknown): AdminError {
  if (err instanceof AdminError) return err;
  if (isGwError(err)) {
    const d = err.details ?? {};
    if (err.code === 'GW_ERR_STORE_UNIQUE') {
      return new AdminError(409, { code: 5, name: 'unique constraint violation', message: err.message, fields: d.fields ?? {} });
    }
    // Kong's POST is an insert: an id that exists is code 3, 400, and nothing changes (kong/db/errors.lua primary_key_violation)
    if (err.code === 'GW_ERR_STORE_PRIMARY_KEY')
      return new AdminError(400, { code: 3, name: 'primary key violation', message: err.message, fields: d.fields ?? {} });
    if (err.code === 'GW_ERR_STORE_FOREIGN_KEY') {
      if (typeof d.referencedBy === 'string') {
        return new AdminError(400, {
          code: 4,
          name: 'foreign key violation',
          message: err.message,
          fields: { '@referenced_by': d.referencedBy },
        });
      }
      return new AdminError(400, {
        code: 4,
        name: 'foreign key violation',
        message: err.message,
        fields: { [String(d.field)]: { id: d.id } },
      });
    }
    if (err.code === 'GW_ERR_STORE_UNAVAILABLE' || err.code === 'GW_ERR_STORE_DB_UNAVAILABLE')
      return new AdminError(503, { message: err.message });
    // Kong has no optimistic-concurrency error; its plain `{ message }` shape, with a name to branch on
    if (err.code === 'GW_ERR_STORE_CONFLICT')
      return new AdminError(409, { name: 'conflict', message: `${err.message}; retry the request` });
  }
  throw err;
}

export function sendError(reply: FastifyReply, err: AdminError): FastifyReply {
  return reply.code(err.status).send(err.body);
}
