/**
 * Kong-compatible router (traditional_compatible flavor), compiled once per
 * snapshot. Candidates (one per route path) are ranked once by Kong's
 * priority; matching walks a character trie of prefix paths inside the
 * request's host bucket, so cost does not grow with the number of routes.
 * Regex paths are tested in rank order (regex tables are usually small).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { compileRouteHeaderRegex, headerLookupNames, isHeaderRegex } from '../entities/route-headers.js';
import { compileRoutePathRegex, routePathKey } from '../entities/route-paths.js';
import type { Route, Service } from '../entities/types.js';

export interface RouteRequest {
  method: string;
  /** Host header value as received (may include :port), or undefined */
  host: string | undefined;
  /** path without query, not decoded */
  path: string;
  headers: IncomingHttpHeaders;
  /**
   * every value of a repeated header apart (node's IncomingMessage): `headers` joins most repeats with
   * ", " and keeps only the first of some (User-Agent), while Kong tests each value; read only when a
   * joined value did not match
   */
  distinct?: { readonly headersDistinct: NodeJS.Dict<string[]> };
  /** the proxy listener's port (for `hosts` entries with `:port` when the Host header has no port) */
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

export interface Candidate {
  rank: number;
  /** Kong's priority key (priorityKey): ranks candidates of different compiled routers (router/layered.ts) */
  key: readonly (number | string)[];
  route: Route;
  service: Service | null;
  prefix: string | null;
  regex: RegExp | null;
  methods: ReadonlySet<string> | null;
  headers: readonly HeaderMatcher[] | null;
  /** the port of the route's `hosts` entry this candidate stands for (`api.test:8443`): Kong's `net.dst.port` must be it (the Host header's port, else the listen port) */
  port: number | null;
}

/** One route header: the request header names it reads ({@link headerLookupNames}), the lower-cased values that match and its `~*` regexes. */
export interface HeaderMatcher {
  name: string;
  /** looked up when the request has no header `name` (`x-under` for `x_under`), or null */
  alt: string | null;
  values: ReadonlySet<string>;
  /** compiled once here ({@link compileRouteHeaderRegex}), tested against the lower-cased value; null when there are none */
  regexes: readonly RegExp[] | null;
}

class TrieNode {
  children = new Map<number, TrieNode>();
  cands: Candidate[] = [];
}

class Bucket {
  readonly trie = new TrieNode();
  readonly regexes: Candidate[] = [];
  readonly pathless: Candidate[] = [];

  add(c: Candidate): void {
    if (c.regex) this.regexes.push(c);
    else if (c.prefix === null) this.pathless.push(c);
    else {
      let node = this.trie;
      for (let i = 0; i < c.prefix.length; i++) {
        const ch = c.prefix.charCodeAt(i);
        let next = node.children.get(ch);
        if (!next) node.children.set(ch, (next = new TrieNode()));
        node = next;
      }
      node.cands.push(c);
    }
  }

  finish(): void {
    const byRank = (a: Candidate, b: Candidate) => a.rank - b.rank;
    this.regexes.sort(byRank);
    this.pathless.sort(byRank);
    const sortNode = (n: TrieNode): void => {
      n.cands.sort(byRank);
      for (const c of n.children.values()) sortNode(c);
    };
    sortNode(this.trie);
  }
}

const HTTP_PROTOCOLS = new Set(['http', 'https']);

/**
 * Kong's priority (`get_priority` in kong/router/transform.lua, the
 * traditional_compatible flavor) as a key, most significant first; lower
 * sorts first. Kong packs it into 64 bits, higher wins: the number of
 * attribute kinds set (bits 61-63), "hosts set and none has a wildcard"
 * (60), the number of headers (52-59), "the path is a regex" (51),
 * regex_priority of regex paths (19-50), the prefix length (0-18). Equal
 * priorities: Kong's traditional router's category order (hosts, headers,
 * paths, methods, snis), a hosts entry with a port first, then the older
 * route (`created_at`), then the id; Kong's ATC router goes by route id there.
 */
const nonEmpty = (a: readonly unknown[] | null | undefined): boolean => a !== null && a !== undefined && a.length > 0;

function priorityKey(r: Route, path: string | null, portFirst: 0 | 1): (number | string)[] {
  const kinds =
    [r.methods, r.hosts, r.paths, r.snis, r.sources, r.destinations].filter((x) => x !== null && x !== undefined && x.length > 0).length +
    (r.headers && Object.keys(r.headers).length > 0 ? 1 : 0);
  // PLAIN_HOST_ONLY_BIT: only a route that has hosts, all without '*'
  const plainHostsOnly = r.hosts !== null && r.hosts.length > 0 && !r.hosts.some((h) => h.includes('*'));
  const headerCount = r.headers ? Math.min(Object.keys(r.headers).length, 255) : 0;
  const isRegex = path !== null && path.startsWith('~');
  return [
    -kinds,
    plainHostsOnly ? 0 : 1,
    -headerCount,
    isRegex ? 0 : 1,
    isRegex ? -r.regex_priority : 0,
    path !== null && !isRegex ? -Math.min(path.length, 0x7ffff) : 0,
    // equal priorities (Kong's ATC router goes by route id there): the categories of Kong's traditional
    // router (hosts 0x40, headers 0x20, paths 0x10, methods 0x08, snis 0x04, higher first), a hosts entry
    // with a port, the older route, the lower id
    -(
      (nonEmpty(r.hosts) ? 0x40 : 0) |
      (headerCount > 0 ? 0x20 : 0) |
      (nonEmpty(r.paths) ? 0x10 : 0) |
      (nonEmpty(r.methods) ? 0x08 : 0) |
      (nonEmpty(r.snis) ? 0x04 : 0)
    ),
    portFirst,
    r.created_at,
    r.id,
  ];
}

export function compare(a: readonly (number | string)[], b: readonly (number | string)[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}

/** A route host entry → [name, port]: the name lower-cased, without one trailing dot (as a request's Host is compared). */
function splitHost(h: string): [string, number | null] {
  const m = /^(.*):(\d+)$/.exec(h);
  const [name, port] = m && !h.endsWith(']') ? [m[1]!, Number(m[2])] : [h, null];
  return [hostKey(name), port];
}

/** Host names compare case-insensitively and ignore one trailing dot (`A.Example.` is `a.example`). */
function hostKey(name: string): string {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  return /[A-Z]/.test(n) ? n.toLowerCase() : n;
}

/** The decimal port of a Host header after its colon, or `otherwise` when it is not one (no allocation). */
function hostPort(h: string, from: number, otherwise: number): number {
  let n = 0;
  if (from >= h.length || h.length - from > 5) return otherwise;
  for (let i = from; i < h.length; i++) {
    const d = h.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return otherwise;
    n = n * 10 + d;
  }
  return n;
}

export function compileRouter(routes: readonly Route[], services: ReadonlyMap<string, Service>): CompiledRouter {
  const entries: { key: (number | string)[]; c: Omit<Candidate, 'rank' | 'key'>; hosts: readonly string[] | null }[] = [];
  for (const r of routes) {
    if (!r.protocols.some((p) => HTTP_PROTOCOLS.has(p))) continue;
    const service = r.service ? (services.get(r.service.id) ?? null) : null;
    if (r.service && (!service || !service.enabled)) continue;
    const methods = r.methods && r.methods.length > 0 ? new Set(r.methods) : null;
    let headers: HeaderMatcher[] | null;
    try {
      headers = r.headers && Object.keys(r.headers).length > 0 ? Object.entries(r.headers).map(([k, v]) => headerMatcher(k, v)) : null;
    } catch {
      continue; // a bad `~*` regex is refused on write; one stored before must not keep the whole router from building
    }
    const hosts = r.hosts && r.hosts.length > 0 ? r.hosts : null;
    const withPort: string[] = [];
    const noPort: string[] = [];
    for (const h of hosts ?? []) (splitHost(h)[1] === null ? noPort : withPort).push(h);
    const paths: (string | null)[] = r.paths && r.paths.length > 0 ? r.paths : [null];
    for (const p of paths) {
      let regex: RegExp | null = null;
      if (p !== null && p.startsWith('~')) {
        try {
          regex = compileRoutePathRegex(p);
        } catch {
          continue; // refused on write; one stored before the rules changed must not keep the whole router from building
        }
      }
      // prefix paths are matched in the form request paths take (normalised and escaped, proxy/uri.ts)
      const prefix = regex || p === null ? null : routePathKey(p);
      const c = { route: r, service, prefix, regex, methods, headers, port: null };
      // equal priority: a hosts entry with a port before one without (Kong's traditional router; its
      // traditional_compatible one gets there by route id in 08-router_spec "[host] matches specific port")
      if (withPort.length > 0) entries.push({ key: priorityKey(r, p, 0), c, hosts: withPort });
      if (hosts === null || noPort.length > 0) entries.push({ key: priorityKey(r, p, 1), c, hosts: hosts && noPort });
    }
  }
  entries.sort((a, b) => compare(a.key, b.key));
  // one per route path (a route whose hosts mix entries with and without ports has two entries per path)
  const paths = new Set(entries.map((e) => e.c));
  const size = paths.size;
  const exact = new Map<string, Bucket>();
  const wildcards: { test: (h: string) => boolean; bucket: Bucket }[] = [];
  const wildcardByPattern = new Map<string, Bucket>();
  const anyHost = new Bucket();
  entries.forEach(({ key, c, hosts }, rank) => {
    const cand: Candidate = { ...c, key, rank };
    if (!hosts) return anyHost.add(cand);
    for (const h of hosts) {
      const [name, port] = splitHost(h);
      // one candidate per host entry: `a.test` and `a.test:123` of one route are both in a.test's bucket, only the second needs port 123
      const hc: Candidate = port === null ? cand : { ...cand, port };
      if (name.includes('*')) {
        let b = wildcardByPattern.get(name);
        if (!b) {
          b = new Bucket();
          wildcardByPattern.set(name, b);
          const suffix = name.slice(1);
          const prefix = name.slice(0, -1);
          wildcards.push({
            test: name.startsWith('*')
              ? (x) => x.endsWith(suffix) && x.length > suffix.length
              : (x) => x.startsWith(prefix) && x.length > prefix.length,
            bucket: b,
          });
        }
        b.add(hc);
      } else {
        let b = exact.get(name);
        if (!b) exact.set(name, (b = new Bucket()));
        b.add(hc);
      }
    }
  });
  for (const b of [anyHost, ...exact.values(), ...wildcardByPattern.values()]) b.finish();
  const perRoute = new Map<string, number>();
  for (const c of paths) perRoute.set(c.route.id, (perRoute.get(c.route.id) ?? 0) + 1);
  return new CompiledRouter(exact, wildcards, anyHost, size, perRoute);
}

/** The best candidate for a request, with the regex match that chose it. */
export interface Found {
  cand: Candidate;
  exec: RegExpExecArray | null;
}

export class CompiledRouter implements Router {
  constructor(
    readonly exact: Map<string, Bucket>,
    readonly wildcards: readonly { test: (h: string) => boolean; bucket: Bucket }[],
    readonly anyHost: Bucket,
    readonly size: number,
    /** route id → how many candidates (paths) it has here */
    readonly perRoute: ReadonlyMap<string, number>,
  ) {}

  match(req: RouteRequest): RouteMatch | null {
    const f = this.find(req, null);
    return f ? toMatch(f) : null;
  }

  /** The last Host header and listen port {@link find} saw, and the host key and port it made of them (one-entry memo). */
  #lastRawHost: string | undefined = undefined;
  #lastListenPort = -1;
  #lastHost = '';
  #lastPort = 0;
  /** The best candidate so far of the {@link find} running (find is synchronous, never re-entered), and its regex match. */
  #best: Candidate | null = null;
  #bestExec: RegExpExecArray | null = null;

  /** The best candidate, ignoring routes in `skip` (replaced or deleted in a newer layer). */
  find(req: RouteRequest, skip: ReadonlySet<string> | null): Found | null {
    // Kong's net.dst.port (kong/router/fields.lua): the Host header's port when it has one, else the listen port
    if (req.host !== this.#lastRawHost || req.port !== this.#lastListenPort) {
      let host = req.host ?? '';
      let port = req.port;
      const colon = host.lastIndexOf(':');
      if (colon > -1 && !host.endsWith(']')) {
        port = hostPort(host, colon + 1, port);
        host = host.slice(0, colon);
      }
      this.#lastHost = hostKey(host);
      this.#lastPort = port;
      this.#lastRawHost = req.host;
      this.#lastListenPort = req.port;
    }
    const host = this.#lastHost;
    const port = this.#lastPort;
    this.#best = null;
    this.#bestExec = null;
    const e = this.exact.get(host);
    if (e) this.#consider(e, req, port, skip);
    for (const w of this.wildcards) if (w.test(host)) this.#consider(w.bucket, req, port, skip);
    this.#consider(this.anyHost, req, port, skip);
    const chosen = this.#best;
    const exec = this.#bestExec;
    this.#best = null;
    this.#bestExec = null;
    return chosen ? { cand: chosen, exec } : null;
  }

  /** Candidates of one bucket that rank before the best so far: prefix (trie walk along the path), regex, then path-less. */
  #consider(b: Bucket, req: RouteRequest, port: number, skip: ReadonlySet<string> | null): void {
    let node: TrieNode | undefined = b.trie;
    const path = req.path;
    for (let i = 0; node; i++) {
      this.#firstFit(node.cands, req, port, skip);
      if (i >= path.length) break;
      node = node.children.get(path.charCodeAt(i));
    }
    for (const c of b.regexes) {
      if (this.#best && c.rank >= this.#best.rank) break;
      if (!this.#fits(c, req, port, skip)) continue;
      const m = c.regex!.exec(path);
      if (m) {
        this.#best = c;
        this.#bestExec = m;
        break;
      }
    }
    this.#firstFit(b.pathless, req, port, skip);
  }

  /** The first of `cands` (in rank order) that fits and ranks before the best so far becomes the best. */
  #firstFit(cands: readonly Candidate[], req: RouteRequest, port: number, skip: ReadonlySet<string> | null): void {
    for (const c of cands) {
      if (this.#best && c.rank >= this.#best.rank) return;
      if (this.#fits(c, req, port, skip)) {
        this.#best = c;
        this.#bestExec = null;
        return;
      }
    }
  }

  #fits(c: Candidate, req: RouteRequest, port: number, skip: ReadonlySet<string> | null): boolean {
    if (skip !== null && skip.has(c.route.id)) return false;
    if (c.methods && !c.methods.has(req.method)) return false;
    if (c.port !== null && c.port !== port) return false;
    if (c.headers) {
      for (const h of c.headers) {
        let v = req.headers[h.name];
        if (v === undefined && h.alt !== null) v = req.headers[h.alt];
        if (v === undefined) return false;
        if (typeof v === 'string' ? !headerValueFits(h, v) : !v.some((x) => headerValueFits(h, x))) {
          // sent more than once? then each value on its own (Kong's any(...)), from node's distinct view
          const all = req.distinct?.headersDistinct[req.headers[h.name] !== undefined ? h.name : h.alt!];
          if (all === undefined || all.length < 2 || !all.some((x) => headerValueFits(h, x))) return false;
        }
      }
    }
    return true;
  }
}

/** A route header's matcher: plain values lower-cased, `~*` values compiled (throws on a bad regex). */
function headerMatcher(routeName: string, routeValues: readonly string[]): HeaderMatcher {
  const [name, alt] = headerLookupNames(routeName);
  const values = new Set<string>();
  const regexes: RegExp[] = [];
  for (const v of routeValues) {
    if (isHeaderRegex(v)) regexes.push(compileRouteHeaderRegex(v));
    else values.add(v.toLowerCase());
  }
  return { name, alt, values, regexes: regexes.length > 0 ? regexes : null };
}

/**
 * Whether one request header value matches a route header: Kong's
 * `lower(value) == lower(route value)`, or `lower(value) ~ <regex>` (a search) for `~*` values.
 */
function headerValueFits(h: HeaderMatcher, value: string): boolean {
  const lower = value.toLowerCase();
  if (h.values.has(lower)) return true;
  if (h.regexes !== null) for (const re of h.regexes) if (re.test(lower)) return true;
  return false;
}

export function toMatch({ cand, exec }: Found): RouteMatch {
  let uriCaptures: Record<string, string> | undefined;
  // as Kong: `uri_captures` only when the regex has groups (kong/router/atc.lua has_capture)
  if (exec && exec.length > 1) {
    uriCaptures = {};
    exec.forEach((v, i) => {
      if (v !== undefined) uriCaptures![String(i)] = v;
    });
    if (exec.groups) for (const [k, v] of Object.entries(exec.groups)) if (v !== undefined) uriCaptures[k] = v;
  }
  return { route: cand.route, service: cand.service, matchedPath: exec ? exec[0] : cand.prefix, uriCaptures };
}
