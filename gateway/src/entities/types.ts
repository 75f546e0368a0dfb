/**
 * Entity shapes as the Admin API returns them (Kong 3.x field by field).
 *
 * CONTRACT FILE: the zod schemas in this folder are the source of truth for
 * defaults and validation; `type-checks.ts` proves at compile time that each
 * schema's output is assignable to the interface here, so every module can
 * import types from `entities/types.js` only.
 */

export type Protocol = 'grpc' | 'grpcs' | 'http' | 'https' | 'tcp' | 'tls' | 'tls_passthrough' | 'udp';
export type EntityKind = 'services' | 'routes' | 'upstreams' | 'targets';

/** A foreign key as stored and returned: `{ id }`. */
export interface ForeignKey {
  id: string;
}

export interface Service {
  id: string;
  name: string | null;
  retries: number;
  protocol: Protocol;
  host: string;
  port: number;
  path: string | null;
  connect_timeout: number;
  write_timeout: number;
  read_timeout: number;
  tags: string[] | null;
  client_certificate: ForeignKey | null;
  tls_verify: boolean | null;
  tls_verify_depth: number | null;
  ca_certificates: string[] | null;
  enabled: boolean;
  created_at: number;
  updated_at: number;
}

export interface Route {
  id: string;
  name: string | null;
  protocols: Protocol[];
  methods: string[] | null;
  hosts: string[] | null;
  paths: string[] | null;
  headers: Record<string, string[]> | null;
  https_redirect_status_code: 426 | 301 | 302 | 307 | 308;
  regex_priority: number;
  strip_path: boolean;
  path_handling: 'v0' | 'v1';
  preserve_host: boolean;
  request_buffering: boolean;
  response_buffering: boolean;
  snis: string[] | null;
  sources: unknown[] | null;
  destinations: unknown[] | null;
  tags: string[] | null;
  service: ForeignKey | null;
  created_at: number;
  updated_at: number;
}

export interface HealthcheckActive {
  type: 'tcp' | 'http' | 'https' | 'grpc' | 'grpcs';
  timeout: number;
  concurrency: number;
  http_path: string;
  https_sni: string | null;
  https_verify_certificate: boolean;
  headers: Record<string, string[]> | null;
  healthy: { interval: number; http_statuses: number[]; successes: number };
  unhealthy: { interval: number; http_statuses: number[]; tcp_failures: number; timeouts: number; http_failures: number };
}

export interface HealthcheckPassive {
  type: 'tcp' | 'http' | 'https' | 'grpc' | 'grpcs';
  healthy: { http_statuses: number[]; successes: number };
  unhealthy: { http_statuses: number[]; tcp_failures: number; timeouts: number; http_failures: number };
}

export interface Healthchecks {
  active: HealthcheckActive;
  passive: HealthcheckPassive;
  threshold: number;
}

export type HashOn = 'none' | 'consumer' | 'ip' | 'header' | 'cookie' | 'path' | 'query_arg' | 'uri_capture';

/**
 * gw extensions on the upstream (DESIGN §6). Absent from responses in Kong-only mode.
 * All optional with documented defaults; `null`/absent = default.
 */
export interface UpstreamGwExtensions {
  /** seconds over which a recovered target's weight ramps up; 0 = off */
  slow_start: number;
  /** passive ejection never removes more than this % of targets */
  max_ejection_percent: number;
  all_unhealthy: 'fail-closed' | 'fail-open';
  /** circuit breaker cool-down base and cap, seconds */
  breaker_cooldown: number;
  breaker_cooldown_max: number;
  /** upstream limits: 0 = off */
  max_concurrent_requests: number;
  max_error_rate: number;
  error_rate_window: number;
  /** stall guard: a target whose oldest in-flight request waits far longer than the upstream's recent latency gets no new requests */
  stall_guard: boolean;
  /** hedging: an idempotent request still waiting after an adaptive deadline is also sent to another target */
  hedging: boolean;
  /** lower bound of the adaptive hedging deadline, ms */
  hedge_min_delay: number;
}

export interface Upstream {
  id: string;
  name: string;
  algorithm: 'round-robin' | 'consistent-hashing' | 'least-connections' | 'latency';
  hash_on: HashOn;
  hash_fallback: HashOn;
  hash_on_header: string | null;
  hash_fallback_header: string | null;
  hash_on_cookie: string | null;
  hash_on_cookie_path: string;
  hash_on_query_arg: string | null;
  hash_fallback_query_arg: string | null;
  hash_on_uri_capture: string | null;
  hash_fallback_uri_capture: string | null;
  slots: number;
  healthchecks: Healthchecks;
  host_header: string | null;
  client_certificate: ForeignKey | null;
  use_srv_name: boolean;
  tags: string[] | null;
  /** gw extensions, see {@link UpstreamGwExtensions}; null = all defaults */
  gw?: Partial<UpstreamGwExtensions> | null;
  created_at: number;
  updated_at: number;
}

export interface Target {
  id: string;
  upstream: ForeignKey;
  /** normalised `host:port` */
  target: string;
  weight: number;
  tags: string[] | null;
  /** gw lease in seconds; null = never expires (gw extension) */
  ttl?: number | null;
  /** float seconds, like Kong */
  created_at: number;
  updated_at: number;
}

export interface EntityByKind {
  services: Service;
  routes: Route;
  upstreams: Upstream;
  targets: Target;
}
export type AnyEntity = Service | Route | Upstream | Target;
