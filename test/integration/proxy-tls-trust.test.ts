/**
 * https upstreams, trusted_ips for X-Forwarded-*, and https-only routes
 * (426 or the configured redirect).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { startTestGateway } from '../helpers/gateway.js';
import { startUpstream, type EchoBody, type TestUpstream } from '../helpers/upstream.js';

const fixture = (f: string) => readFileSync(new URL(`../../../test/fixtures/tls/${f}`, import.meta.url));

let trusting: Awaited<ReturnType<typeof startTestGateway>>;
let plain: Awaited<ReturnType<typeof startTestGateway>>;
let echo: TestUpstream;
let tls: Server;
let tlsPort: number;

before(async () => {
  trusting = await startTestGateway({ trustedIps: ['127.0.0.0/8'] });
  plain = await startTestGateway();
  echo = await startUpstream('echo');
  tls = createHttpsServer({ key: fixture('key.pem'), cert: fixture('cert.pem') }, (req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ tls: true, host: req.headers.host, servername: (req.socket as { servername?: string }).servername ?? null }));
  });
  await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
  tlsPort = (tls.address() as AddressInfo).port;
  for (const gw of [trusting, plain]) {
    assert.equal((await gw.admin.call('PUT', '/services/echo', { url: `http://${echo.address}` })).status, 200);
    assert.equal((await gw.admin.call('POST', '/services/echo/routes', { name: 'open', paths: ['/open'] })).status, 201);
    assert.equal(
      (await gw.admin.call('POST', '/services/echo/routes', { name: 'secure', paths: ['/secure'], protocols: ['https'] })).status,
      201,
    );
    assert.equal(
      (
        await gw.admin.call('POST', '/services/echo/routes', {
          name: 'moved',
          paths: ['/moved'],
          protocols: ['https'],
          https_redirect_status_code: 301,
        })
      ).status,
      201,
    );
  }
});
after(async () => {
  await trusting.close(200);
  await plain.close(200);
  await echo.close();
  tls.closeAllConnections();
  await new Promise<void>((r) => tls.close(() => r()));
});

async function get(base: string, path: string, headers: Record<string, string> = {}) {
  const r = await request(base + path, { headers });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, text };
}

test('X-Forwarded-* from a trusted peer are kept; from anyone else they are replaced (Kong trusted_ips)', async () => {
  const sent = {
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'api.example.com',
    'x-forwarded-port': '443',
    'x-forwarded-for': '203.0.113.9',
  };
  const t = JSON.parse((await get(trusting.proxyUrl, '/open', sent)).text) as EchoBody;
  assert.equal(t.headers['x-forwarded-proto'], 'https');
  assert.equal(t.headers['x-forwarded-host'], 'api.example.com');
  assert.equal(t.headers['x-forwarded-port'], '443');
  assert.equal(t.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
  const p = JSON.parse((await get(plain.proxyUrl, '/open', sent)).text) as EchoBody;
  assert.equal(p.headers['x-forwarded-proto'], 'http');
  assert.equal(p.headers['x-forwarded-host'], '127.0.0.1');
  assert.equal(p.headers['x-forwarded-port'], new URL(plain.proxyUrl).port);
  assert.equal(p.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1', 'X-Forwarded-For is always appended to');
});

test("X-Forwarded-Host is nginx's $host: the Host without its port, lowercased, without a trailing dot", async () => {
  const xfh = async (host: string) =>
    (JSON.parse((await get(plain.proxyUrl, '/open', { host })).text) as EchoBody).headers['x-forwarded-host'];
  assert.equal(await xfh('API.Example.COM:8000'), 'api.example.com');
  assert.equal(await xfh('api.example.com.'), 'api.example.com');
  assert.equal(await xfh('api.example.com.:80'), 'api.example.com');
  assert.equal(await xfh('[::1]:8000'), '[::1]');
  const m = await get(plain.proxyUrl, '/moved/x', { host: 'API.Example.com.:8000' });
  assert.equal(m.headers.location, 'https://api.example.com/moved/x', 'the https redirect uses $host too');
});

test("a trusted peer's X-Real-IP is the client's address (Kong's realip): X-Real-IP, and X-Forwarded-For when none came", async () => {
  const echoed = async (base: string, headers: Record<string, string>) => JSON.parse((await get(base, '/open', headers)).text) as EchoBody;
  const t = await echoed(trusting.proxyUrl, { 'x-real-ip': '10.0.0.1' });
  assert.equal(t.headers['x-real-ip'], '10.0.0.1');
  assert.equal(t.headers['x-forwarded-for'], '10.0.0.1');
  // with an X-Forwarded-For, Kong appends the peer's address ($realip_remote_addr)
  const both = await echoed(trusting.proxyUrl, { 'x-real-ip': '10.0.0.1:5000', 'x-forwarded-for': '203.0.113.9' });
  assert.equal(both.headers['x-real-ip'], '10.0.0.1');
  assert.equal(both.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
  const junk = await echoed(trusting.proxyUrl, { 'x-real-ip': 'somewhere' });
  assert.equal(junk.headers['x-real-ip'], '127.0.0.1', 'a value that is no address is ignored');
  const p = await echoed(plain.proxyUrl, { 'x-real-ip': '10.0.0.1' });
  assert.equal(p.headers['x-real-ip'], '127.0.0.1', 'an untrusted peer cannot set its address');
  assert.equal(p.headers['x-forwarded-for'], '127.0.0.1');
});

test("hash_on ip hashes a trusted peer's X-Real-IP (Kong hashes $remote_addr, after realip)", async () => {
  const other = await startUpstream('other');
  try {
    await trusting.admin.call('PUT', '/upstreams/by-ip', { hash_on: 'ip' });
    await trusting.admin.call('POST', '/upstreams/by-ip/targets', { target: echo.address });
    await trusting.admin.call('POST', '/upstreams/by-ip/targets', { target: other.address });
    await trusting.admin.call('PUT', '/services/by-ip', { host: 'by-ip' });
    await trusting.admin.call('POST', '/services/by-ip/routes', { paths: ['/by-ip'] });
    const seen = new Map<string, string>();
    for (let i = 1; i <= 20; i++) {
      const ip = `10.0.0.${i}`;
      for (let k = 0; k < 2; k++) {
        const r = JSON.parse((await get(trusting.proxyUrl, '/by-ip', { 'x-real-ip': ip })).text) as EchoBody;
        assert.equal(seen.get(ip) ?? r.name, r.name, `${ip} stays on one target`);
        seen.set(ip, r.name);
      }
    }
    // one peer address for all: without realip every request would hash the same (the chance 20 addresses share a target: 2^-19)
    assert.deepEqual(new Set(seen.values()), new Set(['echo', 'other']));
  } finally {
    await other.close();
  }
});

test("an https-only route over plain HTTP: 426 with Kong's message, or the configured redirect", async () => {
  const r = await get(plain.proxyUrl, '/secure');
  assert.equal(r.status, 426);
  assert.equal((JSON.parse(r.text) as { message: string }).message, 'Please use HTTPS protocol');
  const m = await get(plain.proxyUrl, '/moved/x?y=1', { host: 'api.example.com:8000' });
  assert.equal(m.status, 301);
  assert.equal(m.headers.location, 'https://api.example.com/moved/x?y=1');
  // behind a trusted TLS-terminating load balancer the same request is https
  assert.equal((await get(trusting.proxyUrl, '/secure', { 'x-forwarded-proto': 'https' })).status, 200);
  assert.equal(
    (await get(plain.proxyUrl, '/secure', { 'x-forwarded-proto': 'https' })).status,
    426,
    'an untrusted peer cannot claim https',
  );
});

test('a service with protocol https is reached over TLS; tls_verify decides whether a self-signed certificate is accepted', async () => {
  const gw = plain;
  assert.equal((await gw.admin.call('PUT', '/upstreams/secure.up', { host_header: 'upstream.test' })).status, 200);
  assert.equal((await gw.admin.call('POST', '/upstreams/secure.up/targets', { target: `127.0.0.1:${tlsPort}` })).status, 201);
  assert.equal((await gw.admin.call('PUT', '/services/tls', { protocol: 'https', host: 'secure.up', port: 443 })).status, 200);
  assert.equal((await gw.admin.call('POST', '/services/tls/routes', { paths: ['/tls'] })).status, 201);
  const r = await get(gw.proxyUrl, '/tls');
  assert.equal(r.status, 200, r.text);
  const body = JSON.parse(r.text) as { tls: boolean; host: string; servername: string | null };
  assert.equal(body.tls, true);
  assert.equal(body.host, `upstream.test:${tlsPort}`, 'host_header with the target port (not 443), as Kong');
  assert.equal(body.servername, 'upstream.test', 'SNI from the upstream host_header');
  assert.equal((await gw.admin.call('PATCH', '/services/tls', { tls_verify: true })).status, 200);
  const refused = await get(gw.proxyUrl, '/tls');
  assert.equal(refused.status, 502, 'a self-signed certificate fails verification');
});
