/**
 * examples/express-app and examples/fastify-app as real processes behind a
 * real gateway: each registers, serves through the proxy, and on SIGTERM
 * drains, deregisters and exits 0 while light load sees zero failures.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { request } from 'undici';
import { startTestGateway } from '../helpers/gateway.js';
import { steadyLoad } from '../helpers/load.js';
import { deadPort, waitFor } from '../helpers/upstream.js';

const EXAMPLES = ['express-app', 'fastify-app'] as const;

function startApp(example: string, adminUrl: string, port: number, name: string): ChildProcess {
  const file = fileURLToPath(new URL(`../../examples/${example}/app.js`, import.meta.url));
  return spawn(process.execPath, [file], {
    env: { ...process.env, GW_ADMIN_URL: adminUrl, GW_SERVICE: 'hello', GW_ROUTES: '/hello', GW_HOST: '127.0.0.1', LISTEN_HOST: '127.0.0.1', PORT: String(port), APP_NAME: name, APP_DELAY_MS: '10' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}


const exited = (c: ChildProcess) => new Promise<number | null>((resolve) => (c.exitCode !== null ? resolve(c.exitCode) : c.once('exit', (code) => resolve(code))));

for (const example of EXAMPLES) {
  test(`examples/${example}: registers, serves through the proxy, and on SIGTERM leaves with zero failed requests under load`, async (t) => {
    const gw = await startTestGateway();
    const [pa, pb] = [await deadPort(), await deadPort()];
    const a = startApp(example, gw.adminUrl, pa, 'a');
    const b = startApp(example, gw.adminUrl, pb, 'b');
    t.after(async () => {
      for (const c of [a, b]) if (c.exitCode === null) c.kill('SIGKILL');
      await gw.close(0);
    });
    const targets = async () => ((await gw.admin.call<{ data?: { target: string }[] }>('GET', '/upstreams/hello.upstream/targets')).body.data ?? []).map((x) => x.target).sort();
    await waitFor(async () => (await targets().catch(() => [])).length === 2, 30_000, `two ${example} instances registered`);

    const first = await request(gw.proxyUrl + '/hello/42');
    const body = (await first.body.json()) as { framework: string; url: string };
    assert.equal(first.statusCode, 200);
    assert.equal(body.url, '/42', 'strip_path: the app sees the path after the route prefix');

    const l = steadyLoad(gw.proxyUrl + '/hello/x', 4);
    await waitFor(() => l.byApp.size === 2, 15_000, 'traffic on both instances');
    a.kill('SIGTERM');
    assert.equal(await exited(a), 0, 'exit 0 after drain and deregistration');
    assert.deepEqual(await targets(), [`127.0.0.1:${pb}`], 'the stopped instance\'s target is gone');
    const atExit = l.ok;
    await waitFor(() => l.ok > atExit + 20, 10_000, 'traffic continues on the other instance');
    await l.done();
    assert.equal(l.failed, 0, `${l.failed} of ${l.ok + l.failed} failed: ${l.failures.slice(0, 5).join('; ')}`);
    t.diagnostic(`${example}: ${l.ok} requests under load across the stop, ${l.failed} failed`);

    b.kill('SIGTERM');
    assert.equal(await exited(b), 0);
    assert.deepEqual(await targets(), []);
  });
}
