/**
 * DNS for hostname targets (Kong's `kong/resty/dns/client.lua` and the
 * re-resolution of `kong/runloop/balancer/targets.lua`): a name is looked
 * up in the hosts file first, then asked as SRV (Kong's default
 * `dns_order` LAST,SRV,A,CNAME: an SRV answer gives each address its port
 * and weight), then A, then AAAA. Answers are cached per name and
 * re-resolved when their TTL runs out (at least 1 s); while re-resolving,
 * and when a re-resolution fails, the last good answer is kept for up to
 * `dns_stale_ttl` seconds past its TTL. A name that never resolved (or whose
 * stale time ran out) has an error and no addresses.
 *
 * The servers asked are `--dns-resolver` when given (the system's are then
 * never asked), else the system's (/etc/resolv.conf, as node's Resolver
 * reads it). Time and timers are injected for tests.
 */
import { Resolver } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

/** One resolved address; SRV answers carry a port and weight. */
export interface DnsAddress {
  readonly ip: string;
  /** SRV port (undefined for A/AAAA, or an SRV port of 0: the target's port is used) */
  readonly port?: number | undefined;
  /** SRV weight (0 is raised to 1, as Kong does) */
  readonly weight?: number | undefined;
}

export interface DnsRecord {
  readonly type: 'A' | 'AAAA' | 'SRV';
  /** sorted (Kong sorts answers so every node builds the same balancer) */
  readonly addresses: readonly DnsAddress[];
  /** seconds */
  readonly ttl: number;
}

/** A failed query, with Kong's wording (`dns server error: 3 name error`). */
export class DnsError extends Error {
  constructor(
    message: string,
    /** the name does not exist or has no address records: retried after dns_not_found_ttl */
    readonly notFound: boolean,
  ) {
    super(message);
  }
}

/** Ask the DNS about one name; rejects with a {@link DnsError}. */
export type DnsQuery = (name: string) => Promise<DnsRecord>;

/** What the cache knows of a name. */
export interface DnsState {
  /** the answer in use (maybe stale), or undefined: no addresses */
  readonly record: DnsRecord | undefined;
  /** the last query's error, while it lasts (with a stale record, the record is still used) */
  readonly error: string | undefined;
}

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const REAL_TIMERS: Timers = {
  set: (fn, ms) => setTimeout(fn, ms).unref(),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface DnsCacheOptions {
  query: DnsQuery;
  /** Kong's dns_stale_ttl, seconds (default 3600) */
  staleTtl?: number;
  /** Kong's dns_not_found_ttl, seconds (default 30) */
  notFoundTtl?: number;
  /** Kong's dns_error_ttl, seconds (default 1) */
  errorTtl?: number;
  /** ms clock (default Date.now) */
  now?: () => number;
  timers?: Timers;
  /** a name's addresses changed (first answer, new answer, answer gone) */
  onChange?: (name: string) => void;
}

interface Entry {
  record: DnsRecord | undefined;
  error: string | undefined;
  /** when the record's TTL runs out (ms) */
  expiresAt: number;
  timer: unknown;
  resolving: boolean;
  forgotten: boolean;
}

/** Smallest TTL honoured, seconds (Kong re-resolves at most once a second too). */
export const MIN_TTL = 1;

export class DnsCache {
  readonly #query: DnsQuery;
  readonly #staleMs: number;
  readonly #notFoundMs: number;
  readonly #errorMs: number;
  readonly #now: () => number;
  readonly #timers: Timers;
  readonly #onChange: (name: string) => void;
  readonly #entries = new Map<string, Entry>();
  /** queries sent (tests, metrics) */
  queries = 0;

  constructor(opts: DnsCacheOptions) {
    this.#query = opts.query;
    this.#staleMs = (opts.staleTtl ?? 3600) * 1000;
    this.#notFoundMs = (opts.notFoundTtl ?? 30) * 1000;
    this.#errorMs = (opts.errorTtl ?? 1) * 1000;
    this.#now = opts.now ?? Date.now;
    this.#timers = opts.timers ?? REAL_TIMERS;
    this.#onChange = opts.onChange ?? (() => {});
  }

  /**
   * The state of `name`, or undefined while its first query runs (started
   * here; {@link DnsCacheOptions.onChange} reports the answer). Names are
   * case-insensitive.
   */
  lookup(name: string): DnsState | undefined {
    const key = name.toLowerCase();
    const e = this.#entries.get(key);
    if (e) return e.record === undefined && e.error === undefined ? undefined : { record: e.record, error: e.error };
    const n: Entry = { record: undefined, error: undefined, expiresAt: 0, timer: undefined, resolving: false, forgotten: false };
    this.#entries.set(key, n);
    this.#resolve(key, n);
    return undefined;
  }

  /** Stop re-resolving `name` (no target uses it any more). */
  forget(name: string): void {
    const key = name.toLowerCase();
    const e = this.#entries.get(key);
    if (!e) return;
    e.forgotten = true;
    if (e.timer !== undefined) this.#timers.clear(e.timer);
    this.#entries.delete(key);
  }

  /** Forget every name. */
  close(): void {
    for (const k of [...this.#entries.keys()]) this.forget(k);
  }

  /** Names cached now. */
  get size(): number {
    return this.#entries.size;
  }

  #resolve(key: string, e: Entry): void {
    if (e.resolving || e.forgotten) return;
    e.resolving = true;
    e.timer = undefined;
    this.queries++;
    let p: Promise<DnsRecord>;
    try {
      p = this.#query(key);
    } catch (err) {
      p = Promise.reject(err as Error);
    }
    p.then(
      (r) => this.#answered(key, e, r),
      (err: unknown) => this.#failed(key, e, err),
    );
  }

  #answered(key: string, e: Entry, r: DnsRecord): void {
    e.resolving = false;
    if (e.forgotten) return;
    const before = addressKey(e.record);
    e.record = r;
    e.error = undefined;
    const ttlMs = Math.max(MIN_TTL, r.ttl) * 1000;
    e.expiresAt = this.#now() + ttlMs;
    this.#later(key, e, ttlMs);
    if (addressKey(r) !== before) this.#onChange(key);
  }

  #failed(key: string, e: Entry, err: unknown): void {
    e.resolving = false;
    if (e.forgotten) return;
    const de = err instanceof DnsError ? err : new DnsError(`dns client error: ${(err as Error)?.message ?? String(err)}`, false);
    const hadError = e.error !== undefined;
    e.error = de.message;
    const now = this.#now();
    if (e.record && now < e.expiresAt + this.#staleMs) {
      // keep serving the stale answer; retry soon, but not past the stale limit
      this.#later(key, e, Math.min(this.#errorMs, Math.max(1, e.expiresAt + this.#staleMs - now)));
      return;
    }
    const had = e.record !== undefined;
    e.record = undefined;
    this.#later(key, e, de.notFound ? this.#notFoundMs : this.#errorMs);
    // the first failure of a pending name is news too (its health shows DNS_ERROR)
    if (had || !hadError) this.#onChange(key);
  }

  #later(key: string, e: Entry, ms: number): void {
    if (e.timer !== undefined) this.#timers.clear(e.timer);
    e.timer = this.#timers.set(() => this.#resolve(key, e), ms);
  }
}

function addressKey(r: DnsRecord | undefined): string {
  if (!r) return '';
  return r.addresses.map((a) => `${a.ip}|${a.port ?? ''}|${a.weight ?? ''}`).join(',');
}

/** `HOST:PORT` items of --dns-resolver as node's Resolver takes them (`[v6]:port`, a bare IP gets port 53). */
export function parseDnsServers(list: string, where: string): string[] {
  const out: string[] = [];
  for (const item of list
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '')) {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+))(?::(\d{1,5}))?$/.exec(item) ?? /^([0-9a-fA-F:]+)$/.exec(item);
    const host = m?.[1] ?? m?.[2];
    const port = m?.[3] === undefined ? 53 : Number(m[3]);
    if (!m || host === undefined || isIP(host) === 0 || port < 1 || port > 65535)
      throw new RangeError(`${where}: '${item}' is not an IP[:PORT] of a DNS server (e.g. 127.0.0.1:53 or [::1]:53)`);
    out.push(isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`);
  }
  return out;
}

/** `name → IPs` of a hosts file (Kong's client reads /etc/hosts first); a missing file is empty. */
export function readHostsFile(path = '/etc/hosts'): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const [ip, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
    if (!ip || isIP(ip) === 0) continue;
    for (const n of names) {
      const k = n.toLowerCase();
      const l = out.get(k) ?? [];
      if (!l.includes(ip)) l.push(ip);
      out.set(k, l);
    }
  }
  return out;
}

/** TTL of a hosts-file answer, seconds (the file is read once; Kong re-reads it at its own interval). */
const HOSTS_TTL = 3600;
/** per query try, ms */
const QUERY_TIMEOUT_MS = 2000;

const byIp = (a: DnsAddress, b: DnsAddress): number => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : (a.port ?? 0) - (b.port ?? 0));

/**
 * The real query: hosts file, then SRV, A, AAAA against `servers` (or the
 * system's when undefined) through node's c-ares Resolver.
 */
export function createDnsQuery(opts: { servers?: readonly string[] | undefined; hosts?: Map<string, string[]> } = {}): DnsQuery {
  const resolver = new Resolver({ timeout: QUERY_TIMEOUT_MS, tries: 2 });
  if (opts.servers && opts.servers.length > 0) resolver.setServers([...opts.servers]);
  const hosts = opts.hosts ?? readHostsFile();
  const addressesOf = async (name: string): Promise<{ type: 'A' | 'AAAA'; list: { address: string; ttl: number }[] }> => {
    let first: unknown;
    try {
      const a = await resolver.resolve4(name, { ttl: true });
      if (a.length > 0) return { type: 'A', list: a };
    } catch (err) {
      first = err;
    }
    try {
      const a6 = await resolver.resolve6(name, { ttl: true });
      if (a6.length > 0) return { type: 'AAAA', list: a6 };
    } catch (err) {
      // NXDOMAIN/SERVFAIL from A is the better message
      throw toDnsError(first ?? err);
    }
    throw toDnsError(first ?? Object.assign(new Error('no data'), { code: 'ENODATA' }));
  };
  return async (name) => {
    const fromHosts = hosts.get(name.toLowerCase());
    if (fromHosts && fromHosts.length > 0) {
      const v4 = fromHosts.filter((ip) => isIP(ip) === 4);
      const list = v4.length > 0 ? v4 : fromHosts;
      return { type: v4.length > 0 ? 'A' : 'AAAA', ttl: HOSTS_TTL, addresses: list.map((ip) => ({ ip })).sort(byIp) };
    }
    let srv: Awaited<ReturnType<Resolver['resolveSrv']>> = [];
    try {
      srv = await resolver.resolveSrv(name);
    } catch {
      // no SRV records (or no such name): A/AAAA below say which
    }
    if (srv.length > 0) {
      // Kong uses the top priority only; SRV weight 0 → 1
      const top = Math.min(...srv.map((s) => s.priority));
      const addresses: DnsAddress[] = [];
      let ttl = Infinity;
      let lastErr: unknown;
      for (const s of srv.filter((x) => x.priority === top)) {
        const weight = s.weight === 0 ? 1 : s.weight;
        const port = s.port === 0 ? undefined : s.port;
        if (isIP(s.name) !== 0) {
          addresses.push({ ip: s.name, port, weight });
          continue;
        }
        try {
          const r = await addressesOf(s.name);
          for (const a of r.list) {
            addresses.push({ ip: a.address, port, weight });
            ttl = Math.min(ttl, a.ttl);
          }
        } catch (err) {
          lastErr = err;
        }
      }
      if (addresses.length === 0) throw toDnsError(lastErr);
      // node's resolveSrv gives no TTL: the SRV answer lives as long as its targets' addresses
      return { type: 'SRV', ttl: Number.isFinite(ttl) ? ttl : 30, addresses: addresses.sort(byIp) };
    }
    const r = await addressesOf(name);
    const ttl = Math.min(...r.list.map((a) => a.ttl));
    return { type: r.type, ttl, addresses: r.list.map((a) => ({ ip: a.address })).sort(byIp) };
  };
}

/** node's error codes → Kong's messages. */
function toDnsError(err: unknown): DnsError {
  if (err instanceof DnsError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOTFOUND':
      return new DnsError('dns server error: 3 name error', true);
    case 'ENODATA':
      return new DnsError('dns client error: 101 empty record received', true);
    case 'ESERVFAIL':
      return new DnsError('dns server error: 2 server failure', false);
    case 'EREFUSED':
      return new DnsError('dns server error: 5 refused', false);
    case 'ETIMEOUT':
      return new DnsError('dns client error: timeout', false);
    default:
      return new DnsError(`dns client error: ${code ?? (err as Error | undefined)?.message ?? 'unknown'}`, false);
  }
}
