import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { AdminClient, startTestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/upstream.js';
import { jsonLines, runAgent, startTestApp } from './agent-helpers.js';

test('gw-agent drain: by target it times out (exit 1) while a request never finishes, then drains once it does; by deployment with --deregister', async (t) => {
  const gw = await startTestGateway();
  const apps = [await startTestApp('a'), await startTestApp('b'), await startTestApp('c')];
  t.after(async () => {
    for (const a of apps) await a.close();
    await gw.close(0);
  });
  const reg = async (port: number, deployment: string) => {
    const r = await runAgent([
      'register',
      '--admin-url',
      gw.adminUrl,
      '--service',
      'hello',
      '--route',
      '/hello',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--deployment',
      deployment,
    ]);
    assert.equal(r.code, 0, r.stderr);
  };
  await reg(apps[0]!.port, 'v1');
  // a request to a that never finishes (until released)
  const hung = request(gw.proxyUrl + '/hello/hang');
  await waitFor(() => apps[0]!.hanging === 1, 10_000, 'a request hanging on a');
  await reg(apps[1]!.port, 'v1');
  await reg(apps[2]!.port, 'v2');

  const a = `127.0.0.1:${apps[0]!.port}`;
  const timedOut = await runAgent([
    'drain',
    '--admin-url',
    gw.adminUrl,
    '--upstream',
    'hello.upstream',
    '--target',
    a,
    '--timeout',
    '1s',
    '--json',
  ]);
  assert.equal(timedOut.code, 1, timedOut.stderr);
  assert.equal(timedOut.stderr, 'gw-agent drain: timed out after 1s: 1 target of upstream hello.upstream still has 1 request in flight\n');
  const events = jsonLines(timedOut.stdout);
  assert.deepEqual(events[0]!.targets, [a]);
  assert.ok(events.some((e) => e.event === 'progress' && e.in_flight === 1 && e.targets_left === 1));
  assert.equal(events.at(-1)!.event, 'done');
  assert.equal(events.at(-1)!.drained, false);
  assert.equal((await gw.admin.call<{ weight: number }>('GET', `/upstreams/hello.upstream/targets/${a}`)).body.weight, 0);

  // released: the hanging request completes fine, and a drain now succeeds at once
  apps[0]!.release();
  assert.equal((await hung).statusCode, 200);
  const drained = await runAgent(['drain', '--admin-url', gw.adminUrl, '--service', 'hello', '--target', a, '--timeout', '10s']);
  assert.equal(drained.code, 0, drained.stderr);
  // off a terminal: a progress line per change, then the one-line result
  assert.match(drained.stderr, /\ngw-agent drain: drained 1 target of upstream hello\.upstream in \d+ms\n$/);
  assert.match(drained.stderr, /^draining 1 target: 0 left, 0 requests in flight, \d+ms elapsed\n/);

  // every target of deployment v1, then deleted
  const byDeployment = await runAgent([
    'drain',
    '--admin-url',
    gw.adminUrl,
    '--service',
    'hello',
    '--deployment',
    'v1',
    '--timeout',
    '10s',
    '--deregister',
    '--json',
  ]);
  assert.equal(byDeployment.code, 0, byDeployment.stderr);
  assert.match(byDeployment.stderr, /drained 2 targets of deployment v1 in upstream hello\.upstream in \S+, deregistered 2 targets/);
  const done = jsonLines(byDeployment.stdout).at(-1)!;
  assert.equal((done.deregistered as string[]).length, 2);
  const left = (await gw.admin.call<{ data: { target: string }[] }>('GET', '/upstreams/hello.upstream/targets')).body.data.map(
    (x) => x.target,
  );
  assert.deepEqual(left, [`127.0.0.1:${apps[2]!.port}`]);
  // traffic still flows to v2
  const r = await request(gw.proxyUrl + '/hello/after');
  assert.equal(((await r.body.json()) as { app: string }).app, 'c');

  const none = await runAgent(['drain', '--admin-url', gw.adminUrl, '--service', 'hello', '--deployment', 'v9']);
  assert.equal(none.code, 0);
  assert.match(none.stderr, /nothing to drain: no target of deployment v9 in upstream hello\.upstream/);
});

test('gw-agent drain on Kong waits --drain-delay (no in-flight counts there)', async (t) => {
  const gw = await startTestGateway({ kongOnly: true });
  t.after(() => gw.close(0));
  await gw.admin.call('PUT', '/upstreams/k.upstream', {});
  await gw.admin.call('PUT', '/upstreams/k.upstream/targets/127.0.0.1:5001', { tags: ['gw', 'gw-deployment:old'] });
  const started = Date.now();
  const r = await runAgent([
    'drain',
    '--admin-url',
    gw.adminUrl,
    '--upstream',
    'k.upstream',
    '--deployment',
    'old',
    '--drain-delay',
    '700ms',
    '--timeout',
    '5s',
    '--deregister',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Date.now() - started >= 700);
  assert.equal((await gw.admin.call('GET', '/upstreams/k.upstream/targets/127.0.0.1:5001')).status, 404);
  // a delay longer than the timeout cannot drain in time
  await gw.admin.call('PUT', '/upstreams/k.upstream/targets/127.0.0.1:5002', { tags: ['gw', 'gw-deployment:old'] });
  const late = await runAgent([
    'drain',
    '--admin-url',
    gw.adminUrl,
    '--upstream',
    'k.upstream',
    '--target',
    '127.0.0.1:5002',
    '--drain-delay',
    '5s',
    '--timeout',
    '300ms',
  ]);
  assert.equal(late.code, 1);
  assert.match(late.stderr, /timed out after 300ms/);
});

test('gw-agent drain: usage errors exit 2 with one line naming the flags', async () => {
  const cases: [string[], RegExp][] = [
    [['drain', '--service', 's'], /--service needs --target HOST:PORT or --deployment NAME/],
    [['drain', '--deployment', 'd'], /--deployment needs --upstream or --service/],
    [['drain', '--upstream', 'u', '--service', 's', '--deployment', 'd'], /--upstream and --service: give one of them/],
    [['drain', '--upstream', 'u', '--target', 'nohost', '--admin-url', 'http://127.0.0.1:1'], /--target: expected HOST:PORT, got "nohost"/],
    [['drain', '--upstream', 'u', '--target', 'h:1', '--deployment', 'd'], /--target and --deployment: give one of them/],
    [['drain', '--upstream', 'u', '--target', 'h:1'], /--admin-url: required \(or set GW_ADMIN_URL\)/],
    [['drain', '--timeout', '10 minutes'], /--timeout: expected a duration like 500ms, 30s, 5m or plain seconds, got "10 minutes"/],
    [['drain', '--bogus'], /unknown option '--bogus'/],
  ];
  for (const [args, re] of cases) {
    const r = await runAgent(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
  // commander's own errors read like the others: one line naming the command, with the help hint on it
  assert.equal((await runAgent(['drain', '--bogus'])).stderr, "gw-agent drain: unknown option '--bogus'; see gw-agent drain --help\n");
  const top = await runAgent(['nosuch']);
  assert.deepEqual([top.code, top.stderr], [2, "gw-agent: unknown command 'nosuch'; see gw-agent --help\n"]);
});

test('gw-agent drain --deregister and status work with a registration token scoped to the service (the ECS recipe), and not for another service', async (t) => {
  const ADMIN = 'admin-token-0123456789abcdef';
  const USERS = 'users-registration-token-0123456789';
  const gw = await startTestGateway({ adminToken: ADMIN, registrationTokens: { users: USERS } });
  t.after(() => gw.close(0));
  const admin = new AdminClient(gw.adminUrl, ADMIN);
  const apps = [await startTestApp('old'), await startTestApp('new')];
  t.after(async () => {
    for (const a of apps) await a.close();
  });
  for (const [app, deployment] of [
    [apps[0]!, 'users:41'],
    [apps[1]!, 'users:42'],
  ] as const) {
    const r = await runAgent([
      'register',
      '--admin-url',
      gw.adminUrl,
      '--admin-token',
      USERS,
      '--service',
      'users',
      '--route',
      '/users',
      '--host',
      '127.0.0.1',
      '--port',
      String(app.port),
      '--deployment',
      deployment,
    ]);
    assert.equal(r.code, 0, r.stderr);
  }
  const status = await runAgent(['status', '--admin-url', gw.adminUrl, '--admin-token', USERS, '--service', 'users', '--json']);
  assert.equal(status.code, 0, status.stderr);
  assert.equal((JSON.parse(status.stdout) as { targets: unknown[] }).targets.length, 2);
  const d = await runAgent([
    'drain',
    '--admin-url',
    gw.adminUrl,
    '--admin-token',
    USERS,
    '--service',
    'users',
    '--deployment',
    'users:41',
    '--timeout',
    '10s',
    '--deregister',
  ]);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stderr, /drained 1 target of deployment users:41 .*, deregistered 1 target/);
  const left = (await admin.call<{ data: { target: string }[] }>('GET', '/upstreams/users.upstream/targets')).body.data.map(
    (x) => x.target,
  );
  assert.deepEqual(left, [`127.0.0.1:${apps[1]!.port}`]);
  // the note the drain leaves on the upstream (so a running sidecar does not come back) was written with the scoped token
  const up = await admin.call<{ tags: string[] }>('GET', '/upstreams/users.upstream');
  assert.ok(
    up.body.tags.some((x) => x.startsWith(`gw-drained:127.0.0.1:${apps[0]!.port}@`)),
    up.body.tags.join(' '),
  );
  const other = await runAgent([
    'drain',
    '--admin-url',
    gw.adminUrl,
    '--admin-token',
    USERS,
    '--service',
    'billing',
    '--deployment',
    'b:1',
  ]);
  assert.equal(other.code, 1);
  assert.match(
    other.stderr,
    /^gw-agent drain: the gateway at http:\/\/127\.0\.0\.1:\d+ does not allow this token to GET \/services\/billing \(403\)/,
  );
});
