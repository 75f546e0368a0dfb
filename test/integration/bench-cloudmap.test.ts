/** bench/cloudmap runs end to end with a tiny N, so it cannot rot. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { promisify } from 'node:util';

const RUN = fileURLToPath(new URL('../../bench/cloudmap/run.js', import.meta.url));

interface Report {
  steady: { services: number; instances: number; callsPerMinute: number; byOperationPerMinute: Record<string, number> };
  registerToRouted: { n: number; p50: number; max: number; times: number[] };
}

test('npm run bench:cloudmap with a tiny N prints the figures and writes the JSON', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-cloudmap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'cloudmap.json');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [RUN, '--services', '3', '--instances', '2', '--interval', '200ms', '--window', '2', '--n', '2', '--out', out],
    { timeout: 120_000 },
  );
  assert.match(stdout, /steady API calls\/min \(3 services × 2 instances, interval 200ms\)/);
  assert.match(stdout, /RegisterInstance → first routed request p50, ms \(n=2\)/);
  const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
  assert.equal(report.steady.services, 3);
  assert.ok(report.steady.byOperationPerMinute.DiscoverInstancesRevision! > 0);
  assert.equal(report.steady.byOperationPerMinute.DiscoverInstances, undefined, 'nothing changed: no DiscoverInstances');
  assert.equal(report.registerToRouted.n, 2);
  assert.ok(report.registerToRouted.max < 10_000 && report.registerToRouted.max >= report.registerToRouted.p50);
});
