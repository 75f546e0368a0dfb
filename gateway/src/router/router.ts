/**
 * Kong-compatible router, compiled once per snapshot.
 * CONTRACT: `compileRouter` and the types here are fixed; the router work implements them.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Route, Service } from '../entities/types.js';

export interface RouteRequest {
  method: string;
  /** Host header value as received (may include :port), or undefined */
  host: string | undefined;
  /** path without query, not decoded */
  path: string;
  headers: IncomingHttpHeaders;
  /** the proxy listener's port (for `hosts` entries with `:port`) */
  port: number;
}

export interface RouteMatch {
  route: Route;
  /** null when the route has no service (→ 503 "no Service found with those values") */
  service: Service | null;
  /** the route path that matched: the prefix string, or for regex the matched prefix of the request path; null if the route has no paths */
  matchedPath: string | null;
  /** regex captures, by index ("0" whole match, "1"...) and by name */
  uriCaptures: Record<string, string> | undefined;
}

export interface Router {
  match(req: RouteRequest): RouteMatch | null;
  readonly size: number;
}

export function compileRouter(routes: readonly Route[], services: ReadonlyMap<string, Service>): Router {
  void routes; void services;
  throw new Error('not implemented');
}
