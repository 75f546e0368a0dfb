/**
 * bench/lib/args.ts: every bench script answers --help with its own header
 * comment and a bad option with a one-line error and exit status 2.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { headerComment } from '../../../bench/lib/args.js';

const run = promisify(execFile);
const script = (rel: string): string => fileURLToPath(new URL(`../../../bench/${rel}`, import.meta.url));

test('headerComment: the leading doc comment without its margins; none → empty', () => {
  assert.equal(headerComment('/**\n * First line.\n *\n *   indented usage\n */\nconst x = 1;\n'), 'First line.\n\n  indented usage');
  assert.equal(headerComment('#!/usr/bin/env node\n/** One. */\n'), 'One.');
  assert.equal(headerComment('const x = 1;\n/** later */\n'), '');
});

for (const rel of ['proxy/run.js', 'proxy/memory.js', 'proxy/access-log.js', 'proxy/prof-summary.js', 'failover/run.js', 'scale/run.js']) {
  test(`bench ${rel}: --help prints its documentation and exits 0; an unknown option exits 2 naming it`, async () => {
    const help = await run(process.execPath, [script(rel), '--help']);
    assert.match(help.stdout, /^\S.*\n/);
    assert.match(help.stdout, /--[a-z]/, 'the documentation lists options');
    await assert.rejects(run(process.execPath, [script(rel), '--no-such-option']), (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr ?? '', /Unknown option '--no-such-option'[\s\S]*--help/);
      assert.doesNotMatch(err.stderr ?? '', /at .*node:internal/, 'no stack trace');
      return true;
    });
  });
}
