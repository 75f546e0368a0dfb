/**
 * The value a consistent-hashing pick hashes: `hash_on`, else
 * `hash_fallback`, else '' (Kong's order).
 */
import { randomUUID } from 'node:crypto';
import type { HashOn, Upstream } from '../entities/types.js';
import type { PickContext } from './balancer.js';

export interface HashValue {
  value: string;
  /** set when hashing on a cookie the client did not send */
  setCookie?: string;
}

function header(ctx: PickContext, name: string | null): string {
  if (!name) return '';
  const v = ctx.headers[name.toLowerCase()];
  return v === undefined ? '' : Array.isArray(v) ? v.join(',') : v;
}

function cookie(ctx: PickContext, name: string): string {
  const raw = ctx.headers.cookie;
  if (!raw) return '';
  for (const part of raw.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return '';
}

function queryArg(ctx: PickContext, name: string | null): string {
  if (!name || !ctx.query) return '';
  return new URLSearchParams(ctx.query).getAll(name).sort().join(',');
}

function one(u: Upstream, on: HashOn, ctx: PickContext, fallback: boolean): string {
  switch (on) {
    case 'none':
    case 'consumer': // gw has no consumers: nothing to hash
    case 'cookie':
      return '';
    case 'ip':
      return ctx.clientIp;
    case 'header':
      return header(ctx, fallback ? u.hash_fallback_header : u.hash_on_header);
    case 'path':
      return ctx.path;
    case 'query_arg':
      return queryArg(ctx, fallback ? u.hash_fallback_query_arg : u.hash_on_query_arg);
    case 'uri_capture': {
      const name = fallback ? u.hash_fallback_uri_capture : u.hash_on_uri_capture;
      return (name && ctx.uriCaptures?.[name]) ?? '';
    }
  }
}

export function hashValue(u: Upstream, ctx: PickContext): HashValue {
  if (u.hash_on === 'cookie' && u.hash_on_cookie) {
    const v = cookie(ctx, u.hash_on_cookie);
    if (v) return { value: v };
    const fresh = randomUUID();
    return { value: fresh, setCookie: `${u.hash_on_cookie}=${fresh}; Path=${u.hash_on_cookie_path}; Same-Site=Lax; HttpOnly` };
  }
  const primary = one(u, u.hash_on, ctx, false);
  if (primary) return { value: primary };
  return { value: one(u, u.hash_fallback, ctx, true) };
}
