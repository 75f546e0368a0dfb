/**
 * Deploys under steady load with real app processes (examples/node-http-app)
 * behind a real gateway: every client request must succeed.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { startTestGateway } from '../helpers/gateway.js';
import { steadyLoad } from '../helpers/load.js';
import { deadPort, waitFor } from '../helpers/upstream.js';

const APP = fileURLToPath(new URL('../../examples/node-http-app/app.js', import.meta.url));
const N = 5;

interface Instance {
  proc: ChildProcess;
  port: number;
  name: string;
}

async function startApp(adminUrl: string, name: string, env: Record<string, string>): Promise<Instance> {
  const port = await deadPort();
  const proc = spawn(process.execPath, [APP], {
    env: {
      ...process.env,
      GW_ADMIN_URL: adminUrl,
      GW_SERVICE: 'web',
      GW_ROUTES: '/web',
      PORT: String(port),
      APP_NAME: name,
      APP_DELAY_MS: '5',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { proc, port, name };
}

const exited = (c: ChildProcess) =>
  new Promise<number | null>((resolve) => (c.exitCode !== null ? resolve(c.exitCode) : c.once('exit', (code) => resolve(code))));

test(`rolling replacement of ${N} instances under load, each new one registered before the old one gets SIGTERM: zero failed requests`, async (t) => {
  const gw = await startTestGateway();
  const all: Instance[] = [];
  t.after(async () => {
    for (const i of all) if (i.proc.exitCode === null) i.proc.kill('SIGKILL');
    await gw.close(0);
  });
  const path = (i: Instance) => `/upstreams/web.upstream/targets/127.0.0.1:${i.port}`;
  const registered = async (i: Instance) => (await gw.admin.call('GET', path(i))).status === 200;
  const old: Instance[] = [];
  for (let k = 0; k < N; k++) old.push(await startApp(gw.adminUrl, `v1-${k}`, { GW_DEPLOYMENT: 'web:1' }));
  all.push(...old);
  for (const i of old) await waitFor(() => registered(i), 30_000, `${i.name} registered`);

  const l = steadyLoad(gw.proxyUrl + '/web/x', 8);
  await waitFor(() => l.byApp.size === N, 15_000, 'traffic on every v1 instance');
  const started = Date.now();
  for (let k = 0; k < N; k++) {
    const fresh = await startApp(gw.adminUrl, `v2-${k}`, { GW_DEPLOYMENT: 'web:2' });
    all.push(fresh);
    await waitFor(() => registered(fresh), 30_000, `${fresh.name} registered`);
    await waitFor(() => (l.byApp.get(fresh.name) ?? 0) > 0, 10_000, `traffic on ${fresh.name}`);
    old[k]!.proc.kill('SIGTERM');
    assert.equal(await exited(old[k]!.proc), 0, `${old[k]!.name} exits 0`);
    assert.equal(await registered(old[k]!), false, `${old[k]!.name}'s target is gone`);
  }
  const atEnd = l.ok;
  await waitFor(() => l.ok > atEnd + 50, 10_000, 'traffic continues after the last replacement');
  await l.done();
  const targets = (await gw.admin.call<{ data: { tags: string[] }[] }>('GET', '/upstreams/web.upstream/targets')).body.data;
  assert.equal(targets.length, N);
  assert.ok(targets.every((x) => x.tags.includes('gw-deployment:web:2')));
  t.diagnostic(`rolling replacement of ${N}: ${l.ok + l.failed} requests in ${Date.now() - started} ms, ${l.failed} failed`);
  assert.equal(l.failed, 0, `${l.failed} of ${l.ok + l.failed} failed: ${l.failures.slice(0, 5).join('; ')}`);
});

test(`blue-green deploy of ${N} instances under load: promoted when all ${N} new ones are healthy, then the old ones stop: zero failed requests`, async (t) => {
  const gw = await startTestGateway();
  const all: Instance[] = [];
  t.after(async () => {
    for (const i of all) if (i.proc.exitCode === null) i.proc.kill('SIGKILL');
    await gw.close(0);
  });
  const env = (d: string) => ({ GW_DEPLOYMENT: d, GW_MODE: 'blue-green', GW_PROMOTE_WHEN: String(N) });
  const host = async () => (await gw.admin.call<{ host?: string }>('GET', '/services/web')).body.host;
  const count = async (u: string) => ((await gw.admin.call<{ data?: unknown[] }>('GET', `/upstreams/${u}/targets`)).body.data ?? []).length;
  const blue: Instance[] = [];
  for (let k = 0; k < N; k++) blue.push(await startApp(gw.adminUrl, `blue-${k}`, env('web:1')));
  all.push(...blue);
  await waitFor(async () => (await count('web.web-1.upstream')) === N, 30_000, 'blue registered');
  assert.equal(await host(), 'web.web-1.upstream');

  const l = steadyLoad(gw.proxyUrl + '/web/x', 8);
  await waitFor(() => l.byApp.size === N, 15_000, 'traffic on every blue instance');
  const green: Instance[] = [];
  for (let k = 0; k < N; k++) {
    green.push(await startApp(gw.adminUrl, `green-${k}`, env('web:2')));
    all.push(green[k]!);
    if (k < N - 1) {
      await waitFor(async () => (await count('web.web-2.upstream')) === k + 1, 30_000, `green-${k} registered`);
      assert.equal(await host(), 'web.web-1.upstream', `not promoted with ${k + 1} of ${N}`);
    }
  }
  await waitFor(async () => (await host()) === 'web.web-2.upstream', 30_000, 'promotion');
  await waitFor(() => [...l.byApp.keys()].filter((a) => a.startsWith('green')).length === N, 15_000, 'traffic on every green instance');
  for (const b of blue) b.proc.kill('SIGTERM');
  for (const b of blue) assert.equal(await exited(b.proc), 0);
  assert.equal(await count('web.web-1.upstream'), 0);
  const before = l.ok;
  await waitFor(() => l.ok > before + 50, 10_000, 'traffic continues');
  await l.done();
  t.diagnostic(`blue-green of ${N}: ${l.ok + l.failed} requests, ${l.failed} failed`);
  assert.equal(l.failed, 0, `${l.failed} of ${l.ok + l.failed} failed: ${l.failures.slice(0, 5).join('; ')}`);
});
