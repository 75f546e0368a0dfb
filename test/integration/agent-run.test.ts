import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import type { GatewayOptions } from '../../gateway/src/gateway.js';
import { AdminClient, startTestGateway } from '../helpers/gateway.js';
import { steadyLoad } from '../helpers/load.js';
import { deadPort, waitFor } from '../helpers/upstream.js';
import { ANY_CONTROL_PORT, controlUrl, getJson, jsonLines, runAgent, startAgent, startTestApp } from './agent-helpers.js';

interface TargetBody {
  target: string;
  weight: number;
  tags: string[];
  ttl: number | null;
}
interface HealthBody {
  data: { target: string; weight: number; gw: { state: string; active_requests: number; lease_expires_at: number | null } }[];
}

function sidecarArgs(adminUrl: string, appPort: number, extra: string[] = []): string[] {
  return [
    'run',
    '--admin-url',
    adminUrl,
    '--service',
    'hello',
    '--route',
    '/hello',
    '--port',
    String(appPort),
    '--host',
    '127.0.0.1',
    '--health-path',
    '/health',
    '--health-interval',
    '200ms',
    '--control-listen',
    ANY_CONTROL_PORT,
    '--log-level',
    'info',
    ...extra,
  ];
}

/** A gateway (leases swept every 100 ms, plus `gateway` options), an app and its sidecar (`sidecarArgs` + `extra`), stopped after the test. */
async function sidecar(
  t: TestContext,
  extra: string[],
  env: Record<string, string> = {},
  app: { healthStatus?: number } = {},
  gateway: GatewayOptions = {},
) {
  const gw = await startTestGateway({ leaseSweepMs: 100, ...gateway });
  const a = await startTestApp('a', app);
  const agent = startAgent(sidecarArgs(gw.adminUrl, a.port, extra), env);
  t.after(async () => {
    agent.kill();
    await a.close();
    await gw.close(0);
  });
  const control = await controlUrl(agent);
  return { gw, app: a, agent, control, targetPath: `/upstreams/hello.upstream/targets/127.0.0.1:${a.port}` };
}

/** When the sidecar's lease ends, from the gateway's health view (0 when there is no target). */
async function leaseEnd(gw: Awaited<ReturnType<typeof startTestGateway>>): Promise<number> {
  return (await gw.admin.call<HealthBody>('GET', '/upstreams/hello.upstream/health')).body.data[0]?.gw.lease_expires_at ?? 0;
}

test('gw-agent run: waits for the app to answer 2xx, registers with a renewed lease, follows the app health down and up, /ready, SIGTERM deregisters and exits 0', async (t) => {
  const { gw, app, agent, control, targetPath } = await sidecar(
    t,
    ['--ttl', '2s', '--instance-id', 'sidecar-a', '--deployment', 'v1'],
    {},
    {
      healthStatus: 503,
    },
  );

  // not ready: probes go on, nothing registered, /ready 503
  await waitFor(async () => (await getJson(control))?.body.state === 'waiting-for-app', 20_000, 'sidecar waiting for the app');
  await waitFor(() => app.healthChecks >= 3, 10_000, 'three failed probes');
  assert.equal((await gw.admin.call('GET', targetPath)).status, 404, 'no registration before the app is ready');
  assert.equal((await getJson(`${control}/ready`))?.status, 503);

  // ready: registered with a lease
  app.healthStatus = 200;
  await waitFor(async () => (await gw.admin.call('GET', targetPath)).status === 200, 10_000, 'registration once the app is ready');
  await waitFor(async () => (await getJson(`${control}/ready`))?.status === 200, 10_000, '/ready 200');
  const target = (await gw.admin.call<TargetBody>('GET', targetPath)).body;
  assert.equal(target.ttl, 2);
  assert.ok(target.tags.includes('gw-instance:sidecar-a'));
  assert.ok(target.tags.includes('gw-deployment:v1'));
  const state = (await getJson(control))!.body;
  assert.equal(state.state, 'registered');
  assert.equal(state.target, `127.0.0.1:${app.port}`);
  const r = await request(gw.proxyUrl + '/hello/x');
  assert.equal(r.statusCode, 200);
  assert.equal(((await r.body.json()) as { app: string }).app, 'a');

  // the lease is renewed past its ttl
  const lease = () => leaseEnd(gw);
  const first = await lease();
  await waitFor(async () => (await lease()) > first + 1.5, 10_000, 'lease renewed twice');
  assert.equal((await gw.admin.call('GET', targetPath)).status, 200);

  // the app fails its health check: weight 0; recovers: weight back
  app.healthStatus = 500;
  await waitFor(async () => (await gw.admin.call<TargetBody>('GET', targetPath)).body.weight === 0, 10_000, 'marked down');
  assert.equal((await getJson(control))!.body.state, 'down');
  app.healthStatus = 200;
  await waitFor(async () => (await gw.admin.call<TargetBody>('GET', targetPath)).body.weight === 100, 10_000, 'marked up');
  assert.equal((await getJson(control))!.body.state, 'registered');

  agent.kill('SIGTERM');
  assert.equal(await agent.exited, 0);
  assert.equal((await gw.admin.call('GET', targetPath)).status, 404);
  assert.equal((await gw.admin.call('GET', '/services/hello')).status, 200, 'shared objects stay');
  const states = agent.logs.filter((l) => l.msg === 'state').map((l) => l.state);
  assert.deepEqual(states.slice(0, 2), ['registering', 'registered']);
});

test('gw-agent run: an uncaught exception and an unhandled rejection are logged and counted, and the sidecar keeps its lease and still drains on SIGTERM', async (t) => {
  // preloaded: on SIGUSR2 the agent throws from a timer and leaves a rejection unhandled, as a gw bug would
  const preload = fileURLToPath(new URL('../helpers/throw-on-signal.js', import.meta.url));
  const { gw, agent, control, targetPath } = await sidecar(t, ['--ttl', '2s'], { NODE_OPTIONS: `--import=${preload}`, THROWS: '2' });
  await waitFor(async () => (await getJson(control))?.body.state === 'registered', 20_000, 'registered');
  assert.deepEqual((await getJson(control))!.body.internal_errors, { uncaught_exception: 0, unhandled_rejection: 0 });

  agent.child.kill('SIGUSR2');
  const errors = (kind: string) => agent.logs.filter((l) => l.kind === kind && String(l.msg).endsWith('the agent keeps running'));
  await waitFor(() => errors('uncaught_exception').length === 2 && errors('unhandled_rejection').length === 1, 15_000, 'the error lines');
  assert.equal(errors('uncaught_exception')[0]!.level, 50);
  assert.match(String((errors('uncaught_exception')[0]!.err as { stack: string }).stack), /boom 1: thrown in a timer/);
  assert.equal(agent.child.exitCode, null, 'still running');
  assert.deepEqual((await getJson(control))!.body.internal_errors, { uncaught_exception: 2, unhandled_rejection: 1 });

  // the lease is still renewed: the target outlives its 2 s ttl twice over
  const lease = () => leaseEnd(gw);
  const first = await lease();
  await waitFor(async () => (await lease()) > first + 3, 15_000, 'lease renewed after the errors');
  assert.equal((await gw.admin.call('GET', targetPath)).status, 200);

  agent.kill('SIGTERM');
  assert.equal(await agent.exited, 0);
  assert.equal((await gw.admin.call('GET', targetPath)).status, 404, 'deregistered');
});

test('gw-agent run: SIGTERM under load drains with zero failed requests and exits 0', async (t) => {
  const gw = await startTestGateway();
  const [appA, appB] = [await startTestApp('a', { delayMs: 20 }), await startTestApp('b', { delayMs: 20 })];
  const a = startAgent(sidecarArgs(gw.adminUrl, appA.port));
  const b = startAgent(sidecarArgs(gw.adminUrl, appB.port));
  t.after(async () => {
    a.kill();
    b.kill();
    await appA.close();
    await appB.close();
    await gw.close(0);
  });
  const targets = async () =>
    (await gw.admin.call<{ data?: { target: string }[] }>('GET', '/upstreams/hello.upstream/targets')).body.data ?? [];
  await waitFor(async () => (await targets()).length === 2, 20_000, 'both sidecars registered');

  const l = steadyLoad(gw.proxyUrl + '/hello/x', 8);
  await waitFor(() => l.byApp.size === 2, 10_000, 'traffic on both instances');
  const started = Date.now();
  a.kill('SIGTERM');
  assert.equal(await a.exited, 0);
  const tookMs = Date.now() - started;
  const afterExit = l.ok;
  await waitFor(() => l.ok > afterExit + 50, 10_000, 'traffic continues on b');
  await l.done();
  assert.equal(l.failed, 0, `${l.failed} failed requests of ${l.ok + l.failed}: ${l.failures.slice(0, 5).join('; ')}`);
  assert.deepEqual(
    (await targets()).map((x) => x.target),
    [`127.0.0.1:${appB.port}`],
  );
  assert.ok(a.logs.some((l) => l.msg === 'deregistered'));
  console.log(`# sidecar SIGTERM under load: ${l.ok} requests, ${l.failed} failed, exit after ${tookMs} ms`);
});

test('gw-agent drain with no selector drains the local sidecar through its control endpoint (JSON lines); the lease is kept until SIGTERM', async (t) => {
  const gw = await startTestGateway();
  const app = await startTestApp('a');
  const agent = startAgent(sidecarArgs(gw.adminUrl, app.port, ['--ttl', '3s']));
  t.after(async () => {
    agent.kill();
    await app.close();
    await gw.close(0);
  });
  const control = await controlUrl(agent);
  const targetPath = `/upstreams/hello.upstream/targets/127.0.0.1:${app.port}`;
  await waitFor(async () => (await getJson(control))?.body.state === 'registered', 20_000, 'registered');

  // in the sidecar's container: its settings file in GW_AGENT_CONFIG names a service, routes, a port; a bare
  // `status` or `drain` there acts on the local sidecar (the file's selectors and other keys are not theirs)
  const dir = await mkdtemp(join(tmpdir(), 'gw-agent-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const sidecarFile = join(dir, 'sidecar.yaml');
  await writeFile(
    sidecarFile,
    `admin-url: ${gw.adminUrl}\nservice: hello\nroutes: [/hello]\nport: ${app.port}\nhost: 127.0.0.1\ncontrol-listen: 127.0.0.1:0\n`,
  );
  const inContainer = { GW_AGENT_CONFIG: sidecarFile, GW_CONTROL_URL: control };
  const status = await runAgent(['status'], inContainer);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /^state\s+registered$/m, 'the local sidecar, not the service table');

  const res = await runAgent(['drain', '--timeout', '10s', '--json'], inContainer);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /drained 1 target of the sidecar's instance 127\.0\.0\.1:\d+/);
  const events = jsonLines(res.stdout);
  assert.equal(events[0]!.event, 'start');
  assert.ok(events.some((e) => e.event === 'progress'));
  assert.deepEqual({ event: events.at(-1)!.event, drained: events.at(-1)!.drained }, { event: 'done', drained: true });
  assert.equal((await gw.admin.call<TargetBody>('GET', targetPath)).body.weight, 0);
  assert.equal((await getJson(control))!.body.state, 'drained');
  assert.equal((await getJson(`${control}/ready`))!.status, 200, 'still registered: ECS must not replace a drained task');
  // drained is not undone by the app's health check, and the lease (3 s) is still renewed
  const lease = () => leaseEnd(gw);
  const first = await lease();
  await waitFor(async () => (await lease()) > first + 2, 10_000, 'lease renewed while drained');
  const still = await gw.admin.call<TargetBody>('GET', targetPath);
  assert.equal(still.status, 200);
  assert.equal(still.body.weight, 0);

  agent.kill('SIGTERM');
  assert.equal(await agent.exited, 0);
  assert.equal((await gw.admin.call('GET', targetPath)).status, 404);

  const gone = await runAgent(['drain', '--control-url', control]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /^gw-agent drain: cannot reach the sidecar at http:\/\/127\.0\.0\.1:\d+ \(--control-url\)/);
  assert.equal(gone.stderr.trim().split('\n').length, 1);
});

test('gw-agent run: bad settings exit 2 naming the flag; an address in use for --control-listen too', async (t) => {
  const r = await runAgent(['run', '--admin-url', 'http://127.0.0.1:1', '--service', 'x', '--port', '70000', '--health-interval', 'soon']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--port: expected an integer from 1 to 65535, got "70000"/);
  assert.match(r.stderr, /--health-interval: expected a duration like 500ms, 30s, 5m or plain seconds, got "soon"/);
  const env = await runAgent(['run', '--admin-url', 'http://127.0.0.1:1', '--service', 'x', '--port', '1'], { GW_TTL: '0.1s' });
  assert.equal(env.code, 2);
  assert.match(env.stderr, /--ttl \(from env GW_TTL\): expected 1s to 24h/);
  const gw = await startTestGateway();
  t.after(() => gw.close(0));
  const busy = new URL(gw.adminUrl).port;
  const r2 = await runAgent(['run', '--admin-url', gw.adminUrl, '--service', 'x', '--port', '1', '--control-listen', `127.0.0.1:${busy}`]);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /--control-listen 127\.0\.0\.1:\d+: cannot listen \(EADDRINUSE\)/);
});

test('gw-agent run: an unreachable gateway is one warning per attempt saying when the next one comes; SIGTERM while registering exits 0 without an error or abort message', async (t) => {
  const app = await startTestApp('a');
  const dead = await deadPort();
  const agent = startAgent([
    'run',
    '--admin-url',
    `http://127.0.0.1:${dead}`,
    '--service',
    'rc',
    '--port',
    String(app.port),
    '--host',
    '127.0.0.1',
    '--control-listen',
    ANY_CONTROL_PORT,
  ]);
  t.after(async () => {
    agent.kill();
    await app.close();
  });
  const control = await controlUrl(agent);
  const retrying = () =>
    agent.logs.filter(
      (l) => l.level === 40 && typeof l.msg === 'string' && /^could not register rc: .+; retrying, next attempt in \d+\.\d s$/.test(l.msg),
    );
  await waitFor(() => retrying().length >= 2, 20_000, 'two retry warnings');
  assert.equal(typeof retrying()[0]!.next_attempt_ms, 'number');
  assert.equal((await getJson(control))!.body.state, 'registering');
  agent.kill('SIGTERM');
  assert.equal(await agent.exited, 0);
  const text = JSON.stringify(agent.logs);
  assert.ok(!/abort/i.test(text), `no abort message: ${text.slice(0, 2000)}`);
  assert.deepEqual(
    agent.logs.filter((l) => (l.level as number) >= 50),
    [],
    'nothing at error level',
  );
  assert.ok(agent.logs.some((l) => l.msg === 'registration stopped: closed before it completed'));
});

test("gw-agent run: a registration the gateway refuses (a wrong token 401, another service's token 403) is one stderr line naming it and exit 1, at once", async (t) => {
  const ADMIN = 'admin-token-run-refused-1';
  const SEARCH = 'search-registration-token-1';
  const gateway = { adminToken: ADMIN, registrationTokens: { search: SEARCH } };
  const cases: { name: string; extra: string[]; env: Record<string, string>; line: (url: string) => string }[] = [
    {
      name: 'wrong token (401), from env GW_ADMIN_TOKEN',
      extra: [],
      env: { GW_ADMIN_TOKEN: 'not-the-token' },
      line: (url: string) =>
        `gw-agent run: could not register hello: the gateway refused the admin token (401: Unauthorized) at ${url}; check --admin-token / GW_ADMIN_TOKEN\n`,
    },
    {
      name: "another service's registration token (403)",
      extra: ['--admin-token', SEARCH],
      env: {},
      line: (url: string) =>
        `gw-agent run: could not register hello: the gateway at ${url} does not allow this token to GET /services/hello (403): Forbidden: a registration token for service 'search' may not GET /services/hello: only service 'search' is in scope; a registration token covers one service only (check --admin-token / GW_ADMIN_TOKEN)\n`,
    },
  ];
  for (const c of cases) {
    const started = Date.now();
    const { gw, agent } = await sidecar(t, c.extra, c.env, {}, gateway);
    const code = await agent.exited;
    const ms = Date.now() - started;
    assert.equal(code, 1, `${c.name}: exit 1; stderr: ${agent.stderr}`);
    assert.equal(agent.stderr, c.line(gw.adminUrl), c.name);
    // a refusal is not retried: the sidecar (which retries an unreachable gateway forever) stops at once
    assert.ok(ms < 30_000, `${c.name}: failed fast (${ms} ms)`);
    assert.ok(
      agent.logs.some((l) => l.level === 50 && l.msg === 'the gateway refused the registration; exiting' && typeof l.err === 'string'),
      `${c.name}: the reason is logged too`,
    );
    assert.ok(!agent.logs.some((l) => typeof l.msg === 'string' && /retrying/.test(l.msg)), `${c.name}: no retry`);
    const admin = new AdminClient(gw.adminUrl, ADMIN);
    assert.equal((await admin.call('GET', '/services/hello')).status, 404, `${c.name}: nothing registered`);
  }
});

test('gw-agent run: a drain that times out at SIGTERM with a request in flight says so (with the count) and deregisters anyway', async (t) => {
  const gw = await startTestGateway();
  const app = await startTestApp('a');
  const agent = startAgent(sidecarArgs(gw.adminUrl, app.port, ['--drain-timeout', '1500ms']));
  t.after(async () => {
    agent.kill();
    await app.close();
    await gw.close(0);
  });
  const control = await controlUrl(agent);
  await waitFor(async () => (await getJson(control))?.body.state === 'registered', 20_000, 'registered');
  const hung = request(gw.proxyUrl + '/hello/hang').catch((e: unknown) => e);
  await waitFor(() => app.hanging === 1, 10_000, 'a request in flight');
  agent.kill('SIGTERM');
  assert.equal(await agent.exited, 0);
  const warn = agent.logs.find((l) => l.level === 40 && typeof l.msg === 'string' && l.msg.startsWith('drain timed out'));
  assert.ok(warn, JSON.stringify(agent.logs.map((l) => l.msg)));
  assert.match(String(warn.msg), /^drain timed out after \d+ ms with 1 request still in flight; deregistering anyway/);
  assert.equal(warn.in_flight, 1);
  assert.equal((await gw.admin.call('GET', `/upstreams/hello.upstream/targets/127.0.0.1:${app.port}`)).status, 404);
  app.release();
  await hung;
});
