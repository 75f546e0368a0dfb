import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseEntity } from '../../../../gateway/src/entities/index.js';
import type { AnyEntity } from '../../../../gateway/src/entities/types.js';
import { isGwError } from '../../../../gateway/src/errors.js';
import { FileStore, LEASE_FILE, LOG_FILE, SNAPSHOT_FILE } from '../../../../gateway/src/store/file.js';

/** what a store directory holds (format 2) */
const STORE_FILES = new Set([SNAPSHOT_FILE, LOG_FILE, LEASE_FILE]);

function service(name: string): AnyEntity {
  const r = parseEntity('services', { name, host: `${name}.test` }, { mode: 'create', now: 1_700_000_000 });
  assert.ok(r.ok);
  return r.value as unknown as AnyEntity;
}

/** the stores a test made, closed when it ends (an unclosed store leaves its log file handle to the GC) */
const made = new Set<FileStore>();

function fileStore(...args: ConstructorParameters<typeof FileStore>): FileStore {
  const s = new FileStore(...args);
  made.add(s);
  return s;
}

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gw-store-'));
  t.after(async () => {
    for (const s of made) await s.close();
    made.clear();
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

test('entities survive a close and reopen of the file store', async (t) => {
  const dir = await tempDir(t);
  const a = fileStore(dir);
  await a.open();
  await a.apply([{ op: 'put', kind: 'services', entity: service('one') }]);
  await a.apply([{ op: 'put', kind: 'services', entity: service('two') }]);
  await a.close();
  const b = fileStore(dir);
  await b.open();
  assert.deepEqual(
    b.all('services').map((s) => s.name),
    ['one', 'two'],
  );
});

test('concurrent applies are all durable', async (t) => {
  const dir = await tempDir(t);
  const a = fileStore(dir);
  await a.open();
  await Promise.all(Array.from({ length: 50 }, (_, i) => a.apply([{ op: 'put', kind: 'services', entity: service(`s${i}`) }])));
  const b = fileStore(dir);
  await b.open();
  assert.equal(b.all('services').length, 50);
});

test('a writer killed mid-write leaves the previous state readable', async (t) => {
  const dir = await tempDir(t);
  const a = fileStore(dir);
  await a.open();
  await a.apply([{ op: 'put', kind: 'services', entity: service('kept') }]);
  await a.close();
  // a child process opens the same store and appends large records in a loop; kill it mid-way
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
  // let it get into a few appends of 200 kB records, then kill it hard
  await new Promise((r) => setTimeout(r, 300));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const b = fileStore(dir);
  await b.open(); // must not throw: a torn last record is ignored
  assert.ok(b.all('services').some((s) => s.name === 'kept'));
  assert.ok(b.all('services').length > 1, 'the records the writer completed are kept');
  const leftovers = (await readdir(dir)).filter((f) => !STORE_FILES.has(f));
  assert.deepEqual(leftovers, []);
  // and the store keeps working after the cut
  await b.apply([{ op: 'put', kind: 'services', entity: service('after') }]);
  await b.close();
  const c = fileStore(dir);
  await c.open();
  assert.ok(c.all('services').some((s) => s.name === 'after'));
});

test('a truncated temp file from a crash is ignored and cleaned', async (t) => {
  const dir = await tempDir(t);
  const a = fileStore(dir);
  await a.open();
  await a.apply([{ op: 'put', kind: 'services', entity: service('kept') }]);
  await a.close();
  await writeFile(join(dir, `${SNAPSHOT_FILE}.tmp-999-1`), '{"format":2,"state":{"serv');
  const b = fileStore(dir);
  await b.open();
  assert.deepEqual(
    b.all('services').map((s) => s.name),
    ['kept'],
  );
  assert.deepEqual(
    (await readdir(dir)).filter((f) => !STORE_FILES.has(f)),
    [],
  );
});

test('a corrupt store file is refused by name, never silently emptied', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, SNAPSHOT_FILE), '{not json');
  const s = fileStore(dir);
  await assert.rejects(s.open(), (err) => isGwError(err) && err.code === 'GW_ERR_STORE_CORRUPT' && err.message.includes(SNAPSHOT_FILE));
  assert.equal(await readFile(join(dir, SNAPSHOT_FILE), 'utf8'), '{not json');
});

test('deleting an upstream cascades to its targets and emits events for both', async (t) => {
  const dir = await tempDir(t);
  const s = fileStore(dir);
  await s.open();
  const up = parseEntity('upstreams', { name: 'up' }, { mode: 'create', now: 1 });
  assert.ok(up.ok);
  const upstream = up.value as unknown as AnyEntity;
  const tg = parseEntity('targets', { target: '127.0.0.1:80', upstream: { id: upstream.id } }, { mode: 'create', now: 1 });
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

test('a format-1 gw-store.json is migrated to the snapshot + log format and keeps working', async (t) => {
  const dir = await tempDir(t);
  const up = parseEntity('upstreams', { name: 'up' }, { mode: 'create', now: 1 });
  assert.ok(up.ok);
  const upstream = up.value as unknown as AnyEntity;
  const tg = parseEntity('targets', { target: '127.0.0.1:80', upstream: { id: upstream.id }, ttl: 30 }, { mode: 'create', now: 5000 });
  assert.ok(tg.ok);
  const target = { ...(tg.value as unknown as AnyEntity), upstream: { id: upstream.id } } as AnyEntity;
  const legacy = { format: 1, state: { services: [service('old')], routes: [], upstreams: [upstream], targets: [target] } };
  await writeFile(join(dir, 'gw-store.json'), JSON.stringify(legacy));
  const a = fileStore(dir, { now: () => 5010 });
  await a.open();
  assert.deepEqual(
    a.all('services').map((s) => s.name),
    ['old'],
  );
  assert.equal(a.all('targets').length, 1);
  assert.equal(a.leaseOf(target.id), 5030, 'format 1 leases ran from updated_at');
  assert.ok(a.revision > 0);
  const files = await readdir(dir);
  assert.ok(files.includes(SNAPSHOT_FILE));
  assert.ok(files.includes('gw-store.json.migrated'), 'the old file is kept aside');
  assert.ok(!files.includes('gw-store.json'));
  await a.apply([{ op: 'put', kind: 'services', entity: service('new') }]);
  await a.close();
  const b = fileStore(dir, { now: () => 5020 });
  await b.open();
  assert.deepEqual(
    b.all('services').map((s) => s.name),
    ['old', 'new'],
  );
  assert.equal(b.getTarget(upstream.id, '127.0.0.1:80')?.id, target.id);
});

test('a torn last log record is ignored; a bad record in the middle is refused as corrupt', async (t) => {
  const dir = await tempDir(t);
  const a = fileStore(dir);
  await a.open();
  await a.apply([{ op: 'put', kind: 'services', entity: service('one') }]);
  await a.apply([{ op: 'put', kind: 'services', entity: service('two') }]);
  await a.close();
  const log = join(dir, LOG_FILE);
  const good = await readFile(log, 'utf8');
  await writeFile(log, `${good}{"r":3,"at":1,"c":[["p","services",{"id":"x`);
  const b = fileStore(dir);
  await b.open();
  assert.deepEqual(
    b.all('services').map((s) => s.name),
    ['one', 'two'],
  );
  await b.close();
  assert.equal(await readFile(log, 'utf8'), good, 'the torn tail was cut off');
  const lines = good.split('\n');
  await writeFile(log, `${lines[0]}\n{garbage\n${lines[1]}\n`);
  const c = fileStore(dir);
  await assert.rejects(c.open(), (err) => isGwError(err) && err.code === 'GW_ERR_STORE_CORRUPT' && err.message.includes(LOG_FILE));
});

test('the log is compacted into the snapshot once it outgrows it; nothing is lost', async (t) => {
  const dir = await tempDir(t);
  const a = fileStore(dir, { compactBytes: 4096 });
  await a.open();
  for (let i = 0; i < 60; i++) await a.apply([{ op: 'put', kind: 'services', entity: service(`s${i}`) }]);
  const { size } = await import('node:fs/promises').then((fs) => fs.stat(join(dir, LOG_FILE)));
  assert.ok(size < 60 * 300, `log compacted (${size} bytes)`);
  await a.close();
  const b = fileStore(dir);
  await b.open();
  assert.equal(b.all('services').length, 60);
  assert.equal(b.revision, a.revision);
});
