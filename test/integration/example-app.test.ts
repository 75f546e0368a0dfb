import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { request } from 'undici';
import { startTestGateway } from '../helpers/gateway.js';
import { deadPort, waitFor } from '../helpers/upstream.js';

const APP = fileURLToPath(new URL('../../examples/node-http-app/app.js', import.meta.url));

function startApp(adminUrl: string, port: number, name: string): ChildProcess {
  return spawn(process.execPath, [APP], {
    env: { ...process.env, GW_ADMIN_URL: adminUrl, GW_SERVICE: 'hello', GW_ROUTES: '/hello', GW_TTL: '30', PORT: String(port), APP_NAME: name, APP_DELAY_MS: '20' },
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
  const targets = async () => (await gw.admin.call<{ data: { target: string }[] }>('GET', '/upstreams/hello.upstream/targets')).body.data ?? [];
  await waitFor(async () => (await targets().catch(() => [])).length === 2, 20_000, 'both instances registered');

  // steady load from 8 clients while instance a gets SIGTERM
  let ok = 0;
  let failed = 0;
  const seen = new Set<string>();
  let stop = false;
  const client = async () => {
    while (!stop) {
      try {
        const r = await request(gw.proxyUrl + '/hello/x');
        const body = (await r.body.json()) as { app?: string };
        if (r.statusCode === 200) {
          ok++;
          if (body.app) seen.add(body.app);
        } else failed++;
      } catch {
        failed++;
      }
    }
  };
  const clients = Array.from({ length: 8 }, client);
  await waitFor(() => seen.size === 2, 10_000, 'traffic on both instances');
  const exit = new Promise<number | null>((resolve) => a.once('exit', (code) => resolve(code)));
  a.kill('SIGTERM');
  assert.equal(await exit, 0);
  const afterExit = ok;
  await waitFor(() => ok > afterExit + 50, 10_000, 'traffic continues on b');
  stop = true;
  await Promise.all(clients);
  assert.equal(failed, 0, `${failed} failed requests of ${ok + failed}`);
  assert.deepEqual((await targets()).map((x) => x.target), [`127.0.0.1:${pb}`]);
  console.log(`# rolling stop under load: ${ok} requests, ${failed} failed`);
});
