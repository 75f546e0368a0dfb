import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatencyBalancer, TAU_MS } from '../../../../gateway/src/balancer/algorithms/latency.js';
import { createBalancer } from '../../../../gateway/src/balancer/registry.js';
import { ctx, equal, picks, tally, upstream, status } from './fixtures.js';

function clocked(n: number) {
  const clock = { now: 0 };
  const ts = equal(n);
  const b = createBalancer(upstream({ algorithm: 'latency' }), ts, { now: () => clock.now, seed: 1 }) as LatencyBalancer;
  return { clock, ts, b };
}

test('latency prefers the faster target after feedback', () => {
  const { ts, b } = clocked(2);
  status(b).end(ts[0]!.id, 50, true);
  status(b).end(ts[1]!.id, 5, true);
  assert.deepEqual(picks(b, ts, 10), Array(10).fill(1));
});

test('latency: averages move with new samples and decay toward 0 while idle', () => {
  const { clock, ts, b } = clocked(2);
  status(b).end(ts[0]!.id, 50, true);
  assert.equal(b.ewma(ts[0]!.id), 50);
  clock.now = TAU_MS;
  assert.ok(Math.abs(b.ewma(ts[0]!.id) - 50 / Math.E) < 1e-9, 'one time constant later: 1/e of it');
  status(b).end(ts[0]!.id, 10, true);
  const want = 50 / Math.E + 10 * (1 - 1 / Math.E);
  assert.ok(Math.abs(b.ewma(ts[0]!.id) - want) < 1e-9, String(b.ewma(ts[0]!.id)));
  assert.ok(Number.isNaN(b.ewma(ts[1]!.id)), 'no sample yet');
});

test('latency: a target slow once is tried again after its average decays', () => {
  const { clock, ts, b } = clocked(2);
  status(b).end(ts[0]!.id, 100, true);
  clock.now = 1;
  status(b).end(ts[1]!.id, 10, true);
  assert.equal(b.pick(ctx())?.target.id, ts[1]!.id);
  // target 1 keeps answering in 10 ms; target 0 gets no traffic and its average decays
  let seen0 = -1;
  for (let t = 1; t <= 120_000; t += 100) {
    clock.now = t;
    status(b).end(ts[1]!.id, 10, true);
    if (b.pick(ctx())?.target.id === ts[0]!.id) {
      seen0 = t;
      break;
    }
  }
  assert.ok(seen0 > 10_000 && seen0 < 60_000, `target 0 tried again at ${seen0} ms`);
});

test('latency: a target without samples counts as the mean of the others', () => {
  const { ts, b } = clocked(3);
  status(b).end(ts[0]!.id, 10, true);
  status(b).end(ts[1]!.id, 30, true);
  // mean 20: the new target beats the 30 ms one, loses to the 10 ms one
  assert.equal(b.pick(ctx({ tried: new Set([ts[0]!.id]) }))?.target.id, ts[2]!.id);
  assert.equal(b.pick(ctx())?.target.id, ts[0]!.id);
});

test('latency: requests in flight count against a target (peak EWMA)', () => {
  const { ts, b } = clocked(2);
  status(b).end(ts[0]!.id, 10, true);
  status(b).end(ts[1]!.id, 25, true);
  for (let k = 0; k < 3; k++) status(b).start(ts[0]!.id);
  // 10 × 4 in flight = 40 > 25
  assert.equal(b.pick(ctx())?.target.id, ts[1]!.id);
});

test('latency skips unavailable and tried targets and spreads ties', () => {
  const { ts, b } = clocked(3);
  assert.deepEqual(
    tally(picks(b, ts, 30)),
    new Map([
      [0, 10],
      [1, 10],
      [2, 10],
    ]),
  );
  status(b).set(ts[0]!.id, false);
  assert.equal(b.pick(ctx({ tried: new Set([ts[1]!.id]) }))?.target.id, ts[2]!.id);
  assert.equal(b.pick(ctx({ tried: new Set([ts[1]!.id, ts[2]!.id]) })), undefined);
});

test('latency: factor scales the share (weight 100 at 0.5 vs weight 100 at 1 is about 1:2)', () => {
  const { clock, ts, b } = clocked(2);
  status(b).set(ts[0]!.id, true, 0.5);
  // both answer in 10 ms; keep ~20 requests in flight
  const inFlight: string[] = [];
  const seq: number[] = [];
  for (let k = 0; k < 3000; k++) {
    clock.now += 1;
    const r = b.pick(ctx())!;
    status(b).start(r.target.id);
    inFlight.push(r.target.id);
    seq.push(ts.findIndex((t) => t.id === r.target.id));
    if (inFlight.length > 20) status(b).end(inFlight.shift()!, 10, true);
  }
  const c = tally(seq);
  const ratio = c.get(0)! / c.get(1)!;
  assert.ok(Math.abs(ratio - 0.5) < 0.1, `ratio ${ratio}`);
});

test('latency with many targets samples two and keeps the faster one', () => {
  const { ts, b } = clocked(1000);
  // half the fleet is slow
  ts.forEach((t, i) => status(b).end(t.id, i % 2 === 0 ? 100 : 10, true));
  const c = tally(picks(b, ts, 4000).map((i) => i % 2));
  // best of two random: the fast half wins unless both draws are slow (1 in 4)
  assert.ok(c.get(1)! > 4000 * 0.7, JSON.stringify([...c]));
  const tried = new Set(ts.slice(1).map((t) => t.id));
  assert.equal(b.pick(ctx({ tried }))?.target.id, ts[0]!.id, 'falls back to a scan when sampling finds nothing');
});

test('latency: bad latency samples are ignored', () => {
  const { ts, b } = clocked(1);
  for (const ms of [Number.NaN, -5, Number.POSITIVE_INFINITY]) status(b).end(ts[0]!.id, ms, false);
  assert.ok(Number.isNaN(b.ewma(ts[0]!.id)));
});
