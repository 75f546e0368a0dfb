/**
 * `POST /config` (Kong DB-less: apply a declarative document) and
 * `GET /config` (export the configuration as a declarative file).
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { FlattenSource } from '../../config/declarative.js';
import { documentOf, exportText, type DeclarativeConfig } from '../../config/reload.js';
import { isGwError } from '../../errors.js';
import type { AdminContext } from '../context.js';
import { AdminError, declarativeConfig, declarativeConfigFlattened } from '../kong-errors.js';
import { kFormBody, query, resource, type FormBody } from '../resource.js';

export function registerConfigRoutes(app: FastifyInstance, ctx: AdminContext, config: DeclarativeConfig | undefined): void {
  /** md5 of the document text applied last (Kong's declarative hash), for check_hash */
  let lastHash: string | undefined;
  resource(app, '/config', {
    GET: (req) => {
      if (!config) throw new AdminError(404, { message: 'Not found' });
      const q = query(req);
      const format = q.format === 'json' ? 'json' : q.format === undefined || q.format === 'yaml' ? 'yaml' : undefined;
      if (format === undefined) throw new AdminError(400, { message: `invalid format '${q.format}': expected yaml or json` });
      const doc = config.export({ includeRegistered: q.include_registered === 'true' || q.include_registered === '1' });
      return { status: 200, body: exportText(doc, format), type: format === 'json' ? 'application/json' : 'application/yaml' };
    },
    POST: async (req) => {
      if (!config) throw new AdminError(404, { message: 'Not found' });
      const raw = req.body as unknown;
      const body = typeof raw === 'object' && raw !== null && kFormBody in raw ? (raw as FormBody)[kFormBody] : raw;
      if (body === undefined || body === '') throw new AdminError(400, { message: 'expected a declarative configuration' });
      // Kong's check_hash=1 (query or body): the same document text as the one applied last is 304, nothing applied
      const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
      const checkHash = String(query(req).check_hash ?? fields.check_hash) === '1';
      // Kong's flatten_errors (query or body, like check_hash)
      const flatten = truthy(query(req).flatten_errors ?? fields.flatten_errors);
      const text = typeof body === 'string' ? body : typeof fields.config === 'string' ? fields.config : undefined;
      const hash = text === undefined ? undefined : createHash('md5').update(text).digest('hex');
      if (checkHash && hash !== undefined && hash === lastHash) return { status: 304 };
      let doc = body;
      if (typeof body === 'object' && body !== null && ('check_hash' in fields || 'flatten_errors' in fields)) {
        const { check_hash: _c, flatten_errors: _f, ...rest } = fields;
        void _c;
        void _f;
        doc = rest;
      }
      try {
        const applied = await config.applyDocument(documentOf(doc));
        lastHash = hash;
        // Kong's body: the loaded entities by type and id (declarative.sanitize_output: Kong drops ws_id and
        // workspaces, which gw has none of). gw's counts go in headers, so no key can be taken for an entity type.
        const body: Record<string, Record<string, unknown>> = {};
        for (const [kind, byId] of Object.entries(applied.entities))
          body[kind] = Object.fromEntries(Object.entries(byId).map(([id, e]) => [id, ctx.present(e)]));
        return {
          status: 201,
          body,
          headers: {
            'x-gw-upserted': String(applied.upserted),
            'x-gw-deleted': String(applied.deleted),
            'x-gw-kept-registered': String(applied.keptRegistered),
          },
        };
      } catch (err) {
        if (isGwError(err) && (err.code === 'GW_ERR_CONFIG_FILE' || err.code === 'GW_ERR_CONFIG_UNSUPPORTED')) {
          // a text that is no document has nothing to flatten: Kong answers it before looking at flatten_errors
          const source = err.details?.flatten as FlattenSource | undefined;
          if (flatten && source) throw declarativeConfigFlattened(source);
          const fields = err.details?.fields;
          throw declarativeConfig(
            typeof fields === 'object' && fields !== null ? (fields as Record<string, unknown>) : { error: err.message },
          );
        }
        throw err;
      }
    },
  });
}

/** Kong's `truthy` (kong/api/routes/config.lua): "true", "1", "on", "yes" in any case, true or 1. */
function truthy(v: unknown): boolean {
  if (typeof v === 'string') return ['true', '1', 'on', 'yes'].includes(v.toLowerCase());
  return v === true || v === 1;
}
