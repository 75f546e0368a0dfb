/**
 * Gateway settings: one zod schema, filled from flags > env > settings file >
 * defaults, validated once into a frozen object. Every error names the flag,
 * env variable or file key at fault.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { compileTrusted } from './trusted-ips.js';
import { parseDnsServers } from '../dns/resolver.js';
import { GwError } from '../errors.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/** One setting: its flag, env twin, settings-file key and default. */
interface SettingSpec {
  flag: string;
  env: string;
  key: keyof RawSettings;
  def?: string;
  help: string;
}

export interface RawSettings {
  proxyListen?: string;
  adminListen?: string;
  adminToken?: string;
  store?: string;
  dataDir?: string;
  pgUrl?: string;
  nodeId?: string;
  config?: string;
  logLevel?: string;
  kongOnly?: string | boolean;
  workers?: string | number;
  trustedIps?: string | string[];
  statusListen?: string;
  clientBodyBufferSize?: string | number;
  clientBodyTimeout?: string | number;
  clientHeaderTimeout?: string | number;
  maxRequestHeaders?: string | number;
  /** `SERVICE=TOKEN` items (flag repeated, env comma-separated, file list or mapping) */
  registrationTokens?: string | string[] | Record<string, string>;
  auditLog?: string;
  accessLog?: string;
  dnsResolver?: string | string[];
  dnsStaleTtl?: string | number;
  /** namespace names (flag repeated, env comma-separated, file list) */
  cloudmapNamespaces?: string | string[];
  cloudmapEndpoint?: string;
  awsRegion?: string;
  cloudmapInterval?: string | number;
  cloudmapDefaultPort?: string | number;
}

export const SETTINGS: readonly SettingSpec[] = [
  { flag: '--proxy-listen', env: 'GW_PROXY_LISTEN', key: 'proxyListen', def: '0.0.0.0:8000', help: 'HOST:PORT the proxy listens on' },
  {
    flag: '--admin-listen',
    env: 'GW_ADMIN_LISTEN',
    key: 'adminListen',
    def: '127.0.0.1:8001',
    help: 'HOST:PORT of the Admin API; a non-loopback address needs --admin-token',
  },
  {
    flag: '--admin-token',
    env: 'GW_ADMIN_TOKEN',
    key: 'adminToken',
    help: 'token required on every admin request (Authorization: Bearer TOKEN or Kong-Admin-Token: TOKEN)',
  },
  {
    flag: '--store',
    env: 'GW_STORE',
    key: 'store',
    def: 'file',
    help: 'where entities live: file (one node) | memory (tests) | postgres (cluster mode: many nodes on one PostgreSQL, needs --pg-url)',
  },
  { flag: '--data-dir', env: 'GW_DATA_DIR', key: 'dataDir', def: './gw-data', help: 'directory of the file store' },
  {
    flag: '--pg-url',
    env: 'GW_PG_URL',
    key: 'pgUrl',
    help: 'PostgreSQL URL, postgres://USER:PASSWORD@HOST:PORT/DATABASE (required with --store postgres; the password is never logged)',
  },
  {
    flag: '--node-id',
    env: 'GW_NODE_ID',
    key: 'nodeId',
    help: "this node's id in cluster mode (GET /cluster/nodes); default: host name + a short random suffix",
  },
  {
    flag: '--config',
    env: 'GW_CONFIG',
    key: 'config',
    help: 'Kong declarative file (YAML or JSON, _format_version "3.0") loaded at start',
  },
  {
    flag: '--log-level',
    env: 'GW_LOG_LEVEL',
    key: 'logLevel',
    def: 'info',
    help: 'fatal | error | warn | info | debug | trace | silent (pino JSON on stdout)',
  },
  {
    flag: '--kong-only',
    env: 'GW_KONG_ONLY',
    key: 'kongOnly',
    def: 'false',
    help: 'strict Kong mode: refuse gw extension fields (ttl, gw) as unknown fields',
  },
  {
    flag: '--workers',
    env: 'GW_WORKERS',
    key: 'workers',
    def: '1',
    help: 'number of proxy processes (N > 1: a control process plus N proxy processes sharing the listener)',
  },
  {
    flag: '--registration-token',
    env: 'GW_REGISTRATION_TOKENS',
    key: 'registrationTokens',
    def: '',
    help: 'SERVICE=TOKEN, repeatable (env: svc=tok,svc2=tok2): a token that may only register instances of SERVICE (its service, routes, upstreams and their targets); 16+ visible characters',
  },
  {
    flag: '--audit-log',
    env: 'GW_AUDIT_LOG',
    key: 'auditLog',
    def: 'stdout',
    help: 'where the audit log goes (one JSON line per Admin API write): stdout | off | FILE',
  },
  {
    flag: '--access-log',
    env: 'GW_ACCESS_LOG',
    key: 'accessLog',
    def: 'stdout',
    help: 'where the access log goes (one JSON line per proxied request): stdout | off | FILE (appended; with --workers every worker appends its own lines)',
  },
  {
    flag: '--trusted-ips',
    env: 'GW_TRUSTED_IPS',
    key: 'trustedIps',
    def: '',
    help: "comma-separated IPs/CIDRs of load balancers whose X-Forwarded-* headers are trusted (Kong's trusted_ips; none by default)",
  },
  {
    flag: '--status-listen',
    env: 'GW_STATUS_LISTEN',
    key: 'statusListen',
    help: "HOST:PORT serving /status, /status/ready and /metrics without admin rights, and /dashboard read only (Kong's status_listen; off by default)",
  },
  {
    flag: '--client-body-buffer-size',
    env: 'GW_CLIENT_BODY_BUFFER_SIZE',
    key: 'clientBodyBufferSize',
    def: '16k',
    help: "request bodies up to this size (bytes, or with k/m) are read whole before any upstream connection is taken; larger ones stream once this much arrived (nginx's client_body_buffer_size)",
  },
  {
    flag: '--client-body-timeout',
    env: 'GW_CLIENT_BODY_TIMEOUT',
    key: 'clientBodyTimeout',
    def: '60s',
    help: "longest pause between two reads of a request body being buffered (ms, s or m; a bare number is ms), then 408 (Kong's client_body_timeout)",
  },
  {
    flag: '--client-header-timeout',
    env: 'GW_CLIENT_HEADER_TIMEOUT',
    key: 'clientHeaderTimeout',
    def: '60s',
    help: "the request line and headers must arrive within this (ms, s or m; at most 300s), then 408 (nginx's client_header_timeout)",
  },
  {
    flag: '--max-request-headers',
    env: 'GW_MAX_REQUEST_HEADERS',
    key: 'maxRequestHeaders',
    def: '100',
    help: "more request header fields than this are answered 431 (Kong's lua_max_req_headers)",
  },
  {
    flag: '--dns-resolver',
    env: 'GW_DNS_RESOLVER',
    key: 'dnsResolver',
    def: '',
    help: "IP[:PORT] of a DNS server for hostname targets, repeatable (env: comma-separated; Kong's dns_resolver); when given, only these are asked; default: the system's servers (/etc/resolv.conf); /etc/hosts is read first either way",
  },
  {
    flag: '--dns-stale-ttl',
    env: 'GW_DNS_STALE_TTL',
    key: 'dnsStaleTtl',
    def: '3600',
    help: "seconds a hostname target's last good DNS answer is still used past its TTL while it is re-resolved or its server fails (Kong's dns_stale_ttl)",
  },
  {
    flag: '--cloudmap-namespace',
    env: 'GW_CLOUDMAP_NAMESPACES',
    key: 'cloudmapNamespaces',
    def: '',
    help: 'AWS Cloud Map namespace NAME to discover, repeatable (env: comma-separated): service S in namespace N becomes upstream S.N with a target per instance (docs/cloudmap.md); off by default',
  },
  {
    flag: '--aws-region',
    env: 'AWS_REGION',
    key: 'awsRegion',
    help: 'AWS region of the Cloud Map namespaces (credentials: the default chain, e.g. the ECS task role)',
  },
  {
    flag: '--cloudmap-endpoint',
    env: 'GW_CLOUDMAP_ENDPOINT',
    key: 'cloudmapEndpoint',
    help: 'Cloud Map API endpoint URL instead of the regional one (a VPC endpoint, tests)',
  },
  {
    flag: '--cloudmap-interval',
    env: 'GW_CLOUDMAP_INTERVAL',
    key: 'cloudmapInterval',
    def: '5s',
    help: 'how often each Cloud Map service is checked (DiscoverInstancesRevision; DiscoverInstances only when it changed) (ms, s or m; at least 100ms)',
  },
  {
    flag: '--cloudmap-default-port',
    env: 'GW_CLOUDMAP_DEFAULT_PORT',
    key: 'cloudmapDefaultPort',
    help: 'port for Cloud Map instances registered without AWS_INSTANCE_PORT (default: such instances are not routed)',
  },
];

/** `16k`, `1m`, `4096` → bytes. */
const sizeSetting = z
  .string()
  .regex(/^\d+[kKmM]?$/, 'expected bytes, e.g. 16384, 16k or 1m')
  .transform((v) => {
    const unit = v.slice(-1).toLowerCase();
    return parseInt(v, 10) * (unit === 'k' ? 1024 : unit === 'm' ? 1048576 : 1);
  })
  .pipe(
    z
      .number()
      .int()
      .min(0)
      .max(64 * 1048576, 'at most 64m'),
  );

/** `60s`, `500ms`, `1m`, `250` (ms) → milliseconds. */
const durationSetting = z
  .string()
  .regex(/^\d+(ms|s|m)?$/, 'expected a duration, e.g. 60s, 500ms or 1m')
  .transform((v) => parseInt(v, 10) * (v.endsWith('ms') ? 1 : v.endsWith('s') ? 1000 : v.endsWith('m') ? 60_000 : 1))
  .pipe(z.number().int().min(1, 'must be positive').max(3_600_000, 'at most 1 hour'));

/** A host name as a listener can take it (RFC 1123 labels; a trailing dot allowed). */
const HOST_NAME = /^(?=.{1,253}\.?$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * `HOST:PORT` (`[v6]:PORT` for IPv6) → host and port. HOST must be an IP
 * address or a well-formed host name: anything else is refused here, before
 * any resolver is asked. A well-formed name that does not resolve fails when
 * the listener binds (gateway.ts names the setting then).
 */
export function parseListen(value: string, where: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value.trim());
  const host = m?.[1] ?? m?.[2];
  const port = m ? Number(m[3]) : NaN;
  if (!m || host === undefined || !(port >= 0 && port <= 65535)) {
    throw new GwError('GW_ERR_CONFIG_INVALID', [`${where}: '${value}' is not HOST:PORT (e.g. 127.0.0.1:8001 or [::1]:8001)`]);
  }
  if (m[1] !== undefined ? isIP(host) !== 6 : isIP(host) === 0 && !HOST_NAME.test(host)) {
    throw new GwError('GW_ERR_CONFIG_INVALID', [
      `${where}: '${value}' is invalid ('${host}' is not an IP address or host name; e.g. 127.0.0.1:8001, [::1]:8001 or localhost:8001)`,
    ]);
  }
  return { host, port };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^0*:0*:0*:0*:0*:0*:0*:0*1$/.test(host);
  return false;
}

const settingsSchema = z.object({
  proxyListen: z.string(),
  adminListen: z.string(),
  // visible ASCII only: a token with spaces or one short enough to guess is a mistake, refused at start
  adminToken: z
    .string()
    .regex(/^[\x21-\x7e]{16,}$/, 'the admin token must be at least 16 visible characters, without spaces')
    .optional(),
  store: z.enum(['file', 'memory', 'postgres']),
  dataDir: z.string().min(1),
  pgUrl: z
    .string()
    .refine((v) => {
      try {
        return ['postgres:', 'postgresql:'].includes(new URL(v).protocol);
      } catch {
        return false;
      }
    }, 'expected postgres://USER:PASSWORD@HOST:PORT/DATABASE')
    .optional(),
  nodeId: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/, 'letters, digits, . _ : - (at most 100)')
    .optional(),
  config: z.string().optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  kongOnly: z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes'),
  workers: z.string().regex(/^\d+$/, 'expected a whole number').transform(Number).pipe(z.number().int().min(1).max(64)),
  trustedIps: z.string(),
  statusListen: z.string().optional(),
  clientBodyBufferSize: sizeSetting,
  clientBodyTimeout: durationSetting,
  // node's requestTimeout (the whole request, 300 s) must not be shorter
  clientHeaderTimeout: durationSetting.pipe(z.number().max(300_000, 'at most 300s')),
  maxRequestHeaders: z.string().regex(/^\d+$/, 'expected a whole number').transform(Number).pipe(z.number().int().min(1).max(10_000)),
  registrationTokens: z.string(),
  auditLog: z.string().min(1),
  accessLog: z.string().min(1),
  dnsResolver: z.string(),
  dnsStaleTtl: z.string().regex(/^\d+$/, 'expected whole seconds').transform(Number).pipe(z.number().int().min(0).max(31_536_000)),
  cloudmapNamespaces: z.string(),
  cloudmapEndpoint: z
    .string()
    .refine((v) => {
      try {
        return ['http:', 'https:'].includes(new URL(v).protocol);
      } catch {
        return false;
      }
    }, 'expected an http(s) URL, e.g. https://servicediscovery.eu-west-1.amazonaws.com')
    .optional(),
  awsRegion: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'expected an AWS region, e.g. eu-west-1')
    .optional(),
  cloudmapInterval: durationSetting.pipe(z.number().min(100, 'at least 100ms')),
  cloudmapDefaultPort: z
    .string()
    .regex(/^\d+$/, 'expected a port number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(65535))
    .optional(),
});

export interface Settings {
  proxy: ListenAddress;
  admin: ListenAddress;
  adminToken: string | undefined;
  store: 'file' | 'memory' | 'postgres';
  dataDir: string;
  pgUrl: string | undefined;
  nodeId: string | undefined;
  config: string | undefined;
  logLevel: string;
  kongOnly: boolean;
  workers: number;
  /** IPs/CIDRs whose X-Forwarded-* headers are believed */
  trustedIps: string[];
  /** Kong's status_listen: /status, /status/ready and /metrics without admin rights */
  status: ListenAddress | undefined;
  /** what one client may send (docs/proxy.md "Limits") */
  proxyLimits: { bodyBufferSize: number; clientBodyTimeoutMs: number; clientHeaderTimeoutMs: number; maxRequestHeaders: number };
  /** service name → registration token */
  registrationTokens: Readonly<Record<string, string>>;
  /** `stdout`, `off` or a file path */
  auditLog: string;
  /** `stdout`, `off` or a file path */
  accessLog: string;
  /** Kong's dns_resolver: `IP:PORT` servers for hostname targets (undefined: the system's) */
  dnsResolver: string[] | undefined;
  /** Kong's dns_stale_ttl, seconds */
  dnsStaleTtl: number;
  /** Cloud Map discovery (docs/cloudmap.md); undefined when no namespace is given */
  cloudMap: CloudMapSettings | undefined;
  /**
   * Where each value came from, as an error message should name it: the flag,
   * the env variable, `settings file key KEY`, or the flag for a default.
   */
  origins: Readonly<Record<keyof RawSettings, string>>;
}

export interface CloudMapSettings {
  namespaces: string[];
  region: string | undefined;
  endpoint: string | undefined;
  intervalMs: number;
  defaultPort: number | undefined;
}

/** A Cloud Map namespace name as gw can route it: the S.N upstream name must be a host name. */
const NAMESPACE_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** `a.local,b.local` → `['a.local', 'b.local']`; every name must be a DNS name (the upstream S.N is one). */
export function parseNamespaces(list: string, where: string): string[] {
  const out: string[] = [];
  for (const n of list
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '')) {
    if (n.length > 253 || !NAMESPACE_NAME.test(n))
      throw new GwError('GW_ERR_CONFIG_INVALID', [
        `${where}: '${n.slice(0, 80)}' is not a namespace name gw can route (a DNS name, e.g. internal.local)`,
      ]);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

const SERVICE_NAME = /^[A-Za-z0-9._~-]+$/;
/** 16 or more visible ASCII characters, no comma (the env list's separator) */
const TOKEN = /^[\x21-\x2b\x2d-\x7e]{16,}$/;

/**
 * `svc=tok,svc2=tok2` → `{ svc: tok, svc2: tok2 }`. Errors name the item by
 * its service, never the token.
 */
export function parseRegistrationTokens(list: string, where: string): Readonly<Record<string, string>> {
  const out = Object.create(null) as Record<string, string>;
  const seen = new Set<string>();
  for (const item of list
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '')) {
    const eq = item.indexOf('=');
    const service = eq < 0 ? '' : item.slice(0, eq);
    const token = eq < 0 ? '' : item.slice(eq + 1);
    if (!SERVICE_NAME.test(service))
      throw new GwError('GW_ERR_CONFIG_INVALID', [
        `${where}: expected SERVICE=TOKEN items (e.g. users=<token>), got an item ${eq < 0 ? 'without =' : `with service '${service.slice(0, 64)}'`}`,
      ]);
    if (!TOKEN.test(token))
      throw new GwError('GW_ERR_CONFIG_INVALID', [
        `${where}: the token of service '${service}' must be 16 or more visible characters without commas`,
      ]);
    if (service in out) throw new GwError('GW_ERR_CONFIG_INVALID', [`${where}: service '${service}' has two tokens`]);
    if (seen.has(token)) throw new GwError('GW_ERR_CONFIG_INVALID', [`${where}: two services share one token (service '${service}')`]);
    seen.add(token);
    out[service] = token;
  }
  return Object.freeze(out);
}

/**
 * Read a settings file (YAML or JSON) whose keys are the camelCase setting
 * names. Errors name the file as `where` says it was given (`--settings`, or
 * `GW_SETTINGS` when it came from the env).
 */
export function readSettingsFile(path: string, where = '--settings'): RawSettings {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code ? `cannot read it (${code})` : (err as Error).message.split('\n')[0];
    throw new GwError('GW_ERR_CONFIG_INVALID', [`${where} ${path}: ${reason}`]);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new GwError('GW_ERR_CONFIG_INVALID', [`${where} ${path}: expected a mapping of setting names`]);
  }
  const known = new Set(SETTINGS.map((s) => s.key as string));
  for (const k of Object.keys(doc)) {
    if (!known.has(k))
      throw new GwError('GW_ERR_CONFIG_INVALID', [`${where} ${path}: unknown key '${k}' (known: ${[...known].join(', ')})`]);
  }
  return doc as RawSettings;
}

/**
 * A flag or settings-file value as the env-style text the schema parses: a list
 * is comma-joined, a mapping (registrationTokens: { users: TOKEN }) becomes
 * `users=TOKEN` items; absent (undefined or null) stays undefined.
 */
function settingText(v: RawSettings[keyof RawSettings] | null): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.join(',');
  if (typeof v === 'object')
    return Object.entries(v)
      .map(([k, x]) => `${k}=${String(x)}`)
      .join(',');
  return String(v);
}

/**
 * Resolve settings: `flags` (only those given) win over `env`, env over
 * `file`, file over defaults.
 */
export function resolveSettings(flags: RawSettings, env: NodeJS.ProcessEnv, file: RawSettings = {}): Readonly<Settings> {
  const raw: Record<string, string | undefined> = {};
  const origin: Record<string, string> = {};
  for (const s of SETTINGS) {
    const fromFlag = settingText(flags[s.key]);
    const fromEnv = env[s.env];
    const fromFile = settingText(file[s.key]);
    if (fromFlag !== undefined) [raw[s.key], origin[s.key]] = [fromFlag, s.flag];
    else if (fromEnv !== undefined && fromEnv !== '') [raw[s.key], origin[s.key]] = [fromEnv, s.env];
    else if (fromFile !== undefined) [raw[s.key], origin[s.key]] = [fromFile, `settings file key ${s.key}`];
    else [raw[s.key], origin[s.key]] = [s.def, `default of ${s.flag}`];
  }
  const r = settingsSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const key = String(issue.path[0]);
    const shown = key === 'adminToken' ? '(not shown)' : key === 'pgUrl' ? `'${redactUrl(String(raw[key]))}'` : `'${raw[key]}'`; // never echo a secret
    throw new GwError('GW_ERR_CONFIG_INVALID', [`${origin[key] ?? key}: ${shown} is invalid (${issue.message})`]);
  }
  const v = r.data;
  const settings: Settings = {
    proxy: parseListen(v.proxyListen, origin.proxyListen!),
    admin: parseListen(v.adminListen, origin.adminListen!),
    adminToken: v.adminToken,
    store: v.store,
    dataDir: v.dataDir,
    pgUrl: v.pgUrl,
    nodeId: v.nodeId,
    config: v.config,
    logLevel: v.logLevel,
    kongOnly: v.kongOnly,
    workers: v.workers,
    trustedIps: v.trustedIps
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== ''),
    status: v.statusListen === undefined ? undefined : parseListen(v.statusListen, origin.statusListen!),
    proxyLimits: {
      bodyBufferSize: v.clientBodyBufferSize,
      clientBodyTimeoutMs: v.clientBodyTimeout,
      clientHeaderTimeoutMs: v.clientHeaderTimeout,
      maxRequestHeaders: v.maxRequestHeaders,
    },
    registrationTokens: parseRegistrationTokens(v.registrationTokens, origin.registrationTokens!),
    auditLog: v.auditLog,
    accessLog: v.accessLog,
    dnsResolver: undefined,
    dnsStaleTtl: v.dnsStaleTtl,
    cloudMap: undefined,
    origins: Object.freeze(
      Object.fromEntries(SETTINGS.map((s) => [s.key, origin[s.key]!.startsWith('default of ') ? s.flag : origin[s.key]!])) as Record<
        keyof RawSettings,
        string
      >,
    ),
  };
  const namespaces = parseNamespaces(v.cloudmapNamespaces, origin.cloudmapNamespaces!);
  if (namespaces.length > 0) {
    if (v.awsRegion === undefined)
      throw new GwError('GW_ERR_CONFIG_INVALID', [
        `${origin.cloudmapNamespaces}: Cloud Map discovery needs a region (--aws-region or AWS_REGION)`,
      ]);
    settings.cloudMap = {
      namespaces,
      region: v.awsRegion,
      endpoint: v.cloudmapEndpoint,
      intervalMs: v.cloudmapInterval,
      defaultPort: v.cloudmapDefaultPort,
    };
  }
  try {
    const servers = parseDnsServers(v.dnsResolver, origin.dnsResolver!);
    settings.dnsResolver = servers.length > 0 ? servers : undefined;
  } catch (err) {
    throw new GwError('GW_ERR_CONFIG_INVALID', [(err as Error).message]);
  }
  if (settings.adminToken !== undefined && Object.values(settings.registrationTokens).includes(settings.adminToken)) {
    throw new GwError('GW_ERR_CONFIG_INVALID', [`${origin.registrationTokens}: a registration token may not equal the admin token`]);
  }
  compileTrusted(settings.trustedIps, origin.trustedIps);
  if (settings.store === 'postgres' && !settings.pgUrl) {
    throw new GwError('GW_ERR_CONFIG_INVALID', [`${settings.origins.store}: 'postgres' needs --pg-url (GW_PG_URL)`]);
  }
  if (!settings.adminToken && !isLoopback(settings.admin.host)) {
    throw new GwError('GW_ERR_CONFIG_ADMIN_UNPROTECTED', [`${settings.admin.host}:${settings.admin.port}`]);
  }
  return Object.freeze(settings);
}

/** A URL with its password replaced by `***` (for messages). */
function redactUrl(v: string): string {
  return v.replace(/^([a-z]+:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}
