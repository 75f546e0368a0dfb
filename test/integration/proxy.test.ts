import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import { parseEntity } from '../../gateway/src/entities/index.js';
import type { AnyEntity } from '../../gateway/src/entities/types.js';
import { silentLogger } from '../../gateway/src/observability/log.js';
import { noOutcomes } from '../../gateway/src/proxy/outcome.js';
import { createProxyServer } from '../../gateway/src/proxy/server.js';
import { Runtime } from '../../gateway/src/runtime/runtime.js';
import { MemoryStore } from '../../gateway/src/store/memory.js';
import { startTestGateway } from '../helpers/gateway.js';
import { deadPort, startUpstream, waitFor, type EchoBody, type TestUpstream } from '../helpers/upstream.js';

let gw: Awaited<ReturnType<typeof startTestGateway>>;
let a: TestUpstream;
let b: TestUpstream;

before(async () => {
  gw = await startTestGateway();
  a = await startUpstream('a');
  b = await startUpstream('b');
});
after(async () => {
  await gw.close(1000);
  await a.close();
  await b.close();
});

async function get(path: string, headers: Record<string, string> = {}, method = 'GET', body?: string) {
  const r = await request(gw.proxyUrl + path, { method: method as 'GET', headers, body });
  const text = await r.body.text();
  return {
    status: r.statusCode,
    headers: r.headers,
    text,
    json: () => JSON.parse(text) as EchoBody & { message: string; request_id: string },
  };
}

test('a service behind an upstream is balanced round-robin over its targets, with Kong URI rewriting', async () => {
  await gw.admin.call('PUT', '/upstreams/rr-up', {});
  await gw.admin.call('POST', '/upstreams/rr-up/targets', { target: a.address });
  await gw.admin.call('POST', '/upstreams/rr-up/targets', { target: b.address });
  await gw.admin.call('PUT', '/services/rr', { host: 'rr-up', path: '/base' });
  const route = await gw.admin.call('PUT', '/services/rr/routes/rr-route', { paths: ['/rr'] });
  assert.equal(route.status, 200);
  const names: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await get('/rr/users?x=1');
    assert.equal(r.status, 200);
    assert.equal(r.json().url, '/base/users?x=1');
    names.push(r.json().name);
  }
  assert.deepEqual(names.slice().sort(), ['a', 'a', 'b', 'b']);
  assert.notEqual(names[0], names[1]);
});

test('consistent hashing on a cookie sets it once and keeps a client on one target', async () => {
  await gw.admin.call('PUT', '/upstreams/sticky-up', { hash_on: 'cookie', hash_on_cookie: 'gw-sticky' });
  await gw.admin.call('POST', '/upstreams/sticky-up/targets', { target: a.address });
  await gw.admin.call('POST', '/upstreams/sticky-up/targets', { target: b.address });
  await gw.admin.call('PUT', '/services/sticky', { host: 'sticky-up' });
  await gw.admin.call('PUT', '/services/sticky/routes/sticky-route', { paths: ['/sticky'] });
  const first = await get('/sticky');
  const cookie = String(first.headers['set-cookie']).split(';')[0]!;
  assert.match(cookie, /^gw-sticky=/);
  for (let i = 0; i < 5; i++) {
    const r = await get('/sticky', { cookie });
    assert.equal(r.json().name, first.json().name);
    assert.equal(r.headers['set-cookie'], undefined);
  }
});

test('forwarded headers, Host, Via and request ids follow Kong', async () => {
  await gw.admin.call('PUT', '/services/hdr', { url: `http://${a.address}` });
  await gw.admin.call('PUT', '/services/hdr/routes/hdr-route', { paths: ['/hdr'] });
  // node:http, because undici's client will not send custom Connection tokens
  const r = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; json: () => EchoBody }>((resolve, reject) => {
    const req = http.get(
      gw.proxyUrl + '/hdr/x',
      {
        headers: { 'x-forwarded-for': '10.1.1.1', connection: 'keep-alive, x-secret', 'x-secret': 'drop me', 'x-keep': 'yes' },
        agent: false,
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, json: () => JSON.parse(text) as EchoBody }));
      },
    );
    req.on('error', reject);
  });
  assert.equal(r.status, 200);
  const h = r.json().headers;
  assert.equal(h['x-forwarded-for'], '10.1.1.1, 127.0.0.1');
  assert.equal(h['x-real-ip'], '127.0.0.1');
  assert.equal(h['x-forwarded-proto'], 'http');
  assert.equal(h['x-forwarded-prefix'], '/hdr');
  assert.equal(h.host, a.address);
  assert.equal(h['x-secret'], undefined);
  assert.equal(h['x-keep'], 'yes');
  assert.match(String(h.via), /^1\.1 gw\//);
  assert.ok(r.headers['x-gw-request-id']);
  assert.match(String(r.headers.via), /gw\//);
  await gw.admin.call('PATCH', '/routes/hdr-route', { preserve_host: true });
  const p = await get('/hdr/x', { host: 'public.example' });
  assert.equal(p.json().headers.host, 'public.example');
});

test("a client's X-Kong-Request-Id and Via are replaced, not sent on twice (Kong's proxy_set_header)", async () => {
  // answers the raw header lines it got: node would join repeated ones into one value
  const raw = await startUpstream('raw', (req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.rawHeaders));
  });
  try {
    await gw.admin.call('PUT', '/services/rid', { url: `http://${raw.address}` });
    await gw.admin.call('PUT', '/services/rid/routes/rid-route', { paths: ['/rid'] });
    const r = await get('/rid', { 'x-kong-request-id': 'client', via: '1.1 dev' });
    assert.equal(r.status, 200);
    const lines = JSON.parse(r.text) as string[];
    const values = (name: string) => lines.filter((_, i) => i % 2 === 1 && lines[i - 1]!.toLowerCase() === name);
    assert.deepEqual(values('x-kong-request-id'), [r.headers['x-kong-request-id']]);
    assert.deepEqual(values('via'), [`1.1 dev, ${String(r.headers.via)}`]);
  } finally {
    await raw.close();
  }
});

test("upstream.host_header is sent with the target's port, as Kong's set_host_header does", async () => {
  await gw.admin.call('PUT', '/upstreams/hh-up', { host_header: 'hh.test' });
  await gw.admin.call('POST', '/upstreams/hh-up/targets', { target: a.address });
  await gw.admin.call('PUT', '/services/hh', { host: 'hh-up' });
  await gw.admin.call('PUT', '/services/hh/routes/hh-route', { paths: ['/hh'] });
  const r = await get('/hh');
  assert.equal(r.status, 200);
  assert.equal(r.json().headers.host, `hh.test:${a.port}`);
});

test('errors: 404 no route, 503 no service, 503 no peer, 502 dead target, 504 timeout', async () => {
  const none = await get('/definitely-not-routed');
  assert.equal(none.status, 404);
  assert.equal(none.json().message, 'no Route matched with those values');
  assert.ok(none.json().request_id);

  await gw.admin.call('PUT', '/routes/orphan', { paths: ['/orphan'] });
  const orphan = await get('/orphan');
  assert.deepEqual([orphan.status, orphan.json().message], [503, 'no Service found with those values']);

  await gw.admin.call('PUT', '/upstreams/empty-up', {});
  await gw.admin.call('PUT', '/services/empty', { host: 'empty-up' });
  await gw.admin.call('PUT', '/services/empty/routes/empty-route', { paths: ['/empty'] });
  const empty = await get('/empty');
  assert.deepEqual([empty.status, empty.json().message], [503, 'failure to get a peer from the ring-balancer']);

  const dead = await deadPort();
  await gw.admin.call('PUT', '/services/dead', { url: `http://127.0.0.1:${dead}`, retries: 1 });
  await gw.admin.call('PUT', '/services/dead/routes/dead-route', { paths: ['/dead'] });
  const d = await get('/dead');
  assert.deepEqual([d.status, d.json().message], [502, 'An invalid response was received from the upstream server']);
  const text = await get('/dead', { accept: 'text/plain' });
  assert.match(text.text, /^An invalid response was received from the upstream server\nrequest_id: /);
  // Kong's templates byte for byte (kong/tools/http.lua ERROR_TEMPLATES); a try's error without Accept follows Content-Type
  const html = await get('/dead', { 'content-type': 'text/html' });
  assert.equal(html.headers['content-type'], 'text/html; charset=utf-8');
  const id = html.headers['x-kong-request-id'] as string;
  assert.equal(
    html.text,
    `<!doctype html>\n<html>\n  <head>\n    <meta charset="utf-8">\n    <title>Error</title>\n  </head>\n  <body>\n    <h1>Error</h1>\n    <p>An invalid response was received from the upstream server.</p>\n    <p>request_id: ${id}</p>\n  </body>\n</html>\n`,
  );
  assert.equal(
    d.text,
    `{\n  "message":"An invalid response was received from the upstream server",\n  "request_id":"${d.json().request_id}"\n}`,
  );
  const q = await get('/definitely-not-routed', { accept: 'text/plain;q=0.7,application/json;q=0.8,text/html;q=0.5' });
  assert.equal(q.headers['content-type'], 'application/json; charset=utf-8', 'the highest q wins');

  const slow = await startUpstream('slow', () => undefined); // never answers
  try {
    await gw.admin.call('PUT', '/services/slow', { url: `http://${slow.address}`, read_timeout: 300, retries: 0 });
    await gw.admin.call('PUT', '/services/slow/routes/slow-route', { paths: ['/slow'] });
    const s = await get('/slow');
    assert.deepEqual([s.status, s.json().message], [504, 'The upstream server is timing out']);
  } finally {
    await slow.close();
  }
});

test('a dead target among live ones costs no client error, for GET and POST', async () => {
  const dead = await deadPort();
  await gw.admin.call('PUT', '/upstreams/mixed-up', {});
  await gw.admin.call('POST', '/upstreams/mixed-up/targets', { target: a.address });
  await gw.admin.call('POST', '/upstreams/mixed-up/targets', { target: `127.0.0.1:${dead}` });
  await gw.admin.call('POST', '/upstreams/mixed-up/targets', { target: b.address });
  await gw.admin.call('PUT', '/services/mixed', { host: 'mixed-up' });
  await gw.admin.call('PUT', '/services/mixed/routes/mixed-route', { paths: ['/mixed'] });
  for (let i = 0; i < 30; i++) {
    const r = await get('/mixed', {}, i % 2 ? 'POST' : 'GET', i % 2 ? 'payload' : undefined);
    assert.equal(r.status, 200, `request ${i}`);
    if (i % 2) assert.equal(r.json().bodyBytes, 7);
  }
});

test('a POST that reached the upstream is not replayed when the connection then breaks', async () => {
  const breaker = await startUpstream('breaker', (req) => {
    req.socket.destroy();
  });
  try {
    await gw.admin.call('PUT', '/upstreams/post-up', {});
    await gw.admin.call('POST', '/upstreams/post-up/targets', { target: breaker.address });
    await gw.admin.call('POST', '/upstreams/post-up/targets', { target: a.address, weight: 1 });
    await gw.admin.call('PATCH', '/upstreams/post-up/targets/' + breaker.address, { weight: 1000 });
    await gw.admin.call('PUT', '/services/post', { host: 'post-up' });
    await gw.admin.call('PUT', '/services/post/routes/post-route', { paths: ['/post'] });
    const before = a.count;
    let failed = 0;
    for (let i = 0; i < 5; i++) {
      const r = await get('/post', { 'content-type': 'text/plain' }, 'POST', 'once');
      if (r.status === 502) failed++;
    }
    assert.ok(failed >= 1, 'the broken POSTs surface as 502');
    assert.ok(breaker.count >= failed);
    assert.ok(a.count - before <= 5 - failed, 'a broken POST was replayed on another target');
  } finally {
    await breaker.close();
  }
});

test('regex routes, precedence and captures route to the right service', async () => {
  await gw.admin.call('PUT', '/services/pre-a', { url: `http://${a.address}` });
  await gw.admin.call('PUT', '/services/pre-b', { url: `http://${b.address}` });
  await gw.admin.call('PUT', '/services/pre-a/routes/short', { paths: ['/p'] });
  await gw.admin.call('PUT', '/services/pre-b/routes/long', { paths: ['/p/longer'] });
  await gw.admin.call('PUT', '/services/pre-b/routes/rx', { paths: ['~/p/items/(?<id>\\d+)$'] });
  assert.equal((await get('/p/x')).json().name, 'a');
  assert.equal((await get('/p/longer/x')).json().name, 'b');
  assert.equal((await get('/p/items/42')).json().name, 'b');
  assert.equal((await get('/p/items/4x')).json().name, 'a');
});

test('a change through the Admin API is routable at once', async () => {
  await gw.admin.call('PUT', '/services/fresh', { url: `http://${a.address}` });
  const t0 = performance.now();
  await gw.admin.call('PUT', '/services/fresh/routes/fresh-route', { paths: ['/fresh'] });
  await waitFor(async () => (await get('/fresh')).status === 200, 5000, 'fresh route');
  const ms = performance.now() - t0;
  assert.ok(ms < 5000);
  // the figure is informational here; the benchmark reports it properly
  console.log(`# admin change → routable in ${ms.toFixed(1)} ms`);
});

test('large bodies stream through without being buffered', async () => {
  await gw.admin.call('PUT', '/services/big', { url: `http://${a.address}` });
  await gw.admin.call('PUT', '/services/big/routes/big-route', { paths: ['/big'] });
  const total = 256 * 1024 * 1024;
  const chunk = Buffer.alloc(1024 * 1024, 7);
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  async function* gen() {
    for (let sent = 0; sent < total; sent += chunk.length) {
      peak = Math.max(peak, process.memoryUsage().rss);
      yield chunk;
    }
  }
  const r = await request(gw.proxyUrl + '/big', {
    method: 'POST',
    body: Readable.from(gen()),
    headers: { 'content-type': 'application/octet-stream' },
  });
  const echo = (await r.body.json()) as EchoBody;
  assert.equal(echo.bodyBytes, total);
  console.log(`# rss growth while streaming ${total / 1048576} MiB: ${((peak - rssBefore) / 1048576).toFixed(1)} MiB`);
  // gateway, upstream and client share this process: growth well below the body size shows no buffering
  // (a buffered body alone would be 256 MiB; Node 24's lazier GC was measured at 129 MiB of streaming garbage)
  assert.ok(peak - rssBefore < total * 0.75, `rss grew by ${((peak - rssBefore) / 1048576).toFixed(0)} MiB`);
});

test('WebSocket upgrades are proxied both ways', async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`echo:${(m as Buffer).toString()}`)));
  const port = (wss.address() as { port: number }).port;
  await gw.admin.call('PUT', '/services/ws', { url: `http://127.0.0.1:${port}` });
  await gw.admin.call('PUT', '/services/ws/routes/ws-route', { paths: ['/ws'] });
  const ws = new WebSocket(gw.proxyUrl.replace('http', 'ws') + '/ws');
  t.after(async () => {
    ws.terminate();
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const reply = new Promise<string>((resolve) => ws.once('message', (m: Buffer) => resolve(m.toString())));
  ws.send('hi');
  assert.equal(await reply, 'echo:hi');
});

test('write_timeout: an upload the upstream stops reading ends in 504 after write_timeout, not after read_timeout', async (t) => {
  const stuck = http.createServer((req) => {
    req.pause(); // never reads the body, never answers
  });
  await new Promise<void>((r) => stuck.listen(0, '127.0.0.1', r));
  t.after(() => {
    stuck.closeAllConnections();
    stuck.close();
  });
  const port = (stuck.address() as { port: number }).port;
  assert.equal(
    (await gw.admin.call('PUT', '/services/wt', { url: `http://127.0.0.1:${port}`, write_timeout: 300, read_timeout: 60_000, retries: 0 }))
      .status,
    200,
  );
  const routes = gw.runtime.snapshot.router.size;
  assert.equal((await gw.admin.call('POST', '/services/wt/routes', { paths: ['/wt'] })).status, 201);
  // live in the proxy (a request to it would hang: the upstream never answers)
  await waitFor(() => gw.runtime.snapshot.router.size > routes, 5_000, 'the route in the runtime snapshot');
  const chunk = Buffer.alloc(64 * 1024, 1);
  let sent = 0;
  const body = new Readable({
    read() {
      // up to 256 MiB: far more than the socket buffers between client, gateway and upstream
      if (sent >= 256 * 1024 * 1024) return this.push(null);
      sent += chunk.length;
      this.push(chunk);
    },
  });
  const t0 = Date.now();
  const r = await request(gw.proxyUrl + '/wt', { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } }).catch(
    (e: unknown) => e as Error,
  );
  const ms = Date.now() - t0;
  if (r instanceof Error) assert.fail(`request failed: ${r.message}`);
  assert.equal(r.statusCode, 504);
  assert.equal(((await r.body.json()) as { message: string }).message, 'The upstream server is timing out');
  console.log(`# write_timeout 300 ms: 504 after ${ms} ms, ${(sent / 1048576).toFixed(0)} MiB sent`);
  assert.ok(ms < 30_000, `answered after ${ms} ms`);
  assert.ok(sent < 256 * 1024 * 1024, 'the upload was cut short, not buffered');
});

/** A POST sent the way curl sends a large upload: `Expect: 100-continue`, the body only after the gateway's 100 Continue. */
function postExpecting(path: string, body: string): Promise<{ status: number; continued: boolean; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(gw.proxyUrl + path);
    let continued = false;
    const r = http.request({
      host: u.hostname,
      port: u.port,
      path: u.pathname,
      method: 'POST',
      headers: { expect: '100-continue', 'content-length': body.length },
    });
    r.on('continue', () => {
      continued = true;
      r.end(body);
    });
    r.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, continued, text }));
    });
    r.on('error', reject);
  });
}

test('Expect: 100-continue: the gateway answers 100 Continue itself and forwards the body without Expect; the target is not blamed', async () => {
  await gw.admin.call('PUT', '/upstreams/expect-up', { healthchecks: { passive: { unhealthy: { tcp_failures: 1, http_failures: 1 } } } });
  await gw.admin.call('POST', '/upstreams/expect-up/targets', { target: a.address });
  await gw.admin.call('PUT', '/services/expect', { host: 'expect-up' });
  await gw.admin.call('PUT', '/services/expect/routes/expect-route', { paths: ['/expect'] });
  const r = await postExpecting('/expect/up', 'x'.repeat(2048));
  assert.equal(r.status, 200, r.text);
  assert.ok(r.continued, 'the client got 100 Continue');
  const seen = JSON.parse(r.text) as EchoBody;
  assert.equal(seen.bodyBytes, 2048);
  assert.equal(seen.headers.expect, undefined, 'Expect is not forwarded (nginx: proxy_set_header Expect "")');
  // the one target is still in: a plain request after it is answered
  assert.equal((await get('/expect/again')).status, 200);
});

test('an upstream of one target: its target is tried again on a retry (Kong), with read_timeout kept to the millisecond', async () => {
  // resets every odd-numbered request, answers the others: each GET is answered by its retry on the same target
  const flaky = await startUpstream('flaky', (req, _res, n) => (n % 2 === 1 ? (req.socket.destroy(), undefined) : 'default'));
  const hang = await startUpstream('hang', () => undefined);
  try {
    await gw.admin.call('PUT', '/upstreams/one-up', {});
    await gw.admin.call('POST', '/upstreams/one-up/targets', { target: flaky.address });
    await gw.admin.call('PUT', '/services/one', { host: 'one-up', retries: 5 });
    await gw.admin.call('PUT', '/services/one/routes/one-route', { paths: ['/one'] });
    for (let i = 0; i < 3; i++) assert.equal((await get('/one/x')).status, 200, `request ${i}`);
    assert.equal(flaky.count, 6, 'two tries per request, both on the one target');

    // a read_timeout of 30 ms times out after about 30 ms per try (undici's own timers tick every ~0.5 s)
    await gw.admin.call('PUT', '/upstreams/hang-up', {});
    await gw.admin.call('POST', '/upstreams/hang-up/targets', { target: hang.address });
    await gw.admin.call('PUT', '/services/hang', { host: 'hang-up', retries: 2, read_timeout: 30 });
    await gw.admin.call('PUT', '/services/hang/routes/hang-route', { paths: ['/hang'] });
    const started = performance.now();
    const r = await get('/hang/x');
    const took = performance.now() - started;
    assert.deepEqual([r.status, r.json().message], [504, 'The upstream server is timing out']);
    await waitFor(() => hang.count === 3, 5_000, 'three tries on the one target');
    // three tries of 30 ms; with undici's coarse timers each would take at least 499 ms (≥ 1.5 s)
    assert.ok(took < 1400, `504 after ${Math.round(took)} ms`);
  } finally {
    await flaky.close();
    await hang.close();
  }
});

test('a route header matches any one value of a request header sent twice (Kong tests each; node joins them)', async () => {
  await gw.admin.call('PUT', '/services/twice', { url: `http://${a.address}` });
  await gw.admin.call('PUT', '/services/twice/routes/twice-route', { paths: ['/twice'], headers: { 'x-loc': ['loc-2'] } });
  const status = await new Promise<number>((resolve, reject) => {
    const u = new URL(gw.proxyUrl);
    const r = http.request({ host: u.hostname, port: u.port, path: '/twice/x' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    r.setHeader('x-loc', ['loc-3', 'loc-2']); // two header lines
    r.on('error', reject);
    r.end();
  });
  assert.equal(status, 200);
  assert.equal((await get('/twice/x', { 'x-loc': 'loc-3' })).status, 404);
});

type Headers = Record<string, string | string[] | undefined>;
/** request ids: Kong's form, nginx's $request_id (32 lower-case hex digits) */
const REQUEST_ID = /^[0-9a-f]{32}$/;

/**
 * An answer gw made itself without proxying, with what Kong's header_filter adds when the request was
 * not proxied (kong/runloop/handler.lua, `not ctx.KONG_PROXIED`; 14-server_tokens_spec "should not be
 * returned when no API matched (no proxy)"): Server, X-Kong-Response-Latency and X-Kong-Request-Id;
 * no Via, no X-Kong-Upstream-Latency or X-Kong-Proxy-Latency.
 */
function assertGenerated(h: Headers, what: string): void {
  assert.match(String(h.server), /^gw\/\S+$/, `${what}: Server`);
  assert.match(String(h['x-kong-response-latency']), /^\d+$/, `${what}: X-Kong-Response-Latency`);
  assert.match(String(h['x-kong-request-id']), REQUEST_ID, `${what}: X-Kong-Request-Id`);
  assert.equal(h['x-gw-request-id'], h['x-kong-request-id'], `${what}: x-gw-request-id`);
  for (const name of ['via', 'x-kong-upstream-latency', 'x-kong-proxy-latency']) assert.equal(h[name], undefined, `${what}: no ${name}`);
}

/**
 * An error gw answered after proxying, with what Kong's header_filter adds to a proxied response (its
 * error handler answers with KONG_PROXIED set; 14-server_tokens_spec "should be returned with 502
 * errors (error_page executing)"): Via, X-Kong-Upstream-Latency, X-Kong-Proxy-Latency, Server and
 * X-Kong-Request-Id; no X-Kong-Response-Latency.
 */
function assertProxiedError(h: Headers, what: string): { upstream: number; proxy: number } {
  assert.match(String(h.server), /^gw\/\S+$/, `${what}: Server`);
  assert.match(String(h.via), /^1\.1 gw\/\S+$/, `${what}: Via`);
  assert.match(String(h['x-kong-upstream-latency']), /^\d+$/, `${what}: X-Kong-Upstream-Latency`);
  assert.match(String(h['x-kong-proxy-latency']), /^\d+$/, `${what}: X-Kong-Proxy-Latency`);
  assert.match(String(h['x-kong-request-id']), REQUEST_ID, `${what}: X-Kong-Request-Id`);
  assert.equal(h['x-gw-request-id'], h['x-kong-request-id'], `${what}: x-gw-request-id`);
  assert.equal(h['x-kong-response-latency'], undefined, `${what}: no X-Kong-Response-Latency`);
  return { upstream: Number(h['x-kong-upstream-latency']), proxy: Number(h['x-kong-proxy-latency']) };
}

test("gw's own answers before proxying carry Kong's not-proxied headers: 404, 503 no service, 503 no peer, 426, 301", async () => {
  const none = await get('/not-routed-either');
  assert.equal(none.status, 404);
  assertGenerated(none.headers, '404 no route');
  assert.equal(none.json().request_id, none.headers['x-kong-request-id']);

  await gw.admin.call('PUT', '/routes/orphan-h', { paths: ['/orphan-h'] });
  const orphan = await get('/orphan-h');
  assert.equal(orphan.status, 503);
  assertGenerated(orphan.headers, '503 no service');

  // Kong's access phase: the first balancer pick failing is answered before KONG_PROXIED is set
  await gw.admin.call('PUT', '/upstreams/empty-h', {});
  await gw.admin.call('PUT', '/services/empty-h', { host: 'empty-h' });
  await gw.admin.call('PUT', '/services/empty-h/routes/empty-h', { paths: ['/empty-h'] });
  const empty = await get('/empty-h');
  assert.deepEqual([empty.status, empty.json().message], [503, 'failure to get a peer from the ring-balancer']);
  assertGenerated(empty.headers, '503 no peer');

  // kong/runloop/handler.lua: kong.response.error(426, "Please use HTTPS protocol", { Connection = "Upgrade", Upgrade = "TLS/1.2, HTTP/1.1" })
  await gw.admin.call('PUT', '/services/tls-h', { url: `http://${a.address}` });
  await gw.admin.call('PUT', '/services/tls-h/routes/tls-h', { paths: ['/tls-h'], protocols: ['https'] });
  const tls = await get('/tls-h');
  assert.deepEqual([tls.status, tls.json().message], [426, 'Please use HTTPS protocol']);
  assertGenerated(tls.headers, '426');
  // two Connection lines, nginx's and Kong's (06-ssl_spec: assert.contains("Upgrade", res.headers.connection))
  assert.deepEqual(tls.headers.connection, ['keep-alive', 'Upgrade']);
  assert.equal(tls.headers.upgrade, 'TLS/1.2, HTTP/1.1');
  // the connection is kept: the next request on it is served
  assert.equal((await get('/tls-h')).status, 426);

  await gw.admin.call('PUT', '/services/tls-h/routes/tls-301', {
    paths: ['/tls-301'],
    protocols: ['https'],
    https_redirect_status_code: 301,
  });
  const moved = await get('/tls-301/x');
  assert.equal(moved.status, 301);
  assert.equal(moved.headers.location, `https://127.0.0.1/tls-301/x`);
  assertGenerated(moved.headers, '301');
});

test("errors after proxying carry Kong's proxied headers: 502 dead service, 502 every target tried, 504 timeout", async () => {
  const dead = await deadPort();
  await gw.admin.call('PUT', '/services/dead-h', { url: `http://127.0.0.1:${dead}`, retries: 0 });
  await gw.admin.call('PUT', '/services/dead-h/routes/dead-h', { paths: ['/dead-h'] });
  const d = await get('/dead-h');
  assert.equal(d.status, 502);
  assertProxiedError(d.headers, '502');
  assert.equal(d.json().request_id, d.headers['x-kong-request-id']);

  // both targets refused: the third pick finds none left (Kong's balancer phase failing on a retry: the
  // pick just failed, so no upstream time and all of it proxy time)
  const dead2 = await deadPort();
  await gw.admin.call('PUT', '/upstreams/dead2-h', {});
  await gw.admin.call('POST', '/upstreams/dead2-h/targets', { target: `127.0.0.1:${dead}` });
  await gw.admin.call('POST', '/upstreams/dead2-h/targets', { target: `127.0.0.1:${dead2}` });
  await gw.admin.call('PUT', '/services/dead2-h', { host: 'dead2-h', retries: 5 });
  await gw.admin.call('PUT', '/services/dead2-h/routes/dead2-h', { paths: ['/dead2-h'] });
  const both = await get('/dead2-h');
  assert.equal(both.status, 502);
  assert.equal(assertProxiedError(both.headers, '502 after every target').upstream, 0);

  const slow = await startUpstream('slow-h', () => undefined); // never answers
  try {
    await gw.admin.call('PUT', '/services/slow-h', { url: `http://${slow.address}`, read_timeout: 300, retries: 0 });
    await gw.admin.call('PUT', '/services/slow-h/routes/slow-h', { paths: ['/slow-h'] });
    const t0 = performance.now();
    const s = await get('/slow-h');
    const took = performance.now() - t0;
    assert.equal(s.status, 504);
    const l = assertProxiedError(s.headers, '504');
    // the try waited read_timeout for its answer: upstream time (Kong's KONG_WAITING_TIME), not proxy time
    assert.ok(l.upstream >= 290 && l.upstream <= took + 1, `X-Kong-Upstream-Latency ${l.upstream} (took ${took.toFixed(0)} ms)`);
    assert.ok(l.proxy <= took + 1, `X-Kong-Proxy-Latency ${l.proxy}`);
  } finally {
    await slow.close();
  }
});

/** Kong's 09-websockets_spec check_headers: a handshake by hand, the response head as the client reads it. */
function handshake(path: string): Promise<string> {
  const u = new URL(gw.proxyUrl);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port), u.hostname);
    let text = '';
    s.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end !== -1) {
        s.destroy();
        resolve(text.slice(0, end));
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(text));
    s.write(
      `GET ${path} HTTP/1.1\r\nUpgrade: websocket\r\nHost: ${u.host}\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nConnection: Upgrade\r\n\r\n`,
    );
  });
}

/** A raw response head's header lines, by lower-cased name (each name's values in order). */
function headLines(head: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const line of head.split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    (out[line.slice(0, i).toLowerCase()] ??= []).push(line.slice(i + 1).trim());
  }
  return out;
}

test('a WebSocket 101 carries Via (appended), Server, the latencies and the request ids, as Kong; refused upgrades as the other answers', async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  wss.on('headers', (headers) => headers.push('Via: 1.1 ws-upstream'));
  const port = (wss.address() as { port: number }).port;
  t.after(async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  });
  await gw.admin.call('PUT', '/services/ws-h', { url: `http://127.0.0.1:${port}` });
  await gw.admin.call('PUT', '/services/ws-h/routes/ws-h', { paths: ['/ws-h'] });
  const head = await handshake('/ws-h');
  assert.match(head, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  // 09-websockets_spec "returns correct headers on handshake with Kong", byte for byte but the server token
  assert.ok(head.includes('\r\nConnection: upgrade\r\n'), head);
  assert.ok(head.includes('\r\nUpgrade: websocket\r\n'), head);
  assert.ok(head.includes('\r\nVia: 1.1 ws-upstream, 1.1 gw/'), head);
  const h = headLines(head);
  assert.equal(h.connection!.length, 1, 'the upstream Connection line is replaced, as nginx does');
  assert.match(h.server![0]!, /^gw\/\S+$/);
  assert.match(h['x-kong-upstream-latency']![0]!, /^\d+$/);
  assert.match(h['x-kong-proxy-latency']![0]!, /^\d+$/);
  assert.match(h['x-kong-request-id']![0]!, REQUEST_ID);
  assert.deepEqual(h['x-gw-request-id'], h['x-kong-request-id']);
  assert.equal(h['x-kong-response-latency'], undefined);
  assert.ok(h['sec-websocket-accept'], 'the upstream handshake headers are passed on');

  const noneHead = await handshake('/not-routed-upgrade');
  // the same answer as a plain request's 404: its status line and Kong's JSON template
  assert.match(noneHead, /^HTTP\/1\.1 404 Not Found\r\n/);
  assert.ok(noneHead.includes('\r\ncontent-type: application/json; charset=utf-8\r\n'), noneHead);
  const none = headLines(noneHead);
  assertGenerated(Object.fromEntries(Object.entries(none).map(([k, v]) => [k, v[0]])), 'upgrade, 404');
  const dead = await deadPort();
  await gw.admin.call('PUT', '/services/ws-dead', { url: `http://127.0.0.1:${dead}` });
  await gw.admin.call('PUT', '/services/ws-dead/routes/ws-dead', { paths: ['/ws-dead'] });
  const bad = await handshake('/ws-dead');
  assert.match(bad, /^HTTP\/1\.1 502 /);
  assertProxiedError(Object.fromEntries(Object.entries(headLines(bad)).map(([k, v]) => [k, v[0]])), 'upgrade, 502');
});

test("a 500 for an exception before proxying carries Kong's not-proxied headers (14-server_tokens_spec: a plugin erroring in the access phase)", async (t) => {
  const store = new MemoryStore();
  const entity = (kind: 'upstreams' | 'targets' | 'services' | 'routes', input: Record<string, unknown>): AnyEntity => {
    const r = parseEntity(kind, input, { mode: 'create', now: 1 });
    assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
    return r.value as unknown as AnyEntity;
  };
  const up = entity('upstreams', { name: 'boom-up' });
  const svc = entity('services', { name: 'boom', host: 'boom-up' });
  await store.apply([
    { op: 'put', kind: 'upstreams', entity: up },
    { op: 'put', kind: 'targets', entity: entity('targets', { target: a.address, upstream: { id: up.id } }) },
    { op: 'put', kind: 'services', entity: svc },
    { op: 'put', kind: 'routes', entity: entity('routes', { paths: ['/boom'], service: { id: svc.id } }) },
  ]);
  const runtime = new Runtime({ store, logger: silentLogger() });
  runtime.start();
  // the upstream-limits check throws: the request ends in the proxy's catch-all
  const outcomes = {
    ...noOutcomes,
    admit: () => {
      throw new Error('boom');
    },
  };
  const proxy = createProxyServer({ runtime, logger: silentLogger(), outcomes });
  const { port } = await proxy.listen('127.0.0.1', 0);
  t.after(async () => {
    await proxy.close(1000);
    runtime.stop();
  });
  const r = await request(`http://127.0.0.1:${port}/boom`);
  const body = (await r.body.json()) as { message: string; request_id: string };
  assert.deepEqual([r.statusCode, body.message], [500, 'An unexpected error occurred']);
  assertGenerated(r.headers, '500');
  assert.equal(body.request_id, r.headers['x-gw-request-id']);
});
