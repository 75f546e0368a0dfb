/** Route schema and rules (Kong `routes.lua`, `routes_subschemas.lua`, `typedefs.lua`). */
import { z } from 'zod';
import {
  array,
  bool,
  foreignRef,
  headersMap,
  int,
  MAX_TEXT,
  nonEmptyStr,
  nullable,
  oneOf,
  record,
  set,
  str,
  tags,
  timestamp,
  utf8Name,
  uuid,
  withDefault,
} from './fields.js';
import { normalizeIp, parseHostPort } from './hosts.js';
import type { ErrorBag } from './kong-errors.js';
import { routeHeaderRegexError } from './route-headers.js';
import { routePathError } from './route-paths.js';
import { PROTOCOLS, serviceSchema } from './services.js';
import type { EntitySpec, Obj } from './spec.js';

const routeHost = () =>
  nonEmptyStr().superRefine((h, ctx) => {
    const stars = h.split('*').length - 1;
    let plain = h;
    if (stars > 1) {
      ctx.addIssue({ code: 'custom', message: 'invalid wildcard: must have at most one wildcard' });
      return;
    }
    if (stars === 1) {
      if (!h.startsWith('*.') && !/\.\*(:\d+)?$/.test(h)) {
        ctx.addIssue({ code: 'custom', message: 'invalid wildcard: must be placed at leftmost or rightmost label' });
        return;
      }
      // Kong's validate_host_with_wildcards: the wildcard stands for "abc", then host_with_optional_port
      plain = h.replace('*', 'abc');
    }
    const r = normalizeIp(plain);
    if ('error' in r) ctx.addIssue({ code: 'custom', message: r.error });
  });

const routePath = () =>
  str(MAX_TEXT).superRefine((p, ctx) => {
    const err = routePathError(p);
    if (err !== null) ctx.addIssue({ code: 'custom', message: err });
  });

const routeSni = () =>
  nonEmptyStr().superRefine((s, ctx) => {
    const p = parseHostPort(s.startsWith('*.') ? `x${s.slice(1)}` : s.endsWith('.*') ? `${s.slice(0, -1)}x` : s);
    if (p === null || p === 'bad-port') ctx.addIssue({ code: 'custom', message: `invalid value: ${s}` });
    else if (p.type !== 'name') ctx.addIssue({ code: 'custom', message: 'must not be an IP' });
    else if (p.port !== undefined) ctx.addIssue({ code: 'custom', message: 'must not have a port' });
  });

const endpoint = () => record({ ip: nullable(str()), port: nullable(int(0, 65535)) });

export const routeSchema = z
  .object(
    {
      id: uuid().optional(),
      created_at: timestamp(),
      updated_at: timestamp(),
      name: nullable(utf8Name()),
      protocols: withDefault(set(oneOf([...PROTOCOLS]), { min: 1 }), ['http', 'https']),
      methods: nullable(
        set(
          str().refine(
            (m) => /^[A-Z]+$/.test(m),
            (m) => ({ message: `invalid value: ${m}` }),
          ),
        ),
      ),
      hosts: nullable(array(routeHost())),
      paths: nullable(array(routePath())),
      headers: nullable(headersMap()),
      https_redirect_status_code: withDefault(
        z.union([z.literal(426), z.literal(301), z.literal(302), z.literal(307), z.literal(308)], {
          errorMap: () => ({ message: 'expected one of: 426, 301, 302, 307, 308' }),
        }),
        426,
      ),
      // any integer, as Kong (its PostgreSQL column is a bigint; 25-max_safe_integer_spec stores 2^53): bounded where JSON stays exact
      regex_priority: withDefault(int(-(2 ** 53), 2 ** 53), 0),
      strip_path: bool().nullable().optional(),
      path_handling: withDefault(oneOf(['v0', 'v1']), 'v0'),
      preserve_host: withDefault(bool(), false),
      request_buffering: withDefault(bool(), true),
      response_buffering: withDefault(bool(), true),
      snis: nullable(set(routeSni())),
      sources: nullable(array(endpoint())),
      destinations: nullable(array(endpoint())),
      tags: tags(),
      service: nullable(foreignRef(serviceSchema.partial())),
    },
    { invalid_type_error: 'expected a record' },
  )
  .strict();

const SUBSETS: readonly (readonly string[])[] = [['http', 'https'], ['tcp', 'tls', 'udp'], ['tls_passthrough'], ['grpc', 'grpcs']];
const HTTP = SUBSETS[0];
const GRPC = SUBSETS[3];

/** Kong's quoted_list: `('http', 'https'), ('tcp', 'tls', 'udp')`. */
function quotedSets(sets: readonly (readonly string[])[]): string {
  return sets.map((s) => `(${quoteList(s)})`).join(', ');
}

const isSet = (v: unknown): boolean =>
  v !== null &&
  v !== undefined &&
  !(Array.isArray(v) && v.length === 0) &&
  !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);

function quoteList(fields: readonly string[]): string {
  return fields.map((f) => `'${f}'`).join(', ');
}

function check(v: Obj, _input: Obj, bag: ErrorBag): void {
  const protocols = v.protocols as string[];
  // Kong lists the subsets in the order the protocols use them
  const used: (readonly string[])[] = [];
  for (const p of protocols) {
    const subset = SUBSETS.find((s) => s.includes(p));
    if (subset !== undefined && !used.includes(subset)) used.push(subset);
  }
  if (used.length > 1) {
    bag.add(['protocols'], `these sets are mutually exclusive: ${quotedSets(used)}`);
    return;
  }
  const family = used[0] ?? HTTP;
  if (v.strip_path === undefined || v.strip_path === null) v.strip_path = family !== GRPC;

  const headers = v.headers as Record<string, string[]> | null;
  if (headers !== null && Object.keys(headers).some((k) => k.toLowerCase() === 'host')) {
    bag.add(['headers'], "cannot contain 'host' header, which must be specified in the 'hosts' attribute");
  }
  // routes.lua validate_route: the route's router expression must parse, so each `~*` header value must
  // compile; like the one parse error Kong reports, only the first bad one is named
  const badRegex = Object.entries(headers ?? {})
    .flatMap(([name, values]) => values.map((value) => routeHeaderRegexError(name, value)))
    .find((e): e is string => e !== null);
  if (badRegex !== undefined) bag.entity(badRegex);
  const snisAllowed = protocols.some((p) => ['grpcs', 'https', 'tls', 'tls_passthrough'].includes(p));
  if (!snisAllowed && isSet(v.snis)) {
    bag.entity("failed conditional validation given value of field 'protocols'");
    bag.add(['snis'], "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'");
  }
  const refuse = (fields: readonly string[], when: string): void => {
    for (const f of fields) if (v[f] !== null) bag.add([f], `cannot set '${f}' when 'protocols' is ${when}`);
  };
  const atLeastOne = (fields: readonly string[], message: string): void => {
    if (!fields.some((f) => isSet(v[f]))) bag.entity(message.replace('%s', quoteList(fields)));
  };

  if (family === HTTP) {
    refuse(['sources', 'destinations'], "'http' or 'https'");
    if (protocols.includes('https'))
      atLeastOne(['methods', 'hosts', 'headers', 'paths', 'snis'], "must set one of %s when 'protocols' is 'https'");
    else atLeastOne(['methods', 'hosts', 'headers', 'paths'], "must set one of %s when 'protocols' is 'http'");
  } else if (family === GRPC) {
    if (v.strip_path === true) bag.add(['strip_path'], "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'");
    refuse(['methods', 'sources', 'destinations'], "'grpc' or 'grpcs'");
    if (protocols.includes('grpcs')) atLeastOne(['hosts', 'headers', 'paths', 'snis'], "must set one of %s when 'protocols' is 'grpcs'");
    else atLeastOne(['hosts', 'headers', 'paths'], "must set one of %s when 'protocols' is 'grpc'");
  } else {
    refuse(['methods', 'hosts', 'paths', 'headers'], "'tcp', 'tls', 'tls_passthrough' or 'udp'");
    if (family === SUBSETS[2]) atLeastOne(['snis'], "must set snis when 'protocols' is 'tls_passthrough'");
    else atLeastOne(['sources', 'destinations', 'snis'], "must set one of %s when 'protocols' is 'tcp', 'tls' or 'udp'");
  }
}

export const routeSpec: EntitySpec = {
  schema: () => routeSchema,
  gwFields: [],
  floatTimestamps: false,
  check,
};
