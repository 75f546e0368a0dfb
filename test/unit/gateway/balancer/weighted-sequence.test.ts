import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildWheel, MAX_WHEEL, StrideScheduler } from '../../../../gateway/src/balancer/weighted-sequence.js';
import { tally } from './fixtures.js';

const cases: { desc: string; weights: number[]; wheel: number[] }[] = [
  { desc: 'equal weights alternate in index order', weights: [100, 100, 100], wheel: [0, 1, 2] },
  { desc: 'weights are reduced by their gcd', weights: [2, 4], wheel: [1, 0, 1] },
  { desc: 'a 1:3 split is interleaved, not bunched', weights: [10, 30], wheel: [1, 0, 1, 1] },
  { desc: 'zero weights get no slot', weights: [0, 5, 0, 5], wheel: [1, 3] },
  { desc: 'all zero weights give an empty wheel', weights: [0, 0], wheel: [] },
  { desc: 'no targets give an empty wheel', weights: [], wheel: [] },
  { desc: 'weights 3:2:1', weights: [3, 2, 1], wheel: [0, 1, 0, 2, 1, 0] },
];

for (const c of cases) {
  test(`buildWheel: ${c.desc}`, () => {
    assert.deepEqual([...buildWheel(c.weights)!], c.wheel);
  });
}

test('buildWheel: each target appears weight/gcd times per period', () => {
  const weights = [7, 21, 14, 0, 35];
  const wheel = buildWheel(weights)!;
  assert.equal(wheel.length, 11);
  assert.deepEqual(
    [...tally([...wheel]).entries()].sort((a, b) => a[0] - b[0]),
    [
      [0, 1],
      [1, 3],
      [2, 2],
      [4, 5],
    ],
  );
});

test('buildWheel: a period longer than the bound is not materialised', () => {
  assert.equal(buildWheel([65535, 1]), null);
  assert.equal(buildWheel([MAX_WHEEL - 1, 1])!.length, MAX_WHEEL);
});

test('the generated sequence equals the wheel, period after period', () => {
  const weights = [5, 1, 3, 3, 8];
  const wheel = [...buildWheel(weights)!];
  const s = new StrideScheduler(weights);
  const generated = Array.from({ length: wheel.length * 3 }, () => s.next());
  assert.deepEqual(generated, [...wheel, ...wheel, ...wheel]);
});

test('the generated sequence keeps exact proportions for 65535:1 without a big wheel', () => {
  const s = new StrideScheduler([65535, 1]);
  const c = tally(Array.from({ length: 65536 * 2 }, () => s.next()));
  assert.equal(c.get(0), 65535 * 2);
  assert.equal(c.get(1), 2);
});

test('a member inserted into a StrideScheduler starts its period with everyone else (any Σw steps serve each member w times)', () => {
  // members 1 and 2 (weight 1 each); after one step 2 is due at ½, the time the newcomer 0's first slot would have:
  // it goes after 2 (the heap breaks the tie by index, so slot ½ would put it first and serve it twice in 3 steps)
  const s = new StrideScheduler([0, 1, 1]);
  assert.equal(s.next(), 1);
  s.insert(0, 1);
  const period = [s.next(), s.next(), s.next()];
  assert.deepEqual([...period].sort(), [0, 1, 2]);
  // weights 3 and 1 after some steps, then a weight-2 newcomer: 6 steps serve them 3, 1 and 2 times
  const t = new StrideScheduler([3, 1]);
  for (let i = 0; i < 5; i++) t.next();
  t.insert(2, 2);
  const counts = [0, 0, 0];
  for (let i = 0; i < 6; i++) counts[t.next()]!++;
  assert.deepEqual(counts, [3, 1, 2]);
  // leaving and renumbering keep the others' turns
  t.remove(0);
  t.rename(2, 0);
  const rest = [0, 0, 0];
  for (let i = 0; i < 3; i++) rest[t.next()]!++;
  assert.deepEqual(rest, [2, 1, 0]);
});
