/** bench/registration runs end to end with a tiny N, so it cannot rot. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { percentile, summarize, type PhaseResult } from '../../bench/registration/run.js';

const RUN = fileURLToPath(new URL('../../bench/registration/run.js', import.meta.url));

test('percentiles are nearest-rank over the samples', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(xs, 50), 50);
  assert.equal(percentile(xs, 99), 99);
  assert.equal(percentile([3, 1, 2], 100), 3);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.deepEqual(summarize([1.234, 2]), { n: 2, p50: 1.23, p99: 2, max: 2 });
});

test('npm run bench:registration with a tiny N prints the table and writes the JSON', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-reg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'registration.json');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [RUN, '--n', '6', '--concurrency', '2', '--crowd', '10', '--budget', '30', '--out', out],
    { timeout: 90_000 },
  );
  assert.match(stdout, /routable p99/);
  assert.match(stdout, /target: routable p99 ≤ 20 ms/);
  const report = JSON.parse(readFileSync(out, 'utf8')) as { phases: PhaseResult[]; target: { routableP99Ms: number } };
  assert.equal(report.target.routableP99Ms, 20);
  assert.deepEqual(
    report.phases.map((p) => p.phase),
    ['sequential', 'concurrent', 'throughput (one service)', 'crowded (10 other gw upstreams)'],
  );
  for (const p of report.phases) {
    assert.equal(p.n, 6, p.phase);
    assert.ok(p.perSecond > 0, p.phase);
  }
  assert.ok(report.phases[0]!.routable!.p99 >= 0);
});
