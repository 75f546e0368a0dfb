/**
 * `/dashboard` on the admin listener (and, read-only, on `--status-listen`):
 * the page and its assets (no data, served without a token: a browser
 * cannot send a header when it navigates), and `/dashboard/events`, the
 * Server-Sent Events stream, which needs what the Admin API needs: the
 * admin token when one is configured (a registration token is refused).
 * The page keeps the token in sessionStorage and sends it as
 * `Authorization: Bearer`, never in a URL or a cookie.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../admin/auth.js';
import { DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from './assets.js';
import type { DashboardHub } from './hub.js';

/** Route config marking what the admin listener serves without a token. */
export const PUBLIC_ROUTE = { gwPublic: true } as const;

export function isPublicRoute(req: FastifyRequest): boolean {
  return (req.routeOptions.config as { gwPublic?: boolean } | undefined)?.gwPublic === true;
}

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export interface DashboardRouteOptions {
  hub: DashboardHub;
  /** the status listener: no actions */
  readOnly: boolean;
  /** who is calling (the admin listener's auth); undefined = refused (401) */
  identify(req: FastifyRequest): Caller | undefined;
  /** set: the stream is refused (403) with this reason whatever the token */
  refusal?: string | undefined;
}

export function registerDashboardRoutes(app: FastifyInstance, o: DashboardRouteOptions): void {
  const asset = (type: string, body: string) => (_req: FastifyRequest, reply: FastifyReply) => {
    reply.headers(SECURITY_HEADERS).type(type).send(body);
  };
  const page = DASHBOARD_HTML.replace('__GW_READ_ONLY__', o.readOnly ? 'true' : 'false');
  app.get('/dashboard', { config: PUBLIC_ROUTE }, asset('text/html; charset=utf-8', page));
  app.get('/dashboard/app.js', { config: PUBLIC_ROUTE }, asset('text/javascript; charset=utf-8', DASHBOARD_JS));
  app.get('/dashboard/app.css', { config: PUBLIC_ROUTE }, asset('text/css; charset=utf-8', DASHBOARD_CSS));
  app.get('/dashboard/events', (req, reply) => {
    if (o.refusal !== undefined) return reply.code(403).send({ message: `Forbidden: ${o.refusal}` });
    const caller = o.identify(req);
    if (caller === undefined) return reply.code(401).send({ message: 'Unauthorized' });
    if (caller.kind === 'registration')
      return reply
        .code(403)
        .send({ message: `Forbidden: a registration token for service '${caller.service}' may not read the dashboard` });
    reply.hijack();
    o.hub.open(reply.raw, o.readOnly);
    return reply;
  });
}
