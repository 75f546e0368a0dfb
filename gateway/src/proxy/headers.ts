/**
 * Request and response header rewriting: hop-by-hop removal (both ways),
 * Host (§3.3), X-Forwarded-* / X-Real-IP / Via (§3.4).
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/**
 * Removed both ways. As Kong (spec/02-integration/05-proxy/03-upstream_headers_spec.lua
 * "hop-by-hop headers are removed from request"): Proxy-Authenticate and
 * Proxy-Authorization are forwarded, and of TE only `trailers` (below).
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

/** Kong keeps `TE: trailers` (the one TE value meaningful end to end): `trailers, deflate;q=0.5` → `trailers`. */
function teTrailers(v: string | string[] | undefined): boolean {
  if (v === undefined) return false;
  const s = (Array.isArray(v) ? v.join(',') : v).toLowerCase();
  return s.split(',').some((t) => t.split(';')[0]!.trim() === 'trailers');
}
const FORWARDED = new Set([
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-path',
  'x-forwarded-prefix',
  'x-real-ip',
]);

function connectionTokens(v: string | string[] | undefined): Set<string> | null {
  if (v === undefined) return null;
  const s = Array.isArray(v) ? v.join(',') : v;
  const out = new Set<string>();
  for (const t of s.split(',')) {
    const x = t.trim().toLowerCase();
    if (x && x !== 'close' && x !== 'keep-alive') out.add(x);
  }
  return out.size > 0 ? out : null;
}

export interface ForwardInfo {
  host: string;
  clientIp: string;
  listenPort: number;
  scheme: 'http' | 'https';
  requestPath: string;
  prefix: string | null;
  via: string;
  requestId: string;
  /** the peer is in trusted_ips: its X-Forwarded-Proto/Host/Port/Path/Prefix are kept */
  trusted: boolean;
}

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** Headers for the upstream request (a fresh object; the incoming one is untouched). */
export function upstreamHeaders(req: IncomingMessage, info: ForwardInfo, keepUpgrade: boolean): Record<string, string | string[]> {
  const src: IncomingHttpHeaders = req.headers;
  const drop = connectionTokens(src.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in src) {
    // `Proxy` is never forwarded (httpoxy: CGI-style upstreams read it as HTTP_PROXY), as in Kong
    if (HOP_BY_HOP.has(name) || FORWARDED.has(name) || name === 'proxy' || drop?.has(name)) continue;
    const v = src[name];
    if (v !== undefined) out[name] = v;
  }
  if (src.te !== undefined && teTrailers(src.te)) out.te = 'trailers';
  if (keepUpgrade && src.upgrade) {
    out.connection = 'upgrade';
    out.upgrade = src.upgrade;
  }
  const xff = src['x-forwarded-for'];
  out.host = info.host;
  out['x-forwarded-for'] = xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${info.clientIp}` : info.clientIp;
  const t = info.trusted;
  out['x-forwarded-proto'] = (t && first(src['x-forwarded-proto'])) || info.scheme;
  out['x-forwarded-host'] = (t && first(src['x-forwarded-host'])) || (src.host ?? '').replace(/:\d+$/, '');
  out['x-forwarded-port'] = (t && first(src['x-forwarded-port'])) || String(info.listenPort);
  out['x-forwarded-path'] = (t && first(src['x-forwarded-path'])) || info.requestPath;
  const prefix =
    (t && first(src['x-forwarded-prefix'])) ||
    (info.prefix !== null && info.prefix !== '/' && info.prefix !== '' ? info.prefix : undefined);
  if (prefix) out['x-forwarded-prefix'] = prefix;
  out['x-real-ip'] = info.clientIp;
  out['x-kong-request-id'] = info.requestId;
  out.via = src.via ? `${Array.isArray(src.via) ? src.via.join(', ') : src.via}, ${info.via}` : info.via;
  return out;
}

/** Response headers from the upstream minus hop-by-hop ones (undici gives a flat object). */
export function downstreamHeaders(headers: Record<string, string | string[] | undefined>, via: string): Record<string, string | string[]> {
  const drop = connectionTokens(headers.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    if (name === 'host' || (HOP_BY_HOP.has(name) && name !== 'transfer-encoding') || drop?.has(name)) continue;
    if (name === 'transfer-encoding') continue; // node sets its own framing
    const v = headers[name];
    if (v !== undefined) out[name] = v;
  }
  const upstreamVia = headers.via;
  out.via = upstreamVia ? `${Array.isArray(upstreamVia) ? upstreamVia.join(', ') : upstreamVia}, ${via}` : via;
  return out;
}

/** Host header for the upstream per §3.3. */
export function upstreamHost(
  preserve: boolean,
  incoming: string | undefined,
  targetHost: string,
  port: number,
  hostHeader: string | null,
  scheme: string,
): string {
  if (preserve && incoming) return incoming;
  if (hostHeader) return hostHeader;
  const h = targetHost.includes(':') ? `[${targetHost}]` : targetHost;
  const defaultPort = scheme === 'https' || scheme === 'grpcs' ? 443 : 80;
  return port === defaultPort ? h : `${h}:${port}`;
}
