import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { accessLine, createAccessLog, ms } from '../../../../gateway/src/observability/access-log.js';
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
