import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker } from '../../../../gateway/src/breaker/circuit-breaker.js';

const clock = () => {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
};

test('closed → open → half-open → closed, with a trial slot', () => {
  const c = clock();
  const b = new CircuitBreaker({ cooldownMs: 10_000, cooldownMaxMs: 300_000, halfOpenMax: 1 }, c.now);
  assert.equal(b.state.state, 'closed');
  assert.deepEqual(b.open('3 tcp failures'), { from: 'closed', to: 'open', reason: '3 tcp failures' });
  assert.equal(b.admits(), false);
  assert.equal(b.until, c.now() + 10_000);
  c.advance(9_999);
  assert.equal(b.halfOpen(), null, 'not before the cool-down ends');
  c.advance(1);
  assert.equal(b.halfOpen()?.to, 'half-open');
  assert.equal(b.admits(), true);
  b.trialStarted();
  assert.equal(b.admits(), false, 'one trial at a time');
  assert.deepEqual(b.success(), { from: 'half-open', to: 'closed', reason: 'trial request succeeded' });
  assert.equal(b.admits(), true);
});

test('the cool-down doubles on every consecutive ejection, capped', () => {
  const c = clock();
  const b = new CircuitBreaker({ cooldownMs: 10_000, cooldownMaxMs: 35_000, halfOpenMax: 1 }, c.now);
  const cooldowns: number[] = [];
  b.open('x');
  for (let i = 0; i < 4; i++) {
    cooldowns.push(b.until! - c.now());
    c.advance(b.until! - c.now());
    b.halfOpen();
    b.trialStarted();
    assert.equal(b.failure()?.to, 'open');
  }
  assert.deepEqual(cooldowns, [10_000, 20_000, 35_000, 35_000]);
});

test('a breaker that stayed closed for the cap forgets earlier ejections', () => {
  const c = clock();
  const b = new CircuitBreaker({ cooldownMs: 1_000, cooldownMaxMs: 8_000, halfOpenMax: 1 }, c.now);
  b.open('x');
  c.advance(1_000);
  b.halfOpen();
  b.success();
  b.open('again soon');
  assert.equal(b.until! - c.now(), 2_000, 'second ejection right after: doubled');
  c.advance(2_000);
  b.halfOpen();
  b.success();
  c.advance(8_000);
  b.open('much later');
  assert.equal(b.until! - c.now(), 1_000, 'after 8 s closed: back to the base cool-down');
});

test('reset closes from any state; bad config is refused', () => {
  const c = clock();
  const b = new CircuitBreaker({ cooldownMs: 1_000, cooldownMaxMs: 1_000, halfOpenMax: 2 }, c.now);
  assert.equal(b.reset('manual'), null);
  b.open('x');
  assert.equal(b.reset('manual')?.from, 'open');
  assert.throws(() => new CircuitBreaker({ cooldownMs: 0, cooldownMaxMs: 1, halfOpenMax: 1 }, c.now), RangeError);
  assert.throws(() => new CircuitBreaker({ cooldownMs: 10, cooldownMaxMs: 5, halfOpenMax: 1 }, c.now), RangeError);
});
