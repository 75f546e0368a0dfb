/**
 * No exception stops a running gateway (observability/last-resort.ts): a
 * real gw-gateway process, preloaded (NODE_OPTIONS) with test/helpers/throw-on-signal.ts,
 * throws from timers and leaves a rejection unhandled on SIGUSR2, as a gw
 * bug would. It logs each, counts them in gw_internal_errors_total, keeps
 * proxying and stops cleanly on SIGTERM. With `--workers 2` a proxy worker
 * does the same and the control process's /metrics shows its count.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { childPids } from '../../bench/lib/measure.js';
import { AdminClient, cleanEnv, spawnGatewayCli, type CliGateway } from '../helpers/gateway.js';
import { startUpstream, waitFor } from '../helpers/upstream.js';

const PRELOAD = fileURLToPath(new URL('../helpers/throw-on-signal.js', import.meta.url));
const THROWS = 3;

/** gw_internal_errors_total by kind, from the Admin API's /metrics. */
async function internalErrors(adminUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^gw_internal_errors_total\{kind="(\w+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

async function proxied(gw: CliGateway): Promise<number> {
  const r = await request(`${gw.proxyUrl}/s/x`);
  await r.body.dump();
  return r.statusCode;
}

const errorLines = (gw: CliGateway, kind: string) =>
  gw
    .out()
    .split('\n')
    .filter((l) => l.includes(`"kind":"${kind}"`) && l.includes('the gateway keeps running'));

for (const workers of [1, 2]) {
  test(`an uncaught exception and an unhandled rejection are logged and counted, and the gateway keeps serving (--workers ${workers})`, async (t) => {
    const up = await startUpstream('echo');
    t.after(() => up.close());
    const gw = await spawnGatewayCli(t, ['--store', 'memory', '--access-log', 'off', '--workers', String(workers)], {
      // NODE_OPTIONS, not an argument: the control process forks its workers with no execArgv of its own
      env: { ...cleanEnv, NODE_OPTIONS: `--import=${PRELOAD}`, THROWS: String(THROWS) },
    });
    const admin = new AdminClient(gw.adminUrl);
    assert.equal((await admin.call('PUT', '/services/s', { url: `http://${up.address}` })).status, 200);
    assert.equal((await admin.call('PUT', '/routes/r', { paths: ['/s'], service: { name: 's' } })).status, 200);
    await waitFor(async () => (await proxied(gw)) === 200, 10_000, 'route routable');
    assert.deepEqual(await internalErrors(gw.adminUrl), { uncaught_exception: 0, unhandled_rejection: 0 });

    // the bug happens where requests are proxied: the gateway process itself, or one of its proxy workers
    const pids = workers === 1 ? [gw.child.pid!] : childPids(gw.child.pid!);
    assert.equal(pids.length, workers);
    process.kill(pids[0]!, 'SIGUSR2');
    await waitFor(
      () => errorLines(gw, 'uncaught_exception').length === THROWS && errorLines(gw, 'unhandled_rejection').length === 1,
      15_000,
      'the error lines',
    );
    const line = JSON.parse(errorLines(gw, 'uncaught_exception')[0]!) as { level: number; err: { stack: string } };
    assert.equal(line.level, 50);
    assert.match(line.err.stack, /boom 1: thrown in a timer/);

    // still the same processes, still serving
    assert.equal(gw.child.exitCode, null);
    assert.deepEqual(workers === 1 ? [gw.child.pid!] : childPids(gw.child.pid!), pids);
    for (let i = 0; i < 5; i++) assert.equal(await proxied(gw), 200);
    assert.equal((await fetch(`${gw.adminUrl}/status`)).status, 200);
    assert.deepEqual(await internalErrors(gw.adminUrl), { uncaught_exception: THROWS, unhandled_rejection: 1 });
    assert.equal(await gw.stop(), 0);
  });
}
