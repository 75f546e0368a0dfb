import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { childPids } from '../../bench/lib/measure.js';
import { cleanEnv, GATEWAY_CLI as CLI, spawnGatewayCli, spawnGatewayProcess } from '../helpers/gateway.js';
import { deadPort, waitFor } from '../helpers/upstream.js';

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { env: { ...cleanEnv, ...env }, encoding: 'utf8', timeout: 20_000 });
}

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gw-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('--help explains every flag with its env variable and default', () => {
  const r = run(['--help']);
  assert.equal(r.status, 0);
  for (const s of [
    '--proxy-listen',
    'GW_PROXY_LISTEN',
    '0.0.0.0:8000',
    '--admin-listen',
    '127.0.0.1:8001',
    '--admin-token',
    'GW_ADMIN_TOKEN',
    '--store',
    '--data-dir',
    './gw-data',
    '--pg-url',
    '--config',
    'GW_CONFIG',
    '--log-level',
    'GW_LOG_LEVEL',
  ]) {
    assert.ok(r.stdout.includes(s), `help lacks ${s}`);
  }
});

test('bad usage and settings exit 2 with one line naming the problem', () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['--bogus'], {}, /unknown option '--bogus'/],
    [['--admin-listen', '0.0.0.0:8001'], {}, /without --admin-token/],
    [[], { GW_PROXY_LISTEN: 'nope' }, /GW_PROXY_LISTEN: 'nope' is not HOST:PORT/],
    [['--store', 'mysql'], {}, /--store: 'mysql' is invalid/],
    [
      ['--config', '/nonexistent/kong.yml', '--store', 'memory', '--proxy-listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'],
      {},
      /kong\.yml/,
    ],
  ];
  for (const [args, env, re] of cases) {
    const r = run(args, env);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('a declarative file using plugins is refused, naming them', async (t) => {
  const dir = await tempDir(t);
  const f = join(dir, 'kong.yml');
  await writeFile(f, '_format_version: "3.0"\nservices:\n- name: s\n  url: http://x.test\n  plugins:\n  - name: key-auth\n');
  const r = run(['--config', f, '--store', 'memory', '--proxy-listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /key-auth/);
  // top level (JSON): named too, not just 'plugins'
  const top = join(dir, 'kong.json');
  await writeFile(top, '{"_format_version":"3.0","plugins":[{"name":"key-auth"}]}');
  const r2 = run(['--config', top, '--store', 'memory', '--proxy-listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0']);
  assert.equal(r2.status, 2, r2.stderr);
  assert.equal(r2.stderr, `gw-gateway: --config: declarative config ${top} uses what gw does not implement: plugins (key-auth global)\n`);
});

test('the gateway starts with a declarative file, serves the Admin API, and exits 0 on SIGTERM', async (t) => {
  const dir = await tempDir(t);
  const f = join(dir, 'kong.yml');
  await writeFile(
    f,
    '_format_version: "3.0"\nservices:\n- name: svc-a\n  url: http://up-a\n  routes: [{name: r1, paths: ["/a"]}]\nupstreams:\n- name: up-a\n  targets: [{target: "127.10.0.1:8080"}]\n',
  );
  const gw = await spawnGatewayCli(t, ['--config', f, '--data-dir', join(dir, 'data')]);
  const admin = gw.adminUrl;
  const status = await fetch(`${admin}/status`);
  assert.equal(status.status, 200);
  const routes = (await (await fetch(`${admin}/routes`)).json()) as { data: { name: string }[] };
  assert.deepEqual(
    routes.data.map((r) => r.name),
    ['r1'],
  );
  const targets = (await (await fetch(`${admin}/upstreams/up-a/targets`)).json()) as { data: { target: string }[] };
  assert.equal(targets.data[0]!.target, '127.10.0.1:8080');
  assert.equal(await gw.stop(), 0);
  assert.match(gw.out(), /"msg":"gw-gateway ready"/);
});

test('the file store keeps what the Admin API wrote across a restart', async (t) => {
  const dir = await tempDir(t);
  const start = async () => {
    const gw = await spawnGatewayCli(t, ['--data-dir', join(dir, 'data')]);
    return { admin: gw.adminUrl, stop: () => gw.stop() };
  };
  const first = await start();
  const put = await fetch(`${first.admin}/services/kept`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ host: 'kept.test' }),
  });
  assert.equal(put.status, 200);
  await first.stop();
  const second = await start();
  const got = await fetch(`${second.admin}/services/kept`);
  assert.equal(got.status, 200);
  assert.equal(((await got.json()) as { host: string }).host, 'kept.test');
  await second.stop();
});

test('env wins over the settings file; the file fills the rest', async (t) => {
  const dir = await tempDir(t);
  const settings = join(dir, 'gw.yaml');
  const filePort = await deadPort();
  const envPort = await deadPort();
  await writeFile(settings, `adminListen: 127.0.0.1:${filePort}\nstore: memory\nlogLevel: silent\nproxyListen: 127.0.0.1:0\n`);
  const child = spawn(process.execPath, [CLI, '--settings', settings], {
    env: { ...cleanEnv, GW_ADMIN_LISTEN: `127.0.0.1:${envPort}` },
    stdio: 'ignore',
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${envPort}/status`).catch(() => undefined))?.status === 200,
    15_000,
    'env admin port',
  );
  const root = (await (await fetch(`http://127.0.0.1:${envPort}/`)).json()) as { gw: { store: string } };
  assert.equal(root.gw.store, 'memory');
  const exit = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  assert.equal(await exit, 0);
});

test('--workers 2: the control process serves the Admin API, two workers proxy, SIGTERM stops them all with exit 0', async (t) => {
  const adminPort = await deadPort();
  const proxyPort = await deadPort();
  const child = spawn(
    process.execPath,
    [
      CLI,
      '--store',
      'memory',
      '--workers',
      '2',
      '--proxy-listen',
      `127.0.0.1:${proxyPort}`,
      '--admin-listen',
      `127.0.0.1:${adminPort}`,
      '--log-level',
      'silent',
    ],
    { env: cleanEnv, stdio: 'ignore' },
  );
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const admin = `http://127.0.0.1:${adminPort}`;
  await waitFor(async () => (await fetch(`${admin}/status`).catch(() => undefined))?.status === 200, 15_000, 'gateway /status');
  const root = (await (await fetch(`${admin}/`)).json()) as { configuration: { workers: number } };
  assert.equal(root.configuration.workers, 2);
  const workers = childPids(child.pid!);
  assert.equal(workers.length, 2, 'two proxy processes');
  const r = await fetch(`http://127.0.0.1:${proxyPort}/nothing`);
  assert.equal(r.status, 404, 'a worker answers on the proxy port');
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exit, 0);
  for (const pid of workers) assert.throws(() => process.kill(pid, 0), 'worker gone');
});

test('a declarative name clash at start names the file: twice in the file, or against an entity the Admin API made', async (t) => {
  const dir = await tempDir(t);
  const dup = join(dir, 'dup.yml');
  await writeFile(
    dup,
    '_format_version: "3.0"\nservices:\n- name: users\n  host: a.test\nupstreams:\n- name: u\n  targets:\n  - target: 127.0.0.1:1\n  - target: 127.0.0.1:1\n- name: users-2\n- name: u\n',
  );
  const r = run(['--config', dup, '--store', 'memory', '--proxy-listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0']);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`^gw-gateway: --config: cannot load declarative config ${dup.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `),
  );
  assert.match(r.stderr, /upstreams\[2\]: name 'u' is already declared by upstreams\[0\] \(uniqueness violation\)/);
  // given by the env: the error says so
  const missing = join(dir, 'missing.yml');
  const e = run(['--store', 'memory', '--proxy-listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'], { GW_CONFIG: missing });
  assert.equal(e.status, 2, e.stderr);
  assert.match(
    e.stderr,
    new RegExp(`^gw-gateway: GW_CONFIG: cannot load declarative config ${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: ENOENT`),
  );
  assert.match(r.stderr, /upstreams\[0\]\.targets\[1\]: target '127\.0\.0\.1:1' is already declared by upstreams\[0\]\.targets\[0\]/);

  // the file store has a service 'users' made through the Admin API (another id); the file declares one too
  const data = join(dir, 'data');
  const gw = await spawnGatewayCli(t, ['--data-dir', data]);
  const admin = gw.adminUrl;
  const put = await fetch(`${admin}/services/users`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ host: 'by-hand.test' }),
  });
  assert.equal(put.status, 200);
  assert.equal(await gw.stop(), 0);
  const file = join(dir, 'kong.yml');
  await writeFile(file, '_format_version: "3.0"\nservices:\n- name: users\n  host: from-file.test\n');
  const clash = run(['--config', file, '--data-dir', data, '--proxy-listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0']);
  assert.equal(clash.status, 2, clash.stderr);
  assert.equal(clash.stderr.trim().split('\n').length, 1, clash.stderr);
  assert.ok(
    clash.stderr.startsWith(
      `gw-gateway: --config: cannot load declarative config ${file}: services with name 'users': the store already has one with that name and another id`,
    ),
    clash.stderr,
  );
});

test('repeatable flags reach their setting (commander names them after the flag, singular): --registration-token, --cloudmap-namespace', () => {
  // each is refused for a reason only its own value can cause: proof the flag was read
  const tok = run(['--store', 'memory', '--registration-token', 'users=short']);
  assert.equal(tok.status, 2, tok.stderr);
  assert.match(tok.stderr, /--registration-token: the token of service 'users' must be 16 or more/);
  const ns = run(['--store', 'memory', '--cloudmap-namespace', 'ok.local', '--cloudmap-namespace', 'bad_ns!', '--aws-region', 'eu-west-1']);
  assert.equal(ns.status, 2, ns.stderr);
  assert.match(ns.stderr, /--cloudmap-namespace: 'bad_ns!' is not a namespace name/);
  const region = run(['--store', 'memory', '--cloudmap-namespace', 'ok.local'], { AWS_REGION: '' });
  assert.equal(region.status, 2, region.stderr);
  assert.match(region.stderr, /needs a region \(--aws-region or AWS_REGION\)/);
});

/** One line on stderr, no stack trace. */
function assertOneLine(r: { stderr: string; stdout: string }, what: string): void {
  assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: ${r.stderr}`);
  assert.ok(!r.stderr.includes('    at ') && !r.stdout.includes('    at '), `${what}: a stack trace: ${r.stderr}`);
}

const LOCAL = ['--proxy-listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--log-level', 'warn'];

test('SIGTERM or SIGINT before ready (the database is awaited) abandons the start: exit 0, its connection closed', async (t) => {
  // a "database" that accepts TCP and never answers: the gateway stays in its wait for PostgreSQL
  const sockets = new Set<Socket>();
  let connected: () => void = () => undefined;
  const db = createServer((s) => {
    s.resume();
    s.on('error', () => undefined);
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    connected();
  });
  await new Promise<void>((r) => db.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const s of sockets) s.destroy();
    db.close();
  });
  const port = (db.address() as AddressInfo).port;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const first = new Promise<void>((r) => (connected = r));
    const gw = spawnGatewayProcess(t, [
      '--store',
      'postgres',
      '--pg-url',
      `postgres://gw:secret@127.0.0.1:${port}/gw`,
      ...LOCAL.slice(0, 4),
      '--log-level',
      'info',
    ]);
    await first; // connected, waiting for an answer that never comes: not ready
    gw.child.kill(signal);
    assert.deepEqual(await gw.exit, [0, null], `${signal}: ${gw.out()}${gw.err()}`);
    assert.match(gw.out(), new RegExp(`"signal":"${signal}","msg":"stopping before ready`));
    assert.match(gw.out(), /"msg":"stopped before ready"/);
    assert.doesNotMatch(gw.out(), /gw-gateway ready/);
    assert.equal(gw.err(), '');
    await waitFor(() => sockets.size === 0, 10_000, `${signal}: the database connection is closed`);
  }
});

test('--data-dir that cannot be used: one line naming the flag (or GW_DATA_DIR) and the reason, exit 2', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'a-file');
  await writeFile(file, 'x');
  const cases: [string[], Record<string, string>, string][] = [
    [['--data-dir', file], {}, `gw-gateway: invalid setting: --data-dir ${file}: it is a file, not a directory`],
    [
      ['--data-dir', join(file, 'sub')],
      {},
      `gw-gateway: invalid setting: --data-dir ${join(file, 'sub')}: a part of the path is a file, not a directory`,
    ],
    [[], { GW_DATA_DIR: file }, `gw-gateway: invalid setting: GW_DATA_DIR ${file}: it is a file, not a directory`],
  ];
  // a directory even root cannot make (node's own recursive mkdir never returns there)
  if (process.platform === 'linux')
    cases.push([
      ['--data-dir', '/proc/gw-no-such/data'],
      {},
      'gw-gateway: invalid setting: --data-dir /proc/gw-no-such/data: cannot create it (ENOENT)',
    ]);
  for (const [args, env, line] of cases) {
    const r = run([...args, ...LOCAL], env);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assertOneLine(r, args.join(' '));
    assert.equal(r.stderr, `${line}\n`);
  }
});

test('listen addresses: a host that is no IP or name is refused before any resolver is asked; a bind failure names the setting', async (t) => {
  for (const [args, env, re] of [
    [
      ['--proxy-listen', 'no such host:8000'],
      {},
      /^gw-gateway: invalid setting: --proxy-listen: 'no such host:8000' is invalid \('no such host' is not an IP address or host name/,
    ],
    [[], { GW_PROXY_LISTEN: '-x.test:8000' }, /^gw-gateway: invalid setting: GW_PROXY_LISTEN: '-x\.test:8000' is invalid/],
  ] as [string[], Record<string, string>, RegExp][]) {
    const r = run(['--store', 'memory', '--admin-listen', '127.0.0.1:0', ...args], env);
    assert.equal(r.status, 2, r.stderr);
    assertOneLine(r, args.join(' '));
    assert.match(r.stderr, re);
  }
  // a port already taken: the same path a host name that does not resolve takes (GW_ERR_LISTEN_FAILED)
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  t.after(() => busy.close());
  const addr = `127.0.0.1:${(busy.address() as AddressInfo).port}`;
  for (const [args, env, name] of [
    [['--proxy-listen', addr, '--admin-listen', '127.0.0.1:0'], {}, '--proxy-listen'],
    [['--proxy-listen', '127.0.0.1:0'], { GW_ADMIN_LISTEN: addr }, 'GW_ADMIN_LISTEN'],
  ] as [string[], Record<string, string>, string][]) {
    const r = run(['--store', 'memory', '--log-level', 'warn', ...args], env);
    assert.equal(r.status, 1, r.stderr);
    assertOneLine(r, name);
    assert.equal(r.stderr, `gw-gateway: ${name} ${addr}: cannot listen (EADDRINUSE: the address is in use)\n`);
  }
});

test('a value from an env variable is named by that variable in its error, as a flag is by the flag', async (t) => {
  const dir = await tempDir(t);
  const missing = join(dir, 'no-such-dir', 'f');
  const memory = ['--store', 'memory', ...LOCAL];
  const cases: [string[], Record<string, string>, string][] = [
    [memory, { GW_ACCESS_LOG: missing }, `gw-gateway: invalid setting: GW_ACCESS_LOG ${missing}: cannot open it for appending (ENOENT)`],
    [memory, { GW_AUDIT_LOG: missing }, `gw-gateway: invalid setting: GW_AUDIT_LOG ${missing}: cannot open it for appending (ENOENT)`],
    [memory, { GW_SETTINGS: missing }, `gw-gateway: invalid setting: GW_SETTINGS ${missing}: cannot read it (ENOENT)`],
    [LOCAL, { GW_STORE: 'postgres' }, `gw-gateway: invalid setting: GW_STORE: 'postgres' needs --pg-url (GW_PG_URL)`],
  ];
  for (const [args, env, line] of cases) {
    const r = run(args, env);
    assert.equal(r.status, 2, `${JSON.stringify(env)}: ${r.stderr}`);
    assertOneLine(r, JSON.stringify(env));
    assert.equal(r.stderr, `${line}\n`);
  }
  // the flag twin still names the flag
  const flag = run(['--store', 'memory', '--access-log', missing, ...LOCAL]);
  assert.equal(flag.stderr, `gw-gateway: invalid setting: --access-log ${missing}: cannot open it for appending (ENOENT)\n`);
});

test("commander's usage errors read like the others: one line 'gw-gateway: …; see gw-gateway --help', exit 2", () => {
  for (const [args, line] of [
    [['--bogus'], "unknown option '--bogus'"],
    [['--stor', 'memory'], "unknown option '--stor' (did you mean --store?)"],
    [['--store'], "option '--store <value>' argument missing"],
    [['extra'], 'too many arguments. Expected 0 arguments but got 1'],
  ] as [string[], string][]) {
    const r = run(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, `gw-gateway: ${line}; see gw-gateway --help\n`);
    assert.equal(r.stdout, '');
  }
});

test('a corrupt file store: one line naming the file and what to do, exit 2, and the lease file is left as it was', async (t) => {
  const dir = await tempDir(t);
  const data = join(dir, 'data');
  await mkdir(data);
  const snapshot = join(data, 'gw-store.snapshot.json');
  await writeFile(snapshot, 'not json\nat all\n');
  const leases = '{"format":1,"leases":{"t1":123}}';
  await writeFile(join(data, 'gw-leases.json'), leases);
  const r = run(['--data-dir', data, ...LOCAL]);
  assert.equal(r.status, 2, r.stderr);
  assertOneLine(r, 'corrupt snapshot');
  assert.ok(r.stderr.startsWith(`gw-gateway: store file ${snapshot} is unreadable: not JSON (`), r.stderr);
  assert.ok(
    r.stderr.endsWith(`; restore the data directory ${data} from a backup, or move it away to start with an empty store\n`),
    r.stderr,
  );
  assert.equal(await readFile(join(data, 'gw-leases.json'), 'utf8'), leases);
});
