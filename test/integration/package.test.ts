// The installable package (issue 14): `npm pack` of this repository, installed
// with `npm install <tgz>` into an empty app, runs both bins and both library
// entries. The Dockerfile's install step is this same flow.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';

const execFileP = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GW_') && !k.startsWith('npm_')));

test(
  'npm pack → npm install <tgz> in an empty app: gw-gateway --help, gw-agent --help, register and startGateway import and run',
  { timeout: 240_000 },
  async (t) => {
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string>; files: string[] };
    assert.match(pkg.scripts.prepack ?? '', /npm run build/, 'npm pack from a fresh clone builds dist/ first');

    const dir = await mkdtemp(join(tmpdir(), 'gw-pack-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    // dist/ is already built by `npm test`; --ignore-scripts skips a second tsc run
    const packed = await execFileP(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: root,
      env,
      maxBuffer: 16 << 20,
    });
    const info = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    const files = info[0]!.files.map((f) => f.path);
    assert.ok(
      files.includes('dist/gateway/src/cli.js') &&
        files.includes('dist/agent/src/cli.js') &&
        files.includes('dist/sdk/src/index.js') &&
        files.includes('dist/contract/src/tags.js'),
      'the entry points and the contract they import are packed',
    );
    assert.ok(
      !files.some((f) => f.startsWith('dist/test/') || f.startsWith('gateway/src/')),
      'no tests or TypeScript sources in the package',
    );
    const tgz = join(
      dir,
      (await readdir(dir)).find((f) => f.endsWith('.tgz'))!,
    );

    const app = join(dir, 'app');
    await execFileP('mkdir', ['-p', app]);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'empty-app', private: true, type: 'module' }));
    await execFileP(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', '--omit=dev', tgz], {
      cwd: app,
      env,
      maxBuffer: 16 << 20,
    });

    const bin = (name: string) => join(app, 'node_modules', '.bin', name);
    const gw = await execFileP(process.execPath, [bin('gw-gateway'), '--help'], { cwd: app, env });
    assert.match(gw.stdout, /Usage: gw-gateway/);
    const agent = await execFileP(process.execPath, [bin('gw-agent'), '--help'], { cwd: app, env });
    assert.match(agent.stdout, /Usage: gw-agent/);

    const script = `
    import { register } from 'gw-agent';
    import { startGateway } from 'gw-agent/gateway';
    if (typeof register !== 'function') throw new Error('register is not exported');
    const gw = await startGateway({ store: 'memory', proxyListen: '127.0.0.1:0', adminListen: '127.0.0.1:0', logLevel: 'silent' });
    const status = await fetch(gw.adminUrl + '/status');
    await gw.close();
    console.log(JSON.stringify({ status: status.status }));
  `;
    const run = await execFileP(process.execPath, ['--input-type=module', '-e', script], { cwd: app, env });
    assert.deepEqual(JSON.parse(run.stdout.trim().split('\n').at(-1)!), { status: 200 });
  },
);
