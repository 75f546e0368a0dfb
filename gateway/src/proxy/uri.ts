/**
 * The request URL as gw routes and forwards it (Kong's normalize + escape,
 * in entities/route-paths.ts), the postfix sanitising and the upstream URI
 * of path_handling v0 (kong/router/utils.lua).
 */
import { normalizePath } from '../entities/route-paths.js';

export { normalizePath };

/** What a path needs work for: an escape, a dot (segment), `//`, or a character Kong's `escape` encodes (outside its safe set) */
// eslint-disable-next-line no-control-regex
const NEEDS_WORK = /[%."<>\\^`{|}\x00-\x20\x7f-\uffff]|\/\//;

/**
 * A request URL (path and query) as gw routes and forwards it: the path
 * through {@link normalizePath}, the query untouched. The same string when
 * nothing changes.
 */
export function normalizeUrl(url: string): string {
  // the hot path: one native scan (as fast as the three includes() it replaced); the query may trigger it needlessly
  if (url.charCodeAt(0) !== 0x2f /* / */ || !NEEDS_WORK.test(url)) return url;
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const norm = normalizePath(path);
  if (norm === path) return url;
  return q === -1 ? norm : norm + url.slice(q);
}

/** Kong's `sanitize_uri_postfix` (kong/router/utils.lua): a postfix of `.`, `..`, `./…` or `../…` loses the dots. */
function sanitizePostfix(postfix: string): string {
  if (postfix === '' || postfix.charCodeAt(0) !== 0x2e) return postfix;
  if (postfix === '.' || postfix === '..') return '';
  if (postfix.startsWith('./')) return postfix.slice(2);
  if (postfix.startsWith('../')) return postfix.slice(3);
  return postfix;
}

/**
 * The upstream path of Kong's path_handling v0 (`get_upstream_uri_v0`,
 * kong/router/utils.lua), as the 113 rows of
 * spec/fixtures/router_path_handling_tests.lua expect.
 *
 * @param reqPath normalised request path without query
 * @param matched the route path that matched (prefix, or what a regex matched), or null
 * @param strip route.strip_path
 * @param servicePath service.path (null ⇒ "/")
 */
export function upstreamPath(reqPath: string, matched: string | null, strip: boolean, servicePath: string | null): string {
  const base = servicePath ?? '/';
  if (strip && matched !== null && matched.length > 0) {
    const postfix = sanitizePostfix(reqPath.slice(matched.length));
    if (base.endsWith('/')) {
      if (postfix === '') return base === '/' || reqPath.endsWith('/') ? base : base.slice(0, -1);
      return postfix.startsWith('/') ? base + postfix.slice(1) : base + postfix;
    }
    if (postfix === '') return reqPath.length > 1 && reqPath.endsWith('/') ? `${base}/` : base;
    return postfix.startsWith('/') ? base + postfix : `${base}/${postfix}`;
  }
  if (base.endsWith('/')) return base + reqPath.slice(1);
  return reqPath === '/' ? base : base + reqPath;
}

/** The URL as the client sent it, on a request whose `url` {@link rewriteUrl} normalised. */
export const kRawUrl = Symbol('gw.rawUrl');
type RawUrlCarrier = { url?: string | undefined; [kRawUrl]?: string };

/** Normalise a request's `url` in place ({@link normalizeUrl}), keeping the client's under {@link kRawUrl}. */
export function rewriteUrl(req: { url?: string | undefined }): void {
  const url = req.url ?? '/';
  const norm = normalizeUrl(url);
  if (norm !== url) {
    (req as RawUrlCarrier)[kRawUrl] = url;
    req.url = norm;
  }
}

/** The path (without query) the client sent: the `X-Forwarded-Path` Kong sends (kong/runloop/handler.lua uses ctx.request_uri). */
export function rawRequestPath(req: { url?: string | undefined }, normalized: string): string {
  const raw = (req as RawUrlCarrier)[kRawUrl];
  if (raw === undefined) return normalized;
  const q = raw.indexOf('?');
  return q === -1 ? raw : raw.slice(0, q);
}
