// Kong's flattened declarative errors (kong/db/errors.lua flatten_errors), cases from
// spec/01-unit/01-db/01-schema/11-declarative_config/05-error-flattening_spec.lua and the edges gw keeps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flattenErrors } from '../../../../gateway/src/config/flatten-errors.js';

test('"retains errors that it does not understand how to flatten"; "flattened_errors encodes to a JSON array when empty"', () => {
  assert.deepEqual(flattenErrors({}, { foo: [null, 'some error'] }), { fields: { foo: [null, 'some error'] }, flattened: [] });
  assert.equal(JSON.stringify(flattenErrors({}, {}).flattened), '[]');
});

test("Kong's order: sections, entries and an entity's keys taken from the last; nested entities before their parent", () => {
  const doc = {
    services: [
      { name: 'a', routes: [{ name: 'r' }] },
      { name: 'b', host: 1 },
    ],
    routes: [{ name: 'top' }],
  };
  const { flattened } = flattenErrors(doc, {
    routes: [{ paths: 'bad' }],
    services: [
      { routes: [{ '@entity': ['e1', 'e2'] }], port: 'p' },
      { host: 'h', '@entity': ['x'] },
    ],
  });
  assert.deepEqual(
    flattened.map((e) => [e.entity_type, e.entity_name, e.errors.map((x) => ('field' in x ? x.field : x.message))]),
    [
      ['service', 'b', ['host', 'x']],
      ['route', 'r', ['e1', 'e2']],
      ['service', 'a', ['port']],
      ['route', 'top', ['paths']],
    ],
  );
});

test('neither argument is changed; a nested item that is not a record keeps its error on the parent (Kong would fail on it)', () => {
  const doc = { services: [{ id: '0855b320-0dd2-547d-891d-601e9b38647f', name: 's', routes: ['x', { name: 'r' }] }] };
  const fields = { services: [{ routes: ['expected a record', { name: 'n' }] }] };
  const before = JSON.stringify([doc, fields]);
  const { flattened } = flattenErrors(doc, fields);
  assert.equal(JSON.stringify([doc, fields]), before);
  assert.deepEqual(flattened, [
    {
      entity_type: 'route',
      entity_name: 'r',
      entity: { name: 'r', service: { id: '0855b320-0dd2-547d-891d-601e9b38647f' } },
      errors: [{ type: 'field', field: 'name', message: 'n' }],
    },
    {
      entity_type: 'service',
      entity_id: '0855b320-0dd2-547d-891d-601e9b38647f',
      entity_name: 's',
      entity: { id: '0855b320-0dd2-547d-891d-601e9b38647f', name: 's' },
      errors: [{ type: 'field', field: 'routes.1', message: 'expected a record' }],
    },
  ]);
});

test('an entry whose position is not a record in the document, or a key that is no position, stays in fields', () => {
  const { fields, flattened } = flattenErrors(
    { services: ['x', { name: 'ok' }], routes: [{ name: '0' }] },
    { services: ['expected a record'], routes: { '0': ['invalid reference'] }, _format_version: 'bad' },
  );
  assert.deepEqual(fields, { services: ['expected a record'], routes: { '0': ['invalid reference'] }, _format_version: 'bad' });
  assert.deepEqual(flattened, []);
});
