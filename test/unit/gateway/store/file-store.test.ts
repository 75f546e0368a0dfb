import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseEntity } from '../../../../gateway/src/entities/index.js';
import type { AnyEntity } from '../../../../gateway/src/entities/types.js';
import { isGwError } from '../../../../gateway/src/errors.js';
import { FileStore, STORE_FILE } from '../../../../gateway/src/store/file.js';

function service(name: string): AnyEntity {
  const r = parseEntity('services', { name, host: `${name}.test` }, { mode: 'create', now: 1_700_000_000 });
  assert.ok(r.ok);
  return r.value as unknown as AnyEntity;
}

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gw-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('entities survive a close and reopen of the file store', async (t) => {
  const dir = await tempDir(t);
  const a = new FileStore(dir);
  await a.open();
  await a.apply([{ op: 'put', kind: 'services', entity: service('one') }]);
  await a.apply([{ op: 'put', kind: 'services', entity: service('two') }]);
  await a.close();
  const b = new FileStore(dir);
  await b.open();
  assert.deepEqual(b.all('services').map((s) => s.name), ['one', 'two']);
});

test('concurrent applies are all durable', async (t) => {
  const dir = await tempDir(t);
  const a = new FileStore(dir);
  await a.open();
  await Promise.all(Array.from({ length: 50 }, (_, i) => a.apply([{ op: 'put', kind: 'services', entity: service(`s${i}`) }])));
  const b = new FileStore(dir);
  await b.open();
  assert.equal(b.all('services').length, 50);
});

test('a writer killed mid-write leaves the previous state readable', async (t) => {
  const dir = await tempDir(t);
  const a = new FileStore(dir);
  await a.open();
  await a.apply([{ op: 'put', kind: 'services', entity: service('kept') }]);
  await a.close();
  // a child process opens the same store and writes a large state in a loop; kill it mid-way
  const storeUrl = new URL('../../../../gateway/src/store/file.js', import.meta.url).href;
  const script = `
    const { FileStore } = await import(${JSON.stringify(storeUrl)});
    const s = new FileStore(${JSON.stringify(dir)});
    await s.open();
    const big = 'x'.repeat(200000);
    process.stdout.write('ready\\n');
    for (let i = 0; ; i++) {
      await s.apply([{ op: 'put', kind: 'services', entity: { id: crypto.randomUUID(), name: 'big' + i, host: 'h.test', tags: [big], retries: 5, protocol: 'http', port: 80, path: null, connect_timeout: 1, write_timeout: 1, read_timeout: 1, client_certificate: null, tls_verify: null, tls_verify_depth: null, ca_certificates: null, enabled: true, created_at: 1, updated_at: 1 } }]);
    }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  // let it get into a few writes of multi-megabyte files, then kill it hard
  await new Promise((r) => setTimeout(r, 300));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const b = new FileStore(dir);
  await b.open(); // must not throw: the file is either the old or a complete new state
  assert.ok(b.all('services').some((s) => s.name === 'kept'));
  const leftovers = (await readdir(dir)).filter((f) => f !== STORE_FILE);
  assert.deepEqual(leftovers, []);
});

test('a truncated temp file from a crash is ignored and cleaned', async (t) => {
  const dir = await tempDir(t);
  const a = new FileStore(dir);
  await a.open();
  await a.apply([{ op: 'put', kind: 'services', entity: service('kept') }]);
  await writeFile(join(dir, `${STORE_FILE}.tmp-999-1`), '{"format":1,"state":{"serv');
  const b = new FileStore(dir);
  await b.open();
  assert.deepEqual(b.all('services').map((s) => s.name), ['kept']);
  assert.deepEqual(await readdir(dir), [STORE_FILE]);
});

test('a corrupt store file is refused by name, never silently emptied', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, STORE_FILE), '{not json');
  const s = new FileStore(dir);
  await assert.rejects(s.open(), (err) => isGwError(err) && err.code === 'GW_ERR_STORE_CORRUPT' && err.message.includes(STORE_FILE));
  assert.equal(await readFile(join(dir, STORE_FILE), 'utf8'), '{not json');
});

test('deleting an upstream cascades to its targets and emits events for both', async (t) => {
  const dir = await tempDir(t);
  const s = new FileStore(dir);
  await s.open();
  const up = parseEntity('upstreams', { name: 'up' }, { mode: 'create', now: 1 });
  assert.ok(up.ok);
  const upstream = up.value as unknown as AnyEntity;
  const tg = parseEntity('targets', { target: '10.0.0.1:80', upstream: { id: upstream.id } }, { mode: 'create', now: 1 });
  assert.ok(tg.ok);
  await s.apply([
    { op: 'put', kind: 'upstreams', entity: upstream },
    { op: 'put', kind: 'targets', entity: tg.value as unknown as AnyEntity },
  ]);
  const seen: string[] = [];
  s.subscribe((events) => seen.push(...events.map((e) => `${e.op}:${e.kind}`)));
  await s.apply([{ op: 'delete', kind: 'upstreams', id: upstream.id }]);
  assert.deepEqual(seen, ['delete:targets', 'delete:upstreams']);
  assert.equal(s.all('targets').length, 0);
});
