import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const DEMO = fileURLToPath(new URL('../../examples/demo/run.js', import.meta.url));

test(
  'npm run demo: gateway, three instances (SDK and sidecar), a rolling deploy and a kill -9, with zero failed requests, in under 60 s',
  { timeout: 90_000 },
  async () => {
    const started = Date.now();
    const p = spawn(process.execPath, [DEMO], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((r) => p.on('close', (c) => r(c)));
    assert.equal(code, 0, `demo failed:\n${out}\n${err}`);
    assert.ok(Date.now() - started < 60_000);
    assert.match(out, /v1-c \(gw-agent run sidecar, deployment v1\) registered/);
    assert.match(out, /v1-a \(register\(\) in the app, deployment v1\) registered/);
    assert.equal((out.match(/stopped with SIGTERM: drained and deregistered in \d+ ms \(exit 0\)/g) ?? []).length, 3);
    assert.match(out, /crash: kill -9 v2-a/);
    assert.match(out, /gateway removed v2-a's target \d+ ms after the crash/);
    assert.match(out, /TARGET\s+DEPLOYMENT\s+WEIGHT\s+STATE\s+IN-FLIGHT\s+LEASE-LEFT/);
    const m = /requests: (\d+), failed: (\d+)/.exec(out);
    assert.ok(m, out);
    assert.equal(Number(m[2]), 0);
    assert.ok(Number(m[1]) > 100);
  },
);
