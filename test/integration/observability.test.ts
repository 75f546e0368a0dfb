/**
 * Kong-compatible Prometheus series and the access log, on a real gateway
 * and real upstreams: one proxied 200, one 404 (no route), one 502 the
 * gateway answered itself, then `/metrics` and the access-log FILE.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { startGateway } from '../../gateway/src/gateway.js';
import { isGwError } from '../../gateway/src/errors.js';
import { AdminClient, spawnGatewayCli, startTestGateway } from '../helpers/gateway.js';
import { deadPort, startUpstream, waitFor } from '../helpers/upstream.js';

interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text → samples. */
function parseProm(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The samples of `name` whose labels include `labels`. */
const find = (samples: PromSample[], name: string, labels: Record<string, string> = {}): PromSample[] =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

/** Send `raw` on a fresh connection (the request closes it); resolves with the whole response's byte count and text. */
function rawRequest(url: string, raw: string): Promise<{ bytes: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect(Number(port), hostname, () => s.write(raw));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', reject);
    s.on('end', () => {
      const b = Buffer.concat(chunks);
      resolve({ bytes: b.length, text: b.toString('latin1') });
    });
  });
}

const lines = async (file: string): Promise<Record<string, unknown>[]> =>
  (await readFile(file, 'utf8').catch(() => ''))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('Kong prometheus series and the access log: a proxied 200, a 404 without a route, a 502 the gateway answered', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gw-access-'));
  const file = join(dir, 'access.log');
  const up = await startUpstream('echo');
  const dead = await deadPort();
  const gw = await startTestGateway({ accessLog: file, healthTickMs: 25 });
  let closed = false;
  t.after(async () => {
    if (!closed) await gw.close(0);
    await up.close();
    await rm(dir, { recursive: true, force: true });
  });
  const admin = gw.admin;
  assert.equal((await admin.call('PUT', '/upstreams/echo.up', {})).status, 200);
  assert.equal((await admin.call('POST', '/upstreams/echo.up/targets', { target: up.address })).status, 201);
  assert.equal((await admin.call('PUT', '/services/echo', { host: 'echo.up' })).status, 200);
  assert.equal((await admin.call('PUT', '/routes/r-echo', { paths: ['/echo'], service: { name: 'echo' } })).status, 200);
  // passive checks: the one failed try marks the target unhealthy
  assert.equal(
    (await admin.call('PUT', '/upstreams/dead.up', { healthchecks: { passive: { unhealthy: { tcp_failures: 1 } } } })).status,
    200,
  );
  assert.equal((await admin.call('POST', '/upstreams/dead.up/targets', { target: `127.0.0.1:${dead}` })).status, 201);
  assert.equal((await admin.call('PUT', '/services/dead', { host: 'dead.up', retries: 0 })).status, 200);
  assert.equal((await admin.call('PUT', '/routes/r-dead', { paths: ['/dead'], service: { name: 'dead' } })).status, 200);
  let readyTries = 0;
  await waitFor(
    async () => {
      readyTries++;
      const r = await request(`${gw.proxyUrl}/echo/ready`);
      await r.body.dump();
      return r.statusCode === 200;
    },
    5_000,
    'route r-echo routable',
  );

  // raw requests, so that the bytes each way are known exactly
  const post =
    'POST /echo/items?token=secret-query HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello';
  const ok = await rawRequest(gw.proxyUrl, post);
  assert.match(ok.text, /^HTTP\/1\.1 200 /);
  const noRoute = 'GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';
  const nf = await rawRequest(gw.proxyUrl, noRoute);
  assert.match(nf.text, /^HTTP\/1\.1 404 /);
  const bad = await request(`${gw.proxyUrl}/dead/x`);
  assert.equal(bad.statusCode, 502);
  const badId = bad.headers['x-gw-request-id'];
  await bad.body.dump();

  // ---- /metrics
  await waitFor(
    async () => {
      const m = parseProm(await (await fetch(`${gw.adminUrl}/metrics`)).text());
      return find(m, 'kong_upstream_target_health', { upstream: 'dead.up', state: 'unhealthy' })[0]?.value === 1;
    },
    5_000,
    'dead.up target unhealthy in kong_upstream_target_health',
  );
  const res = await fetch(`${gw.adminUrl}/metrics`);
  assert.equal(res.status, 200);
  const m = parseProm(await res.text());
  const kongLabels = { workspace: 'default', consumer: '' };
  // the readiness request plus the POST
  assert.equal(
    find(m, 'kong_http_requests_total', { service: 'echo', route: 'r-echo', code: '200', source: 'service', ...kongLabels })[0]?.value,
    2,
  );
  assert.equal(
    find(m, 'kong_http_requests_total', { service: 'dead', route: 'r-dead', code: '502', source: 'kong', ...kongLabels })[0]?.value,
    1,
  );
  for (const s of find(m, 'kong_http_requests_total'))
    assert.deepEqual(Object.keys(s.labels).sort(), ['code', 'consumer', 'route', 'service', 'source', 'workspace']);
  // Kong's exporter records nothing without a route; gw_* counts it
  assert.equal(find(m, 'kong_http_requests_total', { code: '404' }).length, 0);
  assert.equal(find(m, 'gw_http_requests_total', { service: '', route: '', status: '404' })[0]?.value, readyTries);

  // histograms: Kong's names, labels and buckets
  const les = (name: string) =>
    find(m, `${name}_bucket`, { service: 'echo', route: 'r-echo', workspace: 'default' }).map((s) => s.labels.le);
  assert.deepEqual(les('kong_kong_latency_ms'), [
    '1',
    '2',
    '5',
    '7',
    '10',
    '15',
    '20',
    '30',
    '50',
    '75',
    '100',
    '200',
    '500',
    '750',
    '1000',
    '3000',
    '6000',
    '+Inf',
  ]);
  const upstreamBuckets = ['25', '50', '80', '100', '250', '400', '700', '1000', '2000', '5000', '10000', '30000', '60000', '+Inf'];
  assert.deepEqual(les('kong_upstream_latency_ms'), upstreamBuckets);
  assert.deepEqual(les('kong_request_latency_ms'), upstreamBuckets);
  const count = (name: string, service: string) => find(m, `${name}_count`, { service, workspace: 'default' })[0]?.value;
  assert.equal(count('kong_request_latency_ms', 'echo'), 2);
  assert.equal(count('kong_upstream_latency_ms', 'echo'), 2);
  assert.equal(count('kong_kong_latency_ms', 'echo'), 2);
  // the gateway answered the 502 itself: a total and a gateway latency, no upstream latency
  assert.equal(count('kong_request_latency_ms', 'dead'), 1);
  assert.equal(count('kong_kong_latency_ms', 'dead'), 1);
  assert.equal(count('kong_upstream_latency_ms', 'dead') ?? 0, 0);
  for (const s of find(m, 'kong_request_latency_ms_bucket', { service: 'echo', le: '+Inf' })) assert.equal(s.value, 2);

  const bw = (direction: string) =>
    find(m, 'kong_bandwidth_bytes', { service: 'echo', route: 'r-echo', direction, ...kongLabels })[0]?.value ?? 0;
  assert.ok(bw('ingress') >= Buffer.byteLength(post), `ingress ${bw('ingress')}`);
  assert.ok(bw('egress') >= ok.bytes, `egress ${bw('egress')}`);

  const health = (upstream: string) =>
    Object.fromEntries(find(m, 'kong_upstream_target_health', { upstream, subsystem: 'http' }).map((s) => [s.labels.state, s.value]));
  assert.deepEqual(health('echo.up'), { healthchecks_off: 1, healthy: 0, unhealthy: 0, dns_error: 0 });
  assert.deepEqual(health('dead.up'), { healthchecks_off: 0, healthy: 0, unhealthy: 1, dns_error: 0 });
  const t0 = find(m, 'kong_upstream_target_health', { upstream: 'echo.up', state: 'healthchecks_off' })[0]!;
  assert.equal(t0.labels.target, up.address);
  assert.equal(t0.labels.address, up.address);
  assert.equal(find(m, 'kong_datastore_reachable')[0]?.value, 1);
  assert.equal(find(m, 'kong_node_info')[0]?.value, 1);

  // ---- the access log: flushed on close
  await gw.close(1_000);
  closed = true;
  const got = await lines(file);
  assert.equal(got.length, readyTries + 3, JSON.stringify(got));
  for (const l of got) {
    assert.equal(l.log, 'access');
    assert.match(String(l.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.match(String(l.request_id), /^[0-9a-f]{32}$/);
    assert.equal(l.client_ip, '127.0.0.1');
    assert.equal(typeof (l.latency_ms as { total: number }).total, 'number');
  }
  type Line = Record<string, unknown> & { latency_ms: { upstream?: number; gateway: number; total: number } };
  const [okLine, nfLine, badLine] = got.slice(-3) as Line[];
  assert.deepEqual(
    {
      method: okLine!.method,
      path: okLine!.path,
      status: okLine!.status,
      service: okLine!.service,
      route: okLine!.route,
      upstream: okLine!.upstream,
      targets: okLine!.targets,
      tries: okLine!.tries,
      source: okLine!.source,
      error: okLine!.error,
    },
    {
      method: 'POST',
      path: '/echo/items',
      status: 200,
      service: 'echo',
      route: 'r-echo',
      upstream: 'echo.up',
      targets: [up.address],
      tries: 1,
      source: 'service',
      error: undefined,
    },
  );
  // exact byte counts: the raw request sent, the raw response received
  assert.equal(okLine!.bytes_in, Buffer.byteLength(post));
  assert.equal(okLine!.bytes_out, ok.bytes);
  assert.ok(
    okLine!.latency_ms.upstream! >= 0 && okLine!.latency_ms.gateway >= 0 && okLine!.latency_ms.total >= okLine!.latency_ms.upstream!,
  );
  assert.deepEqual(
    {
      method: nfLine!.method,
      path: nfLine!.path,
      status: nfLine!.status,
      service: nfLine!.service,
      route: nfLine!.route,
      tries: nfLine!.tries,
      source: nfLine!.source,
      error: nfLine!.error,
    },
    {
      method: 'GET',
      path: '/nowhere',
      status: 404,
      service: undefined,
      route: undefined,
      tries: 0,
      source: 'kong',
      error: 'GW_ERR_PROXY_NO_ROUTE',
    },
  );
  assert.equal(nfLine!.bytes_in, Buffer.byteLength(noRoute));
  assert.equal(nfLine!.bytes_out, nf.bytes);
  assert.deepEqual(
    {
      request_id: badLine!.request_id,
      status: badLine!.status,
      service: badLine!.service,
      route: badLine!.route,
      upstream: badLine!.upstream,
      targets: badLine!.targets,
      tries: badLine!.tries,
      source: badLine!.source,
      error: badLine!.error,
    },
    {
      request_id: badId,
      status: 502,
      service: 'dead',
      route: 'r-dead',
      upstream: 'dead.up',
      targets: [`127.0.0.1:${dead}`],
      tries: 1,
      source: 'kong',
      error: 'GW_ERR_PROXY_BAD_RESPONSE',
    },
  );
  assert.equal(badLine!.latency_ms.upstream, undefined);
  assert.ok(badLine!.latency_ms.gateway >= 0);
  const text = await readFile(file, 'utf8');
  for (const secret of ['secret-query', 'hello', 'text/plain']) assert.ok(!text.includes(secret), `${secret} leaked into the access log`);
});

test('access log with --workers 2: each worker appends its own lines to the FILE; kong_* series summed over the workers', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gw-access-w-'));
  const file = join(dir, 'access.log');
  const up = await startUpstream('echo');
  const gw = await startTestGateway({ workers: 2, accessLog: file, healthTickMs: 25 });
  let closed = false;
  t.after(async () => {
    if (!closed) await gw.close(0);
    await up.close();
    await rm(dir, { recursive: true, force: true });
  });
  assert.equal((await gw.admin.call('PUT', '/services/w', { url: `http://${up.address}` })).status, 200);
  assert.equal((await gw.admin.call('PUT', '/routes/rw', { paths: ['/w'], service: { name: 'w' } })).status, 200);
  const get = async (): Promise<number> => {
    const r = await request(`${gw.proxyUrl}/w`, { reset: true });
    await r.body.dump();
    return r.statusCode;
  };
  await waitFor(async () => (await get()) === 200, 5_000, 'routable through the workers');
  const statuses = await Promise.all(Array.from({ length: 30 }, get));
  assert.ok(
    statuses.every((s) => s === 200),
    String(statuses),
  );
  const scrape = async () => parseProm(await (await fetch(`${gw.adminUrl}/metrics`)).text());
  const total = (m: PromSample[]) =>
    find(m, 'kong_http_requests_total', { service: 'w', route: 'rw', code: '200', source: 'service' })[0]?.value ?? 0;
  // the readiness probes may have been more than one
  const served = total(await scrape());
  assert.ok(served >= 31, `kong_http_requests_total ${served}`);
  await gw.close(1_000);
  closed = true;
  const got = await lines(file);
  assert.equal(got.length, served, 'one line per request, none torn');
  assert.ok(got.every((l) => l.log === 'access' && l.status === 200 && l.route === 'rw'));
});

test('--access-log off writes nothing; the default (stdout) writes one line per request and flushes it on SIGTERM', async (t) => {
  const up = await startUpstream('echo');
  t.after(() => up.close());
  const runCli = async (extra: string[]): Promise<string> => {
    const gw = await spawnGatewayCli(t, ['--store', 'memory', '--audit-log', 'off', ...extra]);
    const admin = new AdminClient(gw.adminUrl);
    assert.equal((await admin.call('PUT', '/services/s', { url: `http://${up.address}` })).status, 200);
    assert.equal((await admin.call('PUT', '/routes/r', { paths: ['/s'], service: { name: 's' } })).status, 200);
    await waitFor(
      async () => {
        const r = await request(`${gw.proxyUrl}/s`);
        await r.body.dump();
        return r.statusCode === 200;
      },
      5_000,
      'route routable',
    );
    const r = await request(`${gw.proxyUrl}/nothing-here`);
    await r.body.dump();
    assert.equal(r.statusCode, 404);
    assert.equal(await gw.stop(), 0);
    assert.match(gw.out(), /"msg":"gw-gateway ready"/);
    return gw.out();
  };
  const off = await runCli(['--access-log', 'off']);
  assert.ok(!off.includes('"log":"access"'), off);
  const on = await runCli([]);
  const access = on
    .split('\n')
    .filter((l) => l.includes('"log":"access"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(access.length >= 2, on);
  assert.deepEqual(access.at(-1)!.status, 404);
  assert.deepEqual(access.at(-1)!.path, '/nothing-here');
});

test('an --access-log FILE that cannot be opened stops the start, naming the flag', async () => {
  const missing = join(tmpdir(), `gw-no-such-dir-${process.pid}`, 'access.log');
  for (const workers of [1, 2]) {
    await assert.rejects(
      startGateway({ store: 'memory', accessLog: missing, workers }),
      (err: unknown) => isGwError(err) && err.message.includes(`--access-log ${missing}: cannot open it for appending (ENOENT)`),
    );
  }
});
