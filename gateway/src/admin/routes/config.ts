/**
 * `POST /config` (Kong DB-less: apply a declarative document) and
 * `GET /config` (export the configuration as a declarative file).
 */
import type { FastifyInstance } from 'fastify';
import { documentOf, exportText, type DeclarativeConfig } from '../../config/reload.js';
import { isGwError } from '../../errors.js';
import type { AdminContext } from '../context.js';
import { AdminError } from '../kong-errors.js';
import { kFormBody, query, resource, type FormBody } from '../resource.js';

export function registerConfigRoutes(app: FastifyInstance, ctx: AdminContext, config: DeclarativeConfig | undefined): void {
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
      try {
        const summary = await config.applyDocument(documentOf(body));
        return {
          status: 201,
          body: {
            message: 'configuration applied',
            upserted: summary.upserted,
            deleted: summary.deleted,
            kept_registered: summary.keptRegistered,
          },
        };
      } catch (err) {
        if (isGwError(err) && (err.code === 'GW_ERR_CONFIG_FILE' || err.code === 'GW_ERR_CONFIG_UNSUPPORTED')) {
          throw new AdminError(400, { code: 14, name: 'invalid declarative configuration', message: err.message });
        }
        throw err;
      }
    },
  });
  void ctx;
}
