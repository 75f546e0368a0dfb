import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEALTHCHECK_DEFAULTS, UPSTREAM_GW_DEFAULTS } from '../../../../gateway/src/entities/index.js';
import { bad, NOW, ok, withoutId } from './helpers.js';

const KONG_HEALTHCHECKS = JSON.parse(`{"active":{"type":"http","timeout":1,"concurrency":10,"http_path":"/","https_sni":null,
   "https_verify_certificate":true,"headers":null,
   "healthy":{"interval":0,"http_statuses":[200,302],"successes":0},
   "unhealthy":{"interval":0,"http_statuses":[429,404,500,501,502,503,504,505],
                "tcp_failures":0,"timeouts":0,"http_failures":0}},
 "passive":{"type":"http",
   "healthy":{"http_statuses":[200,201,202,203,204,205,206,207,208,226,300,301,302,303,304,305,306,307,308],"successes":0},
   "unhealthy":{"http_statuses":[429,500,503],"tcp_failures":0,"timeouts":0,"http_failures":0}},
 "threshold":0}`) as unknown;

const KONG_UPSTREAM = {
  created_at: Math.floor(NOW),
  updated_at: Math.floor(NOW),
  name: 'u.test',
  algorithm: 'round-robin',
  hash_on: 'none',
  hash_fallback: 'none',
  hash_on_header: null,
  hash_fallback_header: null,
  hash_on_cookie: null,
  hash_on_cookie_path: '/',
  hash_on_query_arg: null,
  hash_fallback_query_arg: null,
  hash_on_uri_capture: null,
  hash_fallback_uri_capture: null,
  slots: 10000,
  healthchecks: KONG_HEALTHCHECKS,
  host_header: null,
  client_certificate: null,
  use_srv_name: false,
  tags: null,
};

test("HEALTHCHECK_DEFAULTS is exactly Kong's JSON", () => {
  assert.deepEqual(HEALTHCHECK_DEFAULTS, KONG_HEALTHCHECKS);
  assert.ok(Object.isFrozen(HEALTHCHECK_DEFAULTS.active.healthy.http_statuses));
});

test("a minimal upstream in Kong-only mode is exactly Kong's", () => {
  assert.deepEqual(withoutId(ok('upstreams', { name: 'u.test' }, { kongOnly: true })), KONG_UPSTREAM);
});

test('in gw mode an upstream always carries the full gw record', () => {
  const v = ok('upstreams', { name: 'u.test' });
  assert.deepEqual(withoutId(v), { ...KONG_UPSTREAM, gw: { ...UPSTREAM_GW_DEFAULTS } });
  assert.deepEqual(ok('upstreams', { name: 'u', gw: { slow_start: 30 } }).gw, { ...UPSTREAM_GW_DEFAULTS, slow_start: 30 });
  assert.deepEqual(ok('upstreams', { name: 'u', gw: null }).gw, { ...UPSTREAM_GW_DEFAULTS });
});

test('Kong-only mode refuses the gw record', () => {
  assert.deepEqual(bad('upstreams', { name: 'u', gw: {} }, { kongOnly: true }).fields, { gw: 'unknown field' });
});

const invalid: [string, Record<string, unknown>, string, Record<string, unknown>][] = [
  [
    'an IP name',
    { name: '127.0.10.1' },
    "schema violation (name: Invalid name ('127.0.10.1'); no ip addresses allowed)",
    { name: "Invalid name ('127.0.10.1'); no ip addresses allowed" },
  ],
  [
    'a name with a port',
    { name: 'u.test:80' },
    "schema violation (name: Invalid name ('u.test:80'); no port allowed)",
    { name: "Invalid name ('u.test:80'); no port allowed" },
  ],
  [
    'a name that is no hostname',
    { name: 'a b' },
    "schema violation (name: Invalid name ('a b'); must be a valid hostname)",
    { name: "Invalid name ('a b'); must be a valid hostname" },
  ],
  ['no name', {}, 'schema violation (name: required field missing)', { name: 'required field missing' }],
  [
    'too few slots',
    { name: 'u', slots: 9 },
    'schema violation (slots: value should be between 10 and 65536)',
    { slots: 'value should be between 10 and 65536' },
  ],
  [
    'hash on header without a header',
    { name: 'u', hash_on: 'header' },
    "2 schema violations (failed conditional validation given value of field 'hash_on'; hash_on_header: required field missing)",
    { '@entity': ["failed conditional validation given value of field 'hash_on'"], hash_on_header: 'required field missing' },
  ],
  [
    'a fallback when hash_on is cookie',
    { name: 'u', hash_on: 'cookie', hash_on_cookie: 'c', hash_fallback: 'ip' },
    "2 schema violations (failed conditional validation given value of field 'hash_on'; hash_fallback: expected one of: none)",
    { '@entity': ["failed conditional validation given value of field 'hash_on'"], hash_fallback: 'expected one of: none' },
  ],
  [
    'a fallback repeating ip',
    { name: 'u', hash_on: 'ip', hash_fallback: 'ip' },
    "2 schema violations (failed conditional validation given value of field 'hash_on'; hash_fallback: expected one of: none, consumer, header, cookie, path, query_arg, uri_capture)",
    {
      '@entity': ["failed conditional validation given value of field 'hash_on'"],
      hash_fallback: 'expected one of: none, consumer, header, cookie, path, query_arg, uri_capture',
    },
  ],
  [
    'the same header twice',
    { name: 'u', hash_on: 'header', hash_on_header: 'x-a', hash_fallback: 'header', hash_fallback_header: 'x-a' },
    "schema violation (values of these fields must be distinct: 'hash_on_header', 'hash_fallback_header')",
    { '@entity': ["values of these fields must be distinct: 'hash_on_header', 'hash_fallback_header'"] },
  ],
  [
    'the same query arg twice',
    { name: 'u', hash_on: 'query_arg', hash_on_query_arg: 'q', hash_fallback: 'query_arg', hash_fallback_query_arg: 'q' },
    "schema violation (values of these fields must be distinct: 'hash_on_query_arg', 'hash_fallback_query_arg')",
    { '@entity': ["values of these fields must be distinct: 'hash_on_query_arg', 'hash_fallback_query_arg'"] },
  ],
  [
    'an empty query arg',
    { name: 'u', hash_on_query_arg: '' },
    'schema violation (hash_on_query_arg: length must be at least 1)',
    { hash_on_query_arg: 'length must be at least 1' },
  ],
  [
    'an unknown healthcheck field',
    { name: 'u', healthchecks: { active: { foo: 1 } } },
    'schema violation (healthchecks.active.foo: unknown field)',
    { healthchecks: { active: { foo: 'unknown field' } } },
  ],
  [
    'a status out of range',
    { name: 'u', healthchecks: { passive: { unhealthy: { http_statuses: [500, 99] } } } },
    'schema violation (healthchecks.passive.unhealthy.http_statuses.2: value should be between 100 and 999)',
    { healthchecks: { passive: { unhealthy: { http_statuses: [null, 'value should be between 100 and 999'] } } } },
  ],
  [
    'too many successes',
    { name: 'u', healthchecks: { active: { healthy: { successes: 256 } } } },
    'schema violation (healthchecks.active.healthy.successes: value should be between 0 and 255)',
    { healthchecks: { active: { healthy: { successes: 'value should be between 0 and 255' } } } },
  ],
  [
    'a negative interval',
    { name: 'u', healthchecks: { active: { unhealthy: { interval: -1 } } } },
    'schema violation (healthchecks.active.unhealthy.interval: value should be between 0 and 65535)',
    { healthchecks: { active: { unhealthy: { interval: 'value should be between 0 and 65535' } } } },
  ],
  [
    'zero concurrency',
    { name: 'u', healthchecks: { active: { concurrency: 0 } } },
    'schema violation (healthchecks.active.concurrency: value should be between 1 and 2147483648)',
    { healthchecks: { active: { concurrency: 'value should be between 1 and 2147483648' } } },
  ],
  [
    'an unknown check type',
    { name: 'u', healthchecks: { active: { type: 'udp' } } },
    'schema violation (healthchecks.active.type: expected one of: tcp, http, https, grpc, grpcs)',
    { healthchecks: { active: { type: 'expected one of: tcp, http, https, grpc, grpcs' } } },
  ],
  [
    'a threshold above 100',
    { name: 'u', healthchecks: { threshold: 101 } },
    'schema violation (healthchecks.threshold: value should be between 0 and 100)',
    { healthchecks: { threshold: 'value should be between 0 and 100' } },
  ],
  [
    'healthchecks as a string',
    { name: 'u', healthchecks: 'x' },
    'schema violation (healthchecks: expected a record)',
    { healthchecks: 'expected a record' },
  ],
  [
    'a gw breaker cap below its base',
    { name: 'u', gw: { breaker_cooldown: 60, breaker_cooldown_max: 30 } },
    'schema violation (gw.breaker_cooldown_max: must be greater than or equal to breaker_cooldown)',
    { gw: { breaker_cooldown_max: 'must be greater than or equal to breaker_cooldown' } },
  ],
  [
    'a gw error rate above 1',
    { name: 'u', gw: { max_error_rate: 1.5 } },
    'schema violation (gw.max_error_rate: value should be between 0 and 1)',
    { gw: { max_error_rate: 'value should be between 0 and 1' } },
  ],
  [
    'an unknown all-unhealthy policy',
    { name: 'u', gw: { all_unhealthy: 'maybe' } },
    'schema violation (gw.all_unhealthy: expected one of: fail-closed, fail-open)',
    { gw: { all_unhealthy: 'expected one of: fail-closed, fail-open' } },
  ],
];
for (const [name, input, message, fields] of invalid) {
  test(`an upstream with ${name} is refused with Kong's message`, () => {
    const e = bad('upstreams', input);
    assert.equal(e.message, message);
    assert.deepEqual(e.fields, fields);
  });
}

const sideEffects: [string, Record<string, unknown>, [string, string, string]][] = [
  ['least-connections forces hash_on none', { algorithm: 'least-connections', hash_on: 'ip' }, ['least-connections', 'none', 'none']],
  ['latency forces hash_on none', { algorithm: 'latency', hash_on: 'header', hash_on_header: 'x' }, ['latency', 'none', 'none']],
  ['hash_on ip forces consistent-hashing', { hash_on: 'ip' }, ['consistent-hashing', 'ip', 'none']],
  [
    'hash_on over round-robin forces consistent-hashing',
    { algorithm: 'round-robin', hash_on: 'path', hash_fallback: 'ip' },
    ['consistent-hashing', 'path', 'ip'],
  ],
  [
    'hash_on none turns consistent-hashing into round-robin',
    { algorithm: 'consistent-hashing', hash_on: 'none' },
    ['round-robin', 'none', 'none'],
  ],
  ['consistent-hashing without hash_on stays', { algorithm: 'consistent-hashing' }, ['consistent-hashing', 'none', 'none']],
];
for (const [name, input, [algorithm, hashOn, fallback]] of sideEffects) {
  test(`side effect: ${name}`, () => {
    const v = ok('upstreams', { name: 'u', ...input });
    assert.deepEqual([v.algorithm, v.hash_on, v.hash_fallback], [algorithm, hashOn, fallback]);
  });
}

test('PATCH merges healthchecks deeply and replaces arrays', () => {
  const first = ok('upstreams', { name: 'u', healthchecks: { active: { http_path: '/health', healthy: { successes: 2 } } } });
  const v = ok(
    'upstreams',
    {
      healthchecks: { active: { healthy: { interval: 5, http_statuses: [204] } }, passive: { unhealthy: { tcp_failures: 3 } } },
    },
    { mode: 'update', existing: first as never },
  );
  const hc = v.healthchecks as typeof HEALTHCHECK_DEFAULTS;
  assert.equal(hc.active.http_path, '/health');
  assert.deepEqual(hc.active.healthy, { interval: 5, http_statuses: [204], successes: 2 });
  assert.deepEqual(hc.passive.unhealthy, { ...HEALTHCHECK_DEFAULTS.passive.unhealthy, tcp_failures: 3 });
  assert.deepEqual(hc.active.unhealthy, HEALTHCHECK_DEFAULTS.active.unhealthy);
});

test('PUT reverts healthchecks and gw to defaults', () => {
  const first = ok('upstreams', { name: 'u', slots: 100, gw: { slow_start: 10 }, healthchecks: { threshold: 50 } }, { now: 10 });
  const v = ok('upstreams', { name: 'u' }, { mode: 'upsert', existing: first as never, now: 20 });
  assert.deepEqual([v.id, v.created_at, v.updated_at, v.slots], [first.id, 10, 20, 10000]);
  assert.deepEqual(v.healthchecks, KONG_HEALTHCHECKS);
  assert.deepEqual(v.gw, { ...UPSTREAM_GW_DEFAULTS });
});

test('PATCH with healthchecks null resets them to the defaults', () => {
  const first = ok('upstreams', { name: 'u', healthchecks: { threshold: 50 } });
  assert.deepEqual(ok('upstreams', { healthchecks: null }, { mode: 'update', existing: first as never }).healthchecks, KONG_HEALTHCHECKS);
});

test('a gw-mode upstream patched in Kong-only mode loses its gw record', () => {
  const first = ok('upstreams', { name: 'u', gw: { slow_start: 10 } });
  assert.equal('gw' in ok('upstreams', { slots: 20 }, { mode: 'update', existing: first as never, kongOnly: true }), false);
});

test('host_header accepts a port and refuses garbage', () => {
  assert.equal(ok('upstreams', { name: 'u', host_header: 'a.test:8080' }).host_header, 'a.test:8080');
  assert.deepEqual(bad('upstreams', { name: 'u', host_header: 'a b' }).fields, { host_header: 'invalid hostname: a b' });
});
