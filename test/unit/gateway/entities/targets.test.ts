import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeTarget } from '../../../../gateway/src/entities/index.js';
import { bad, ok, UUID, withoutId } from './helpers.js';

test('a minimal target gets Kong defaults, float timestamps and the gw ttl', () => {
  assert.deepEqual(withoutId(ok('targets', { target: 'a.test', upstream: { id: UUID } })), {
    created_at: 1_700_000_000.123,
    updated_at: 1_700_000_000.123,
    upstream: { id: UUID },
    target: 'a.test:8000',
    weight: 100,
    tags: null,
    ttl: null,
  });
});

test('in Kong-only mode a target has no ttl and refuses one', () => {
  const v = ok('targets', { target: 'a.test', upstream: { name: 'u' } }, { kongOnly: true });
  assert.equal('ttl' in v, false);
  assert.deepEqual(bad('targets', { target: 'a', upstream: { name: 'u' }, ttl: 30 }, { kongOnly: true }).fields, { ttl: 'unknown field' });
});

const normal: [string, string | null][] = [
  ['konghq.test', 'konghq.test:8000'],
  ['KongHQ.Test:80', 'KongHQ.Test:80'],
  ['127.0.0.1', '127.0.0.1:8000'],
  ['010.001.0.1:81', '10.1.0.1:81'],
  ['::1', '[0000:0000:0000:0000:0000:0000:0000:0001]:8000'],
  ['[::1]:9000', '[0000:0000:0000:0000:0000:0000:0000:0001]:9000'],
  ['[FE80::1:2]', '[fe80:0000:0000:0000:0000:0000:0001:0002]:8000'],
  ['2001:db8:0:0:0:0:0:1', '[2001:0db8:0000:0000:0000:0000:0000:0001]:8000'],
  ['a.test:0', null],
  ['127.0.0.1:0', null],
  ['localhost:0', null],
  ['[::1]:0', null],
  ['a.test:65536', null],
  ['a b', null],
  ['256.1.1.1', null],
  ['', null],
  ['[::1', null],
  ['1::2::3', null],
];
for (const [input, want] of normal) {
  test(`target ${JSON.stringify(input)} normalises to ${String(want)}`, () => {
    assert.equal(normalizeTarget(input), want);
  });
}

test("an invalid target gives Kong's message", () => {
  const e = bad('targets', { target: 'not valid', upstream: { id: UUID } });
  assert.deepEqual(e.fields, { target: 'Invalid target; not a valid hostname or ip address' });
  assert.equal(e.message, 'schema violation (target: Invalid target; not a valid hostname or ip address)');
});

const invalid: [string, Record<string, unknown>, Record<string, unknown>][] = [
  ['weight above 65535', { target: 'a', upstream: { id: UUID }, weight: 65536 }, { weight: 'value should be between 0 and 65535' }],
  ['negative weight', { target: 'a', upstream: { id: UUID }, weight: -1 }, { weight: 'value should be between 0 and 65535' }],
  ['ttl zero', { target: 'a', upstream: { id: UUID }, ttl: 0 }, { ttl: 'value should be between 1 and 86400' }],
  ['ttl as float', { target: 'a', upstream: { id: UUID }, ttl: 1.5 }, { ttl: 'expected an integer' }],
  ['no upstream', { target: 'a' }, { upstream: 'required field missing' }],
  ['an upstream id that is not a UUID', { target: 'a', upstream: { id: 'x' } }, { upstream: { id: 'expected a valid UUID' } }],
  ['an empty upstream reference', { target: 'a', upstream: {} }, { upstream: { id: 'missing primary key' } }],
  ['no target', { upstream: { id: UUID } }, { target: 'required field missing' }],
];
for (const [name, input, fields] of invalid) {
  test(`a target with ${name} is refused`, () => {
    assert.deepEqual(bad('targets', input).fields, fields);
  });
}

test('weight 0 and a ttl are accepted', () => {
  const v = ok('targets', { target: '127.0.0.2:3000', upstream: { id: UUID }, weight: 0, ttl: 30 });
  assert.deepEqual([v.weight, v.ttl, v.target], [0, 30, '127.0.0.2:3000']);
});

test('null ttl on update removes the lease', () => {
  const first = ok('targets', { target: 'a', upstream: { id: UUID }, ttl: 30 });
  assert.equal(ok('targets', { ttl: null }, { mode: 'update', existing: first as never }).ttl, null);
});
