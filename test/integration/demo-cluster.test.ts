import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import pg from 'pg';

const DEMO = fileURLToPath(new URL('../../examples/demo-cluster/run.js', import.meta.url));

test(
  'npm run demo:cluster: three nodes on PostgreSQL, a rolling deploy, a node killed with SIGKILL and the database cut for 5 s, with zero failed requests',
  { timeout: 150_000 },
  async () => {
    const p = spawn(process.execPath, [DEMO], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((r) => p.on('close', (c) => r(c)));
    assert.equal(code, 0, `demo failed:\n${out}\n${err}`);
    assert.match(out, /three gateway nodes up: node-a proxy http:\/\/127\.0\.0\.1:\d+, node-b/);
    assert.match(out, /v1-b \(deployment v1\) registered through node-b/);
    assert.equal((out.match(/stopped with SIGTERM: drained and deregistered in \d+ ms/g) ?? []).length, 3);
    assert.match(out, /crash: kill -9 node-c/);
    assert.match(out, /admin write during the cut: 503 \{"message":"database unavailable: /);
    assert.match(out, /targets registered before the cut: 3, after: 3/);
    assert.match(out, /v2-d registered through node-b after the outage is served through node-a/);
    const m = /requests: (\d+), failed: (\d+)/.exec(out);
    assert.ok(m, out);
    assert.equal(Number(m[2]), 0);
    assert.ok(Number(m[1]) > 200, out);
    const line = /served by node: (.*)/.exec(out)?.[1] ?? '';
    for (const n of ['node-a', 'node-b', 'node-c']) assert.match(line, new RegExp(`${n} [1-9]\\d*`), `${n} served requests: ${line}`);
    // the demo drops the database it created
    const dbName = /database (gw_demo_\w+) on/.exec(out)![1]!;
    const c = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
    await c.connect();
    try {
      const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
      assert.equal(r.rowCount, 0, `${dbName} was dropped`);
    } finally {
      await c.end();
    }
  },
);
