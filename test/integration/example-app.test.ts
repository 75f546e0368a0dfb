import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { request } from 'undici';
import { startTestGateway } from '../helpers/gateway.js';
import { steadyLoad } from '../helpers/load.js';
import { deadPort, waitFor } from '../helpers/upstream.js';

const APP = fileURLToPath(new URL('../../examples/node-http-app/app.js', import.meta.url));

function startApp(adminUrl: string, port: number, name: string, ttl = 30): ChildProcess {
  return spawn(process.execPath, [APP], {
    env: {
      ...process.env,
      GW_ADMIN_URL: adminUrl,
      GW_SERVICE: 'hello',
      GW_ROUTES: '/hello',
      GW_TTL: String(ttl),
      PORT: String(port),
      APP_NAME: name,
      APP_DELAY_MS: '20',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

test('examples/node-http-app: two instances serve; SIGTERM under load drains with zero failed requests and exits 0', async (t) => {
  const gw = await startTestGateway();
  const [pa, pb] = [await deadPort(), await deadPort()];
  const a = startApp(gw.adminUrl, pa, 'a');
  const b = startApp(gw.adminUrl, pb, 'b');
  t.after(async () => {
    for (const c of [a, b]) if (c.exitCode === null) c.kill('SIGKILL');
    await gw.close(0);
  });
  const targets = async () =>
    (await gw.admin.call<{ data: { target: string }[] }>('GET', '/upstreams/hello.upstream/targets')).body.data ?? [];
  await waitFor(async () => (await targets().catch(() => [])).length === 2, 20_000, 'both instances registered');

  // steady load from 8 clients while instance a gets SIGTERM
  const l = steadyLoad(gw.proxyUrl + '/hello/x', 8);
  await waitFor(() => l.byApp.size === 2, 10_000, 'traffic on both instances');
  const exit = new Promise<number | null>((resolve) => a.once('exit', (code) => resolve(code)));
  a.kill('SIGTERM');
  assert.equal(await exit, 0);
  const afterExit = l.ok;
  await waitFor(() => l.ok > afterExit + 50, 10_000, 'traffic continues on b');
  await l.done();
  assert.equal(l.failed, 0, `${l.failed} failed requests of ${l.ok + l.failed}: ${l.failures.slice(0, 5).join('; ')}`);
  assert.deepEqual(
    (await targets()).map((x) => x.target),
    [`127.0.0.1:${pb}`],
  );
  console.log(`# rolling stop under load: ${l.ok} requests, ${l.failed} failed`);
});

test('kill -9 of an instance: its lease runs out and the gateway removes the target', async (t) => {
  const gw = await startTestGateway({ leaseSweepMs: 100 });
  const port = await deadPort();
  const app = startApp(gw.adminUrl, port, 'doomed', 2);
  t.after(async () => {
    if (app.exitCode === null) app.kill('SIGKILL');
    await gw.close(0);
  });
  const path = `/upstreams/hello.upstream/targets/127.0.0.1:${port}`;
  await waitFor(async () => (await gw.admin.call('GET', path)).status === 200, 20_000, 'registered');
  const killedAt = Date.now();
  app.kill('SIGKILL');
  await waitFor(async () => (await gw.admin.call('GET', path)).status === 404, 15_000, 'lease expiry');
  const ms = Date.now() - killedAt;
  console.log(`# kill -9 → target removed after ${ms} ms (ttl 2 s)`);
  assert.equal(gw.leases.expired, 1);
});

test('a gateway restarted with empty state gets the instance back without a restart of the app', async (t) => {
  const adminPort = await deadPort();
  let gw = await startTestGateway({ adminListen: `127.0.0.1:${adminPort}` });
  const port = await deadPort();
  const app = startApp(gw.adminUrl, port, 'survivor', 3);
  t.after(async () => {
    if (app.exitCode === null) app.kill('SIGKILL');
    await gw.close(0);
  });
  const path = `/upstreams/hello.upstream/targets/127.0.0.1:${port}`;
  await waitFor(async () => (await gw.admin.call('GET', path)).status === 200, 20_000, 'registered');
  await gw.close(0);
  gw = await startTestGateway({ adminListen: `127.0.0.1:${adminPort}` }); // memory store: empty
  assert.equal((await gw.admin.call('GET', path)).status, 404);
  // the next heartbeat (every ttl/3 = 1 s) gets a 404 and registers from scratch
  await waitFor(async () => (await gw.admin.call('GET', path)).status === 200, 15_000, 're-registration');
  const r = await request(gw.proxyUrl + '/hello/again');
  assert.equal(r.statusCode, 200);
  assert.equal(((await r.body.json()) as { app: string }).app, 'survivor');
});
