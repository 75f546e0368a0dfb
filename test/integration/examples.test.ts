/**
 * examples/express-app and examples/fastify-app as real processes behind a
 * real gateway: each registers, serves through the proxy, and on SIGTERM
 * drains, deregisters and exits 0 while light load sees zero failures.
 * All three examples (node-http-app too): the address they listen on and
 * register (LISTEN_HOST, GW_HOST; 127.0.0.1 by default).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
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
    env: {
      ...process.env,
      GW_ADMIN_URL: adminUrl,
      GW_SERVICE: 'hello',
      GW_ROUTES: '/hello',
      GW_HOST: '127.0.0.1',
      LISTEN_HOST: '127.0.0.1',
      PORT: String(port),
      APP_NAME: name,
      APP_DELAY_MS: '10',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

const exited = (c: ChildProcess) =>
  new Promise<number | null>((resolve) => (c.exitCode !== null ? resolve(c.exitCode) : c.once('exit', (code) => resolve(code))));

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
    const targets = async () =>
      ((await gw.admin.call<{ data?: { target: string }[] }>('GET', '/upstreams/hello.upstream/targets')).body.data ?? [])
        .map((x) => x.target)
        .sort();
    await waitFor(async () => (await targets().catch(() => [])).length === 2, 30_000, `two ${example} instances registered`);

    const first = await request(gw.proxyUrl + '/hello/42');
    const body = (await first.body.json()) as { framework: string; url: string };
    assert.equal(first.statusCode, 200);
    assert.equal(body.url, '/42', 'strip_path: the app sees the path after the route prefix');

    const l = steadyLoad(gw.proxyUrl + '/hello/x', 4);
    await waitFor(() => l.byApp.size === 2, 15_000, 'traffic on both instances');
    a.kill('SIGTERM');
    assert.equal(await exited(a), 0, 'exit 0 after drain and deregistration');
    assert.deepEqual(await targets(), [`127.0.0.1:${pb}`], "the stopped instance's target is gone");
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

/** Spawn an example with only these settings (no GW_* from the parent); resolves with its registered target. */
function startWith(example: string, env: Record<string, string>): { child: ChildProcess; target: Promise<string> } {
  const file = fileURLToPath(new URL(`../../examples/${example}/app.js`, import.meta.url));
  const parent = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GW_') && k !== 'LISTEN_HOST'));
  const child = spawn(process.execPath, [file], {
    env: { ...parent, GW_SERVICE: 'hello', GW_ROUTES: '/hello', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const target = new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const line = buf.split('\n').find((l) => l.includes('"registered"'));
      if (line) resolve((JSON.parse(line) as { target: string }).target);
    });
    child.once('exit', (code) => reject(new Error(`${example} exited ${code} before registering`)));
  });
  return { child, target };
}

/** Does anything accept TCP connections at host:port? */
const listening = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, host);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

for (const example of ['node-http-app', ...EXAMPLES]) {
  test(`examples/${example}: listens on and registers 127.0.0.1 by default; LISTEN_HOST moves both; GW_HOST overrides the registered address`, async (t) => {
    const gw = await startTestGateway();
    const running: ChildProcess[] = [];
    t.after(async () => {
      for (const c of running) if (c.exitCode === null) c.kill('SIGKILL');
      await gw.close(0);
    });
    const stop = async (c: ChildProcess) => {
      c.kill('SIGTERM');
      assert.equal(await exited(c), 0);
    };

    // default: bind 127.0.0.1 only, register 127.0.0.1:PORT, reachable through the proxy
    const p1 = await deadPort();
    const a = startWith(example, { GW_ADMIN_URL: gw.adminUrl, PORT: String(p1), APP_NAME: 'default' });
    running.push(a.child);
    assert.equal(await a.target, `127.0.0.1:${p1}`);
    assert.equal(await listening('127.0.0.2', p1), false, 'not bound to every address');
    const r = await request(gw.proxyUrl + '/hello/x');
    assert.equal(r.statusCode, 200);
    assert.equal(((await r.body.json()) as { app: string }).app, 'default');
    await stop(a.child);

    // LISTEN_HOST: bound and registered there
    const p2 = await deadPort();
    const b = startWith(example, { GW_ADMIN_URL: gw.adminUrl, PORT: String(p2), APP_NAME: 'moved', LISTEN_HOST: '127.0.0.2' });
    running.push(b.child);
    assert.equal(await b.target, `127.0.0.2:${p2}`);
    assert.equal(await listening('127.0.0.1', p2), false, 'LISTEN_HOST=127.0.0.2 does not bind 127.0.0.1');
    const r2 = await request(gw.proxyUrl + '/hello/y');
    assert.equal(((await r2.body.json()) as { app: string }).app, 'moved');
    await stop(b.child);

    // GW_HOST: the registered address, whatever the app listens on
    const p3 = await deadPort();
    const c = startWith(example, { GW_ADMIN_URL: gw.adminUrl, PORT: String(p3), GW_HOST: '127.0.0.3' });
    running.push(c.child);
    assert.equal(await c.target, `127.0.0.3:${p3}`);
    assert.equal(await listening('127.0.0.1', p3), true);
    await stop(c.child);
  });
}
