import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEntity } from '../../../../gateway/src/entities/index.js';
import type { Target, Upstream } from '../../../../gateway/src/entities/types.js';
import type { PickContext } from '../../../../gateway/src/balancer/balancer.js';
import { LatencyBalancer } from '../../../../gateway/src/balancer/algorithms/latency.js';
import { xxhash32 } from '../../../../gateway/src/balancer/hash.js';
import { createBalancer } from '../../../../gateway/src/balancer/registry.js';

const upstream = (fields: Record<string, unknown>): Upstream => {
  const r = parseEntity('upstreams', { name: 'up', ...fields }, { mode: 'create', now: 1 });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  return r.value as unknown as Upstream;
};
const targets = (n: number, weight = 100): Target[] =>
  Array.from({ length: n }, (_, i) => {
    const r = parseEntity('targets', { target: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}:80`, weight, upstream: { id: '6f0b6a2e-3c47-4b8e-9d0a-1b2c3d4e5f60' } }, { mode: 'create', now: 1 });
    assert.ok(r.ok);
    return r.value as unknown as Target;
  });
const ctx = (over: Partial<PickContext> = {}): PickContext => ({ clientIp: '127.0.0.1', headers: {}, path: '/', query: '', tried: new Set(), ...over });

test('xxhash32 matches the reference test vectors', () => {
  assert.equal(xxhash32(''), 0x02cc5d05);
  assert.equal(xxhash32('a'), 0x550d7456);
  assert.equal(xxhash32('abc'), 0x32d153ff);
  assert.equal(xxhash32('Nobody inspects the spammish repetition'), 0xe2293b2f);
});

test('consistent hashing: the same key always lands on the same target, keys spread over targets', () => {
  const b = createBalancer(upstream({ hash_on: 'header', hash_on_header: 'x-user' }), targets(4));
  const seen = new Map<string, number>();
  for (let k = 0; k < 2000; k++) {
    const key = `user-${k}`;
    const a = b.pick(ctx({ headers: { 'x-user': key } }))!.target.address;
    assert.equal(b.pick(ctx({ headers: { 'x-user': key } }))!.target.address, a);
    seen.set(a, (seen.get(a) ?? 0) + 1);
  }
  assert.equal(seen.size, 4);
  for (const n of seen.values()) assert.ok(n > 250 && n < 750, `uneven: ${[...seen.values()]}`);
});

test('consistent hashing: adding a target moves about 1/n of the keys', () => {
  const base = targets(10);
  const before = createBalancer(upstream({ hash_on: 'ip' }), base.slice(0, 9));
  const after = createBalancer(upstream({ hash_on: 'ip' }), base);
  let moved = 0;
  const keys = 5000;
  for (let k = 0; k < keys; k++) {
    const c = ctx({ clientIp: `192.168.${k >> 8}.${k & 255}` });
    if (before.pick(c)!.target.address !== after.pick(c)!.target.address) moved++;
  }
  assert.ok(moved / keys < 2 / 10, `moved ${moved} of ${keys}`);
  assert.ok(moved > 0);
});

test('consistent hashing: an unavailable or tried target is skipped, its keys go to the next point', () => {
  const ts = targets(3);
  const b = createBalancer(upstream({ hash_on: 'path' }), ts);
  const first = b.pick(ctx({ path: '/k' }))!.target;
  b.setAvailability(first.id, false);
  const second = b.pick(ctx({ path: '/k' }))!.target;
  assert.notEqual(second.id, first.id);
  assert.notEqual(b.pick(ctx({ path: '/k', tried: new Set([second.id]) }))!.target.id, second.id);
});

test('consistent hashing: hash inputs and fallback', () => {
  const ts = targets(8);
  const q = createBalancer(upstream({ hash_on: 'query_arg', hash_on_query_arg: 'u', hash_fallback: 'ip' }), ts);
  // multi-valued args are sorted before hashing
  assert.equal(q.pick(ctx({ query: 'u=b&u=a' }))!.target.id, q.pick(ctx({ query: 'u=a&u=b' }))!.target.id);
  // missing arg: falls back to the client ip
  const byIp = createBalancer(upstream({ hash_on: 'ip' }), ts);
  for (const ip of ['10.1.1.1', '10.2.2.2', '10.3.3.3']) assert.equal(q.pick(ctx({ clientIp: ip }))!.target.id, byIp.pick(ctx({ clientIp: ip }))!.target.id);
  const cap = createBalancer(upstream({ hash_on: 'uri_capture', hash_on_uri_capture: 'id' }), ts);
  assert.equal(cap.pick(ctx({ uriCaptures: { id: '7' }, path: '/a' }))!.target.id, cap.pick(ctx({ uriCaptures: { id: '7' }, path: '/b' }))!.target.id);
});

test('consistent hashing on a cookie sets the cookie when absent and sticks to it', () => {
  const b = createBalancer(upstream({ hash_on: 'cookie', hash_on_cookie: 'gwid', hash_on_cookie_path: '/app' }), targets(5));
  const first = b.pick(ctx())!;
  assert.match(first.setCookie ?? '', /^gwid=[0-9a-f-]{36}; Path=\/app; Same-Site=Lax; HttpOnly$/);
  const value = first.setCookie!.split(';')[0]!;
  const again = b.pick(ctx({ headers: { cookie: `other=1; ${value}` } }))!;
  assert.equal(again.setCookie, undefined);
  assert.equal(again.target.id, b.pick(ctx({ headers: { cookie: value } }))!.target.id);
});

test('latency: after feedback the faster target is preferred, and old samples decay', () => {
  let now = 0;
  const ts = targets(2);
  const b = new LatencyBalancer(ts, () => now);
  b.onRequestEnd(ts[0]!.id, 50, true);
  b.onRequestEnd(ts[1]!.id, 5, true);
  for (let i = 0; i < 10; i++) assert.equal(b.pick(ctx())!.target.id, ts[1]!.id);
  // the slow target got fast: after a few time constants its average follows
  now = 60_000;
  b.onRequestEnd(ts[0]!.id, 1, true);
  assert.ok(b.ewma(ts[0]!.id) < 1.5, String(b.ewma(ts[0]!.id)));
  assert.equal(b.pick(ctx())!.target.id, ts[0]!.id);
});
