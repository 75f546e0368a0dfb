import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Balancer } from '../../../../gateway/src/balancer/balancer.js';
import { createBalancer } from '../../../../gateway/src/balancer/registry.js';
import { ctx, equal, picks, tally, targets, upstream, status } from './fixtures.js';

const lc = (ts: ReturnType<typeof targets>): Balancer => createBalancer(upstream({ algorithm: 'least-connections' }), ts);

test('least-connections prefers the idle target', () => {
  const ts = equal(3);
  const b = lc(ts);
  status(b).start(ts[0]!.id);
  status(b).start(ts[0]!.id);
  status(b).start(ts[2]!.id);
  assert.equal(b.pick(ctx())?.target.id, ts[1]!.id);
});

test('least-connections spreads ties round-robin', () => {
  const ts = equal(3);
  assert.deepEqual(picks(lc(ts), ts, 7), [0, 1, 2, 0, 1, 2, 0]);
});

test('least-connections follows requests as they start and end', () => {
  const ts = equal(2);
  const b = lc(ts);
  // a request that is started stays in flight: the next one goes to the other target
  const seq: number[] = [];
  for (let k = 0; k < 4; k++) {
    const r = b.pick(ctx())!;
    seq.push(ts.findIndex((t) => t.id === r.target.id));
    status(b).start(r.target.id);
  }
  assert.deepEqual(seq, [0, 1, 0, 1]);
  status(b).end(ts[1]!.id, 5, true);
  status(b).end(ts[1]!.id, 5, true);
  assert.equal(b.pick(ctx())?.target.id, ts[1]!.id);
  // ends beyond the starts do not go negative
  for (let k = 0; k < 5; k++) status(b).end(ts[1]!.id, 5, true);
  status(b).start(ts[1]!.id);
  status(b).end(ts[0]!.id, 5, true);
  status(b).end(ts[0]!.id, 5, true);
  assert.equal(b.pick(ctx())?.target.id, ts[0]!.id);
});

test('least-connections weighs connections by weight: (active+1)/weight', () => {
  const ts = targets(300, 100);
  const b = lc(ts);
  // 3 in flight on the 300 target score 4/300, more than the idle 100 target's 1/100; with 1 it is 2/300, less
  for (let k = 0; k < 3; k++) status(b).start(ts[0]!.id);
  assert.equal(b.pick(ctx())?.target.id, ts[1]!.id);
  status(b).end(ts[0]!.id, 1, true);
  status(b).end(ts[0]!.id, 1, true);
  assert.equal(b.pick(ctx())?.target.id, ts[0]!.id);
});

test('least-connections never picks weight 0, skips unavailable and tried targets', () => {
  const ts = targets(0, 100, 100, 100);
  const b = lc(ts);
  assert.ok(!picks(b, ts, 10).includes(0));
  status(b).set(ts[1]!.id, false);
  assert.deepEqual(new Set(picks(b, ts, 10)), new Set([2, 3]));
  assert.equal(b.pick(ctx({ tried: new Set([ts[2]!.id]) }))?.target.id, ts[3]!.id);
  assert.equal(b.pick(ctx({ tried: new Set([ts[2]!.id, ts[3]!.id]) })), undefined);
  status(b).set(ts[1]!.id, true);
  assert.equal(b.pick(ctx({ tried: new Set([ts[2]!.id, ts[3]!.id]) }))?.target.id, ts[1]!.id);
});

test('least-connections: the tried set is honoured among 1000 busy targets', () => {
  const ts = equal(1000);
  const b = lc(ts);
  for (const [i, t] of ts.entries()) for (let k = 0; k < i % 7; k++) status(b).start(t.id);
  const tried = new Set<string>();
  for (let attempt = 0; attempt < 20; attempt++) {
    const r = b.pick(ctx({ tried }))!;
    assert.ok(!tried.has(r.target.id));
    const i = ts.findIndex((t) => t.id === r.target.id);
    // the 143 idle targets (i % 7 == 0) come first
    assert.equal(i % 7, 0);
    tried.add(r.target.id);
  }
});

test('least-connections: factor scales the share (weight 100 at 0.5 vs weight 100 at 1 is 1:2)', () => {
  const ts = equal(2);
  const b = lc(ts);
  status(b).set(ts[0]!.id, true, 0.5);
  // a steady load of 30 requests in flight: each pick starts one and ends the oldest
  const inFlight: string[] = [];
  const seq: number[] = [];
  for (let k = 0; k < 3000; k++) {
    const r = b.pick(ctx())!;
    status(b).start(r.target.id);
    inFlight.push(r.target.id);
    seq.push(ts.findIndex((t) => t.id === r.target.id));
    if (inFlight.length > 30) status(b).end(inFlight.shift()!, 1, true);
  }
  const c = tally(seq);
  const ratio = c.get(0)! / c.get(1)!;
  assert.ok(Math.abs(ratio - 0.5) < 0.1, `ratio ${ratio}`);
});
