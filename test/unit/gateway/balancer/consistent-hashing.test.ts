import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Balancer, PickContext } from '../../../../gateway/src/balancer/balancer.js';
import { normalizePath, readCookie, readQueryArg } from '../../../../gateway/src/balancer/hash-input.js';
import { createBalancer } from '../../../../gateway/src/balancer/registry.js';
import { ctx, equal, targets, upstream, status } from './fixtures.js';

// set after parsing: Kong's upstream schema turns `hash_on: none` into round-robin
const ch = (fields: Record<string, unknown>, ts = equal(8)): Balancer =>
  createBalancer({ ...upstream(fields), algorithm: 'consistent-hashing' }, ts);
/** the address a request lands on (comparable across balancers built from different target entities) */
const at = (b: Balancer, c: PickContext): string => b.pick(c)!.target.address;

test('consistent hashing: the same key always lands on the same target, keys spread evenly', () => {
  const b = ch({ hash_on: 'header', hash_on_header: 'x-user' }, equal(4));
  const seen = new Map<string, number>();
  for (let k = 0; k < 4000; k++) {
    const c = ctx({ headers: { 'x-user': `user-${k}` } });
    const a = at(b, c);
    assert.equal(at(b, c), a);
    seen.set(a, (seen.get(a) ?? 0) + 1);
  }
  assert.equal(seen.size, 4);
  for (const n of seen.values()) assert.ok(n > 700 && n < 1300, `uneven: ${[...seen.values()].join(',')}`);
});

test('consistent hashing: weights shift the share of keys', () => {
  const ts = targets(300, 100);
  const b = ch({ hash_on: 'ip' }, ts);
  let heavy = 0;
  for (let k = 0; k < 4000; k++) if (at(b, ctx({ clientIp: `10.9.${k >> 8}.${k & 255}` })) === ts[0]!.target) heavy++;
  assert.ok(heavy > 2600 && heavy < 3400, `heavy got ${heavy} of 4000`);
});

for (const n of [4, 10, 50]) {
  test(`consistent hashing: adding a target to ${n - 1} moves about 1/${n} of the keys`, () => {
    const all = equal(n);
    const before = ch({ hash_on: 'ip' }, all.slice(0, n - 1));
    const after = ch({ hash_on: 'ip' }, all);
    let moved = 0;
    const keys = 10_000;
    for (let k = 0; k < keys; k++) {
      const c = ctx({ clientIp: `192.168.${k >> 8}.${k & 255}` });
      const a = at(after, c);
      if (at(before, c) !== a) {
        moved++;
        assert.equal(a, all[n - 1]!.target, 'keys only move to the new target');
      }
    }
    assert.ok(moved / keys < 2 / n && moved / keys > 0.5 / n, `moved ${moved} of ${keys}`);
  });
}

test('consistent hashing: an unavailable or tried target is skipped, its keys go to the next point', () => {
  const b = ch({ hash_on: 'path' }, equal(3));
  const c = ctx({ path: '/k' });
  const first = b.pick(c)!.target.id;
  status(b).set(first, false);
  const second = b.pick(c)!.target.id;
  assert.notEqual(second, first);
  const third = b.pick(ctx({ path: '/k', tried: new Set([second]) }))!.target.id;
  assert.ok(third !== first && third !== second);
  assert.equal(b.pick(ctx({ path: '/k', tried: new Set([second, third]) })), undefined);
  status(b).set(first, true);
  assert.equal(b.pick(c)!.target.id, first, 'back to its own target');
});

test('consistent hashing: weight 0 gets no keys; no available target gives no pick', () => {
  const ts = targets(0, 100);
  const b = ch({ hash_on: 'ip' }, ts);
  for (let k = 0; k < 50; k++) assert.equal(at(b, ctx({ clientIp: `10.0.0.${k}` })), ts[1]!.target);
  status(b).set(ts[1]!.id, false);
  assert.equal(b.pick(ctx()), undefined);
  assert.equal(ch({ hash_on: 'ip' }, targets(0)).pick(ctx()), undefined);
});

/** Each input source: two contexts that must hash alike, and one that must differ from the first. */
const sources: {
  desc: string;
  fields: Record<string, unknown>;
  same: [Partial<PickContext>, Partial<PickContext>];
  other: Partial<PickContext>;
}[] = [
  {
    desc: 'ip',
    fields: { hash_on: 'ip' },
    same: [
      { clientIp: '10.1.1.1', path: '/a' },
      { clientIp: '10.1.1.1', path: '/b' },
    ],
    other: { clientIp: '10.1.1.2' },
  },
  {
    desc: 'header (case-insensitive name)',
    fields: { hash_on: 'header', hash_on_header: 'X-Tenant' },
    same: [
      { headers: { 'x-tenant': 't1' }, clientIp: '1.1.1.1' },
      { headers: { 'x-tenant': 't1' }, clientIp: '2.2.2.2' },
    ],
    other: { headers: { 'x-tenant': 't2' } },
  },
  {
    desc: 'header with several values (joined)',
    fields: { hash_on: 'header', hash_on_header: 'x-tenant' },
    same: [{ headers: { 'x-tenant': ['a', 'b'] } }, { headers: { 'x-tenant': 'a,b' } }],
    other: { headers: { 'x-tenant': 'a' } },
  },
  {
    desc: 'path (normalised)',
    fields: { hash_on: 'path' },
    same: [{ path: '/a/./b//c/../%7Ed' }, { path: '/a/b/~d' }],
    other: { path: '/a/b/d' },
  },
  {
    desc: 'query_arg (several values sorted)',
    fields: { hash_on: 'query_arg', hash_on_query_arg: 'u' },
    same: [{ query: 'u=b&x=1&u=a' }, { query: 'u=a&u=b' }],
    other: { query: 'u=a' },
  },
  {
    desc: 'uri_capture',
    fields: { hash_on: 'uri_capture', hash_on_uri_capture: 'id' },
    same: [
      { uriCaptures: { id: '7' }, path: '/a' },
      { uriCaptures: { id: '7', other: 'x' }, path: '/b' },
    ],
    other: { uriCaptures: { id: '8' } },
  },
  {
    desc: 'cookie',
    fields: { hash_on: 'cookie', hash_on_cookie: 'sid' },
    same: [{ headers: { cookie: 'a=1; sid=abc' } }, { headers: { cookie: 'sid=abc' }, clientIp: '9.9.9.9' }],
    other: { headers: { cookie: 'sid=abd' } },
  },
];

for (const s of sources) {
  test(`consistent hashing on ${s.desc}: equal values stick together, another value can move`, () => {
    const b = ch(s.fields, equal(64));
    assert.equal(at(b, ctx(s.same[0])), at(b, ctx(s.same[1])));
    // with 64 targets a different value lands elsewhere unless the hashes collide on one target (checked: they don't)
    assert.notEqual(at(b, ctx(s.other)), at(b, ctx(s.same[0])));
  });
}

test('consistent hashing: hash_on none sends every request to one target', () => {
  const b = ch({ hash_on: 'none' }, equal(16));
  const first = at(b, ctx());
  for (let k = 0; k < 20; k++) assert.equal(at(b, ctx({ clientIp: `10.0.0.${k}`, path: `/${k}` })), first);
});

const fallbacks: { desc: string; fields: Record<string, unknown>; missing: Partial<PickContext> }[] = [
  {
    desc: 'a missing header falls back to the client ip',
    fields: { hash_on: 'header', hash_on_header: 'x-user', hash_fallback: 'ip' },
    missing: {},
  },
  {
    desc: 'a missing query arg falls back to the client ip',
    fields: { hash_on: 'query_arg', hash_on_query_arg: 'u', hash_fallback: 'ip' },
    missing: { query: 'v=1' },
  },
  {
    desc: 'a missing uri capture falls back to the client ip',
    fields: { hash_on: 'uri_capture', hash_on_uri_capture: 'id', hash_fallback: 'ip' },
    missing: { uriCaptures: {} },
  },
  {
    desc: 'an empty header falls back to the client ip',
    fields: { hash_on: 'header', hash_on_header: 'x-user', hash_fallback: 'ip' },
    missing: { headers: { 'x-user': '' } },
  },
];

for (const f of fallbacks) {
  test(`consistent hashing fallback: ${f.desc}`, () => {
    const b = ch(f.fields, equal(32));
    const byIp = ch({ hash_on: 'ip' }, equal(32));
    for (const ip of ['10.1.1.1', '10.2.2.2', '10.3.3.3', '10.4.4.4']) {
      const c = ctx({ ...f.missing, clientIp: ip });
      assert.equal(at(b, c), at(byIp, c));
    }
  });
}

test('consistent hashing fallback: to a header, and with no fallback to the empty value', () => {
  const b = ch({ hash_on: 'query_arg', hash_on_query_arg: 'u', hash_fallback: 'header', hash_fallback_header: 'x-f' }, equal(32));
  const byHeader = ch({ hash_on: 'header', hash_on_header: 'x-f' }, equal(32));
  const byNone = ch({ hash_on: 'none' }, equal(32));
  for (const v of ['a', 'b', 'c', 'd']) assert.equal(at(b, ctx({ headers: { 'x-f': v } })), at(byHeader, ctx({ headers: { 'x-f': v } })));
  const noFallback = ch({ hash_on: 'query_arg', hash_on_query_arg: 'u' }, equal(32));
  assert.equal(at(noFallback, ctx({ clientIp: '10.7.7.7' })), at(byNone, ctx()));
});

test('consistent hashing on a cookie sets the cookie when absent and sticks to it', () => {
  const b = ch({ hash_on: 'cookie', hash_on_cookie: 'gwid', hash_on_cookie_path: '/app' }, equal(5));
  const first = b.pick(ctx())!;
  assert.match(first.setCookie ?? '', /^gwid=[0-9a-f-]{36}; Path=\/app; Same-Site=Lax; HttpOnly$/);
  const value = first.setCookie!.split(';')[0]!;
  const again = b.pick(ctx({ headers: { cookie: `other=1; ${value}` } }))!;
  assert.equal(again.setCookie, undefined);
  assert.equal(again.target.id, first.target.id, 'the generated value is the one hashed');
  assert.notEqual(b.pick(ctx())!.setCookie, first.setCookie, 'each new client gets its own value');
});

test('consistent hashing falls back to a cookie, generated when absent, only when the header is missing', () => {
  const b = ch({ hash_on: 'header', hash_on_header: 'x-user', hash_fallback: 'cookie', hash_on_cookie: 'gwid' }, equal(16));
  assert.equal(b.pick(ctx({ headers: { 'x-user': 'u1' } }))!.setCookie, undefined);
  const first = b.pick(ctx())!;
  assert.match(first.setCookie ?? '', /^gwid=[0-9a-f-]{36}; Path=\/; Same-Site=Lax; HttpOnly$/);
  const again = b.pick(ctx({ headers: { cookie: first.setCookie!.split(';')[0]! } }))!;
  assert.equal(again.setCookie, undefined);
  assert.equal(again.target.id, first.target.id);
});

const paths: [string, string][] = [
  ['/a/b', '/a/b'],
  ['/a//b///c', '/a/b/c'],
  ['/a/./b/.', '/a/b/'],
  ['/a/b/../c', '/a/c'],
  ['/../a', '/a'],
  ['/a/%7euser/%2f%41', '/a/~user/%2FA'],
  ['/a/..', '/'],
  ['*', '*'],
];
for (const [input, want] of paths) {
  test(`normalizePath(${JSON.stringify(input)}) is ${JSON.stringify(want)}`, () => assert.equal(normalizePath(input), want));
}

test('readCookie and readQueryArg read exact names only', () => {
  assert.equal(readCookie('asid=1; sid = 2 ;x=3', 'sid'), '2');
  assert.equal(readCookie('sidx=1', 'sid'), '');
  assert.equal(readCookie(undefined, 'sid'), '');
  assert.equal(readQueryArg('uu=1&u=2&u=1', 'u'), '1,2');
  assert.equal(readQueryArg('u=%20x', 'u'), ' x');
  assert.equal(readQueryArg('', 'u'), '');
});
