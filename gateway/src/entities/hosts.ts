/**
 * Host parsing as Kong's `kong/tools/ip.lua` (`normalize_ip`, `format_host`):
 * IPv4, IPv6 (bare or bracketed) or hostname, with an optional port.
 */

export interface HostPort {
  type: 'ipv4' | 'ipv6' | 'name';
  /** normalised: IPv4 without leading zeros, IPv6 expanded lower-case (unbracketed), names as given */
  host: string;
  port?: number;
}

const LABEL_RE = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

function isHostname(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  return name.length > 0 && name.split('.').every((l) => LABEL_RE.test(l));
}

function normalizeIpv4(s: string): string | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out.join('.');
}

/** Expand an IPv6 address to 8 groups of 4 lower-case hex digits, or null. */
export function expandIpv6(s: string): string | null {
  let text = s.toLowerCase();
  const groupsTail: string[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const ip = normalizeIpv4(v4[1] as string);
    if (ip === null) return null;
    const [a, b, c, d] = ip.split('.').map(Number) as [number, number, number, number];
    groupsTail.push(((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
    text = text.slice(0, -(v4[1] as string).length);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const split = (h: string): string[] => (h === '' ? [] : h.split(':'));
  const head = split(halves[0] as string);
  const tail = [...(halves.length === 2 ? split(halves[1] as string) : []), ...groupsTail];
  const total = head.length + tail.length;
  if (halves.length === 1 && total !== 8) return null;
  if (halves.length === 2 && total > 7) return null;
  const groups = [...head, ...Array<string>(8 - total).fill('0'), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.map((g) => g.padStart(4, '0')).join(':');
}

function parsePort(s: string): number | null {
  if (!/^\d{1,5}$/.test(s)) return null;
  const n = Number(s);
  return n <= 65535 ? n : null;
}

/** `host[:port]` split into its parts, nothing validated but the brackets (see {@link splitHostPort}). */
export interface HostPortText {
  /** as written, without brackets */
  readonly host: string;
  /** the text after the port colon ('' for `host:`), undefined when there is none */
  readonly port: string | undefined;
  /** bracketed, or a bare address with several colons */
  readonly ipv6: boolean;
}

/**
 * The one address parser's syntax step: `[v6]:port`, `[v6]`, a bare IPv6
 * address (several colons, no port), `host:port` or `host`. Returns null
 * when the brackets are malformed (`[::1`, `[::1]x`). Callers validate the
 * parts: {@link parseHostPort} (entities, Kong's rules), the balancer
 * (`toBalancerTarget`), the Admin API's health view.
 */
export function splitHostPort(input: string): HostPortText | null {
  if (input.startsWith('[')) {
    const end = input.indexOf(']');
    if (end < 0) return null;
    const rest = input.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':')) return null;
    return { host: input.slice(1, end), port: rest === '' ? undefined : rest.slice(1), ipv6: true };
  }
  const colon = input.indexOf(':');
  if (colon === -1) return { host: input, port: undefined, ipv6: false };
  if (colon !== input.lastIndexOf(':')) return { host: input, port: undefined, ipv6: true };
  return { host: input.slice(0, colon), port: input.slice(colon + 1), ipv6: false };
}

/**
 * Parse `host[:port]`. Returns null for an invalid host and `'bad-port'` when
 * the host is valid but the port is not (Kong's "invalid port number").
 */
export function parseHostPort(input: string): HostPort | null | 'bad-port' {
  if (input.length === 0 || input.length > 1024) return null;
  const parts = splitHostPort(input);
  if (parts === null) return null;
  let hp: HostPort;
  if (parts.ipv6) {
    const ip = expandIpv6(parts.host);
    if (ip === null) return null;
    hp = { type: 'ipv6', host: ip };
  } else if (/^[\d.]+$/.test(parts.host)) {
    const ip = normalizeIpv4(parts.host);
    if (ip === null) return null;
    hp = { type: 'ipv4', host: ip };
  } else if (isHostname(parts.host)) {
    hp = { type: 'name', host: parts.host };
  } else {
    return null;
  }
  if (parts.port === undefined) return hp;
  const port = parsePort(parts.port);
  return port === null ? 'bad-port' : { ...hp, port };
}

/**
 * Normalise a target string as Kong does (`host:port`, default port 8000,
 * IPv4 re-printed, IPv6 expanded/bracketed, names not lower-cased), or null.
 */
export function normalizeTarget(target: string): string | null {
  if (typeof target !== 'string') return null;
  const p = parseHostPort(target);
  // port 0 is refused (Kong stores it, then its balancer cannot connect)
  if (p === null || p === 'bad-port' || p.port === 0) return null;
  const host = p.type === 'ipv6' ? `[${p.host}]` : p.host;
  return `${host}:${p.port ?? 8000}`;
}
