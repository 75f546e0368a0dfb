import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoundRobinBalancer } from '../../../../gateway/src/balancer/algorithms/round-robin.js';
import { createBalancer } from '../../../../gateway/src/balancer/registry.js';
import { ctx, equal, picks, tally, targets, upstream, status } from './fixtures.js';

const rr = (ts: ReturnType<typeof targets>, seed = 0) => createBalancer(upstream(), ts, { seed });

test('round-robin is the default algorithm', () => {
  assert.ok(createBalancer(upstream(), equal(2)) instanceof RoundRobinBalancer);
});

test('round-robin alternates exactly over equal weights', () => {
  const ts = equal(3);
  assert.deepEqual(picks(rr(ts), ts, 9), [0, 1, 2, 0, 1, 2, 0, 1, 2]);
});

test('round-robin starts at a slot chosen by the seed, then alternates', () => {
  const ts = equal(3);
  assert.deepEqual(picks(rr(ts, 2), ts, 4), [2, 0, 1, 2]);
});

const splits: { desc: string; weights: number[]; n: number; want: number[] }[] = [
  { desc: '1:3 over 400 picks', weights: [1, 3], n: 400, want: [100, 300] },
  { desc: '65535:1 over two periods (the sequence is generated, not a wheel)', weights: [65535, 1], n: 131072, want: [131070, 2] },
  {
    desc: '10 targets with weights 1..10 over 5500 picks',
    weights: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    n: 5500,
    want: [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000],
  },
];
for (const s of splits) {
  test(`round-robin honours weights within 10%: ${s.desc}`, () => {
    const ts = targets(...s.weights);
    const c = tally(picks(rr(ts, 12345), ts, s.n));
    s.want.forEach((w, i) => assert.ok(Math.abs((c.get(i) ?? 0) - w) <= w * 0.1, `target ${i}: ${c.get(i)} vs ${w}`));
  });
}

test('round-robin never picks weight 0, and all weight 0 means no target', () => {
  const ts = targets(0, 10, 0);
  assert.deepEqual(new Set(picks(rr(ts), ts, 20)), new Set([1]));
  const none = rr(targets(0, 0));
  assert.equal(none.pick(ctx()), undefined);
  assert.equal(none.availableCount(), 0);
  assert.equal(rr(targets()).pick(ctx()), undefined);
});

test('round-robin skips an unavailable target and takes it back when available again', () => {
  const ts = equal(3);
  const b = rr(ts);
  status(b).set(ts[1]!.id, false);
  assert.equal(b.availableCount(), 2);
  assert.deepEqual(new Set(picks(b, ts, 10)), new Set([0, 2]));
  status(b).set(ts[1]!.id, true);
  assert.equal(b.availableCount(), 3);
  assert.deepEqual(
    tally(picks(b, ts, 30)),
    new Map([
      [0, 10],
      [1, 10],
      [2, 10],
    ]),
  );
});

test('round-robin returns nothing when every target is unavailable', () => {
  const ts = equal(2);
  const b = rr(ts);
  for (const t of ts) status(b).set(t.id, false);
  assert.equal(b.pick(ctx()), undefined);
});

test('round-robin never returns a tried target while another exists', () => {
  for (const weights of [
    [100, 100, 100],
    [65535, 1, 1],
    [3000, 1000],
  ]) {
    const ts = targets(...weights);
    const b = rr(ts);
    for (let k = 0; k < 50; k++) {
      const tried = new Set<string>();
      for (let attempt = 0; attempt < ts.length; attempt++) {
        const r = b.pick(ctx({ tried }));
        assert.ok(r, `attempt ${attempt} for ${weights.join(',')}`);
        assert.ok(!tried.has(r.target.id), `repeated ${r.target.address} for ${weights.join(',')}`);
        tried.add(r.target.id);
      }
      assert.equal(b.pick(ctx({ tried })), undefined, 'everything tried');
    }
  }
});

test('round-robin: slow-start factor scales the share (weight 100 at 0.5 vs weight 100 at 1 is 1:2)', () => {
  for (const weights of [
    [100, 100],
    [65535, 65535, 1],
  ]) {
    const ts = targets(...weights);
    const b = rr(ts);
    status(b).set(ts[0]!.id, true, 0.5);
    const c = tally(picks(b, ts, 3000));
    const ratio = c.get(0)! / c.get(1)!;
    assert.ok(Math.abs(ratio - 0.5) < 0.05, `${weights.join(',')}: ratio ${ratio}`);
  }
});

test('round-robin: a factor of 0.01 still lets the target through, rarely', () => {
  const ts = equal(2);
  const b = rr(ts);
  status(b).set(ts[0]!.id, true, 0);
  const c = tally(picks(b, ts, 1010));
  assert.equal(c.get(0), 10);
});

test('round-robin: a factor outside [0, 1] is a clear error', () => {
  const ts = equal(1);
  const b = rr(ts);
  for (const f of [-0.1, 1.5, Number.NaN]) assert.throws(() => status(b).set(ts[0]!.id, true, f), /factor must be a number in \[0, 1\]/);
});

test('round-robin: availability of a removed target is ignored', () => {
  const b = rr(equal(2));
  status(b).set('00000000-0000-4000-8000-000000000000', false);
  assert.equal(b.availableCount(), 2);
});
