import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Command } from 'commander';
import { z } from 'zod';
import { addFlags, duration, formatDuration, int, parseDuration, resolve, type FlagSpec } from '../../../agent/src/options.js';
import { isAgentError } from '../../../agent/src/errors.js';

test('durations: 500ms, 30s, 5m, 1h and plain (fractional) seconds; anything else is refused', () => {
  const table: [string | number, number | undefined][] = [
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['10', 10_000],
    ['1.5', 1500],
    ['0', 0],
    [2, 2000],
    ['5 m', 300_000],
    ['5min', undefined],
    ['-1s', undefined],
    ['', undefined],
    ['soon', undefined],
  ];
  for (const [input, ms] of table) assert.equal(parseDuration(input), ms, String(input));
  assert.equal(formatDuration(250), '250ms');
  assert.equal(formatDuration(30_000), '30s');
  assert.equal(formatDuration(1500), '1.5s');
  assert.equal(formatDuration(90_000), '1m30s');
});

const SPECS: FlagSpec[] = [
  { key: 'port', flags: '--port <port>', env: 'GW_TEST_PORT', help: 'port' },
  { key: 'ttl', flags: '--ttl <duration>', env: 'GW_TEST_TTL', help: 'ttl' },
  { key: 'config', flags: '--config <file>', help: 'file' },
];
const schema = z.object({ port: int(1, 65535), ttl: duration.default('30s'), config: z.string().optional() });

function parse(argv: string[], env: Record<string, string> = {}) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const cmd = addFlags(new Command('t').exitOverride(), SPECS);
    cmd.parse(argv, { from: 'user' });
    return resolve(cmd, SPECS, schema);
  } finally {
    for (const k of Object.keys(env)) if (!(k in saved)) delete process.env[k];
  }
}

test('settings layer flag > env > config file > default, and come back frozen', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'gw-agent-unit-')), 'c.json');
  writeFileSync(file, JSON.stringify({ port: 1000, ttl: 7 }));
  assert.deepEqual({ ...parse(['--config', file]) }, { port: 1000, ttl: 7000, config: file });
  assert.deepEqual({ ...parse(['--config', file], { GW_TEST_PORT: '2000' }) }, { port: 2000, ttl: 7000, config: file });
  assert.deepEqual({ ...parse(['--config', file, '--port', '3000'], { GW_TEST_PORT: '2000' }) }, { port: 3000, ttl: 7000, config: file });
  const o = parse(['--port', '1']);
  assert.equal(o.ttl, 30_000);
  assert.ok(Object.isFrozen(o));
});

test('errors name the flag, where the value came from and the value; exit code 2', () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['--port', 'x'], {}, /^--port: expected an integer from 1 to 65535, got "x"$/],
    [[], { GW_TEST_PORT: '0' }, /^--port \(from env GW_TEST_PORT\): expected an integer from 1 to 65535, got "0"$/],
    [[], {}, /^--port: required \(or set GW_TEST_PORT\)$/],
    [['--port', '1', '--ttl', '3 days'], {}, /^--ttl: expected a duration like 500ms, 30s, 5m or plain seconds, got "3 days"$/],
  ];
  for (const [argv, env, re] of cases) {
    assert.throws(
      () => parse(argv, env),
      (err: unknown) => isAgentError(err) && err.exitCode === 2 && re.test(err.message),
      argv.join(' '),
    );
  }
});
