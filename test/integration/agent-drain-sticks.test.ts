/**
 * An operator's drain sticks (issue 14): `gw-agent drain --service S
 * --deployment D [--deregister]` through the Admin API, while the real
 * `gw-agent run` sidecars of those instances keep running. Over more than
 * two lease periods the sidecar neither registers the target again nor
 * restores its weight (not even when the app's health flaps), and reports
 * `drained` on its control endpoint. On gw and in --kong-only mode.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { startTestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/upstream.js';
import {
  ANY_CONTROL_PORT,
  controlUrl,
  getJson,
  runAgent,
  startAgent,
  startTestApp,
  type LongRunning,
  type TestApp,
} from './agent-helpers.js';

interface TargetBody {
  target: string;
  weight: number;
  tags: string[];
}
interface HealthBody {
  data: { target: string; gw?: { lease_expires_at: number | null } }[];
}

const TTL_S = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sidecar(adminUrl: string, app: TestApp, deployment: string): LongRunning {
  return startAgent([
    'run',
    '--admin-url',
    adminUrl,
    '--service',
    'side',
    '--route',
    '/side',
    '--port',
    String(app.port),
    '--host',
    '127.0.0.1',
    '--health-path',
    '/health',
    '--health-interval',
    '200ms',
    '--unhealthy-after',
    '1',
    '--ttl',
    `${TTL_S}s`,
    '--deployment',
    deployment,
    '--instance-id',
    `side-${deployment}`,
    '--control-listen',
    ANY_CONTROL_PORT,
  ]);
}

async function scenario(kongOnly: boolean, t: { after(fn: () => Promise<void>): void }): Promise<void> {
  const gw = await startTestGateway(kongOnly ? { kongOnly: true } : { leaseSweepMs: 100 });
  const [appOld, appGone, appNew] = [await startTestApp('old'), await startTestApp('gone'), await startTestApp('new')];
  const agents = [sidecar(gw.adminUrl, appOld, 'old:1'), sidecar(gw.adminUrl, appGone, 'gone:1'), sidecar(gw.adminUrl, appNew, 'new:2')];
  const [old, gone] = agents as [LongRunning, LongRunning, LongRunning];
  t.after(async () => {
    for (const a of agents) a.kill();
    for (const a of [appOld, appGone, appNew]) await a.close();
    await gw.close(0);
  });
  const [cOld, cGone, cNew] = [await controlUrl(agents[0]!), await controlUrl(agents[1]!), await controlUrl(agents[2]!)];
  const path = (app: TestApp) => `/upstreams/side.upstream/targets/127.0.0.1:${app.port}`;
  for (const c of [cOld, cGone, cNew])
    await waitFor(async () => (await getJson(c))?.body.state === 'registered', 30_000, `sidecar on ${c} registered`);

  const drain = (deployment: string, extra: string[] = []) =>
    runAgent([
      'drain',
      '--admin-url',
      gw.adminUrl,
      '--service',
      'side',
      '--deployment',
      deployment,
      '--timeout',
      '10s',
      '--drain-delay',
      '200ms',
      ...extra,
    ]);
  const d1 = await drain('old:1');
  assert.equal(d1.code, 0, d1.stderr);
  assert.match(d1.stderr, /drained 1 target of deployment old:1/);
  const d2 = await drain('gone:1', ['--deregister']);
  assert.equal(d2.code, 0, d2.stderr);
  assert.match(d2.stderr, /deregistered 1 target/);

  // both sidecars notice and say so on their control endpoint
  for (const c of [cOld, cGone])
    await waitFor(async () => (await getJson(c))?.body.state === 'drained', 15_000, `sidecar on ${c} reports drained`);
  const oldState = (await getJson(cOld))!.body;
  assert.equal(oldState.drained_by, 'operator');
  assert.equal(oldState.weight, 0);
  assert.equal((await getJson(`${cOld}/ready`))!.status, 200, 'a drained task stays ready: ECS must not replace it');

  // the app behind the drained target flaps its health: the weight must not come back
  appOld.healthStatus = 500;
  const checks = appOld.healthChecks;
  await waitFor(() => appOld.healthChecks >= checks + 3, 10_000, 'failed probes of the drained app');
  appOld.healthStatus = 200;
  const checks2 = appOld.healthChecks;
  await waitFor(() => appOld.healthChecks >= checks2 + 3, 10_000, 'good probes of the drained app');

  // over two lease periods: the drained target stays at weight 0 (its lease renewed on gw), the deregistered one stays gone
  const lease = async () =>
    (await gw.admin.call<HealthBody>('GET', '/upstreams/side.upstream/health')).body.data.find(
      (h) => h.target === `127.0.0.1:${appOld.port}`,
    )?.gw?.lease_expires_at ?? 0;
  const firstLease = await lease();
  const until = Date.now() + 2 * TTL_S * 1000 + 1500;
  while (Date.now() < until) {
    const o = await gw.admin.call<TargetBody>('GET', path(appOld));
    assert.equal(o.status, 200, 'the drained target stays registered');
    assert.equal(o.body.weight, 0, 'the drained target stays at weight 0');
    assert.ok(o.body.tags.includes('gw-drained'), `tagged gw-drained: ${o.body.tags.join(',')}`);
    assert.equal((await gw.admin.call('GET', path(appGone))).status, 404, 'the deregistered target stays gone');
    assert.equal((await getJson(cOld))!.body.state, 'drained');
    assert.equal((await getJson(cGone))!.body.state, 'drained');
    await sleep(250);
  }
  if (!kongOnly) {
    // the drained lease is still renewed (a lease expiry would have deleted it above)
    await waitFor(async () => (await lease()) > firstLease + TTL_S, 10_000, 'drained lease renewed');
  }
  // traffic goes to the new deployment only
  for (let i = 0; i < 5; i++) {
    const r = await request(gw.proxyUrl + '/side/x');
    assert.equal(r.statusCode, 200);
    assert.equal(((await r.body.json()) as { app: string }).app, 'new');
  }
  assert.equal((await getJson(cNew))!.body.state, 'registered', 'the new deployment is untouched');
  for (const a of [old, gone]) {
    assert.ok(!a.logs.some((l) => l.msg === 'the gateway no longer knows this target; registering again'), 'no re-registration');
    assert.ok(!a.logs.some((l) => l.msg === 'marked up'), 'no weight restored');
  }
  assert.ok(gone.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('an operator drained and deregistered this target')));
  assert.ok(old.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('an operator drained this target')));

  // SIGTERM: the drained one is deleted; the gone one deletes nothing and both exit 0
  old.kill('SIGTERM');
  gone.kill('SIGTERM');
  assert.equal(await old.exited, 0);
  assert.equal(await gone.exited, 0);
  assert.equal((await gw.admin.call('GET', path(appOld))).status, 404);
  assert.equal((await gw.admin.call('GET', path(appGone))).status, 404);
  assert.equal((await gw.admin.call('GET', path(appNew))).status, 200);

  // a restarted sidecar of a deregistered instance registers again
  const again = sidecar(gw.adminUrl, appGone, 'gone:1');
  agents.push(again);
  const cAgain = await controlUrl(again);
  await waitFor(async () => (await getJson(cAgain))?.body.state === 'registered', 30_000, 'restarted sidecar registered');
  const back = await gw.admin.call<TargetBody>('GET', path(appGone));
  assert.equal(back.status, 200);
  assert.equal(back.body.weight, 100);
  assert.ok(!back.body.tags.includes('gw-drained'));
}

test('an operator drain (with and without --deregister) sticks on gw: the running sidecars do not undo it over two lease periods', async (t) => {
  await scenario(false, t);
});

test('an operator drain (with and without --deregister) sticks in --kong-only mode (no leases: the sidecar checks every ttl/3)', async (t) => {
  await scenario(true, t);
});
