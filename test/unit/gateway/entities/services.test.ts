import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bad, NOW, ok, UUID, withoutId } from './helpers.js';

test('a minimal service gets every Kong default', () => {
  assert.deepEqual(withoutId(ok('services', { host: 'example.test' })), {
    created_at: Math.floor(NOW),
    updated_at: Math.floor(NOW),
    name: null,
    retries: 5,
    protocol: 'http',
    host: 'example.test',
    port: 80,
    path: null,
    connect_timeout: 60000,
    write_timeout: 60000,
    read_timeout: 60000,
    tags: null,
    client_certificate: null,
    tls_verify: null,
    tls_verify_depth: null,
    ca_certificates: null,
    enabled: true,
  });
});

test('a given UUID is kept as the id and a bad one is refused', () => {
  assert.equal(ok('services', { id: UUID, host: 'a.test' }).id, UUID);
  assert.deepEqual(bad('services', { id: 'nope', host: 'a.test' }).fields, { id: 'expected a valid UUID' });
});

const urls: [string, Record<string, unknown>][] = [
  ['http://a.test', { protocol: 'http', host: 'a.test', port: 80, path: null }],
  ['http://a.test/', { protocol: 'http', host: 'a.test', port: 80, path: '/' }],
  ['https://a.test/x/y', { protocol: 'https', host: 'a.test', port: 443, path: '/x/y' }],
  ['http://a.test:443', { protocol: 'http', host: 'a.test', port: 443, path: null }],
  ['https://a.test:8443/p', { protocol: 'https', host: 'a.test', port: 8443, path: '/p' }],
  ['grpc://10.0.0.1:50051', { protocol: 'grpc', host: '10.0.0.1', port: 50051, path: null }],
];
for (const [url, want] of urls) {
  test(`url shorthand ${url} expands to protocol, host, port and path`, () => {
    const v = ok('services', { url });
    assert.deepEqual({ protocol: v.protocol, host: v.host, port: v.port, path: v.path }, want);
    assert.equal('url' in v, false);
  });
}

test("an invalid url gives Kong's two violations", () => {
  assert.deepEqual(bad('services', { url: 'invalid url' }), {
    code: 2,
    name: 'schema violation',
    message: '2 schema violations (host: required field missing; path: should start with: /)',
    fields: { host: 'required field missing', path: 'should start with: /' },
  });
});

const invalid: [string, Record<string, unknown>, string, string][] = [
  ['host with a port', { host: 'a.test:80' }, 'host', 'must not have a port'],
  ['missing host', {}, 'host', 'required field missing'],
  ['bad host', { host: 'a b' }, 'host', 'invalid value: a b'],
  ['retries as string', { host: 'a', retries: '3' }, 'retries', 'expected an integer'],
  ['retries too big', { host: 'a', retries: 32768 }, 'retries', 'value should be between 0 and 32767'],
  ['zero timeout', { host: 'a', connect_timeout: 0 }, 'connect_timeout', 'value should be between 1 and 2147483646'],
  ['huge timeout', { host: 'a', read_timeout: 2 ** 31 - 1 }, 'read_timeout', 'value should be between 1 and 2147483646'],
  ['float port', { host: 'a', port: 80.5 }, 'port', 'expected an integer'],
  [
    'unknown protocol',
    { host: 'a', protocol: 'ftp' },
    'protocol',
    'expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp',
  ],
  ['relative path', { host: 'a', path: 'x' }, 'path', 'should start with: /'],
  ['empty path segment', { host: 'a', path: '/a//b' }, 'path', 'must not have empty segments'],
  [
    'name with a space',
    { host: 'a', name: 'a b' },
    'name',
    "invalid value 'a b': the only accepted ascii characters are alphanumerics or ., -, _, and ~",
  ],
  ['enabled as string', { host: 'a', enabled: 'yes' }, 'enabled', 'expected a boolean'],
  ['unknown field', { host: 'a', foo: 1 }, 'foo', 'unknown field'],
  ['tags not an array', { host: 'a', tags: 'x' }, 'tags', 'expected a set'],
];
for (const [name, input, field, message] of invalid) {
  test(`a service with ${name} is refused with "${field}: ${message}"`, () => {
    const e = bad('services', input);
    assert.equal(e.message, `schema violation (${field}: ${message})`);
    assert.deepEqual(e.fields, { [field]: message });
  });
}

test('a path on a tcp service is a conditional violation', () => {
  const e = bad('services', { host: 'a', protocol: 'tcp', path: '/x' });
  assert.equal(e.message, "2 schema violations (failed conditional validation given value of field 'protocol'; path: value must be null)");
  assert.deepEqual(e.fields, { '@entity': ["failed conditional validation given value of field 'protocol'"], path: 'value must be null' });
});

test('several errors are counted and sorted by field name', () => {
  const e = bad('services', { host: 'a:1', retries: -1, foo: true });
  assert.equal(
    e.message,
    '3 schema violations (foo: unknown field; host: must not have a port; retries: value should be between 0 and 32767)',
  );
});

test('upsert reverts omitted fields to defaults and keeps id and created_at', () => {
  const first = ok('services', { host: 'a', retries: 9, name: 's' }, { now: 100 });
  const put = ok('services', { host: 'b' }, { mode: 'upsert', existing: first as never, now: 200 });
  assert.equal(put.id, first.id);
  assert.equal(put.created_at, 100);
  assert.equal(put.updated_at, 200);
  assert.equal(put.retries, 5);
  assert.equal(put.name, null);
});

test('update merges over the existing service and null clears an optional field', () => {
  const first = ok('services', { host: 'a', name: 's', path: '/p' }, { now: 100 });
  const patched = ok('services', { retries: 1, path: null }, { mode: 'update', existing: first as never, now: 150.9 });
  assert.deepEqual([patched.host, patched.name, patched.retries, patched.path, patched.updated_at], ['a', 's', 1, null, 150]);
});

test('update without the existing entity is a clear error, not a crash', () => {
  assert.match(bad('services', { retries: 1 }, { mode: 'update' }).message, /existing/);
});

test('tags are a set of printable strings without comma or slash', () => {
  assert.deepEqual(ok('services', { host: 'a', tags: ['gw', 'gw-instance:abc', 'ünï'] }).tags, ['gw', 'gw-instance:abc', 'ünï']);
  assert.deepEqual(bad('services', { host: 'a', tags: ['ok', 'a,b', 'c/d'] }).fields, {
    tags: [
      null,
      "invalid tag 'a,b': expected printable ascii (except `,` and `/`) or valid utf-8 sequences",
      "invalid tag 'c/d': expected printable ascii (except `,` and `/`) or valid utf-8 sequences",
    ],
  });
});

test('null on a field with a default resets it to the default', () => {
  const first = ok('services', { host: 'a', retries: 1, protocol: 'https' });
  const v = ok('services', { retries: null, protocol: null }, { mode: 'update', existing: first as never });
  assert.deepEqual([v.retries, v.protocol], [5, 'http']);
});

test('created_at and updated_at given as integers are kept', () => {
  const v = ok('services', { host: 'a', created_at: 1000, updated_at: 2000 });
  assert.deepEqual([v.created_at, v.updated_at], [1000, 2000]);
  assert.deepEqual(bad('services', { host: 'a', created_at: 'x' }).fields, { created_at: 'expected an integer' });
});

test('an explicit undefined id still gets a generated UUID', () => {
  const v = ok('services', { host: 'a.test', id: undefined });
  assert.match(String(v.id), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});
