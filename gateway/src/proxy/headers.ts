/**
 * Request and response header rewriting: hop-by-hop removal (both ways),
 * Host (§3.3), X-Forwarded-* / X-Real-IP / Via (§3.4).
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

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
/**
 * The client's values are replaced by gw's, never forwarded as well (Kong's
 * `proxy_set_header`, kong/templates/nginx_kong.lua): X-Forwarded-*,
 * X-Real-IP, X-Kong-Request-Id, and Via (the client's value is kept inside
 * gw's, which appends to it).
 */
const FORWARDED = new Set([
  'x-kong-request-id',
  'via',
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
  // what nearly every upstream and client sends: nothing named to drop
  if (v === 'keep-alive' || v === 'close' || v === 'Keep-Alive' || v === 'Close') return null;
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
  /** the client's address: the peer's, or a trusted peer's X-Real-IP ({@link realIp}; nginx's $remote_addr) */
  clientIp: string;
  /** the connection's peer (nginx's $realip_remote_addr) */
  peerIp: string;
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

/**
 * One-entry memo of a string function: nearly every request repeats the
 * previous one's Host, listen port and target, so the derived header text
 * is the same string again instead of a new one per request.
 */
export function lastOf<K, V>(compute: (k: K) => V): (k: K) => V {
  let lastIn: K | undefined;
  let lastOut: V | undefined;
  let has = false;
  return (k: K): V => {
    if (has && k === lastIn) return lastOut!;
    lastOut = compute(k);
    lastIn = k;
    has = true;
    return lastOut;
  };
}
/**
 * nginx's `$host` of a Host header (X-Forwarded-Host, the https redirect's
 * Location): without its port, lowercased, one trailing dot dropped
 * (ngx_http_validate_host), so `API.Example.com.:8000` is `api.example.com`.
 */
export const hostWithoutPort = lastOf((h: string): string => {
  const host = h.replace(/:\d*$/, '').toLowerCase();
  return host.length > 1 && host.endsWith('.') ? host.slice(0, -1) : host;
});
const portText = lastOf((p: number): string => String(p));

/**
 * Headers for the upstream request, as a flat `[name, value, …]` list (what
 * undici keeps internally: no object to build and enumerate again); a
 * header the client sent several times is one pair per value. The incoming
 * headers are untouched.
 */
export function upstreamHeaders(req: IncomingMessage, info: ForwardInfo, keepUpgrade: boolean): string[] {
  const src: IncomingHttpHeaders = req.headers;
  const drop = connectionTokens(src.connection);
  const out: string[] = [];
  for (const name in src) {
    // `Proxy` is never forwarded (httpoxy: CGI-style upstreams read it as HTTP_PROXY), as in Kong; nor `Expect`:
    // node answered the client's 100-continue itself and the body is read here, as nginx does (proxy_set_header Expect "")
    if (HOP_BY_HOP.has(name) || FORWARDED.has(name) || name === 'proxy' || name === 'expect' || drop?.has(name)) continue;
    const v = src[name];
    if (typeof v === 'string') out.push(name, v);
    else if (v !== undefined) for (const x of v) out.push(name, x);
  }
  if (src.te !== undefined && teTrailers(src.te)) out.push('te', 'trailers');
  if (keepUpgrade && src.upgrade) out.push('connection', 'upgrade', 'upgrade', src.upgrade);
  const xff = src['x-forwarded-for'];
  const t = info.trusted;
  out.push(
    'host',
    info.host,
    'x-forwarded-for',
    // Kong (kong/runloop/handler.lua): appended to with the peer, else the client's address
    xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${info.peerIp}` : info.clientIp,
    'x-forwarded-proto',
    (t && first(src['x-forwarded-proto'])) || info.scheme,
    'x-forwarded-host',
    (t && first(src['x-forwarded-host'])) || hostWithoutPort(src.host ?? ''),
    'x-forwarded-port',
    (t && first(src['x-forwarded-port'])) || portText(info.listenPort),
    'x-forwarded-path',
    (t && first(src['x-forwarded-path'])) || info.requestPath,
  );
  const prefix =
    (t && first(src['x-forwarded-prefix'])) ||
    (info.prefix !== null && info.prefix !== '/' && info.prefix !== '' ? info.prefix : undefined);
  if (prefix) out.push('x-forwarded-prefix', prefix);
  out.push(
    'x-real-ip',
    info.clientIp,
    'x-kong-request-id',
    info.requestId,
    'via',
    src.via ? `${Array.isArray(src.via) ? src.via.join(', ') : src.via}, ${info.via}` : info.via,
  );
  return out;
}

/**
 * The client's address as nginx's realip module finds it the way Kong sets
 * it up (`real_ip_header X-Real-IP`, `real_ip_recursive off`, `set_real_ip_from`
 * = trusted_ips; ngx_http_realip_module.c and
 * ngx_http_get_forwarded_addr_internal): for a trusted `peer`, the last
 * entry (after a space or comma) of the first X-Real-IP header, an
 * `ip:port` or `[ip]:port` without its port, when it is an IP address;
 * otherwise the peer. Only asked for trusted peers.
 */
export function realIp(req: IncomingMessage, peer: string): string {
  const h = req.headers['x-real-ip'];
  if (h === undefined) return peer;
  let v = typeof h === 'string' ? h : h[0]!;
  // node joins repeated headers with ", "; nginx reads the first
  if (v.includes(',')) v = firstRaw(req.rawHeaders, 'x-real-ip') ?? v;
  let i = v.length - 1;
  let end = v.length;
  while (i > 0 && (v[i] === ' ' || v[i] === ',')) {
    i--;
    end--;
  }
  while (i > 0 && v[i] !== ' ' && v[i] !== ',') i--;
  return addressOf(v.slice(i > 0 ? i + 1 : 0, end)) ?? peer;
}

function firstRaw(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === name.length && raw[i]!.toLowerCase() === name) return raw[i + 1];
  return undefined;
}

/** An IP address, or `ip:port` / `[ip]:port` (nginx's ngx_parse_addr_port) without the port; null if it is none. */
function addressOf(t: string): string | null {
  if (t.includes('%')) return null; // a zone id: not an address to nginx
  const f = isIP(t);
  if (f !== 0) return f === 6 ? t.toLowerCase() : t;
  let host: string;
  let port: string;
  if (t.startsWith('[')) {
    const j = t.indexOf(']');
    if (j === -1 || t[j + 1] !== ':') return null;
    host = t.slice(1, j);
    port = t.slice(j + 2);
  } else {
    const j = t.indexOf(':');
    if (j === -1) return null;
    host = t.slice(0, j);
    port = t.slice(j + 1);
  }
  const n = /^\d{1,5}$/.test(port) ? Number(port) : 0;
  if (n < 1 || n > 65535) return null;
  const g = isIP(host);
  return g === 0 ? null : g === 6 ? host.toLowerCase() : host;
}

/** What gw adds to a proxied response (Kong's header_filter, kong/runloop/handler.lua). */
export interface ResponseAdditions {
  /** this hop's `Via` entry, appended to the upstream's */
  via: string;
  /** `Server` when the upstream sent none */
  server: string;
  requestId: string;
  /** ms to the upstream's response headers, and ms the gateway spent before sending */
  upstreamLatency: number;
  proxyLatency: number;
  /** a consistent-hashing cookie the client lacked */
  setCookie?: string | undefined;
}

/**
 * The client's response headers as a flat `[name, value, …]` list for
 * `writeHead`: the upstream's minus hop-by-hop ones (undici gives a flat
 * object), then Via, Server (if the upstream sent none), the request ids,
 * Kong's latency headers and the sticky cookie.
 */
export function downstreamHeaders(headers: Record<string, string | string[] | undefined>, add: ResponseAdditions): (string | string[])[] {
  const drop = connectionTokens(headers.connection);
  const out: (string | string[])[] = [];
  let server = false;
  for (const name in headers) {
    // node sets its own framing (transfer-encoding)
    if (HOP_BY_HOP.has(name) || drop?.has(name)) continue;
    const v = headers[name];
    if (v === undefined || name === 'via') continue;
    if (name === 'server') server = true;
    out.push(name, v);
  }
  const upstreamVia = headers.via;
  out.push('via', upstreamVia ? `${Array.isArray(upstreamVia) ? upstreamVia.join(', ') : upstreamVia}, ${add.via}` : add.via);
  // an upstream without a Server header gets Kong's (kong/runloop/handler.lua header_filter)
  if (!server) out.push('server', add.server);
  out.push(
    'x-gw-request-id',
    add.requestId,
    'x-kong-request-id',
    add.requestId,
    'x-kong-upstream-latency',
    String(Math.round(add.upstreamLatency)),
    'x-kong-proxy-latency',
    String(Math.round(add.proxyLatency)),
  );
  if (add.setCookie) out.push('set-cookie', add.setCookie);
  return out;
}

/**
 * Host header for the upstream per §3.3: the upstream's host_header, else
 * the target's name, with `:port` unless the port is the scheme's default
 * (Kong's set_host_header, kong/runloop/balancer/init.lua, appends it to
 * host_header too).
 */
export function upstreamHost(
  preserve: boolean,
  incoming: string | undefined,
  targetHost: string,
  port: number,
  hostHeader: string | null,
  scheme: string,
): string {
  if (preserve && incoming) return incoming;
  const name = hostHeader || targetHost;
  if (name === lastTarget.host && port === lastTarget.port && scheme === lastTarget.scheme) return lastTarget.text;
  const h = name.includes(':') ? `[${name}]` : name;
  const defaultPort = scheme === 'https' || scheme === 'grpcs' ? 443 : 80;
  const text = port === defaultPort ? h : `${h}:${port}`;
  lastTarget = { host: name, port, scheme, text };
  return text;
}
/** The last target's Host text ({@link upstreamHost}; with one target, or a sticky hash, the next request's too). */
let lastTarget = { host: '', port: -1, scheme: '', text: '' };
