/**
 * Hostname targets resolved like Kong (kong/runloop/balancer/targets.lua;
 * spec/02-integration/05-proxy/10-balancer/): a real gateway whose
 * --dns-resolver is the test DNS server on 127.0.0.1 (no made-up name is
 * ever asked of the system resolver), real upstreams on 127.0.0.x.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Gateway } from '../../gateway/src/gateway.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { type AdminClient, startTestGateway } from '../helpers/gateway.js';
import { type Behaviour, type EchoBody, startUpstream, type TestUpstream, waitFor } from '../helpers/upstream.js';

let dns: TestDnsServer;
let gw: Gateway & { admin: AdminClient };
const upstreams: TestUpstream[] = [];

/** Two upstreams on `ipA` and `ipB` sharing one port (the port the A records' target carries). */
async function pair(name: string, ipA: string, ipB: string, behave?: Behaviour): Promise<[TestUpstream, TestUpstream]> {
  const a = await startUpstream(`${name}-a`, behave, { host: ipA });
  const b = await startUpstream(`${name}-b`, undefined, { host: ipB, port: a.port });
  upstreams.push(a, b);
  return [a, b];
}

async function serviceFor(upstream: string, body: Record<string, unknown> = {}): Promise<void> {
  assert.equal((await gw.admin.call('PUT', `/upstreams/${upstream}`, body)).status, 200);
  assert.equal((await gw.admin.call('PUT', `/services/${upstream}`, { host: upstream, port: 80 })).status, 200);
  assert.equal((await gw.admin.call('PUT', `/routes/${upstream}`, { paths: [`/${upstream}`], service: { name: upstream } })).status, 200);
}

async function get(path: string): Promise<{ status: number; body: EchoBody | undefined }> {
  const res = await fetch(gw.proxyUrl + path);
  const text = await res.text();
  return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as EchoBody) : undefined };
}

/** Names of the upstreams that answered `n` requests (bounded). */
async function spread(path: string, n: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = await get(path);
    const k = r.status === 200 ? r.body!.name : `status ${r.status}`;
    seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  return seen;
}

interface HealthEntry {
  target: string;
  health: string;
  data: { dns: string; weight: { total: number }; addresses: { ip: string; port: number; weight: number; health: string }[] };
  gw?: { dns_error: string | null; state: string };
}
const health = async (u: string) => (await gw.admin.call<{ data: HealthEntry[] }>('GET', `/upstreams/${u}/health`)).body.data;

before(async () => {
  dns = await startDnsServer();
  gw = await startTestGateway({ dnsResolver: [dns.address], healthTickMs: 50 });
});
after(async () => {
  await gw.close(0);
  await Promise.all(upstreams.map((u) => u.close()));
  await dns.close();
});

test('one hostname target with two A records: both addresses get traffic; Host is the target name; the record changes → traffic follows within the TTL', async () => {
  const [a, b] = await pair('users', '127.0.0.2', '127.0.0.3');
  dns.zone.set('users.prod.local', { A: ['127.0.0.2', '127.0.0.3'], ttl: 1 });
  await serviceFor('users');
  assert.equal((await gw.admin.call('POST', '/upstreams/users/targets', { target: `users.prod.local:${a.port}`, weight: 50 })).status, 201);
  await waitFor(async () => (await get('/users')).status === 200, 10_000, 'first answer through the resolved addresses');
  const seen = await spread('/users', 20);
  assert.ok((seen.get('users-a') ?? 0) > 0 && (seen.get('users-b') ?? 0) > 0, `both addresses answered: ${JSON.stringify([...seen])}`);
  const r = await get('/users');
  assert.equal(r.body?.headers.host, `users.prod.local:${a.port}`, 'Host is the target name (preserve_host false), not the IP');
  const h = await health('users');
  assert.equal(h.length, 1, 'one entry per target');
  assert.equal(h[0]!.health, 'HEALTHCHECKS_OFF');
  assert.equal(h[0]!.data.dns, 'A');
  assert.deepEqual(
    h[0]!.data.addresses.map((x) => [x.ip, x.port, x.weight]),
    [
      ['127.0.0.2', a.port, 50],
      ['127.0.0.3', b.port, 50],
    ],
  );
  assert.equal(h[0]!.data.weight.total, 100);

  dns.zone.set('users.prod.local', { A: ['127.0.0.3'], ttl: 1 });
  await waitFor(
    async () => {
      const s = await spread('/users', 6);
      return s.get('users-b') === 6;
    },
    10_000,
    'traffic only to the remaining address',
  );
  const after = await health('users');
  assert.deepEqual(
    after[0]!.data.addresses.map((x) => x.ip),
    ['127.0.0.3'],
  );
});

test('one address killed: active checks eject only that address, the name keeps serving from the other', async () => {
  const probeHosts = new Set<string>();
  // once set, probes get no answer (a probe timeout counts for nothing here: unhealthy.timeouts is 0), so a manual override sticks
  let holdProbes = false;
  let heldProbes = 0;
  const [a, b] = await pair('orders', '127.0.0.4', '127.0.0.5', (req) => {
    if (req.headers['user-agent'] !== 'gw-healthcheck') return 'default';
    probeHosts.add(req.headers.host ?? '');
    if (!holdProbes) return 'default';
    heldProbes++;
  });
  dns.zone.set('orders.prod.local', { A: ['127.0.0.4', '127.0.0.5'], ttl: 30 });
  await serviceFor('orders', {
    healthchecks: {
      active: { healthy: { interval: 0.2, successes: 1 }, unhealthy: { interval: 0.2, tcp_failures: 1, http_failures: 1 } },
      passive: { unhealthy: { tcp_failures: 1 } },
    },
  });
  assert.equal((await gw.admin.call('POST', '/upstreams/orders/targets', { target: `orders.prod.local:${a.port}` })).status, 201);
  await waitFor(
    async () => {
      const s = await spread('/orders', 10);
      return (s.get('orders-a') ?? 0) > 0 && (s.get('orders-b') ?? 0) > 0;
    },
    15_000,
    'both addresses warmed up and serving',
  );
  await b.close();
  await waitFor(
    async () => (await health('orders'))[0]?.data.addresses.find((x) => x.ip === '127.0.0.5')?.health === 'UNHEALTHY',
    15_000,
    '127.0.0.5 ejected',
  );
  const h = (await health('orders'))[0]!;
  assert.equal(h.health, 'HEALTHY', 'the target stays healthy while one address is');
  assert.equal(h.data.addresses.find((x) => x.ip === '127.0.0.4')?.health, 'HEALTHY');
  const s = await spread('/orders', 10);
  assert.equal(s.get('orders-a'), 10, `only the live address serves: ${JSON.stringify([...s])}`);
  assert.deepEqual([...probeHosts], [`orders.prod.local:${a.port}`], 'probes send the target name as Host, as the proxy does');
  // Kong's PUT /upstreams/{u}/targets/{t}/{address}/unhealthy: one address of the name
  const t = `orders.prod.local:${a.port}`;
  // a probe answered before this would heal the address again (healthy.successes 1) behind the override's back
  holdProbes = true;
  await waitFor(async () => heldProbes > 0, 15_000, 'a probe held: every earlier one is done');
  assert.equal((await gw.admin.call('PUT', `/upstreams/orders/targets/${t}/127.0.0.4:${a.port}/unhealthy`)).status, 204);
  assert.equal((await health('orders'))[0]!.health, 'UNHEALTHY', 'no address left healthy');
  // not one of its addresses: Kong's checker does not know it, logs it and succeeds (204), nothing changes
  assert.equal((await gw.admin.call('PUT', `/upstreams/orders/targets/${t}/127.0.0.99:${a.port}/healthy`)).status, 204);
  assert.equal((await health('orders'))[0]!.health, 'UNHEALTHY', 'an address it does not have changes nothing');
  assert.equal((await gw.admin.call('PUT', `/upstreams/orders/targets/${t}/healthy`)).status, 204);
  assert.equal((await health('orders'))[0]!.data.addresses.find((x) => x.ip === '127.0.0.4')?.health, 'HEALTHY');
  // Kong's 08-targets_routes_spec "returns HEALTHCHECKS_OFF for target with weight 0", for a hostname target too
  assert.equal((await gw.admin.call('PATCH', `/upstreams/orders/targets/${t}`, { weight: 0 })).status, 200);
  const drained = await waitFor(
    async () => {
      const e = (await health('orders'))[0]!;
      return e.data.addresses.every((x) => x.weight === 0) ? e : undefined;
    },
    10_000,
    'weight 0 on every address',
  );
  assert.ok(drained);
  assert.equal(drained.health, 'HEALTHCHECKS_OFF');
  assert.ok(drained.data.addresses.every((x) => x.health === 'HEALTHCHECKS_OFF'));
});

test('SRV record: the SRV ports and weights are used (Kong: SRV first, weight 0 → 1)', async () => {
  const x = await startUpstream('srv-x', undefined, { host: '127.0.0.6' });
  const y = await startUpstream('srv-y', undefined, { host: '127.0.0.7' });
  upstreams.push(x, y);
  dns.zone.set('api.prod.local', {
    SRV: [
      { priority: 10, weight: 0, port: x.port, target: 'x.api.prod.local' },
      { priority: 10, weight: 30, port: y.port, target: 'y.api.prod.local' },
    ],
    ttl: 30,
  });
  dns.zone.set('x.api.prod.local', { A: ['127.0.0.6'], ttl: 30 });
  dns.zone.set('y.api.prod.local', { A: ['127.0.0.7'], ttl: 30 });
  await serviceFor('api');
  // no port given: the target is api.prod.local:8000, the SRV ports win
  assert.equal((await gw.admin.call('POST', '/upstreams/api/targets', { target: 'api.prod.local' })).status, 201);
  await waitFor(
    async () => {
      const s = await spread('/api', 20);
      return (s.get('srv-x') ?? 0) > 0 && (s.get('srv-y') ?? 0) > 0;
    },
    10_000,
    'both SRV targets serving',
  );
  const h = (await health('api'))[0]!;
  assert.equal(h.data.dns, 'SRV');
  assert.deepEqual(
    h.data.addresses.map((a) => [a.ip, a.port, a.weight]),
    [
      ['127.0.0.6', x.port, 1],
      ['127.0.0.7', y.port, 30],
    ],
  );
  assert.ok((dns.queries.get('SRV api.prod.local') ?? 0) >= 1);
});

test('unresolvable name: DNS_ERROR in /upstreams/{u}/health and dns_error in the metrics, while an IP target of the same upstream keeps serving', async () => {
  const ip = await startUpstream('ip-target');
  upstreams.push(ip);
  await serviceFor('mixed', { healthchecks: { passive: { unhealthy: { tcp_failures: 1 } } } });
  assert.equal((await gw.admin.call('POST', '/upstreams/mixed/targets', { target: 'nothere.prod.local:80' })).status, 201);
  assert.equal((await gw.admin.call('POST', '/upstreams/mixed/targets', { target: ip.address })).status, 201);
  const h = await waitFor(
    async () => {
      const l = await health('mixed');
      const e = l.find((x) => x.target === 'nothere.prod.local:80');
      return e?.health === 'DNS_ERROR' && e.gw?.dns_error ? l : undefined;
    },
    10_000,
    'DNS_ERROR',
  );
  assert.ok(h);
  const bad = h.find((x) => x.target === 'nothere.prod.local:80')!;
  assert.deepEqual(bad.data.addresses, []);
  assert.equal(bad.gw?.dns_error, 'dns server error: 3 name error');
  assert.equal(bad.gw?.state, 'dns_error');
  assert.equal(h.find((x) => x.target === ip.address)?.health, 'HEALTHY');
  const s = await spread('/mixed', 10);
  assert.equal(s.get('ip-target'), 10, `the IP target serves every request: ${JSON.stringify([...s])}`);
  const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  assert.match(metrics, /kong_upstream_target_health\{[^}]*upstream="mixed",target="nothere.prod.local:80"[^}]*state="dns_error"[^}]*\} 1/);
  // never asked anything but the test server: every query of a made-up name reached it
  assert.ok((dns.queries.get('A nothere.prod.local') ?? 0) >= 1);
});

test('dns_stale_ttl: the DNS server failing (SERVFAIL) after the TTL keeps the last good answer serving', async () => {
  const [a] = await pair('stale', '127.0.0.10', '127.0.0.11');
  dns.zone.set('stale.prod.local', { A: ['127.0.0.10'], ttl: 1 });
  await serviceFor('stale');
  assert.equal((await gw.admin.call('POST', '/upstreams/stale/targets', { target: `stale.prod.local:${a.port}` })).status, 201);
  await waitFor(async () => (await get('/stale')).status === 200, 10_000, 'first answer');
  const asked = dns.queries.get('A stale.prod.local') ?? 0;
  dns.zone.set('stale.prod.local', { rcode: 2 });
  await waitFor(() => (dns.queries.get('A stale.prod.local') ?? 0) >= asked + 2, 10_000, 're-resolutions past the TTL');
  const s = await spread('/stale', 5);
  assert.equal(s.get('stale-a'), 5, `the stale answer still serves: ${JSON.stringify([...s])}`);
  const h = (await health('stale'))[0]!;
  assert.equal(h.data.addresses.length, 1);
  assert.equal(h.gw?.dns_error, 'dns server error: 2 server failure', 'the failure is shown while the stale answer serves');
});

test('--workers 2: every proxy process resolves the name with the same --dns-resolver and balances over its addresses', async () => {
  const [a] = await pair('wk', '127.0.0.8', '127.0.0.9');
  dns.zone.set('wk.prod.local', { A: ['127.0.0.8', '127.0.0.9'], ttl: 30 });
  const g = await startTestGateway({ dnsResolver: [dns.address], workers: 2, healthTickMs: 50 });
  try {
    assert.equal((await g.admin.call('PUT', '/upstreams/wk', {})).status, 200);
    assert.equal((await g.admin.call('PUT', '/services/wk', { host: 'wk', port: 80 })).status, 200);
    assert.equal((await g.admin.call('PUT', '/routes/wk', { paths: ['/wk'], service: { name: 'wk' } })).status, 200);
    assert.equal((await g.admin.call('POST', '/upstreams/wk/targets', { target: `wk.prod.local:${a.port}` })).status, 201);
    const seen = await waitFor(
      async () => {
        const s = new Map<string, number>();
        for (let i = 0; i < 20; i++) {
          const res = await fetch(`${g.proxyUrl}/wk`);
          const k = res.status === 200 ? ((await res.json()) as EchoBody).name : `status ${res.status}`;
          s.set(k, (s.get(k) ?? 0) + 1);
        }
        return (s.get('wk-a') ?? 0) > 0 && (s.get('wk-b') ?? 0) > 0 ? s : undefined;
      },
      15_000,
      'both addresses through the worker proxies',
    );
    assert.ok(seen);
    const h = (await g.admin.call<{ data: HealthEntry[] }>('GET', '/upstreams/wk/health')).body.data;
    assert.deepEqual(
      h[0]!.data.addresses.map((x) => x.ip),
      ['127.0.0.8', '127.0.0.9'],
    );
  } finally {
    await g.close(0);
  }
});
