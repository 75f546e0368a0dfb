/** bench/failover runs end to end in quick mode, so it cannot rot (no timing is asserted). */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { goals, meanSem, metricSum, percentile, type FailoverReport } from '../../../bench/failover/run.js';

const RUN = fileURLToPath(new URL('../../../bench/failover/run.js', import.meta.url));

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

test('percentile is nearest-rank; goals are judged from the scenario figures', () => {
  assert.equal(percentile([5, 1, 4, 2, 3], 50), 3);
  assert.equal(percentile([5, 1, 4, 2, 3], 99), 5);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.deepEqual(meanSem([1, 2, 3]), { passiveVsOffMeanPct: 2, passiveVsOffSemPct: 0.58 });
  const prom =
    'gw_hedged_requests_total 7\ngw_circuit_transitions_total{upstream="a.up",to="open"} 2\ngw_circuit_transitions_total{upstream="b.up",to="open"} 5\n';
  assert.equal(metricSum(prom, 'gw_hedged_requests_total'), 7);
  assert.equal(metricSum(prom, 'gw_circuit_transitions_total', 'upstream="b.up",to="open"'), 5);
  assert.equal(metricSum(prom, 'gw_circuit_transitions_total'), 7);
  const g = goals({
    overhead: {
      tool: 'undici',
      connections: 1,
      seconds: 1,
      rounds: [],
      cpuUsPerReq: {},
      statCpuUsPerReq: {},
      passiveVsOffPct: 3.5,
      passiveVsOffByRoundPct: [3.5],
      passiveVsOffMeanPct: 3.5,
      passiveVsOffSemPct: 0,
      noHedgingVsOffPct: 0,
    },
  });
  assert.deepEqual(
    g.map((x) => [x.measure, x.met]),
    [['CPU/req passive vs off %', false]],
  );
});

test('npm run bench:failover -- --quick prints every scenario and writes the JSON with numbers', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-failover-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'failover.json');
  const { stdout } = await promisify(execFile)(process.execPath, [RUN, '--quick', '--out', out], { timeout: 120_000, maxBuffer: 1 << 24 });
  for (const s of ['kill', 'hang: steady', 'hang, no checks', 'recovery (a) active', 'recovery (b) passive', 'overhead'])
    assert.match(stdout, new RegExp(s.replace(/[()]/g, '\\$&')));
  const r = JSON.parse(readFileSync(out, 'utf8')) as FailoverReport;
  assert.equal(r.quick, true);
  const { kill, hang, hangNoChecks, recovery, overhead } = r.scenarios;
  assert.ok(kill && hang && hangNoChecks && recovery && overhead, 'every scenario is in the JSON');
  for (const [name, v] of Object.entries({
    'kill.requests': kill.requests,
    'kill.failed': kill.failed,
    'kill.ejectMs': kill.ejectMs,
    'kill.p99ms': kill.p99ms,
    'hang.requests': hang.requests,
    'hang.failed': hang.failed,
    'hang.over500ms': hang.over500ms,
    'hang.p50ms': hang.p50ms,
    'hang.p99ms': hang.p99ms,
    'hang.maxMs': hang.maxMs,
    'hang.ejectMs': hang.ejectMs,
    'hangNoChecks.requests': hangNoChecks.requests,
    'hangNoChecks.hedged': hangNoChecks.hedged,
    'hangNoChecks.over500ms': hangNoChecks.over500ms,
    'hang.hedged': hang.hedged,
    'hang.steady.requests': hang.steady.requests,
    'hang.steady.hedgedPct': hang.steady.hedgedPct,
    'recovery.active.maxUpMs': recovery.active.maxUpMs,
    'recovery.active.cycles[0].downMs': recovery.active.cycles[0]?.downMs,
    'recovery.passive.maxUpMs': recovery.passive.maxUpMs,
    'recovery.passive.cycles[0].cooldownMs': recovery.passive.cycles[0]?.cooldownMs,
    'overhead.passiveVsOffPct': overhead.passiveVsOffPct,
    'overhead.cpuUsPerReq.off': overhead.cpuUsPerReq.off,
    'overhead.cpuUsPerReq.passive': overhead.cpuUsPerReq.passive,
    'overhead.statCpuUsPerReq.off': overhead.statCpuUsPerReq.off,
  }))
    assert.ok(isNum(v), `${name} is a number, got ${String(v)}`);
  assert.ok(kill.requests > 0 && hang.requests > 0 && hang.steady.requests > 0);
  assert.ok(r.goals.length >= 8 && r.goals.every((g) => typeof g.met === 'boolean'));
});
