import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { accessLine, createAccessLog, ms } from '../../../../gateway/src/observability/access-log.js';
import { PIPE_BUF, pieceEnd } from '../../../../gateway/src/observability/stdout-writer.js';
import { RequestRecord } from '../../../../gateway/src/observability/request-record.js';
import type { Route, Service } from '../../../../gateway/src/entities/types.js';

const req = (url: string) => ({ method: 'GET', url, socket: { remoteAddress: '::ffff:127.0.0.1' } });

test('an access line is one valid JSON object whatever the path and names hold; no query string', () => {
  const rec = new RequestRecord('id-1', 0, 0);
  rec.route = { id: 'r', name: 'r "quoted"\n' } as Route;
  rec.service = { id: 's', name: null } as Service;
  rec.status = 200;
  rec.totalMs = 1.23456;
  rec.addTarget('[::1]:80');
  const line = accessLine(rec, req('/p"a\\th/\u2028é?token=secret'), new Date(0));
  assert.ok(line.endsWith('}\n') && !line.slice(0, -1).includes('\n'));
  const o = JSON.parse(line) as Record<string, unknown>;
  assert.deepEqual(o, {
    level: 'info',
    time: '1970-01-01T00:00:00.000Z',
    log: 'access',
    request_id: 'id-1',
    client_ip: '::ffff:127.0.0.1',
    method: 'GET',
    path: '/p"a\\th/\u2028é',
    status: 200,
    bytes_in: 0,
    bytes_out: 0,
    service: 's',
    route: 'r "quoted"\n',
    targets: ['[::1]:80'],
    tries: 1,
    latency_ms: { total: 1.235 },
    source: 'kong',
  });
});

test('the FILE writer keeps every line whole and in order across many batches, and close() waits for them', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gw-access-unit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'a.log');
  const log = createAccessLog(file)!;
  const long = 'x'.repeat(5000); // lines longer than PIPE_BUF too
  for (let i = 0; i < 3000; i++) {
    const rec = new RequestRecord(`id-${i}`, 0, 0);
    log.finished(rec, req(i % 100 === 0 ? `/${long}` : `/n/${i}`));
    if (i % 500 === 0) await new Promise((r) => setImmediate(r));
  }
  await log.close();
  const lines = (await readFile(file, 'utf8')).split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, 3000);
  lines.forEach((l, i) => assert.equal((JSON.parse(l) as { request_id: string }).request_id, `id-${i}`));
  assert.equal(log.dropped, 0);
});

test('latencies are printed with three decimals from integer arithmetic, and read back as the rounded number', () => {
  assert.equal(ms(1.2345), '1.235');
  assert.equal(ms(2.5), '2.500');
  assert.equal(ms(12.05), '12.050');
  assert.equal(ms(0.0004), '0.000');
  assert.equal(ms(0.0306), '0.031');
  assert.equal(ms(7), '7.000');
  assert.equal(ms(3_000_000.5), '3000000.5'); // beyond the integer fast path
  for (let i = 0; i < 2000; i++) {
    const v = ((i * 7919) % 100_000) / 997;
    assert.equal(Number(ms(v)), Math.round(v * 1000) / 1000, String(v));
  }
});

test('the names of a route are cached per route entity but follow a change of service or upstream', () => {
  const route = { id: 'r', name: 'main' } as Route;
  const line = (service: Service, upstream: string | null) => {
    const rec = new RequestRecord('id', 0, 0);
    rec.route = route;
    rec.service = service;
    rec.upstream = upstream;
    return JSON.parse(accessLine(rec, req('/'), new Date(0))) as Record<string, unknown>;
  };
  const a = { id: 'a', name: 'svc-a' } as Service;
  const b = { id: 'b', name: 'svc-"b"' } as Service;
  assert.deepEqual([line(a, 'up-1').service, line(a, 'up-1').upstream], ['svc-a', 'up-1']);
  assert.deepEqual([line(b, 'up-1').service, line(b, 'up-1').upstream], ['svc-"b"', 'up-1']);
  assert.deepEqual([line(b, null).service, line(b, null).upstream], ['svc-"b"', undefined]);
});

test("stdout into a slow pipe: access lines whole and in order, never mixed with another writer's lines on that pipe", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gw-access-pipe-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'stdout.fifo');
  const out = join(dir, 'out.txt');
  execFileSync('mkfifo', [fifo]);
  // a reader slower than the writers (4 KiB a millisecond), so the pipe fills and writers block
  const reader = spawn(
    process.execPath,
    [
      '-e',
      `const fs = require('fs'); const fd = fs.openSync(process.argv[1], 'r'); const o = fs.openSync(process.argv[2], 'w');
       const b = Buffer.alloc(4096); const z = new Int32Array(new SharedArrayBuffer(4)); let n;
       while ((n = fs.readSync(fd, b)) > 0) { fs.writeSync(o, b, 0, n); Atomics.wait(z, 0, 0, 1); }`,
      fifo,
      out,
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<number | null>((r) => reader.once('exit', (code) => r(code)));
  t.after(() => reader.kill('SIGKILL'));
  const fd = openSync(fifo, 'w'); // once the reader has opened it
  const log = createAccessLog('stdout', { stdoutFd: fd })!;
  const long = 'y'.repeat(3000); // long lines, still under PIPE_BUF: each one atomic
  for (let i = 0; i < 6000; i++) {
    log.finished(new RequestRecord(`id-${i}`, 0, 0), req(i % 50 === 0 ? `/${long}` : `/n/${i}`));
    // the gateway's own log lines: synchronous writes from this thread to the same pipe
    if (i % 10 === 0) writeSync(fd, `{"level":"warn","msg":"other ${i}"}\n`);
    // spread over a few hundred ms, so these writes meet the writer thread's
    if (i % 100 === 0) await new Promise((r) => setTimeout(r, 2));
  }
  await log.close();
  closeSync(fd);
  assert.equal(await exited, 0);
  const lines = (await readFile(out, 'utf8')).split('\n');
  assert.equal(lines.pop(), '');
  const parsed = lines.map((l) => JSON.parse(l) as { request_id?: string; msg?: string });
  const access = parsed.filter((p) => p.request_id !== undefined).map((p) => p.request_id);
  assert.equal(access.length, 6000);
  access.forEach((id, i) => assert.equal(id, `id-${i}`));
  assert.equal(parsed.filter((p) => p.msg?.startsWith('other ')).length, 600);
  assert.equal(log.dropped, 0);
});

test('stdout pieces: whole lines, at most PIPE_BUF bytes unless one line is longer', () => {
  const lines = Array.from({ length: 400 }, (_, i) => `${'z'.repeat((i * 37) % 900)}${i}\n`).join('') + `${'w'.repeat(9000)}\n` + 'tail\n';
  const buf = Buffer.from(lines);
  const pieces: Buffer[] = [];
  for (let off = 0; off < buf.length;) {
    const end = pieceEnd(buf, off);
    pieces.push(buf.subarray(off, end));
    off = end;
  }
  assert.equal(Buffer.concat(pieces).toString(), lines);
  for (const p of pieces) {
    assert.equal(p.at(-1), 10, 'ends at a line end');
    assert.ok(p.length <= PIPE_BUF || !p.subarray(0, -1).includes(10), 'over PIPE_BUF only as a single line');
  }
  assert.ok(pieces.length > 10);
});
