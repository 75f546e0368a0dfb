import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { register } from '../../sdk/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { deadPort } from '../helpers/upstream.js';
import { CLI, runAgent } from './agent-helpers.js';

interface TargetBody {
  target: string;
  weight: number;
  tags: string[];
  ttl?: number | null;
}

const COMMANDS = ['run', 'drain', 'register', 'deregister', 'status', 'reap', 'promote', 'rollback'];

test('gw-agent --help and every command --help exit 0 with examples; no command or an unknown one exits 2', async () => {
  const top = await runAgent(['--help']);
  assert.equal(top.code, 0);
  for (const c of COMMANDS) assert.match(top.stdout, new RegExp(`\\n  ${c} `), c);
  for (const c of COMMANDS) {
    const r = await runAgent([c, '--help']);
    assert.equal(r.code, 0, c);
    assert.match(r.stdout, /Examples:\n {2}gw-agent /, c);
  }
  const none = await runAgent([]);
  assert.equal(none.code, 2);
  const unknown = await runAgent(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  const version = await runAgent(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+/);
});

test('gw-agent register is one-shot (no lease unless --ttl, the process exits); deregister drains and deletes; both idempotent', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close(0));
  const base = ['--admin-url', gw.adminUrl, '--service', 'users', '--host', '127.0.0.1'];
  const r = await runAgent([
    'register',
    ...base,
    '--route',
    '/users',
    '--port',
    '4001',
    '--deployment',
    'users:7',
    '--instance-id',
    'arn:aws:ecs:task/abc',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stderr,
    'gw-agent register: registered 127.0.0.1:4001 in upstream users.upstream of service users (gw, deployment users:7, no lease)\n',
  );
  const t1 = (await gw.admin.call<TargetBody>('GET', '/upstreams/users.upstream/targets/127.0.0.1:4001')).body;
  assert.equal(t1.ttl ?? null, null, 'no lease without --ttl');
  assert.ok(t1.tags.includes('gw-deployment:users:7'));
  assert.equal((await gw.admin.call<{ paths: string[] }>('GET', '/routes/users-users')).body.paths[0], '/users');

  const leased = await runAgent(['register', ...base, '--port', '4002', '--ttl', '5m', '--json']);
  assert.equal(leased.code, 0, leased.stderr);
  const out = JSON.parse(leased.stdout) as { target: string; ttl: number; gateway: string };
  assert.deepEqual([out.target, out.ttl, out.gateway], ['127.0.0.1:4002', 300, 'gw']);
  assert.equal((await gw.admin.call<TargetBody>('GET', '/upstreams/users.upstream/targets/127.0.0.1:4002')).body.ttl, 300);

  const again = await runAgent(['register', ...base, '--port', '4001', '--deployment', 'users:7', '--instance-id', 'arn:aws:ecs:task/abc']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((await gw.admin.call<{ data: unknown[] }>('GET', '/upstreams/users.upstream/targets')).body.data.length, 2);

  const d = await runAgent(['deregister', '--admin-url', gw.adminUrl, '--service', 'users', '--target', '127.0.0.1:4001', '--json']);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stderr, /^gw-agent deregister: deregistered 127\.0\.0\.1:4001 from upstream users\.upstream \(drained in \d+ms\)\n$/);
  assert.equal((JSON.parse(d.stdout) as { deregistered: boolean }).deregistered, true);
  assert.equal((await gw.admin.call('GET', '/upstreams/users.upstream/targets/127.0.0.1:4001')).status, 404);
  const d2 = await runAgent(['deregister', '--admin-url', gw.adminUrl, '--service', 'users', '--host', '127.0.0.1', '--port', '4001']);
  assert.equal(d2.code, 0);
  assert.match(d2.stderr, /nothing to do: 127\.0\.0\.1:4001 is not in upstream users\.upstream/);
  const now = await runAgent([
    'deregister',
    '--admin-url',
    gw.adminUrl,
    '--upstream',
    'users.upstream',
    '--target',
    '127.0.0.1:4002',
    '--now',
  ]);
  assert.equal(now.code, 0, now.stderr);
  assert.match(now.stderr, /without draining/);
  assert.equal((await gw.admin.call('GET', '/services/users')).status, 200, 'the service stays');
});

test('settings: a flag beats its GW_* env twin, which beats the --config file, which beats the default; bad files and values exit 2 naming them', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close(0));
  const dir = mkdtempSync(join(tmpdir(), 'gw-agent-'));
  const file = join(dir, 'agent.yaml');
  writeFileSync(file, `admin-url: ${gw.adminUrl}\nservice: cfg\nport: 1111\nweight: 7\nhost: 127.0.0.1\nroutes: [/from-file]\n`);
  const r = await runAgent(['register', '--config', file, '--weight', '9'], { GW_PORT: '2222' });
  assert.equal(r.code, 0, r.stderr);
  const tg = await gw.admin.call<TargetBody>('GET', '/upstreams/cfg.upstream/targets/127.0.0.1:2222');
  assert.equal(tg.status, 200, 'env GW_PORT over the file');
  assert.equal(tg.body.weight, 9, 'flag over the file');
  assert.equal((await gw.admin.call('GET', '/routes/cfg-from-file')).status, 200);
  // the config file can also come from GW_AGENT_CONFIG
  const viaEnv = await runAgent(['register', '--port', '3333'], { GW_AGENT_CONFIG: file });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);

  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'service: x\ncolour: red\n');
  const r1 = await runAgent(['register', '--config', bad]);
  assert.equal(r1.code, 2);
  assert.equal(r1.stderr, `gw-agent register: --config ${bad}: unknown setting(s) colour\n`);
  const typo = join(dir, 'typo.yaml');
  writeFileSync(typo, `admin-url: ${gw.adminUrl}\nservice: x\nport: 80000\n`);
  const r2 = await runAgent(['register', '--config', typo]);
  assert.equal(r2.code, 2);
  assert.match(
    r2.stderr,
    new RegExp(
      `--port \\(from --port in --config ${typo.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\): expected an integer from 1 to 65535, got "80000"`,
    ),
  );
  const missing = await runAgent(['register', '--config', join(dir, 'nope.yaml')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--config .*nope\.yaml: cannot read it \(ENOENT\)/);
  const noUrl = await runAgent(['register', '--service', 'x', '--port', '1']);
  assert.equal(noUrl.code, 2);
  assert.match(noUrl.stderr, /--admin-url: required \(or set GW_ADMIN_URL\)/);
});

test('an unreachable gateway: register gives up after --timeout with exit 1; status names --admin-url', async () => {
  const port = await deadPort();
  const url = `http://127.0.0.1:${port}`;
  const r = await runAgent(['register', '--admin-url', url, '--service', 'x', '--host', '127.0.0.1', '--port', '1', '--timeout', '500ms']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^gw-agent register: could not register x within 500 ms/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  const s = await runAgent(['status', '--admin-url', url, '--service', 'x']);
  assert.equal(s.code, 1);
  assert.match(s.stderr, new RegExp(`^gw-agent status: GET /: cannot reach the Admin API at ${url} \\(--admin-url\\): ECONNREFUSED\\n$`));
});

test('gw-agent status: a table of targets (deployment, weight, state, in-flight, lease left) and --json', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close(0));
  const base = ['register', '--admin-url', gw.adminUrl, '--service', 'orders', '--host', '127.0.0.1'];
  assert.equal((await runAgent([...base, '--port', '5001', '--deployment', 'orders:1', '--ttl', '60s'])).code, 0);
  assert.equal((await runAgent([...base, '--port', '5002', '--deployment', 'orders:2'])).code, 0);
  await gw.admin.call('PATCH', '/upstreams/orders.upstream/targets/127.0.0.1:5002', { weight: 0 });
  const s = await runAgent(['status', '--admin-url', gw.adminUrl, '--service', 'orders']);
  assert.equal(s.code, 0, s.stderr);
  const lines = s.stdout.trim().split('\n');
  assert.equal(lines[0], 'upstream orders.upstream (gw): 2 targets');
  assert.match(lines[1]!, /^TARGET\s+DEPLOYMENT\s+WEIGHT\s+STATE\s+IN-FLIGHT\s+LEASE-LEFT$/);
  assert.match(
    lines[2]!,
    /^127\.0\.0\.1:5001\s+orders:1\s+100\s+healthy\s+0\s+(?:(?:[1-9]|[1-5]\d)s|1m0s)$/,
    'lease left: what is left of the 60 s ttl, 1m0s when none of it has passed yet (agent processes start slowly on a busy machine)',
  );
  assert.match(lines[3]!, /^127\.0\.0\.1:5002\s+orders:2\s+0\s+draining\s+0\s+-$/);
  const j = await runAgent(['status', '--admin-url', gw.adminUrl, '--upstream', 'orders.upstream', '--json']);
  assert.equal(j.code, 0, j.stderr);
  const body = JSON.parse(j.stdout) as {
    upstream: string;
    gateway: string;
    targets: { target: string; deployment: string; state: string; in_flight: number; lease_left_ms: number | null }[];
  };
  assert.equal(body.gateway, 'gw');
  assert.deepEqual(
    body.targets.map((x) => [x.target, x.deployment, x.state, x.in_flight]),
    [
      ['127.0.0.1:5001', 'orders:1', 'healthy', 0],
      ['127.0.0.1:5002', 'orders:2', 'draining', 0],
    ],
  );
  const left = body.targets[0]!.lease_left_ms!;
  assert.ok(left > 0 && left <= 60_000, `lease left ${left} ms of a 60 s ttl`);
  const unknown = await runAgent(['status', '--admin-url', gw.adminUrl, '--service', 'nope']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /--service nope: no such service/);
});

test('gw-agent reap against a Kong-only gateway removes gw targets unhealthy for --reap-after, and nothing else', async (t) => {
  const gw = await startTestGateway({ kongOnly: true });
  t.after(() => gw.close(0));
  const base = ['register', '--admin-url', gw.adminUrl, '--service', 'legacy', '--host', '127.0.0.1'];
  for (const p of ['6001', '6002', '6003']) assert.equal((await runAgent([...base, '--port', p])).code, 0);
  // Kong only takes manual health changes on an upstream with a health checker (here: passive checks)
  assert.equal(
    (await gw.admin.call('PATCH', '/upstreams/legacy.upstream', { healthchecks: { passive: { unhealthy: { http_failures: 3 } } } })).status,
    200,
  );
  // a target someone added by hand (no gw tag) is never reaped
  await gw.admin.call('POST', '/upstreams/legacy.upstream/targets', { target: '127.0.0.1:6009' });
  for (const tg of ['127.0.0.1:6001', '127.0.0.1:6003', '127.0.0.1:6009']) {
    assert.equal((await gw.admin.call('PUT', `/upstreams/legacy.upstream/targets/${tg}/unhealthy`)).status, 204, tg);
  }
  const list = async () =>
    (await gw.admin.call<{ data: { target: string }[] }>('GET', '/upstreams/legacy.upstream/targets')).body.data
      .map((x) => x.target)
      .sort();

  const started = Date.now();
  const r = await runAgent([
    'reap',
    '--admin-url',
    gw.adminUrl,
    '--service',
    'legacy',
    '--reap-after',
    '1s',
    '--interval',
    '200ms',
    '--json',
  ]);
  const took = Date.now() - started;
  assert.equal(r.code, 0, r.stderr);
  assert.ok(took >= 1000, `waited ${took} ms for --reap-after 1s`);
  assert.equal(
    r.stderr,
    'gw-agent reap: removed 2 targets of upstream legacy.upstream (unhealthy for 1s): 127.0.0.1:6001, 127.0.0.1:6003\n',
  );
  assert.deepEqual(await list(), ['127.0.0.1:6002', '127.0.0.1:6009']);
  const sweeps = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; reaped: string[] });
  assert.ok(sweeps.length >= 3, 'looked several times');
  assert.deepEqual(sweeps.at(-1), {
    event: 'done',
    upstream: 'legacy.upstream',
    reaped: ['127.0.0.1:6001', '127.0.0.1:6003'],
    still_unhealthy: [],
  });

  // --reap-after 0: what is unhealthy now, in one look; nothing unhealthy → stops at once
  const healthyOnly = await runAgent(['reap', '--admin-url', gw.adminUrl, '--upstream', 'legacy.upstream', '--reap-after', '10m']);
  assert.equal(healthyOnly.code, 0);
  assert.match(healthyOnly.stderr, /nothing to reap: no gw target of upstream legacy\.upstream was unhealthy for 10m0s\n$/);
  await gw.admin.call('PUT', '/upstreams/legacy.upstream/targets/127.0.0.1:6002/unhealthy');
  const now = await runAgent(['reap', '--admin-url', gw.adminUrl, '--upstream', 'legacy.upstream', '--reap-after', '0']);
  assert.equal(now.code, 0, now.stderr);
  assert.match(now.stderr, /removed 1 target of upstream legacy\.upstream \(unhealthy now\): 127\.0\.0\.1:6002/);
  assert.deepEqual(await list(), ['127.0.0.1:6009']);

  const usage = await runAgent(['reap', '--admin-url', gw.adminUrl, '--service', 'legacy']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--reap-after: required \(or set GW_REAP_AFTER\)/);
});

test('gw-agent promote and rollback switch a blue-green service between deployments through the SDK', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close(0));
  const silent = pino({ level: 'silent' });
  const common = {
    adminUrl: gw.adminUrl,
    service: 'shop',
    routes: ['/shop'],
    host: '127.0.0.1',
    mode: 'blue-green' as const,
    handleSignals: false,
    logger: silent,
    onShutdown: () => undefined,
    drainDelay: 10,
  };
  const blue = await register({ ...common, port: 7001, deployment: 'shop:1', instanceId: 'blue-1' });
  const green = await register({ ...common, port: 7002, deployment: 'shop:2', instanceId: 'green-1', promoteWhen: 'manual' });
  t.after(async () => {
    await blue.close();
    await green.close();
  });
  const host = async () => (await gw.admin.call<{ host: string }>('GET', '/services/shop')).body.host;
  assert.equal(await host(), blue.upstream);

  const p = await runAgent(['promote', '--admin-url', gw.adminUrl, '--service', 'shop', '--deployment', 'shop:2', '--json']);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(await host(), green.upstream);
  assert.deepEqual(JSON.parse(p.stdout), { service: 'shop', upstream: green.upstream, previous: blue.upstream, changed: true });
  assert.equal(
    p.stderr,
    `gw-agent promote: promoted deployment shop:2: service shop now uses upstream ${green.upstream} (was ${blue.upstream})\n`,
  );
  const again = await runAgent(['promote', '--admin-url', gw.adminUrl, '--service', 'shop', '--deployment', 'shop:2']);
  assert.equal(again.code, 0);
  assert.match(again.stderr, /nothing to change/);

  const rb = await runAgent(['rollback', '--admin-url', gw.adminUrl, '--service', 'shop']);
  assert.equal(rb.code, 0, rb.stderr);
  assert.equal(await host(), blue.upstream);
  assert.match(rb.stderr, /rolled back: service shop now uses upstream/);

  const unknown = await runAgent(['promote', '--admin-url', gw.adminUrl, '--service', 'shop', '--deployment', 'shop:9']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^gw-agent promote: unknown deployment "shop:9" of service "shop".*\(GW_ERR_SDK_UNKNOWN_DEPLOYMENT\)\n$/);
  const usage = await runAgent(['promote', '--admin-url', gw.adminUrl, '--service', 'shop']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--deployment: required/);

  // drain by deployment finds the blue-green deployment's own upstream
  const d = await runAgent(['drain', '--admin-url', gw.adminUrl, '--service', 'shop', '--deployment', 'shop:2', '--timeout', '5s']);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stderr, new RegExp(`drained 1 target of deployment shop:2 in upstream ${green.upstream.replace(/\./g, '\\.')}`));
});

test('--weight 0 registers a target that takes no traffic; --route help names its env twin once; a bad or missing admin token is one clear line', async (t) => {
  const TOKEN = 'admin-token-0123456789abcdef';
  const gw = await startTestGateway({ adminToken: TOKEN });
  t.after(() => gw.close(0));
  const r = await runAgent([
    'register',
    '--admin-url',
    gw.adminUrl,
    '--admin-token',
    TOKEN,
    '--service',
    'w0',
    '--route',
    '/w0',
    '--host',
    '127.0.0.1',
    '--port',
    '4100',
    '--weight',
    '0',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await gw.admin.call<TargetBody>('GET', '/upstreams/w0.upstream/targets/127.0.0.1:4100')).body.weight, 0);
  const neg = await runAgent(['register', '--admin-url', gw.adminUrl, '--service', 'w0', '--port', '4100', '--weight', '-1']);
  assert.equal(neg.code, 2);
  assert.match(neg.stderr, /--weight: expected an integer from 0 to 65535, got "-1"/);
  await assert.doesNotReject(
    register({
      adminUrl: gw.adminUrl,
      adminToken: TOKEN,
      service: 'w0',
      host: '127.0.0.1',
      port: 4101,
      weight: 0,
      keepAlive: false,
      handleSignals: false,
      logger: pino({ level: 'silent' }),
    }),
  );

  const help = await runAgent(['run', '--help']);
  const lines = help.stdout.split('\n');
  const at = lines.findIndex((l) => l.includes('--route <path>'));
  const next = lines.findIndex((l, i) => i > at && /^ {2}--/.test(l));
  const line = lines.slice(at, next).join(' ');
  assert.equal(line.match(/\(env/g)?.length, 1, line);
  assert.match(line, /\(env: GW_ROUTES\)/);

  const wrong = await runAgent(['status', '--admin-url', gw.adminUrl, '--admin-token', 'not-the-token', '--service', 'w0']);
  assert.equal(wrong.code, 1);
  assert.equal(
    wrong.stderr,
    `gw-agent status: the gateway refused the admin token (401: Unauthorized) at ${gw.adminUrl}; check --admin-token / GW_ADMIN_TOKEN\n`,
  );
  const none = await runAgent(['drain', '--admin-url', gw.adminUrl, '--service', 'w0', '--deployment', 'd']);
  assert.equal(none.code, 1);
  assert.equal(
    none.stderr,
    `gw-agent drain: the gateway at ${gw.adminUrl} needs an admin token (401: Unauthorized); give --admin-token or set GW_ADMIN_TOKEN\n`,
  );
});

test("a refused token (401, 403) or a refused registration (400) fails at once, not after --timeout: one line naming the status and the gateway's message, exit 1, in every command", async (t) => {
  const ADMIN = 'admin-token-refusals-0123456789';
  const USERS = 'users-registration-token-0123';
  const SEARCH = 'search-registration-token-0123';
  const gw = await startTestGateway({ adminToken: ADMIN, registrationTokens: { users: USERS, search: SEARCH } });
  t.after(() => gw.close(0));
  const url = gw.adminUrl;
  const reg = ['register', '--admin-url', url, '--service', 'users', '--host', '127.0.0.1', '--port', '4200', '--deployment', 'users:1'];
  assert.equal((await runAgent([...reg, '--admin-token', ADMIN])).code, 0);
  const token401 = `the gateway refused the admin token (401: Unauthorized) at ${url}; check --admin-token / GW_ADMIN_TOKEN`;
  const search403 = (request: string) =>
    `the gateway at ${url} does not allow this token to ${request} (403): Forbidden: a registration token for service 'search' may not ${request}: only service 'search' is in scope; a registration token covers one service only (check --admin-token / GW_ADMIN_TOKEN)`;
  /** Run; a refusal must not wait for the (10 minute) retry deadline. */
  const refused = async (args: string[], env: Record<string, string> = {}) => {
    const started = Date.now();
    const r = await runAgent(args, env);
    const ms = Date.now() - started;
    assert.equal(r.code, 1, `${args.join(' ')}: exit 1; stderr: ${r.stderr}`);
    assert.ok(ms < 30_000, `${args.join(' ')}: failed at once (${ms} ms), not after retrying`);
    assert.doesNotMatch(r.stderr, /within|timed out/, args.join(' '));
    return r.stderr;
  };
  const register = [...reg, '--timeout', '10m'];
  assert.equal(
    await refused([...register, '--admin-token', 'not-the-token']),
    `gw-agent register: could not register users: ${token401}\n`,
  );
  assert.equal(
    await refused(register, { GW_ADMIN_TOKEN: 'not-the-token' }),
    `gw-agent register: could not register users: ${token401}\n`,
    'the token from env',
  );
  assert.equal(
    await refused(register),
    `gw-agent register: could not register users: the gateway at ${url} needs an admin token (401: Unauthorized); give --admin-token or set GW_ADMIN_TOKEN\n`,
  );
  assert.equal(
    await refused([...register, '--admin-token', SEARCH]),
    `gw-agent register: could not register users: ${search403('GET /services/users')}\n`,
  );
  // a validation error (400) is refused at once too, with the request, the status and the gateway's message
  assert.match(
    await refused([...register, '--admin-token', USERS, '--host', 'bad!host']),
    /^gw-agent register: the gateway refused to register users: PUT \/upstreams\/users\.upstream\/targets\/\S+: gateway answered 400 \(schema violation \(target: [^\n]+\)\)\n$/,
  );

  const commands = [
    ['drain', '--service', 'users', '--deployment', 'users:1', '--timeout', '10m'],
    ['drain', '--upstream', 'users.upstream', '--target', '127.0.0.1:4200', '--timeout', '10m'],
    ['deregister', '--service', 'users', '--target', '127.0.0.1:4200', '--drain-timeout', '10m'],
    ['status', '--service', 'users'],
    ['reap', '--service', 'users', '--reap-after', '10m'],
    ['promote', '--service', 'users', '--deployment', 'users:1'],
    ['rollback', '--service', 'users'],
  ];
  for (const c of commands) {
    const base = [c[0]!, '--admin-url', url, ...c.slice(1)];
    assert.equal(await refused([...base, '--admin-token', 'not-the-token']), `gw-agent ${c[0]}: ${token401}\n`);
    assert.match(
      await refused([...base, '--admin-token', SEARCH]),
      new RegExp(
        `^gw-agent ${c[0]}: the gateway at ${url.replace(/[.]/g, '\\.')} does not allow this token to [^\n]+ \\(403\\): Forbidden: a registration token for service 'search' [^\n]+; a registration token covers one service only \\(check --admin-token / GW_ADMIN_TOKEN\\)\n$`,
      ),
    );
  }
  const target = await gw.admin.call<TargetBody>('GET', '/upstreams/users.upstream/targets/127.0.0.1:4200');
  assert.deepEqual([target.status, target.body.weight], [200, 100], 'nothing refused changed the target');
});

test('gw-agent --help into a pipe closed early (| head -1) exits 0 without an EPIPE stack', async () => {
  for (let i = 0; i < 3; i++) {
    const p = spawn(process.execPath, [CLI, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.destroy(); // the reader is gone before the help is written
    let stderr = '';
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => p.on('exit', resolve));
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /EPIPE|Error/);
  }
});
