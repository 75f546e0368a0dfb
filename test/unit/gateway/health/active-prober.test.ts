/**
 * The active probe against real sockets on 127.0.0.1: the request head Kong's
 * lua-resty-healthcheck sends (HTTP/1.0, Host, the configured headers), the
 * status line read and classified, and every way a probe fails.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { createServer as createTlsServer } from 'node:tls';
import { probeRequest, probeServername, probeTarget, type ProbeSpec } from '../../../../gateway/src/health/active-prober.js';
import { upstream } from '../balancer/fixtures.js';

const TLS_DIR = join(process.cwd(), 'test/fixtures/tls');

function spec(port: number, active: Record<string, unknown> = {}, hostHeader: string | null = null): ProbeSpec {
  const u = upstream({ healthchecks: { active: { timeout: 5, ...active } } });
  return { host: '127.0.0.1', port, address: `127.0.0.1:${port}`, hostHeader, active: u.healthchecks.active };
}

/** A raw server: `answer` gets each connection and the bytes received so far. */
async function rawServer(
  answer: (sock: Socket, received: () => string) => void,
): Promise<{ port: number; server: Server; heads: string[] }> {
  const heads: string[] = [];
  const server = createServer((sock) => {
    let got = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      got += d;
      if (got.includes('\r\n\r\n')) heads.push(got);
    });
    sock.on('error', () => undefined);
    answer(sock, () => got);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, server, heads };
}

/** Answers `reply` (written in the given pieces) once the request head is in. */
const replying = (...pieces: string[]) =>
  rawServer((sock, received) => {
    sock.on('data', () => {
      if (!received().includes('\r\n\r\n')) return;
      let i = 0;
      const next = (): void => {
        if (i < pieces.length) sock.write(pieces[i++]!, () => setImmediate(next));
      };
      next();
    });
  });

test('the request head: GET http_path HTTP/1.0, Host (host_header or the target), User-Agent, configured headers, Connection: close', async () => {
  const s = await replying('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  try {
    const sp = spec(
      s.port,
      { http_path: '/status/deep', headers: { 'X-Probe': ['a', 'b'], 'X-Bad': ['x\r\nInjected: 1'] } },
      'svc.internal',
    );
    assert.equal(await probeTarget(sp), 'success');
    const head = s.heads[0]!;
    assert.ok(head.startsWith('GET /status/deep HTTP/1.0\r\n'), head);
    assert.match(head, /\r\nHost: svc\.internal\r\n/);
    assert.match(head, /\r\nUser-Agent: gw-healthcheck\r\n/);
    assert.match(head, /\r\nX-Probe: a\r\nX-Probe: b\r\n/);
    assert.doesNotMatch(head, /Injected/, 'a value with CR/LF is never sent');
    assert.ok(head.endsWith('Connection: close\r\n\r\n'), head);
    // without host_header: the target's host:port; a configured Host wins
    assert.match(probeRequest(spec(s.port)), new RegExp(`\\r\\nHost: 127\\.0\\.0\\.1:${s.port}\\r\\n`));
    const own = probeRequest(spec(s.port, { headers: { host: ['mine.example'] } }, 'svc.internal'));
    assert.match(own, /\r\nhost: mine\.example\r\n/);
    assert.doesNotMatch(own, /svc\.internal/);
  } finally {
    s.server.close();
  }
});

test('status line: healthy list → success, unhealthy list → http_failure, neither → ignored, split over reads', async () => {
  const cases: [string[], string | null][] = [
    [['HTTP/1.1 200 OK\r\n\r\n'], 'success'],
    [['HTTP/1.0 302 Found\r\n'], 'success'],
    [['HTTP/1.1 500 Internal Server Error\r\n\r\n'], 'http_failure'],
    [['HTTP/1.1 418 I am a teapot\r\n\r\n'], null],
    [['HTTP/1.1 2', '00 OK\r', '\nbroken header line without colon\r\n'], 'success'],
    [['http/1.1 404 Not Found\n'], 'http_failure'],
    // no status line: Kong reports status 0, an HTTP failure
    [['hello there\r\n'], 'http_failure'],
    [['x'.repeat(9000)], 'http_failure'],
  ];
  for (const [pieces, want] of cases) {
    const s = await replying(...pieces);
    try {
      assert.equal(await probeTarget(spec(s.port)), want, JSON.stringify(pieces).slice(0, 80));
    } finally {
      s.server.close();
    }
  }
});

test('failures: refused and closed before a status line are tcp_failure, silence past timeout is timeout', async () => {
  const gone = await rawServer(() => undefined);
  const port = gone.port;
  await new Promise<void>((r) => gone.server.close(() => r()));
  assert.equal(await probeTarget(spec(port)), 'tcp_failure');

  const closer = await rawServer((sock, received) => sock.on('data', () => received().includes('\r\n\r\n') && sock.end('HTTP/1.1 20')));
  try {
    assert.equal(await probeTarget(spec(closer.port)), 'tcp_failure');
  } finally {
    closer.server.close();
  }

  const silent = await rawServer(() => undefined);
  try {
    const t0 = Date.now();
    assert.equal(await probeTarget(spec(silent.port, { timeout: 0.2 })), 'timeout');
    assert.ok(Date.now() - t0 >= 150, 'not before the timeout');
  } finally {
    silent.server.close();
  }
});

test('tcp probes only connect; the prober closes its connection after every probe', async () => {
  let open = 0;
  let seen = 0;
  const s = await rawServer((sock) => {
    open++;
    seen++;
    sock.on('close', () => open--);
  });
  try {
    assert.equal(await probeTarget(spec(s.port, { type: 'tcp' })), 'success');
    assert.equal(s.heads.length, 0, 'nothing sent');
    await waitUntil(() => open === 0);
    assert.equal(seen, 1);
  } finally {
    s.server.close();
  }
});

test('https: the status line over TLS; an unverifiable certificate is a tcp_failure when verification is on', async () => {
  const server = createTlsServer({ key: readFileSync(join(TLS_DIR, 'key.pem')), cert: readFileSync(join(TLS_DIR, 'cert.pem')) }, (sock) => {
    sock.on('error', () => undefined);
    sock.once('data', () => sock.end('HTTP/1.1 200 OK\r\n\r\n'));
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    assert.equal(await probeTarget(spec(port, { type: 'https', https_verify_certificate: false })), 'success');
    assert.equal(await probeTarget(spec(port, { type: 'https', https_verify_certificate: true })), 'tcp_failure');
  } finally {
    server.close();
  }
});

async function waitUntil(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('https probes send no SNI for an IP address, IPv6 with hex digits included; a name or https_sni is sent', () => {
  assert.equal(probeServername(null, '127.0.0.1'), undefined);
  assert.equal(probeServername(null, '::1'), undefined);
  assert.equal(probeServername(null, 'fe80::a:b'), undefined);
  assert.equal(probeServername(null, '::ffff:7f00:1'), undefined);
  assert.equal(probeServername(null, 'api.internal'), 'api.internal');
  assert.equal(probeServername(null, 'cafe'), 'cafe');
  assert.equal(probeServername('sni.example', '127.0.0.1'), 'sni.example');
});
