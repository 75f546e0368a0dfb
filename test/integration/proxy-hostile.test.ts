/**
 * Hostile and careless clients against a real gw-gateway process, with raw
 * sockets and hand-written requests (issue 12). Each case asserts what the
 * client got, what the upstream saw, that a control request is still served
 * and that the gateway is still the same process.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { spawnGatewayCli, type CliGateway } from '../helpers/gateway.js';
import { deadPort, waitFor } from '../helpers/upstream.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  conn: number;
  bodyBytes: number;
}

/** An upstream that records every request; `/hang…` never answers, `/slow-read…` never reads its body. */
class Recorder {
  readonly seen: Seen[] = [];
  connections = 0;
  open = 0;
  server: Server;
  port = 0;
  constructor(readonly name: string) {
    // heads as large as the gateway lets through (nginx's 4 × 8 KiB), not node's default 16 KiB
    this.server = createServer({ maxHeaderSize: 64 * 1024 }, (req, res) => {
      const conn = (req.socket as Socket & { _n?: number })._n ?? 0;
      const rec: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, conn, bodyBytes: 0 };
      this.seen.push(rec);
      if (rec.url.startsWith('/hang')) return;
      req.on('data', (c: Buffer) => (rec.bodyBytes += c.length));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ name: this.name, method: rec.method, url: rec.url, bodyBytes: rec.bodyBytes }));
      });
    });
    this.server.on('connection', (s: Socket & { _n?: number }) => {
      s._n = ++this.connections;
      this.open++;
      s.once('close', () => this.open--);
    });
  }
  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }
  count(prefix: string): number {
    return this.seen.filter((s) => s.url.startsWith(prefix)).length;
  }
  close(): Promise<void> {
    return new Promise((r) => {
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }
}

let gw: CliGateway | undefined;
let child: ChildProcess;
let pid = 0;
let proxyPort = 0;
let adminUrl = '';
const up = new Recorder('up');
const other = new Recorder('other');

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(adminUrl + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

before(async () => {
  await up.listen();
  await other.listen();
  // killed in after() below (a module-level hook, not a test's)
  gw = await spawnGatewayCli({ after: () => undefined }, [
    '--store',
    'memory',
    '--client-body-timeout',
    '1500ms',
    '--client-header-timeout',
    '1s',
  ]);
  child = gw.child;
  proxyPort = Number(new URL(gw.proxyUrl).port);
  adminUrl = gw.adminUrl;
  pid = (await admin('GET', '/')).body.pids ? ((await admin('GET', '/')).body.pids as { master: number }).master : 0;
  assert.equal(pid, child.pid, 'the admin API reports the spawned process');
  // one target for everything, so a blocked pool would show on the control request
  assert.equal((await admin('PUT', '/upstreams/u', {})).status, 200);
  assert.equal((await admin('POST', '/upstreams/u/targets', { target: `127.0.0.1:${up.port}` })).status, 201);
  assert.equal((await admin('PUT', '/services/main', { host: 'u', read_timeout: 60_000, retries: 5 })).status, 200);
  assert.equal((await admin('PUT', '/services/main/routes/main', { paths: ['/'] })).status, 200);
  assert.equal((await admin('PUT', '/services/bad', { url: `http://127.0.0.1:${other.port}` })).status, 200);
  assert.equal((await admin('PUT', '/services/bad/routes/bad', { paths: ['/bad/'] })).status, 200);
  assert.equal((await admin('PUT', '/services/hosted', { url: `http://127.0.0.1:${other.port}` })).status, 200);
  assert.equal((await admin('PUT', '/services/hosted/routes/hosted', { hosts: ['a.example'], paths: ['/hosted'] })).status, 200);
  await waitFor(async () => (await control()) === 200, 5000, 'routes live');
});

after(async () => {
  await gw?.stop();
  // what the gateway said on stderr (nothing, unless something went wrong)
  if (gw?.err()) process.stderr.write(gw.err());
  await up.close();
  await other.close();
});

/** Send raw bytes, collect the answer until `until` says so, the server closes, or `ms` pass. */
function raw(
  payload: string | Buffer | ((s: Socket) => void),
  until: (text: string) => boolean = (t) => responses(t).length > 0 && complete(t),
  ms = 5000,
): Promise<{ text: string; closed: boolean; socket: Socket }> {
  return new Promise((resolve) => {
    const s = connect(proxyPort, '127.0.0.1');
    let text = '';
    let closed = false;
    const finish = (): void => {
      clearTimeout(timer);
      resolve({ text, closed, socket: s });
    };
    const timer = setTimeout(finish, ms);
    s.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      if (until(text)) finish();
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      closed = true;
      finish();
    });
    if (typeof payload === 'function') payload(s);
    else s.write(payload);
  });
}

function responses(text: string): number[] {
  // a pipelined answer starts right after the previous body, not on a line of its own
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) [A-Z]/g)].map((m) => Number(m[1]));
}

function complete(text: string): boolean {
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return false;
  const cl = /content-length: (\d+)/i.exec(text.slice(0, end));
  return cl ? text.length - end - 4 >= Number(cl[1]) : true;
}

/** A control GET through the proxy on a fresh connection, to the same target. */
async function control(path = '/control'): Promise<number> {
  const r = await raw(`GET ${path} HTTP/1.1\r\nhost: control.test\r\nconnection: close\r\n\r\n`);
  return responses(r.text)[0] ?? 0;
}

/** The gateway still serves, and is still the process we started. */
async function stillServing(): Promise<void> {
  assert.equal(await control(), 200, 'control request');
  const root = await admin('GET', '/');
  assert.equal((root.body.pids as { master: number }).master, pid, 'same process');
  assert.equal(child.exitCode, null);
}

test('dot segments are removed before routing and before forwarding (Kong normalize)', async () => {
  const cases: [string, Recorder, string][] = [
    ['/bad/../x', up, '/x'],
    ['/../../etc/passwd', up, '/etc/passwd'],
    ['/%2e%2e/%2e%2e/etc/passwd', up, '/etc/passwd'],
    ['/bad/%2E%2E/y?q=/../z', up, '/y?q=/../z'],
    // route /bad/ strips its prefix
    ['/x/../bad/./item', other, '/item'],
    ['/bad//two//slashes', other, '/two/slashes'],
    ['/%62ad/kept%2Fescape', other, '/kept%2Fescape'],
  ];
  for (const [path, target, want] of cases) {
    const before = target.seen.length;
    const r = await raw(`GET ${path} HTTP/1.1\r\nhost: n.test\r\n\r\n`);
    assert.deepEqual(responses(r.text), [200], path);
    r.socket.destroy();
    assert.equal(target.seen.length, before + 1, `${path} reached ${target.name}`);
    assert.equal(target.seen.at(-1)!.url, want, path);
  }
  await stillServing();
});

test('more header fields than the limit: 431, nothing forwarded, none silently dropped', async () => {
  const before = up.seen.length;
  let head = 'GET /many HTTP/1.1\r\nhost: h.test\r\n';
  for (let i = 0; i < 1000; i++) head += `x-junk-${i}: ${i}\r\n`;
  const r = await raw(`${head}authorization: Bearer late\r\n\r\n`);
  assert.deepEqual(responses(r.text), [431]);
  assert.match(r.text, /more than 100 header fields/);
  // exactly the limit is fine
  let ok = 'GET /many-ok HTTP/1.1\r\nhost: h.test\r\n';
  for (let i = 0; i < 98; i++) ok += `x-junk-${i}: ${i}\r\n`;
  const r2 = await raw(`${ok}authorization: Bearer late\r\n\r\n`);
  assert.deepEqual(responses(r2.text), [200]);
  r2.socket.destroy();
  assert.equal(up.seen.length, before + 1);
  assert.equal(up.seen.at(-1)!.url, '/many-ok');
  assert.equal(up.seen.at(-1)!.headers.authorization, 'Bearer late');
  await stillServing();
});

test("nginx's large_client_header_buffers (4 × 8 KiB): a longer request line is 414, a longer header line 400, a head over 32 KiB 400", async () => {
  const before = up.seen.length;
  // 13-error_handlers_spec "HTTP 400": a 10 KiB header
  const big = await raw(`GET /huge HTTP/1.1\r\nhost: h.test\r\nx-large: ${'a'.repeat(10 * 1024)}\r\n\r\n`);
  assert.deepEqual(responses(big.text), [400]);
  assert.match(big.text, /^server: gw\//m);
  assert.match(big.text, /"message":"Request header or cookie too large"/);
  const uri = await raw(`GET /long?foo=${'a'.repeat(10 * 1024)} HTTP/1.1\r\nhost: h.test\r\n\r\n`);
  assert.deepEqual(responses(uri.text), [414]);
  assert.match(uri.text, /"message":"URI too long"/);
  const whole = await raw(
    `GET /whole HTTP/1.1\r\nhost: h.test\r\n${[1, 2, 3, 4, 5].map((i) => `x-part-${i}: ${'b'.repeat(7000)}\r\n`).join('')}\r\n`,
  );
  assert.deepEqual(responses(whole.text), [400]);
  assert.match(whole.text, /"message":"Request header or cookie too large"/);
  assert.equal(up.seen.length, before, 'none of them was forwarded');
  // what fits is forwarded: lines just under 8 KiB, 21 KB of them (more than node's default 16 KiB head)
  const fits = await raw(
    `GET /fits?q=${'c'.repeat(8000)} HTTP/1.1\r\nhost: h.test\r\n${[1, 2, 3].map((i) => `cookie: c${i}=${'d'.repeat(8000)}\r\n`).join('')}\r\n`,
  );
  assert.deepEqual(responses(fits.text), [200]);
  fits.socket.destroy();
  assert.equal(up.seen.length, before + 1);
  await stillServing();
});

test('TRACE is 405 Method not allowed whatever the routes, as nginx answers it (13-error_handlers_spec)', async () => {
  const before = up.seen.length;
  const r = await raw('TRACE / HTTP/1.1\r\nhost: h.test\r\naccept: text/plain\r\n\r\n');
  assert.deepEqual(responses(r.text), [405]);
  assert.match(r.text, /^server: gw\//m);
  assert.match(r.text, /\r\n\r\nMethod not allowed\nrequest_id: [0-9a-f]+\n$/);
  assert.equal(up.seen.length, before);
  await stillServing();
});

test('Host: a second one, an empty or invalid one is 400; matching ignores case and one trailing dot', async () => {
  const before = up.seen.length + other.seen.length;
  for (const host of ['host: a.test\r\nHost: b.test', 'host:', 'host: a/b', 'host: a..b', 'host: a b', 'host: [::1', 'host: a.test:80x']) {
    const r = await raw(`GET /h HTTP/1.1\r\n${host}\r\n\r\n`);
    assert.deepEqual(responses(r.text), [400], host);
    assert.ok(r.closed || /connection: close/i.test(r.text), `${host}: connection closed`);
    r.socket.destroy();
  }
  assert.equal(up.seen.length + other.seen.length, before, 'nothing was forwarded');
  for (const host of ['a.example', 'A.Example.', 'A.EXAMPLE:8000', 'a.example.:1']) {
    const r = await raw(`GET /hosted HTTP/1.1\r\nhost: ${host}\r\n\r\n`);
    assert.deepEqual(responses(r.text), [200], host);
    assert.match(r.text, /"name":"other"/, `${host} routes by host`);
    r.socket.destroy();
  }
  await stillServing();
});

test('the Proxy header is removed (httpoxy); request ids are random, in Kong form (32 hex digits)', async () => {
  const r = await raw('GET /proxy-header HTTP/1.1\r\nhost: p.test\r\nproxy: http://evil.test:1\r\n\r\n');
  assert.deepEqual(responses(r.text), [200]);
  r.socket.destroy();
  const seen = up.seen.at(-1)!;
  assert.equal(seen.url, '/proxy-header');
  assert.equal(seen.headers.proxy, undefined);
  const ids = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const x = await raw('GET /id HTTP/1.1\r\nhost: p.test\r\n\r\n');
    x.socket.destroy();
    const id = /x-gw-request-id: ([^\r]+)/i.exec(x.text)?.[1] ?? '';
    assert.match(id, /^[0-9a-f]{32}$/);
    ids.add(id);
  }
  assert.equal(ids.size, 3);
  await stillServing();
});

test('header timeout and body timeout answer 408; a body being buffered holds no upstream connection', async () => {
  const conns = up.connections;
  const seen = up.seen.length;
  const t0 = performance.now();
  const h = await raw('GET /slow-head HTTP/1.1\r\nhost: t.test\r\n', undefined, 10_000);
  assert.deepEqual(responses(h.text), [408], 'client_header_timeout');
  assert.ok(performance.now() - t0 < 8000);
  const t1 = performance.now();
  const b = await raw(
    (s) => s.write('POST /slow-body HTTP/1.1\r\nhost: t.test\r\ncontent-length: 1000\r\n\r\nfirst bytes'),
    undefined,
    10_000,
  );
  const ms = performance.now() - t1;
  assert.deepEqual(responses(b.text), [408], 'client_body_timeout');
  assert.match(b.text, /client_body_timeout/);
  assert.ok(ms >= 1400 && ms < 8000, `408 after ${ms.toFixed(0)} ms`);
  assert.equal(up.seen.length, seen, 'the upstream saw neither request');
  assert.equal(up.connections, conns, 'no upstream connection was opened');
  await stillServing();
});

test('300 slow uploaders (Content-Length 1000000, 1 byte/s) hold no upstream connection; the control request is served at once', async () => {
  const sockets: Socket[] = [];
  const conns = up.connections;
  for (let i = 0; i < 300; i++) {
    const s = connect(proxyPort, '127.0.0.1');
    s.on('error', () => undefined);
    s.write(`POST /upload-${i} HTTP/1.1\r\nhost: s.test\r\ncontent-length: 1000000\r\n\r\n`);
    sockets.push(s);
  }
  const drip = setInterval(() => {
    for (const s of sockets) s.write('x');
  }, 1000);
  try {
    await new Promise((r) => setTimeout(r, 1500));
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      assert.equal(await control(), 200);
      const ms = performance.now() - t0;
      assert.ok(ms < 2000, `control took ${ms.toFixed(0)} ms`);
    }
    assert.equal(up.count('/upload-'), 0, 'no upload reached the upstream');
    assert.ok(up.connections - conns <= 5, `${up.connections - conns} new upstream connections`);
  } finally {
    clearInterval(drip);
    for (const s of sockets) s.destroy();
  }
  await stillServing();
});

test('a body over the buffer streams as soon as the buffer is full, and a fast one completes', async () => {
  const body = Buffer.alloc(3 * 1048576, 1);
  const r = await raw((s) => {
    s.write(`PUT /big HTTP/1.1\r\nhost: b.test\r\ncontent-length: ${body.length}\r\n\r\n`);
    s.write(body);
  });
  assert.deepEqual(responses(r.text), [200]);
  r.socket.destroy();
  assert.match(r.text, new RegExp(`"bodyBytes":${body.length}`));
  const chunked = await raw(
    'POST /chunked HTTP/1.1\r\nhost: b.test\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
  );
  assert.deepEqual(responses(chunked.text), [200]);
  chunked.socket.destroy();
  assert.match(chunked.text, /"bodyBytes":11/);
  assert.equal(up.seen.at(-1)!.headers['content-length'], '11', 'a small chunked body is sent with its length');
  await stillServing();
});

test('a streamed body (over the buffer) is still retried on another target when the first one refuses the connection', async () => {
  const dead = await deadPort();
  assert.equal((await admin('PUT', '/upstreams/mixed', {})).status, 200);
  assert.equal((await admin('POST', '/upstreams/mixed/targets', { target: `127.0.0.1:${dead}` })).status, 201);
  assert.equal((await admin('POST', '/upstreams/mixed/targets', { target: `127.0.0.1:${up.port}` })).status, 201);
  assert.equal((await admin('PUT', '/services/mixed', { host: 'mixed', retries: 2 })).status, 200);
  assert.equal((await admin('PUT', '/services/mixed/routes/mixed', { paths: ['/mixed'] })).status, 200);
  await waitFor(async () => (await control('/mixed/ready')) === 200, 5000, 'mixed route');
  const body = Buffer.alloc(1048576, 2);
  for (let i = 0; i < 4; i++) {
    const before = up.seen.length;
    const r = await raw((s) => {
      s.write(`POST /mixed/${i} HTTP/1.1\r\nhost: m.test\r\ncontent-length: ${body.length}\r\n\r\n`);
      s.write(body);
    });
    assert.deepEqual(responses(r.text), [200], `request ${i}`);
    r.socket.destroy();
    assert.equal(up.seen.length, before + 1);
    assert.equal(up.seen.at(-1)!.bodyBytes, body.length, `request ${i}: the whole body reached the live target`);
  }
  await stillServing();
});

test('pipelined requests reach the upstream one at a time and in order, answered in order', async () => {
  const start = up.seen.length;
  let text = '';
  for (let round = 0; round < 5; round++) {
    const r = await raw(
      `POST /order/1 HTTP/1.1\r\nhost: o.test\r\ncontent-length: 5\r\n\r\nhello` +
        `DELETE /order/2 HTTP/1.1\r\nhost: o.test\r\n\r\n` +
        `GET /order/3 HTTP/1.1\r\nhost: o.test\r\n\r\n`,
      (t) => responses(t).length === 3 && complete(t.slice(t.lastIndexOf('HTTP/1.1 '))),
    );
    r.socket.destroy();
    text = r.text;
    assert.deepEqual(responses(text), [200, 200, 200]);
    const bodies = [...text.matchAll(/"url":"([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(bodies, ['/order/1', '/order/2', '/order/3'], 'answers in order');
  }
  const urls = up.seen.slice(start).map((s) => s.url);
  assert.deepEqual(urls, Array.from({ length: 5 }, () => ['/order/1', '/order/2', '/order/3']).flat(), 'the upstream saw them in order');
  await stillServing();
});

test('300 pipelined GETs to a target that never answers: a handful of upstream connections, cancelled when the client goes away', async () => {
  const conns = up.connections;
  let payload = '';
  for (let i = 0; i < 300; i++) payload += `GET /hang/${i} HTTP/1.1\r\nhost: pipe.test\r\n\r\n`;
  const s = connect(proxyPort, '127.0.0.1');
  s.on('error', () => undefined);
  s.write(payload);
  await waitFor(() => up.count('/hang/') >= 1, 5000, 'the first pipelined request');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(up.count('/hang/'), 1, 'only the first request was dispatched');
  assert.ok(up.connections - conns <= 3, `${up.connections - conns} upstream connections`);
  for (let i = 0; i < 3; i++) assert.equal(await control(), 200, 'control request to the same target');
  const openBefore = up.open;
  s.destroy();
  // the try is cancelled: its upstream connection closes, and nothing more arrives
  await waitFor(() => up.open < openBefore, 5000, 'the upstream connection of the cancelled try closes');
  const after = up.count('/hang/');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(up.count('/hang/'), after, 'no request reached the upstream after the client left');
  assert.equal(after, 1);
  await stillServing();
});

test('a broken request line is still 400 and the process lives on', async () => {
  const r = await raw('GARBAGE\r\n\r\n');
  assert.deepEqual(responses(r.text), [400]);
  await stillServing();
});

/** The header lines of the first response in `text`, by lower-cased name. */
function headOf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    out[line.slice(0, i).toLowerCase()] ??= line.slice(i + 1).trim();
  }
  return out;
}

test("every refusal carries Kong's headers for an answer it made itself: Server, X-Kong-Response-Latency, X-Kong-Request-Id", async () => {
  let many = 'GET /many HTTP/1.1\r\nhost: h.test\r\n';
  for (let i = 0; i < 200; i++) many += `x-junk-${i}: ${i}\r\n`;
  const cases: [string, number, string | ((s: Socket) => void), number][] = [
    ['bad Host', 400, 'GET /h HTTP/1.1\r\nhost: a..b\r\n\r\n', 0],
    ['broken request line', 400, 'GARBAGE\r\n\r\n', 0],
    ['too many header fields', 431, `${many}\r\n`, 0],
    ['a header line over 8 KiB', 400, `GET /huge HTTP/1.1\r\nhost: h.test\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`, 0],
    ['a head over 32 KiB', 400, `GET /huge HTTP/1.1\r\nhost: h.test\r\nx-big: ${'a'.repeat(40_000)}\r\n\r\n`, 0],
    ['a request line over 8 KiB', 414, `GET /${'u'.repeat(9000)} HTTP/1.1\r\nhost: h.test\r\n\r\n`, 0],
    ['TRACE', 405, 'TRACE / HTTP/1.1\r\nhost: h.test\r\n\r\n', 0],
    ['bad Host on an upgrade', 400, 'GET /ws HTTP/1.1\r\nhost: a..b\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n', 0],
    // the latency of a timeout is at least the timeout (1 s header, 1.5 s body timeout above)
    ['client_header_timeout', 408, 'GET /slow-head HTTP/1.1\r\nhost: t.test\r\n', 1000],
    ['client_body_timeout', 408, (s) => s.write('POST /slow-body HTTP/1.1\r\nhost: t.test\r\ncontent-length: 1000\r\n\r\nfirst'), 1400],
  ];
  for (const [what, status, payload, atLeast] of cases) {
    const r = await raw(payload, undefined, 10_000);
    r.socket.destroy();
    assert.deepEqual(responses(r.text), [status], what);
    const h = headOf(r.text);
    assert.match(h.server ?? '', /^gw\/\S+$/, `${what}: Server`);
    assert.match(h['x-kong-request-id'] ?? '', /^[0-9a-f]{32}$/, `${what}: X-Kong-Request-Id`);
    assert.equal(h['x-gw-request-id'], h['x-kong-request-id'], `${what}: x-gw-request-id`);
    assert.match(h['x-kong-response-latency'] ?? '', /^\d+$/, `${what}: X-Kong-Response-Latency`);
    assert.ok(Number(h['x-kong-response-latency']) >= atLeast, `${what}: X-Kong-Response-Latency ${h['x-kong-response-latency']}`);
    for (const name of ['via', 'x-kong-upstream-latency', 'x-kong-proxy-latency']) assert.equal(h[name], undefined, `${what}: no ${name}`);
  }
  await stillServing();
});
