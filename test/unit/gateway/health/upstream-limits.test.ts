import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UPSTREAM_GW_DEFAULTS } from '../../../../gateway/src/entities/index.js';
import { MIN_VOLUME, UpstreamLimits } from '../../../../gateway/src/limits/upstream-limits.js';

test('concurrency cap: over it a request is refused with Retry-After 1, admitted again once one ends', () => {
  const l = new UpstreamLimits({ ...UPSTREAM_GW_DEFAULTS, max_concurrent_requests: 2 }, () => 0);
  assert.equal(l.admit(), 0);
  assert.equal(l.admit(), 0);
  assert.equal(l.admit(), 1);
  l.done(false);
  assert.equal(l.admit(), 0);
});

test('error rate over the window sheds for the cool-down, then admits again', () => {
  let t = 0;
  const l = new UpstreamLimits({ ...UPSTREAM_GW_DEFAULTS, max_error_rate: 0.5, error_rate_window: 10, breaker_cooldown: 5 }, () => t);
  for (let i = 0; i < MIN_VOLUME - 1; i++) {
    assert.equal(l.admit(), 0);
    l.done(true);
  }
  assert.equal(l.admit(), 0, 'below the minimum volume nothing is judged');
  l.done(true);
  assert.equal(l.admit(), 5, 'tripped: Retry-After = cool-down');
  t += 4_500;
  assert.equal(l.admit(), 1);
  t += 500;
  assert.equal(l.admit(), 0);
});

test('old errors leave the sliding window', () => {
  let t = 0;
  const l = new UpstreamLimits({ ...UPSTREAM_GW_DEFAULTS, max_error_rate: 0.5, error_rate_window: 2 }, () => t);
  for (let i = 0; i < 15; i++) {
    l.admit();
    l.done(true);
  }
  t += 3_000;
  for (let i = 0; i < 30; i++) {
    assert.equal(l.admit(), 0);
    l.done(i % 3 === 0);
  }
});
