import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lastResortReporter, LOG_PER_SECOND, type InternalErrors } from '../../../contract/src/last-resort.js';
import { capturedLogger } from '../../helpers/log.js';
import { ManualClock } from '../../helpers/manual-clock.js';

test('the last-resort reporter counts every event, logs each with its stack and kind, at most LOG_PER_SECOND lines a second', () => {
  const { logger, lines } = capturedLogger();
  const clock = new ManualClock(5_000_000);
  const counts: InternalErrors = { uncaught: 0, unhandled: 0 };
  const report = lastResortReporter(logger, 'the gateway', counts, () => clock.now());

  report('uncaught', new Error('boom in a timer'));
  report('unhandled', 'a rejection with a string');
  assert.deepEqual(counts, { uncaught: 1, unhandled: 1 });
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!.level, 50, 'level error');
  assert.equal(lines[0]!.kind, 'uncaught_exception');
  assert.match(String(lines[0]!.msg), /^uncaught exception \(a gw bug: please report it\); the gateway keeps running$/);
  assert.match(String((lines[0]!.err as { stack: string }).stack), /Error: boom in a timer\n\s+at /);
  assert.equal(lines[1]!.kind, 'unhandled_rejection');
  assert.match(String(lines[1]!.msg), /^unhandled promise rejection/);
  assert.equal((lines[1]!.err as { message: string }).message, 'a rejection with a string', 'a non-Error reason is logged as an Error');

  // a storm: every event counted, only LOG_PER_SECOND lines in this second
  for (let i = 0; i < 100; i++) report('uncaught', new Error(`storm ${i}`));
  assert.equal(counts.uncaught, 101);
  assert.equal(lines.length, LOG_PER_SECOND);
  // the next second logs again, saying how many lines were left out
  clock.advance(1000);
  report('unhandled', new Error('after the storm'));
  assert.equal(lines.length, LOG_PER_SECOND + 1);
  assert.equal(lines.at(-1)!.not_logged_before, 100 - (LOG_PER_SECOND - 2));
  report('unhandled', new Error('and then'));
  assert.equal(lines.at(-1)!.not_logged_before, undefined, 'said once');
  assert.deepEqual(counts, { uncaught: 101, unhandled: 3 });
});

test('the last-resort reporter never throws, even when the log cannot be written', () => {
  const counts: InternalErrors = { uncaught: 0, unhandled: 0 };
  const broken = {
    error: () => {
      throw new Error('EPIPE');
    },
  } as unknown as Parameters<typeof lastResortReporter>[0];
  const report = lastResortReporter(broken, 'the agent', counts, () => 0);
  assert.doesNotThrow(() => report('uncaught', new Error('x')));
  assert.equal(counts.uncaught, 1);
});
