/**
 * The audit log: one JSON line per Admin API write (POST, PUT, PATCH,
 * DELETE), refused ones included, through pino; to stdout (the CLI's
 * default), a file (`--audit-log FILE`, appended) or nowhere (`off`).
 *
 * A line: `time` (ISO 8601), `caller` (`admin`, `registration:<service>`,
 * `anonymous`), `client` (the peer address), `method`, `path` (without the
 * query string), `status`, `entity` `{ kind, key, id }` (`key` as in the
 * URL, `id` from the answer when it has one). Never a header, a token or a
 * body: nothing a client sends beyond the method and the path is written.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { pino, type Logger } from 'pino';
import { openLogFile } from '../observability/log-file.js';
import { callerLabel, callerOf } from './auth.js';

export const AUDIT_MSG = 'admin write';

const AUDITED: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const KINDS = ['services', 'routes', 'upstreams', 'targets'] as const;

export interface AuditLog {
  readonly logger: Logger;
  close(): void;
}

/** `stdout`, `off`, or a file path (created if missing, mode 0640, appended to; its directory must exist). */
export function createAuditLog(dest: string): AuditLog | undefined {
  if (dest === 'off') return undefined;
  const stream = pino.destination({ dest: dest === 'stdout' ? 1 : openLogFile(dest, '--audit-log'), sync: true });
  const logger = pino(
    { base: { log: 'audit' }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
    stream,
  );
  return {
    logger,
    close: () => {
      if (dest !== 'stdout') stream.end();
    },
  };
}

/** The entity a request is about: the last kind named in the route and the key after it. */
export function entityOf(req: FastifyRequest): { kind: string; key?: string } | undefined {
  const url = req.routeOptions.url;
  if (url === undefined) return undefined;
  const segments = url.split('/').filter((s) => s !== '');
  const params = (req.params ?? {}) as Record<string, string>;
  let found: { kind: string; key?: string } | undefined;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    if (!(KINDS as readonly string[]).includes(s)) continue;
    const next = segments[i + 1];
    found = { kind: s };
    if (next?.startsWith(':')) found.key = params[next.slice(1)];
  }
  return found ?? { kind: segments[0] ?? '' };
}

const kId = Symbol('gw.auditId');

/** Hook the audit log into the admin server: the id from the answer (onSend), one line once answered (onResponse). */
export function registerAudit(app: FastifyInstance, audit: AuditLog): void {
  app.addHook('onSend', async (req, _reply, payload) => {
    if (!AUDITED.has(req.method) || typeof payload !== 'string' || !payload.startsWith('{')) return payload;
    try {
      const id = (JSON.parse(payload) as { id?: unknown }).id;
      if (typeof id === 'string') (req as unknown as Record<symbol, string>)[kId] = id;
    } catch {
      // not JSON: no id
    }
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    if (!AUDITED.has(req.method)) return;
    const e = entityOf(req);
    const id = (req as unknown as Record<symbol, string | undefined>)[kId];
    audit.logger.info(
      {
        caller: callerLabel(callerOf(req)),
        client: req.ip,
        method: req.method,
        path: req.url.split('?')[0],
        status: reply.statusCode,
        entity: e && { kind: e.kind, ...(e.key !== undefined ? { key: e.key } : {}), ...(id !== undefined ? { id } : {}) },
      },
      AUDIT_MSG,
    );
  });
  app.addHook('onClose', async () => audit.close());
}
