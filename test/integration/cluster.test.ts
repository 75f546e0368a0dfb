/**
 * Cluster mode: three real gateway nodes (each with its own proxy and Admin
 * API on 127.0.0.1) sharing the real PostgreSQL, a database per test. Every
 * node reaches PostgreSQL through a TCP relay the test controls, so the
 * database can be cut mid-load.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { request } from 'undici';
import { register } from '../../sdk/src/index.js';
import type { GatewayOptions } from '../../gateway/src/gateway.js';
import { PostgresStore } from '../../gateway/src/store/postgres.js';
import { createTestDatabase, sql } from '../helpers/postgres.js';
import { startTestGateway } from '../helpers/gateway.js';
import { startTcpRelay, type TcpRelay } from '../helpers/tcp-relay.js';
import { deadPort, startUpstream, waitFor } from '../helpers/upstream.js';

type Node = Awaited<ReturnType<typeof startTestGateway>>;

async function cluster(
  t: { after: (fn: () => Promise<void>) => void },
  n = 3,
  perNode: (i: number) => GatewayOptions = () => ({}),
): Promise<{ nodes: Node[]; relay: TcpRelay; url: string }> {
  const db = await createTestDatabase();
  const relay = await startTcpRelay(5432);
  const u = new URL(db.url);
  u.port = String(relay.port);
  const nodes: Node[] = [];
  t.after(async () => {
    await Promise.all(nodes.map((g) => g.close(1000)));
    await relay.close();
    await db.drop();
  });
  // all at once, on an empty database: every node migrates or waits for the one that does
  const started = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      startTestGateway({
        store: new PostgresStore({ url: u.toString(), pollMs: 250, backoffMs: [50, 250], queryTimeoutMs: 2000 }),
        nodeId: `node-${'abc'[i]}`,
        leaseSweepMs: 200,
        healthTickMs: 50,
        ...perNode(i),
      }),
    ),
  );
  nodes.push(...started);
  return { nodes, relay, url: db.url };
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const r = await request(url, { headersTimeout: 10_000, bodyTimeout: 10_000 });
  return { status: r.statusCode, body: await r.body.text() };
}

async function setup(a: Node, upstreamName: string, extra: Record<string, unknown> = {}): Promise<void> {
  assert.equal((await a.admin.call('PUT', `/upstreams/${upstreamName}`, extra)).status, 200);
  assert.equal((await a.admin.call('PUT', `/services/${upstreamName}`, { host: upstreamName, retries: 0 })).status, 200);
  const r = await a.admin.call('PUT', `/services/${upstreamName}/routes/${upstreamName}`, { paths: [`/${upstreamName}`] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

test('cluster: three nodes start at once on an empty database; a registration through A is routable through C; /cluster/nodes lists them', async (t) => {
  const { nodes } = await cluster(t);
  const [a, , c] = nodes as [Node, Node, Node];
  const app = await startUpstream('app');
  t.after(() => app.close());
  await setup(a, 'users');
  const started = Date.now();
  assert.equal((await a.admin.call('POST', '/upstreams/users/targets', { target: app.address, ttl: 30 })).status, 201);
  await waitFor(async () => (await get(`${c.proxyUrl}/users/x`)).status === 200, 10_000, 'the route and target on node C');
  const ms = Date.now() - started;
  t.diagnostic(`registration through A routable through C after ${ms} ms`);
  assert.ok(ms < 5000, `${ms} ms`);
  const list = await c.admin.call<{
    data: { id: string; reachable: boolean; self: boolean; revision: number; version: string; hostname: string; last_seen: number }[];
  }>('GET', '/cluster/nodes');
  assert.equal(list.status, 200);
  await waitFor(
    async () => (await c.admin.call<{ data: unknown[] }>('GET', '/cluster/nodes')).body.data.length === 3,
    5000,
    'three nodes listed',
  );
  const again = await c.admin.call<{
    data: { id: string; reachable: boolean; self: boolean; revision: number; version: string; last_seen: number }[];
  }>('GET', '/cluster/nodes');
  assert.deepEqual(again.body.data.map((x) => x.id).sort(), ['node-a', 'node-b', 'node-c']);
  assert.ok(again.body.data.every((x) => x.reachable && typeof x.version === 'string' && x.last_seen > 1e9));
  assert.deepEqual(
    again.body.data.filter((x) => x.self).map((x) => x.id),
    ['node-c'],
  );
  const status = await c.admin.call<{ database: { reachable: boolean; revision: number } }>('GET', '/status');
  assert.equal(status.status, 200);
  assert.equal(status.body.database.reachable, true);
  assert.equal(status.body.database.revision, c.store.revision);
});

test('cluster: read-your-writes across nodes: what a client created through A is there at once through B and C (behind an LB, consecutive requests land anywhere)', async (t) => {
  const { nodes } = await cluster(t);
  const [a, b, c] = nodes as [Node, Node, Node];
  for (let i = 0; i < 20; i++) {
    // the SDK's sequence, each step on another node, no waiting in between
    assert.equal((await a.admin.call('PUT', `/upstreams/ryw-${i}`, {})).status, 200);
    const tgt = await b.admin.call('POST', `/upstreams/ryw-${i}/targets`, { target: `127.0.3.${i + 1}:8080`, ttl: 30 });
    assert.equal(tgt.status, 201, `round ${i}: target through B right after the upstream through A: ${JSON.stringify(tgt.body)}`);
    const svc = await c.admin.call('PUT', `/services/ryw-${i}`, { host: `ryw-${i}` });
    assert.equal(svc.status, 200, JSON.stringify(svc.body));
    const route = await a.admin.call('POST', `/services/ryw-${i}/routes`, { paths: [`/ryw-${i}`] });
    assert.equal(route.status, 201, `round ${i}: route through A right after the service through C: ${JSON.stringify(route.body)}`);
    const list = await c.admin.call<{ data: { target: string }[] }>('GET', `/upstreams/ryw-${i}/targets`);
    assert.deepEqual(
      list.body.data.map((x) => x.target),
      [`127.0.3.${i + 1}:8080`],
      `round ${i}: C lists the target B just added`,
    );
    // a heartbeat through C for the target registered through B (the SDK re-registers on a 404)
    const beat = await c.admin.call('PUT', `/upstreams/ryw-${i}/targets/127.0.3.${i + 1}:8080`, { ttl: 30 });
    assert.equal(beat.status, 200, `round ${i}: heartbeat through C: ${JSON.stringify(beat.body)}`);
  }
});

test('cluster: a request in flight on node B holds a drain through node C; a passive ejection on A stops traffic to that target on B', async (t) => {
  const { nodes } = await cluster(t);
  const [a, b, c] = nodes as [Node, Node, Node];
  let release: (() => void) | undefined;
  const slow = await startUpstream('slow', (req, res) => {
    if (!req.url?.includes('hold')) return 'default';
    release = () => res.end('done');
  });
  t.after(() => slow.close());
  await setup(a, 'held');
  const tg = await a.admin.call<{ id: string }>('POST', '/upstreams/held/targets', { target: slow.address });
  assert.equal(tg.status, 201);
  await waitFor(async () => (await get(`${b.proxyUrl}/held/ok`)).status === 200, 10_000, 'route on B');
  const held = get(`${b.proxyUrl}/held/hold`);
  await waitFor(() => release !== undefined, 5000, 'the request reached the upstream');
  const active = async (): Promise<number> => {
    const h = await c.admin.call<{
      data: { target: string; data?: { gw?: { active_requests?: number } }; gw?: { active_requests?: number } }[];
    }>('GET', '/upstreams/held/health');
    const row = h.body.data.find((x) => x.target === slow.address);
    return row?.gw?.active_requests ?? row?.data?.gw?.active_requests ?? -1;
  };
  const seenAfter = Date.now();
  await waitFor(async () => (await active()) === 1, 5000, 'C reports the request in flight on B');
  t.diagnostic(`in-flight count on B visible on C after ${Date.now() - seenAfter} ms`);
  // the drain: weight 0 through C, then wait for zero in flight everywhere
  assert.equal((await c.admin.call('PATCH', `/upstreams/held/targets/${tg.body.id}`, { weight: 0 })).status, 200);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await active(), 1, 'still in flight on B: the drain must keep waiting');
  release!();
  assert.equal((await held).status, 200);
  await waitFor(async () => (await active()) === 0, 5000, 'zero in flight on every node');

  // passive ejection shared: a target that refuses connections, tcp_failures 1
  const good = await startUpstream('good');
  t.after(() => good.close());
  const bad = `127.0.0.1:${await deadPort()}`;
  await setup(a, 'ej', { healthchecks: { passive: { unhealthy: { tcp_failures: 1 } } } });
  await a.admin.call('POST', '/upstreams/ej/targets', { target: good.address });
  await a.admin.call('POST', '/upstreams/ej/targets', { target: bad });
  const health = async (g: Node): Promise<string | undefined> => {
    const h = await g.admin.call<{ data: { target: string; health: string }[] }>('GET', '/upstreams/ej/health');
    return h.body.data?.find((x) => x.target === bad)?.health;
  };
  await waitFor(async () => (await health(b)) === 'HEALTHY', 5000, 'B knows the targets');
  // through A only, until A ejects the bad target (round robin: at most a few requests)
  for (let i = 0; i < 20 && (await health(a)) !== 'UNHEALTHY'; i++) await get(`${a.proxyUrl}/ej/x`);
  assert.equal(await health(a), 'UNHEALTHY');
  const ejectedAt = Date.now();
  await waitFor(async () => (await health(b)) === 'UNHEALTHY', 2000, 'B ejects it too within 2 s');
  t.diagnostic(`passive ejection on A applied on B after ${Date.now() - ejectedAt} ms`);
  const before = good.count;
  for (let i = 0; i < 10; i++)
    assert.equal((await get(`${b.proxyUrl}/ej/x`)).status, 200, 'no request through B goes to the ejected target');
  assert.equal(good.count - before, 10);
});

test("cluster: a dead instance's lease is reaped once for the whole cluster, within ttl + 1 s", async (t) => {
  const { nodes } = await cluster(t);
  const [a, b] = nodes as [Node, Node, Node];
  const app = await startUpstream('app');
  t.after(() => app.close());
  await setup(a, 'leased');
  const r = await b.admin.call<{ id: string }>('POST', '/upstreams/leased/targets', { target: app.address, ttl: 2 });
  assert.equal(r.status, 201);
  await waitFor(() => nodes.every((g) => g.store.get('targets', r.body.id)), 5000, 'every node has the target');
  // ttl 2 s, renewed once through C, then never again (the instance was killed)
  const renewed = Date.now();
  assert.equal((await nodes[2]!.admin.call('POST', `/upstreams/leased/targets/${r.body.id}/heartbeat`)).status < 300, true);
  await waitFor(() => nodes.every((g) => g.store.get('targets', r.body.id) === undefined), 8000, 'the target is gone on every node');
  const after = Date.now() - renewed;
  t.diagnostic(`reaped ${after} ms after the last renewal (ttl 2000 ms)`);
  assert.ok(after >= 1900, `not before the lease ended (${after} ms)`);
  assert.ok(after <= 3000 + 1000, `within ttl + 1 s, with slack for a busy machine (${after} ms)`);
  assert.equal(
    nodes.reduce((n, g) => n + g.leases.expired, 0),
    1,
    'reaped once, not once per node',
  );
});

test('cluster: the database cut mid-load: 0 failed proxied requests, admin writes 503, and after it returns a write on A reaches C', async (t) => {
  const { nodes, relay } = await cluster(t);
  const [a, , c] = nodes as [Node, Node, Node];
  const app = await startUpstream('app');
  t.after(() => app.close());
  await setup(a, 'steady');
  assert.equal((await a.admin.call('POST', '/upstreams/steady/targets', { target: app.address, ttl: 5 })).status, 201);
  await waitFor(
    async () => (await Promise.all(nodes.map((g) => get(`${g.proxyUrl}/steady/x`)))).every((x) => x.status === 200),
    10_000,
    'routable on every node',
  );
  let ok = 0;
  const failures: string[] = [];
  let stop = false;
  const loop = async (g: Node): Promise<void> => {
    for (let i = 0; i < 5000 && !stop; i++) {
      try {
        const r = await get(`${g.proxyUrl}/steady/x`);
        if (r.status === 200) ok++;
        else failures.push(`${r.status} ${r.body}`);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  };
  const loops = nodes.map(loop);
  await waitFor(() => ok > 50, 10_000, 'load running');
  await relay.cut();
  await waitFor(() => nodes.every((g) => !g.store.reachable), 5000, 'every node sees the outage');
  const w = await c.admin.call<{ message: string }>('POST', '/services', { name: 'during', host: 'x.test' });
  assert.equal(w.status, 503);
  assert.match(w.body.message, /^database unavailable: /);
  const st = await c.admin.call<{ database: { reachable: boolean } }>('GET', '/status');
  assert.equal(st.status, 200, '/status stays 200 (the node proxies): load balancers keep it');
  assert.equal(st.body.database.reachable, false);
  const okAtCut = ok;
  // the lease (ttl 5 s) cannot be renewed now; it must not be expired for this outage
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(ok > okAtCut, 'proxying went on during the outage');
  await relay.restore();
  await waitFor(() => nodes.every((g) => g.store.reachable), 15_000, 'every node reconnected');
  const s = await a.admin.call('PUT', '/services/after', { host: 'after.test' });
  assert.equal(s.status, 200);
  await waitFor(() => c.store.getByName('services', 'after') !== undefined, 5000, 'the write on A reaches C');
  stop = true;
  await Promise.all(loops);
  t.diagnostic(`database cut for ~1.5 s under load: ${ok} ok, ${failures.length} failed`);
  assert.deepEqual(failures, []);
  assert.ok(
    nodes.every((g) => g.store.all('targets').length === 1),
    'no lease expired because of the outage',
  );
});

test('cluster: an SDK instance rides out a database outage longer than its ttl (heartbeats fail with 503, nothing expires), renews after it, and registers again through its node when its target was lost', async (t) => {
  const { nodes, relay } = await cluster(t);
  const [a, b, c] = nodes as [Node, Node, Node];
  const app = await startUpstream('app');
  t.after(() => app.close());
  const reg = await register({
    adminUrl: a.adminUrl,
    service: 'sdk',
    routes: ['/sdk'],
    host: '127.0.0.1',
    port: app.port,
    ttl: 2,
    handleSignals: false,
    onShutdown: () => undefined,
    logger: pino({ level: 'silent' }),
  });
  t.after(() => reg.close());
  await waitFor(async () => (await get(`${c.proxyUrl}/sdk/x`)).status === 200, 10_000, 'routable through C');
  // B serves during the outage below: it must have the registration before the cut (nodes apply changes independently)
  await waitFor(async () => (await get(`${b.proxyUrl}/sdk/x`)).status === 200, 10_000, 'routable through B');
  const id = a.store.getTarget(a.store.getByName('upstreams', 'sdk.upstream')!.id, app.address)!.id;
  await relay.cut();
  await waitFor(() => nodes.every((g) => !g.store.reachable), 5000, 'every node sees the outage');
  // longer than the 2 s ttl: heartbeats through A fail (503), and nothing expires
  const cutFor = Date.now() + 3_000;
  while (Date.now() < cutFor) {
    assert.equal((await get(`${b.proxyUrl}/sdk/x`)).status, 200, 'served through B during the outage');
    await new Promise((r) => setTimeout(r, 100));
  }
  const leaseBefore = b.store.leaseOf(id)!;
  await relay.restore();
  await waitFor(() => nodes.every((g) => g.store.reachable), 15_000, 'every node reconnected');
  // the SDK's next heartbeat is accepted and every node sees the lease move on
  await waitFor(() => (b.store.leaseOf(id) ?? 0) > leaseBefore, 10_000, 'the lease renewed after the outage, seen on B');
  assert.equal(reg.state, 'registered');
  assert.equal(
    nodes.reduce((n, g) => n + g.leases.expired, 0),
    0,
    'no lease expired because of the outage',
  );
  // the target is lost (deleted through C, not an operator drain): the SDK's next heartbeat gets 404 and registers again through A
  assert.equal((await c.admin.call('DELETE', `/upstreams/sdk.upstream/targets/${id}`)).status, 204);
  await waitFor(
    async () => (await b.admin.call<{ data: { target: string }[] }>('GET', '/upstreams/sdk.upstream/targets')).body.data.length === 1,
    10_000,
    'registered again, seen through B',
  );
  await waitFor(async () => (await get(`${c.proxyUrl}/sdk/x`)).status === 200, 10_000, 'routable through C again');
  assert.equal(reg.state, 'registered');
});

test('cluster: a node with --workers 2 on PostgreSQL: its control process owns the database and the bus; its workers serve what B registered, and their in-flight requests count on B', async (t) => {
  const { nodes } = await cluster(t, 2, (i) => (i === 0 ? { workers: 2 } : {}));
  const [a, b] = nodes as [Node, Node];
  let release: (() => void) | undefined;
  const slow = await startUpstream('slow', (req, res) => {
    if (!req.url?.includes('hold')) return 'default';
    release = () => res.end('done');
  });
  t.after(() => slow.close());
  await setup(b, 'wk');
  assert.equal((await b.admin.call('POST', '/upstreams/wk/targets', { target: slow.address })).status, 201);
  await waitFor(async () => (await get(`${a.proxyUrl}/wk/ok`)).status === 200, 10_000, "routable through A's workers");
  const held = get(`${a.proxyUrl}/wk/hold`);
  await waitFor(() => release !== undefined, 5000, 'the request reached the upstream');
  const active = async (): Promise<number> => {
    const h = await b.admin.call<{ data: { target: string; gw?: { active_requests?: number } }[] }>('GET', '/upstreams/wk/health');
    return h.body.data.find((x) => x.target === slow.address)?.gw?.active_requests ?? -1;
  };
  await waitFor(async () => (await active()) === 1, 5000, "B counts the request held by A's worker");
  release!();
  assert.equal((await held).status, 200);
  await waitFor(async () => (await active()) === 0, 5000, 'zero in flight again');
  // heartbeat rows are written every second: wait for both, then check there is nothing per worker
  await waitFor(
    async () => (await b.admin.call<{ data: unknown[] }>('GET', '/cluster/nodes')).body.data.length >= 2,
    5000,
    'both nodes listed',
  );
  const listed = await b.admin.call<{ data: { id: string }[] }>('GET', '/cluster/nodes');
  assert.deepEqual(listed.body.data.map((x) => x.id).sort(), ['node-a', 'node-b'], 'one node per gateway, not per worker');
});

test('cluster: a malformed change-log row is skipped by every node and counted in /metrics (gw_store_malformed_rows_total)', async (t) => {
  const { nodes, url } = await cluster(t, 2);
  const [a, b] = nodes as [Node, Node];
  assert.equal((await a.admin.call('PUT', '/services/one', { host: 'one.test' })).status, 200);
  await waitFor(() => b.store.revision === a.store.revision, 5000, 'B caught up');
  const metric = async (g: Node): Promise<number> => {
    const text = await (await fetch(`${g.adminUrl}/metrics`)).text();
    return Number(/^gw_store_malformed_rows_total (\d+)$/m.exec(text)?.[1] ?? -1);
  };
  assert.equal(await metric(b), 0);
  // a row no gw wrote: the next revision, a body that is not an entity
  const bad = a.store.revision + 1;
  await sql(url, `INSERT INTO gw_changes (revision, at, op, kind, id, body) VALUES ($1, 0, 'create', 'services', 'x', '"garbage"')`, [bad]);
  await sql(url, 'UPDATE gw_meta SET revision = $1', [bad]);
  await waitFor(() => b.store.revision === bad, 5000, 'B moved past it');
  assert.equal(await metric(b), 1);
  assert.equal((await b.admin.call('PUT', '/services/two', { host: 'two.test' })).status, 200, 'the node goes on writing');
  await waitFor(() => a.store.getByName('services', 'two') !== undefined, 5000, 'and following');
});
