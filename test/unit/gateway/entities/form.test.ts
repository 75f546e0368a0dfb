import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coerceFormInput, formatSchemaViolation, isUuid } from '../../../../gateway/src/entities/index.js';
import { bad, ok } from './helpers.js';

test('form arrays come from a[], a[n], a single key and repeated keys', () => {
  assert.deepEqual(coerceFormInput('routes', { 'hosts[]': 'a.test', 'paths[1]': ['/x', '/y'], methods: 'GET' }), {
    hosts: ['a.test'],
    paths: ['/x', '/y'],
    methods: ['GET'],
  });
});

test('dotted form keys become nested records with numbers, booleans and status arrays', () => {
  const input = coerceFormInput('upstreams', {
    name: 'u',
    slots: '100',
    use_srv_name: 'true',
    'healthchecks.active.healthy.interval': '5',
    'healthchecks.active.healthy.http_statuses[]': ['200', '204'],
    'healthchecks.active.https_verify_certificate': 'false',
    'healthchecks.threshold': '2.5',
    'gw.all_unhealthy': 'fail-open',
  });
  assert.deepEqual(input, {
    name: 'u',
    slots: 100,
    use_srv_name: true,
    healthchecks: { active: { healthy: { interval: 5, http_statuses: [200, 204] }, https_verify_certificate: false }, threshold: 2.5 },
    gw: { all_unhealthy: 'fail-open' },
  });
  const v = ok('upstreams', input);
  assert.equal((v.healthchecks as { active: { healthy: { interval: number } } }).active.healthy.interval, 5);
});

test('form values that do not fit their type stay strings and fail validation', () => {
  const input = coerceFormInput('services', { host: 'a', retries: 'many', enabled: 'yes' });
  assert.deepEqual(input, { host: 'a', retries: 'many', enabled: 'yes' });
  assert.deepEqual(bad('services', input).fields, { enabled: 'expected a boolean', retries: 'expected an integer' });
});

test('form foreign keys, header maps and the url shorthand', () => {
  assert.deepEqual(coerceFormInput('routes', { 'service.name': 's', 'headers.x-env': 'prod', https_redirect_status_code: '301' }), {
    service: { name: 's' },
    headers: { 'x-env': ['prod'] },
    https_redirect_status_code: 301,
  });
  assert.equal(ok('services', coerceFormInput('services', { url: 'https://a.test:8443/p' })).port, 8443);
  assert.deepEqual(coerceFormInput('targets', { target: 'a:1', weight: '0', ttl: '' }), { target: 'a:1', weight: 0, ttl: null });
});

test('a __proto__ form key stays data and is refused by validation', () => {
  const input = coerceFormInput('services', { host: 'a', '__proto__.polluted': 'yes' });
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(bad('services', input).message, 'schema violation (__proto__: unknown field)');
});

test('formatSchemaViolation builds Kong bodies from flat fields', () => {
  assert.deepEqual(formatSchemaViolation({ name: 'required field missing' }), {
    code: 2,
    name: 'schema violation',
    message: 'schema violation (name: required field missing)',
    fields: { name: 'required field missing' },
  });
  assert.deepEqual(formatSchemaViolation({ 'service.id': 'missing primary key', 'protocols.1': 'bad', a: 'x' }, ['entity rule']), {
    code: 2,
    name: 'schema violation',
    message: '4 schema violations (entity rule; a: x; protocols.2: bad; service.id: missing primary key)',
    fields: { '@entity': ['entity rule'], a: 'x', protocols: [null, 'bad'], service: { id: 'missing primary key' } },
  });
});

test('isUuid accepts UUIDs in either case and nothing else', () => {
  assert.equal(isUuid('6F1A2B3C-4D5E-4F60-8A7B-9C0D1E2F3A4B'), true);
  assert.equal(isUuid('6f1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4'), false);
  assert.equal(isUuid(42), false);
});
