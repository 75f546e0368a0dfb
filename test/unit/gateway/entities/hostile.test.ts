import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEntity } from '../../../../gateway/src/entities/index.js';
import { bad, NOW, UUID } from './helpers.js';

function assertPrototypeClean(): void {
  assert.deepEqual(Object.keys(Object.prototype), []);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
}

const hostile: [string, string, string][] = [
  ['services', '{"host":"a","__proto__":{"polluted":1}}', '__proto__'],
  ['services', '{"host":"a","constructor":{"prototype":{"polluted":1}}}', 'constructor'],
  ['routes', '{"paths":["/"],"headers":{"__proto__":["x"]}}', 'headers.__proto__'],
  ['upstreams', '{"name":"u","healthchecks":{"active":{"__proto__":{"polluted":1}}}}', 'healthchecks.active.__proto__'],
  ['upstreams', '{"name":"u","healthchecks":{"active":{"headers":{"prototype":["x"]}}}}', 'healthchecks.active.headers.prototype'],
  ['targets', '{"target":"a","upstream":{"__proto__":{"id":"x"}}}', 'upstream.__proto__'],
];
for (const [kind, json, field] of hostile) {
  test(`a ${kind} body with a ${field} key is an unknown field and pollutes nothing`, () => {
    const e = bad(kind as 'services', JSON.parse(json));
    assert.equal(e.message, `schema violation (${field}: unknown field)`);
    assertPrototypeClean();
  });
}

const big = Array.from({ length: 1001 }, (_, i) => `/p${i}`);
const huge: [string, Record<string, unknown>, string][] = [
  ['routes', { paths: big }, 'paths'],
  ['routes', { paths: ['/'], hosts: big.map((p) => `h${p.slice(1)}.test`) }, 'hosts'],
  ['routes', { paths: ['/'], methods: big.map(() => 'GET') }, 'methods'],
  ['services', { host: 'a', tags: big.map((p) => p.slice(1)) }, 'tags'],
  [
    'upstreams',
    { name: 'u', healthchecks: { active: { healthy: { http_statuses: big.map(() => 200) } } } },
    'healthchecks.active.healthy.http_statuses',
  ],
];
for (const [kind, input, field] of huge) {
  test(`a ${kind} with more than 1000 ${field} is refused`, () => {
    assert.equal(bad(kind as 'services', input).message, `schema violation (${field}: length must be at most 1000)`);
  });
}

test('an over-long host is refused', () => {
  assert.match(bad('services', { host: `${'a'.repeat(2000)}` }).message, /^schema violation \(host: length must be at most 1024\)$/);
});

const notObjects: unknown[] = [null, undefined, 'x', 42, true, [], [{ host: 'a' }], new Date(0)];
for (const input of notObjects) {
  test(`a ${Array.isArray(input) ? 'array' : typeof input} body (${String(input)}) is an entity-level schema violation`, () => {
    const e = bad('services', input);
    assert.deepEqual(e, {
      code: 2,
      name: 'schema violation',
      message: 'schema violation (expected a record)',
      fields: { '@entity': ['expected a record'] },
    });
  });
}

test('deeply nested input is refused without a stack overflow', () => {
  let deep: Record<string, unknown> = {};
  for (let i = 0; i < 5000; i++) deep = { a: deep };
  const r = parseEntity('upstreams', { name: 'u', healthchecks: deep }, { mode: 'create', now: NOW });
  assert.equal(r.ok, false);
});

test('parseEntity never throws on a getter that throws', () => {
  const input = { host: 'a' };
  Object.defineProperty(input, 'retries', {
    enumerable: true,
    get() {
      throw new Error('boom');
    },
  });
  const r = parseEntity('services', input, { mode: 'create', now: NOW });
  assert.equal(r.ok, false);
});

test('a hostile existing entity cannot smuggle fields into an update', () => {
  const r = parseEntity(
    'targets',
    { weight: 5 },
    {
      mode: 'update',
      now: NOW,
      existing: { id: UUID, upstream: { id: UUID }, target: 'a:1', weight: 1, tags: null, created_at: 1, updated_at: 1 },
    },
  );
  assert.ok(r.ok);
  assert.equal(r.value.weight, 5);
  assertPrototypeClean();
});

test('a body with millions of array elements and fields is refused quickly', () => {
  const big = new Array<string>(2_000_000).fill('/a');
  const manyKeys = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]));
  const started = process.hrtime.bigint();
  const e = bad('routes', { paths: big, foo: big, tags: big, headers: manyKeys });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.equal(
    e.message,
    '4 schema violations (foo: length must be at most 1000; headers: too many fields (at most 1000); ' +
      'paths: length must be at most 1000; tags: length must be at most 1000)',
  );
  assert.ok(ms < 2000, `took ${ms} ms`);
  assert.equal(bad('services', manyKeys).message, 'schema violation (too many fields (at most 1000))');
});

test('a multi-megabyte string is refused before any pattern runs on it', () => {
  const e = bad('routes', { paths: [`~/${'(a+)+'.repeat(1_000_000)}`] });
  assert.equal(e.message, 'schema violation (paths.1: length must be at most 65536)');
});
