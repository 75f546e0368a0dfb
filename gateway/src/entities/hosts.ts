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
 * Kong's `normalize_ip` (`kong/tools/ip.lua`): the type by exclusion (more
 * than one colon is IPv6, digits and dots IPv4, else a name), then that
 * type's check, with Kong's error texts ("invalid hostname: X", "invalid
 * port number", "invalid ipv4 address: X", "invalid ipv6 address: X").
 * Names follow `check_hostname`: letters, digits, `-`, `.`, `_`; no label
 * ends in `-` (a leading `-` is punycode and allowed); only the last label
 * may be empty (a trailing dot).
 */
export function normalizeIp(input: string): HostPort | { error: string } {
  if (input.length === 0 || input.length > 1024) return { error: `invalid hostname: ${input}` };
  const colons = input.split(':').length - 1;
  if (colons > 1) return normalizeIpv6(input);
  if (/^[\d.]+$/.test(input.replace(/:/g, ''))) return normalizeIpv4Port(input);
  return checkHostname(input);
}

function normalizeIpv4Port(input: string): HostPort | { error: string } {
  const m = input.includes(':')
    ? /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}):(\d+)$/.exec(input)
    : /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(input);
  const ip = m ? normalizeIpv4(m[1] as string) : null;
  if (!m || ip === null) return { error: `invalid ipv4 address: ${input}` };
  if (m[2] === undefined) return { type: 'ipv4', host: ip };
  const port = Number(m[2]);
  return port > 65535 ? { error: 'invalid port number' } : { type: 'ipv4', host: ip, port };
}

function normalizeIpv6(input: string): HostPort | { error: string } {
  let check = input;
  let port: number | undefined;
  if (input.startsWith('[')) {
    const end = input.indexOf(']');
    if (end < 0) return { error: `invalid ipv6 address: ${input}` };
    check = input.slice(1, end);
    const rest = input.slice(end + 1);
    if (rest !== '') {
      const pm = /^:(\d*)$/.exec(rest);
      if (!pm) return { error: 'invalid ipv6 address' };
      port = Number(pm[1]);
      if (pm[1] === '' || port > 65535) return { error: 'invalid port number' };
    }
  }
  const ip = expandIpv6(check);
  if (ip === null) return { error: `invalid ipv6 address: ${input}` };
  return port === undefined ? { type: 'ipv6', host: ip } : { type: 'ipv6', host: ip, port };
}

function checkHostname(input: string): HostPort | { error: string } {
  let name = input;
  let port: number | undefined;
  const pm = /:(\d+)$/.exec(input);
  if (pm) {
    name = input.slice(0, -(pm[1] as string).length - 1);
    port = Number(pm[1]);
    if (port > 65535) return { error: 'invalid port number' };
  }
  const bad = { error: `invalid hostname: ${input}` };
  if (!/^[A-Za-z0-9\-._]+$/.test(name)) return bad;
  const labels = name.split('.');
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i] as string;
    if (l.endsWith('-') || (l === '' && i !== labels.length - 1)) return bad;
  }
  return port === undefined ? { type: 'name', host: name } : { type: 'name', host: name, port };
}

/**
 * Parse `host[:port]` ({@link normalizeIp}). Returns null for an invalid host
 * and `'bad-port'` when the port is out of range (Kong's "invalid port number").
 */
export function parseHostPort(input: string): HostPort | null | 'bad-port' {
  const r = normalizeIp(input);
  if ('error' in r) return r.error === 'invalid port number' ? 'bad-port' : null;
  return r;
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
