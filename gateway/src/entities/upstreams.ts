/** Upstream schema and rules (Kong `upstreams.lua`), plus the gw extension record. */
import { z } from 'zod';
import type { UpstreamGwExtensions } from './types.js';
import {
  bool,
  foreignId,
  headerName,
  hostWithOptionalPort,
  int,
  nonEmptyStr,
  nullable,
  num,
  oneOf,
  path,
  record,
  str,
  tags,
  timestamp,
  uuid,
  withDefault,
} from './fields.js';
import { healthchecksSchema } from './healthchecks.js';
import { parseHostPort } from './hosts.js';
import type { ErrorBag } from './kong-errors.js';
import type { EntitySpec, Obj } from './spec.js';

/** Defaults of the gw extension record on upstreams (DESIGN §6). */
export const UPSTREAM_GW_DEFAULTS: Readonly<UpstreamGwExtensions> = Object.freeze({
  slow_start: 0,
  max_ejection_percent: 50,
  all_unhealthy: 'fail-closed',
  breaker_cooldown: 10,
  breaker_cooldown_max: 300,
  max_concurrent_requests: 0,
  max_error_rate: 0,
  error_rate_window: 10,
  stall_guard: true,
  hedging: true,
  hedge_min_delay: 100,
});

const G = UPSTREAM_GW_DEFAULTS;
const gwSchema = withDefault(
  record({
    slow_start: withDefault(int(0, 3600), G.slow_start),
    max_ejection_percent: withDefault(int(0, 100), G.max_ejection_percent),
    all_unhealthy: withDefault(oneOf(['fail-closed', 'fail-open']), G.all_unhealthy),
    breaker_cooldown: withDefault(int(1, 3600), G.breaker_cooldown),
    breaker_cooldown_max: withDefault(int(1, 86400), G.breaker_cooldown_max),
    max_concurrent_requests: withDefault(int(0, 1_000_000), G.max_concurrent_requests),
    max_error_rate: withDefault(num(0, 1), G.max_error_rate),
    error_rate_window: withDefault(int(1, 3600), G.error_rate_window),
    stall_guard: withDefault(bool(), G.stall_guard),
    hedging: withDefault(bool(), G.hedging),
    hedge_min_delay: withDefault(int(1, 600_000), G.hedge_min_delay),
  }),
  {},
);

const upstreamName = () =>
  str().superRefine((name, ctx) => {
    // Kong's validate_name (upstreams.lua): not a host, then an IP, then a port
    const p = parseHostPort(name);
    const message =
      p === null || p === 'bad-port'
        ? `Invalid name ('${name}'); must be a valid hostname`
        : p.type !== 'name'
          ? `Invalid name ('${name}'); no ip addresses allowed`
          : p.port !== undefined
            ? `Invalid name ('${name}'); no port allowed`
            : null;
    if (message !== null) ctx.addIssue({ code: 'custom', message });
  });

const HASH_ON = ['none', 'consumer', 'ip', 'header', 'cookie', 'path', 'query_arg', 'uri_capture'] as const;
const ALGORITHMS = ['consistent-hashing', 'least-connections', 'round-robin', 'latency'] as const;
const COOKIE_RE = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

const kongShape = {
  id: uuid().optional(),
  created_at: timestamp(),
  updated_at: timestamp(),
  name: upstreamName(),
  algorithm: withDefault(oneOf([...ALGORITHMS]), 'round-robin'),
  hash_on: withDefault(oneOf([...HASH_ON]), 'none'),
  // its one_of is checked in check(): Kong's conditional message replaces the field's own (07-upstreams_routes_spec)
  hash_fallback: withDefault(
    // the enum first, so /schemas/upstreams shows its one_of
    z
      .union([oneOf([...HASH_ON]), str()], { errorMap: () => ({ message: 'expected a string' }) })
      .transform((s) => s as (typeof HASH_ON)[number]),
    'none',
  ),
  hash_on_header: nullable(headerName()),
  hash_fallback_header: nullable(headerName()),
  hash_on_cookie: nullable(
    nonEmptyStr().refine(
      (c) => COOKIE_RE.test(c),
      // Kong's typedefs.cookie_name text (07-upstreams_routes_spec "Invalid cookie")
      () => ({
        message:
          'contains one or more invalid characters. ASCII control characters (0-31;127), space, tab and the characters ()<>@,;:\\"/?={}[] are not allowed.',
      }),
    ),
  ),
  hash_on_cookie_path: withDefault(path(), '/'),
  hash_on_query_arg: nullable(nonEmptyStr()),
  hash_fallback_query_arg: nullable(nonEmptyStr()),
  hash_on_uri_capture: nullable(nonEmptyStr()),
  hash_fallback_uri_capture: nullable(nonEmptyStr()),
  slots: withDefault(int(10, 65536), 10000),
  healthchecks: healthchecksSchema,
  host_header: nullable(hostWithOptionalPort()),
  client_certificate: nullable(foreignId()),
  use_srv_name: withDefault(bool(), false),
  tags: tags(),
};

export const upstreamKongSchema = z.object(kongShape, { invalid_type_error: 'expected a record' }).strict();
/** gw mode: adds the `gw` extension record, always returned complete. */
export const upstreamSchema = z.object({ ...kongShape, gw: gwSchema }, { invalid_type_error: 'expected a record' }).strict();

/**
 * Shorthand side effects, in Kong's order (upstreams.lua `shorthand_fields`,
 * run on the request's input, so what is stored does not matter): an
 * `algorithm` of least-connections or latency sent forces hash_on (and
 * hash_fallback) to none; otherwise a hash_on sent forces the algorithm:
 * consistent-hashing for any value but none, round-robin for none.
 */
function sideEffects(v: Obj, input: Obj): void {
  if (input.algorithm === 'least-connections' || input.algorithm === 'latency') {
    v.hash_on = 'none';
    v.hash_fallback = 'none';
    return;
  }
  if (input.hash_on !== undefined && input.hash_on !== null) v.algorithm = v.hash_on === 'none' ? 'round-robin' : 'consistent-hashing';
}

const NOT_SAME: Record<string, readonly string[]> = {
  none: ['none'],
  cookie: ['none'],
  consumer: HASH_ON.filter((h) => h !== 'consumer'),
  ip: HASH_ON.filter((h) => h !== 'ip'),
  path: HASH_ON.filter((h) => h !== 'path'),
};

function check(v: Obj, input: Obj, bag: ErrorBag): void {
  sideEffects(v, input);
  const conditional = (ifField: string, ok: boolean, field: string, message: string): void => {
    if (ok) return;
    bag.entity(`failed conditional validation given value of field '${ifField}'`);
    bag.add([field], message);
  };
  const requiredFor = (ifField: 'hash_on' | 'hash_fallback', mode: string, field: string): void => {
    if (v[ifField] === mode) conditional(ifField, v[field] !== null, field, 'required field missing');
  };
  requiredFor('hash_on', 'header', 'hash_on_header');
  requiredFor('hash_fallback', 'header', 'hash_fallback_header');
  requiredFor('hash_on', 'cookie', 'hash_on_cookie');
  requiredFor('hash_fallback', 'cookie', 'hash_on_cookie');
  requiredFor('hash_on', 'query_arg', 'hash_on_query_arg');
  requiredFor('hash_fallback', 'query_arg', 'hash_fallback_query_arg');
  requiredFor('hash_on', 'uri_capture', 'hash_on_uri_capture');
  requiredFor('hash_fallback', 'uri_capture', 'hash_fallback_uri_capture');
  const allowed = NOT_SAME[v.hash_on as string];
  if (allowed !== undefined) {
    conditional('hash_on', allowed.includes(v.hash_fallback as string), 'hash_fallback', `expected one of: ${allowed.join(', ')}`);
  } else if (!(HASH_ON as readonly string[]).includes(v.hash_fallback as string)) {
    bag.add(['hash_fallback'], `expected one of: ${HASH_ON.join(', ')}`);
  }
  for (const [a, b] of [
    ['hash_on_header', 'hash_fallback_header'],
    ['hash_on_query_arg', 'hash_fallback_query_arg'],
    ['hash_on_uri_capture', 'hash_fallback_uri_capture'],
  ] as const) {
    const x = v[a];
    const y = v[b];
    const same = typeof x === 'string' && typeof y === 'string' && (a === 'hash_on_header' ? x.toLowerCase() === y.toLowerCase() : x === y);
    if (same) bag.entity(`values of these fields must be distinct: '${a}', '${b}'`);
  }
  const gw = v.gw as UpstreamGwExtensions | undefined;
  if (gw !== undefined && gw.breaker_cooldown_max < gw.breaker_cooldown) {
    bag.add(['gw', 'breaker_cooldown_max'], 'must be greater than or equal to breaker_cooldown');
  }
}

export const upstreamSpec: EntitySpec = {
  schema: (kongOnly) => (kongOnly ? upstreamKongSchema : upstreamSchema),
  gwFields: ['gw'],
  floatTimestamps: false,
  check,
};

type Assert<T extends true> = T;
// Compile-time check: the gw record's output is the documented extension shape.
export type GwSchemaMatches = Assert<z.output<typeof gwSchema> extends UpstreamGwExtensions ? true : false>;
