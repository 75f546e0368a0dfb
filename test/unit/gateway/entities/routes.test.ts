import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bad, NOW, ok, UUID, withoutId } from './helpers.js';

test('a minimal route gets every Kong default', () => {
  assert.deepEqual(withoutId(ok('routes', { paths: ['/a'] })), {
    created_at: Math.floor(NOW),
    updated_at: Math.floor(NOW),
    name: null,
    protocols: ['http', 'https'],
    methods: null,
    hosts: null,
    paths: ['/a'],
    headers: null,
    https_redirect_status_code: 426,
    regex_priority: 0,
    strip_path: true,
    path_handling: 'v0',
    preserve_host: false,
    request_buffering: true,
    response_buffering: true,
    snis: null,
    sources: null,
    destinations: null,
    tags: null,
    service: null,
  });
});

test('the service reference is returned unresolved as given', () => {
  assert.deepEqual(ok('routes', { paths: ['/'], service: { name: 'users' } }).service, { name: 'users' });
  assert.deepEqual(ok('routes', { paths: ['/'], service: { id: UUID } }).service, { id: UUID });
});

const invalid: [string, Record<string, unknown>, string, Record<string, unknown>][] = [
  [
    'no matcher with https',
    { protocols: ['http', 'https'] },
    "schema violation (must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https')",
    { '@entity': ["must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'"] },
  ],
  [
    'no matcher with http',
    { protocols: ['http'], paths: [] },
    "schema violation (must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http')",
    { '@entity': ["must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'"] },
  ],
  [
    'mixed protocol families',
    { protocols: ['http', 'tcp'], paths: ['/'] },
    "schema violation (protocols: these sets are mutually exclusive: ('http', 'https'), ('tcp', 'tls', 'udp'))",
    { protocols: "these sets are mutually exclusive: ('http', 'https'), ('tcp', 'tls', 'udp')" },
  ],
  [
    'protocol families in a different order',
    { protocols: ['grpc', 'tls_passthrough', 'https'], paths: ['/'] },
    "schema violation (protocols: these sets are mutually exclusive: ('grpc', 'grpcs'), ('tls_passthrough'), ('http', 'https'))",
    { protocols: "these sets are mutually exclusive: ('grpc', 'grpcs'), ('tls_passthrough'), ('http', 'https')" },
  ],
  [
    'snis on a plain http route',
    { protocols: ['http'], paths: ['/'], snis: ['a.test'] },
    "2 schema violations (failed conditional validation given value of field 'protocols'; snis: 'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough')",
    {
      '@entity': ["failed conditional validation given value of field 'protocols'"],
      snis: "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'",
    },
  ],
  [
    'paths on a tcp route',
    { protocols: ['tcp'], paths: ['/'], sources: [{ ip: '127.0.10.1' }] },
    "schema violation (paths: cannot set 'paths' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp')",
    { paths: "cannot set 'paths' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'" },
  ],
  [
    'tls_passthrough without snis',
    { protocols: ['tls_passthrough'] },
    "schema violation (must set snis when 'protocols' is 'tls_passthrough')",
    { '@entity': ["must set snis when 'protocols' is 'tls_passthrough'"] },
  ],
  [
    'methods on a grpc route',
    { protocols: ['grpcs'], paths: ['/'], methods: ['GET'] },
    "schema violation (methods: cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs')",
    { methods: "cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'" },
  ],
  [
    'sources on an http route',
    { paths: ['/'], sources: [{ ip: '127.0.10.1' }] },
    "schema violation (sources: cannot set 'sources' when 'protocols' is 'http' or 'https')",
    { sources: "cannot set 'sources' when 'protocols' is 'http' or 'https'" },
  ],
  [
    'an empty protocols set',
    { protocols: [], paths: ['/'] },
    'schema violation (protocols: length must be at least 1)',
    { protocols: 'length must be at least 1' },
  ],
  [
    'an unknown protocol',
    { protocols: ['http', 'ftp'], paths: ['/'] },
    'schema violation (protocols.2: expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp)',
    { protocols: [null, 'expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp'] },
  ],
  [
    'a non-normalized path',
    { paths: ['/a/./b/../c'] },
    "schema violation (paths.1: non-normalized path, consider use '/a/c' instead)",
    { paths: ["non-normalized path, consider use '/a/c' instead"] },
  ],
  [
    'an encoded unreserved character',
    { paths: ['/ok', '/%7euser'] },
    "schema violation (paths.2: non-normalized path, consider use '/~user' instead)",
    { paths: [null, "non-normalized path, consider use '/~user' instead"] },
  ],
  [
    'a path without a slash',
    { paths: ['a'] },
    'schema violation (paths.1: should start with: / (fixed path) or ~/ (regex path))',
    { paths: ['should start with: / (fixed path) or ~/ (regex path)'] },
  ],
  [
    'an empty path segment',
    { paths: ['/a//b'] },
    'schema violation (paths.1: must not have empty segments)',
    { paths: ['must not have empty segments'] },
  ],
  [
    'a host header',
    { paths: ['/'], headers: { Host: ['a'] } },
    "schema violation (headers: cannot contain 'host' header, which must be specified in the 'hosts' attribute)",
    { headers: "cannot contain 'host' header, which must be specified in the 'hosts' attribute" },
  ],
  [
    'a lower-case method',
    { methods: ['GET', 'post'] },
    'schema violation (methods.2: invalid value: post)',
    { methods: [null, 'invalid value: post'] },
  ],
  [
    'a wildcard in the middle',
    { hosts: ['a.*.test'] },
    'schema violation (hosts.1: invalid wildcard: must be placed at leftmost or rightmost label)',
    { hosts: ['invalid wildcard: must be placed at leftmost or rightmost label'] },
  ],
  [
    'two wildcards',
    { hosts: ['*.a.*'] },
    'schema violation (hosts.1: invalid wildcard: must have at most one wildcard)',
    { hosts: ['invalid wildcard: must have at most one wildcard'] },
  ],
  [
    'a bad redirect status',
    { paths: ['/'], https_redirect_status_code: 303 },
    'schema violation (https_redirect_status_code: expected one of: 426, 301, 302, 307, 308)',
    { https_redirect_status_code: 'expected one of: 426, 301, 302, 307, 308' },
  ],
  [
    'strip_path on grpc',
    { protocols: ['grpc'], paths: ['/'], strip_path: true },
    "schema violation (strip_path: cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs')",
    { strip_path: "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'" },
  ],
  [
    'a service id that is not a UUID',
    { paths: ['/'], service: { id: 'x' } },
    'schema violation (service.id: expected a valid UUID)',
    { service: { id: 'expected a valid UUID' } },
  ],
  [
    'an empty service reference',
    { paths: ['/'], service: {} },
    'schema violation (service.id: missing primary key)',
    { service: { id: 'missing primary key' } },
  ],
];
for (const [name, input, message, fields] of invalid) {
  test(`a route with ${name} is refused with Kong's message`, () => {
    const e = bad('routes', input);
    assert.equal(e.message, message);
    assert.deepEqual(e.fields, fields);
  });
}

test('a regex path that JavaScript cannot compile is a clear violation', () => {
  // an atomic group: PCRE has it, JavaScript (and the Rust regex of Kong 3's router) do not
  const e = bad('routes', { paths: ['~/(?>users)'] });
  assert.match(e.message, /^schema violation \(paths\.1: invalid regex: '\/\(\?>users\)' \(PCRE returned: .+\)\)$/);
});

test('valid hosts, wildcards, ports and regex paths are accepted', () => {
  const v = ok('routes', { hosts: ['*.a.test', 'b.*', 'c.test:8080', '127.0.10.1'], paths: ['~/users/(?<id>\\d+)$', '/x/'] });
  assert.deepEqual(v.hosts, ['*.a.test', 'b.*', 'c.test:8080', '127.0.10.1']);
});

test('grpc routes default strip_path to false', () => {
  assert.equal(ok('routes', { protocols: ['grpc'], paths: ['/'] }).strip_path, false);
});

test('empty arrays sent on PATCH stay empty arrays', () => {
  const first = ok('routes', { paths: ['/a'], hosts: ['a.test'] });
  const v = ok('routes', { hosts: [], methods: [] }, { mode: 'update', existing: first as never });
  assert.deepEqual([v.hosts, v.methods, v.paths], [[], [], ['/a']]);
});

test('PATCH replaces arrays rather than merging them', () => {
  const first = ok('routes', { paths: ['/a', '/b'] });
  assert.deepEqual(ok('routes', { paths: ['/c'] }, { mode: 'update', existing: first as never }).paths, ['/c']);
});
