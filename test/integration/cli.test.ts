import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { childPids } from '../../bench/lib/measure.js';
import { cleanEnv, GATEWAY_CLI as CLI, spawnGatewayCli } from '../helpers/gateway.js';
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
  assert.equal(r2.stderr, `gw-gateway: declarative config ${top} uses what gw does not implement: plugins (key-auth global)\n`);
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
  assert.match(r.stderr, new RegExp(`^gw-gateway: cannot load declarative config ${dup.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));
  assert.match(r.stderr, /upstreams\[2\]: name 'u' is already declared by upstreams\[0\] \(uniqueness violation\)/);
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
      `gw-gateway: cannot load declarative config ${file}: services with name 'users': the store already has one with that name and another id`,
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
