/** bench/scale runs end to end with a tiny N, so it cannot rot. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { ScaleReport } from '../../bench/scale/run.js';

const RUN = fileURLToPath(new URL('../../bench/scale/run.js', import.meta.url));

test('npm run bench:scale with a tiny N prints the table and writes the JSON', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-scale-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'scale.json');
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    [RUN, '--quick', '--targets', '40', '--routes', '20', '--upstreams', '10', '--writers', '4', '--settle-ms', '1000', '--out', out],
    { timeout: 120_000 },
  );
  assert.match(stdout, /goals: registrations ≥ 2000\/s with p99 ≤ 20 ms: (met|NOT met)/);
  assert.match(stdout, /gw CPU ms\/op/);
  const report = JSON.parse(readFileSync(out, 'utf8')) as ScaleReport;
  assert.deepEqual(
    report.phases.map((p) => p.phase),
    [
      'targets (to 40, one upstream)',
      'renewals (at 40 leased targets)',
      'upstreams (to 10)',
      'routes (to 20, one service)',
      'write → routable (at 20 routes)',
    ],
  );
  for (const p of report.phases) {
    assert.ok(p.perSecond > 0, p.phase);
    assert.ok(p.latency.p99 >= p.latency.p50, p.phase);
  }
  assert.equal(report.phases[0]!.n, 40);
  assert.ok(report.rss.targetsMb > 10 && report.rss.upstreamsMb > 10, 'RSS of the gateway process was read');
  assert.ok(report.rss.settledMb > 10 && report.rss.allSettledMb > 10, 'settled RSS was read');
  assert.match(stdout + stderr, /settled at the goal state \(1 s without writes\): RSS [\d.]+ MB, heap [\d.]+ MB/);
  assert.equal(report.goals.registrationsPerSecond, 2000);
});
