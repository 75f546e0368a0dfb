import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LoopLateness } from '../../../../gateway/src/health/loop-lateness.js';

test('loop lateness: the ticks later than their period, since a time; a tick whose interval began before it counts only its part after', () => {
  const l = new LoopLateness(100);
  assert.equal(l.since(0), 0, 'no tick yet');
  for (const at of [1000, 1100, 1200, 1550, 1650, 1750]) l.tick(at);
  // the tick at 1550 ran 250 ms late; the others on time
  assert.equal(l.since(900), 250);
  assert.equal(l.since(1200), 250, 'a try started at 1200 waited through the pause');
  assert.equal(l.since(1400), 150, 'of the pause before 1550, only what came after 1400');
  assert.equal(l.since(1550), 0, 'after the pause');
  l.tick(1900); // 50 ms late
  assert.equal(l.since(1000), 300);
});

test('loop lateness forgets ticks beyond `keep`', () => {
  const l = new LoopLateness(10, 3);
  for (const at of [0, 50, 60, 70, 80]) l.tick(at); // 40 ms late at 50, then on time
  assert.equal(l.since(-1), 0, 'the late tick is no longer among the last 3');
});
