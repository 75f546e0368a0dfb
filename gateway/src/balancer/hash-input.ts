/**
 * The value a consistent-hashing pick hashes, Kong's order: the `hash_on`
 * input, else the `hash_fallback` input, else ''. Compiled once per upstream
 * (header names lower-cased, the switch on the source resolved) so a pick only
 * reads the request.
 */
import type { HashOn, Upstream } from '../entities/types.js';
import type { PickContext } from './balancer.js';

/** Reads the value to hash; null means "hash_on is a cookie the client did not send". */
export type HashInput = (ctx: PickContext) => string | null;

type Read = (ctx: PickContext) => string;

const none: Read = () => '';

/** `Set-Cookie` value for a generated hash cookie (Kong's exact attributes). */
export function hashCookie(name: string, path: string, value: string): string {
  return `${name}=${value}; Path=${path}; Same-Site=Lax; HttpOnly`;
}

/** A cookie's value from the `Cookie` header, '' when absent. */
export function readCookie(raw: string | undefined, name: string): string {
  if (!raw) return '';
  let from = 0;
  while (from < raw.length) {
    let end = raw.indexOf(';', from);
    if (end === -1) end = raw.length;
    const eq = raw.indexOf('=', from);
    if (eq !== -1 && eq < end && raw.slice(from, eq).trim() === name) return raw.slice(eq + 1, end).trim();
    from = end + 1;
  }
  return '';
}

/** Values of a query argument, sorted and comma-joined ('' when absent). */
export function readQueryArg(query: string, name: string): string {
  if (!query) return '';
  const values: string[] = [];
  for (const [k, v] of new URLSearchParams(query)) if (k === name) values.push(v);
  return values.length === 1 ? values[0]! : values.sort().join(',');
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * RFC 3986 normalisation as Kong applies to paths it hashes: escapes of
 * unreserved characters decoded, other escapes upper-cased, `.`/`..`
 * segments resolved, repeated slashes merged.
 */
export function normalizePath(path: string): string {
  if (path[0] !== '/' || (!path.includes('%') && !path.includes('//') && !path.includes('/.'))) return path;
  const decoded = path.replace(/%([0-9a-fA-F]{2})/g, (m, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(c) ? c : m.toUpperCase();
  });
  const out: string[] = [];
  const segments = decoded.split('/');
  for (let k = 1; k < segments.length; k++) {
    const seg = segments[k]!;
    const last = k === segments.length - 1;
    if (seg === '..') out.pop();
    else if (seg !== '.' && (seg !== '' || last)) {
      out.push(seg);
      continue;
    }
    if (last) out.push('');
  }
  return '/' + out.join('/');
}

function reader(on: HashOn, header: string | null, queryArg: string | null, capture: string | null): Read {
  switch (on) {
    case 'none':
    case 'consumer': // gw has no consumers: nothing to hash, as a Kong request without one
    case 'cookie': // handled by compileHashInput
      return none;
    case 'ip':
      return (ctx) => ctx.clientIp;
    case 'header': {
      if (!header) return none;
      const h = header.toLowerCase();
      return (ctx) => {
        const v = ctx.headers[h];
        return v === undefined ? '' : Array.isArray(v) ? v.join(',') : v;
      };
    }
    case 'path':
      return (ctx) => normalizePath(ctx.path);
    case 'query_arg':
      return queryArg ? (ctx) => readQueryArg(ctx.query, queryArg) : none;
    case 'uri_capture':
      return capture ? (ctx) => ctx.uriCaptures?.[capture] ?? '' : none;
  }
}

/** Reads a cookie, null when absent (the caller then generates one). */
function cookieReader(name: string): HashInput {
  return (ctx) => readCookie(ctx.headers.cookie, name) || null;
}

/**
 * Compile the hash input of an upstream. A cookie source, as hash_on or as
 * hash_fallback (Kong allows both), returns null when the client sent none.
 */
export function compileHashInput(u: Upstream): HashInput {
  const cookie = u.hash_on_cookie;
  if (u.hash_on === 'cookie') return cookie ? cookieReader(cookie) : none;
  const primary = reader(u.hash_on, u.hash_on_header, u.hash_on_query_arg, u.hash_on_uri_capture);
  if (u.hash_fallback === 'cookie' && cookie) {
    const fallback = cookieReader(cookie);
    return (ctx) => primary(ctx) || fallback(ctx);
  }
  const fallback = reader(u.hash_fallback, u.hash_fallback_header, u.hash_fallback_query_arg, u.hash_fallback_uri_capture);
  if (fallback === none) return primary;
  return (ctx) => primary(ctx) || fallback(ctx);
}
