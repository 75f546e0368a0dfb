/**
 * Cluster benchmark: three gw-gateway nodes (in this process, each with its
 * own proxy, Admin API and PostgreSQL connections) on a fresh database on the
 * local PostgreSQL (127.0.0.1:5432, dropped afterwards). Phases:
 * 1. `propagation`: `--writes` service writes, one at a time, each through
 *    the next node; the time from sending the write until every other node's
 *    runtime snapshot holds it (p50/p99/max);
 * 2. `registrations`: leased targets registered into one upstream through
 *    the three nodes by `--writers` concurrent writers, in two parts: up to
 *    1,000 targets and from 1,000 up to `--targets` (default 10,000):
 *    registrations/s, p50/p99;
 * 3. `renewals`: every target's lease renewed once through the heartbeat
 *    endpoint of the three nodes: renewals/s, p50/p99;
 * 4. `outage`: `--clients` loops of GETs through the three proxies to a real
 *    upstream (127.0.0.1) while the database is cut for `--outage-s` seconds
 *    (every node reaches PostgreSQL through a TCP relay in this process, from
 *    the start, so the cut is real): failed requests (goal 0), and after the
 *    database returns, the time until every node is reachable again and a
 *    write through A is in C's snapshot (convergence).
 *
 *   npm run bench:cluster -- [--writes 500] [--targets 10000] [--writers 8] [--clients 6] [--outage-s 10] [--out .bench-out/cluster.json]
 *
 * Goals (issue 11): a write on node A routable on node C with p99 ≤ 100 ms;
 * 0 failed requests through a database outage.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { benchArgs } from '../lib/args.js';
import pg from 'pg';
import { createServer } from 'node:http';
import { request } from 'undici';
import { startGateway, type Gateway } from '../../gateway/src/gateway.js';
import { PostgresStore } from '../../gateway/src/store/postgres.js';
import { startTcpRelay } from '../../examples/demo-cluster/tcp-relay.js';
import { table } from '../lib/measure.js';
import { summarize, type Summary } from '../registration/run.js';

const ADMIN_URL = process.env.GW_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function call(base: string, method: string, path: string, body?: unknown): Promise<number> {
  const r = await request(base + path, {
    method: method as 'PUT',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  await r.body.dump();
  return r.statusCode;
}

async function timed(n: number, writers: number, one: (i: number) => Promise<void>): Promise<{ perSecond: number; latency: Summary }> {
  const lat: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      for (let i = next++; i < n; i = next++) {
        const t0 = performance.now();
        await one(i);
        lat.push(performance.now() - t0);
      }
    }),
  );
  const secs = (performance.now() - start) / 1000;
  return { perSecond: Math.round(n / secs), latency: summarize(lat) };
}

async function main(): Promise<void> {
  const { values } = benchArgs(import.meta.url, {
    options: {
      writes: { type: 'string', default: '500' },
      targets: { type: 'string', default: '10000' },
      writers: { type: 'string', default: '8' },
      clients: { type: 'string', default: '6' },
      'outage-s': { type: 'string', default: '10' },
      out: { type: 'string', default: '.bench-out/cluster.json' },
    },
  });
  const writes = Math.min(Number(values.writes), 10_000);
  const targets = Math.min(Number(values.targets), 20_000);
  const writers = Math.min(Number(values.writers), 64);
  const clients = Math.min(Number(values.clients), 64);
  const outageMs = Math.min(Number(values['outage-s']), 60) * 1000;
  const firstPart = Math.min(1000, targets);
  const db = `gw_bench_${process.pid}_${Date.now().toString(36)}`;
  await admin(`CREATE DATABASE ${db}`);
  const direct = new URL(ADMIN_URL);
  const relay = await startTcpRelay(Number(direct.port || 5432), direct.hostname);
  const url = new URL(ADMIN_URL);
  url.hostname = '127.0.0.1';
  url.port = String(relay.port);
  url.pathname = `/${db}`;
  const app = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const appPort = (app.address() as { port: number }).port;
  const nodes: Gateway[] = [];
  try {
    nodes.push(
      ...(await Promise.all(
        ['a', 'b', 'c'].map((id) => startGateway({ store: new PostgresStore({ url: url.toString() }), nodeId: `bench-${id}` })),
      )),
    );
    // 1. propagation
    const prop: number[] = [];
    for (let i = 0; i < writes; i++) {
      const writer = nodes[i % 3]!;
      const others = nodes.filter((g) => g !== writer);
      const name = `s${i}`;
      const seen = others.map(
        (g) =>
          new Promise<number>((res) => {
            const check = (): boolean => {
              if (g.store.getByName('services', name) && [...g.runtime.snapshot.servicesById.values()].some((s) => s.name === name)) {
                res(performance.now());
                return true;
              }
              return false;
            };
            const off = g.runtime.onSnapshot(() => {
              if (check()) off();
            });
          }),
      );
      const t0 = performance.now();
      const status = await call(writer.adminUrl, 'PUT', `/services/${name}`, { host: `${name}.test` });
      if (status !== 200) throw new Error(`PUT /services/${name}: ${status}`);
      const times = await Promise.all(seen);
      prop.push(Math.max(...times) - t0);
    }
    // 2. registrations through the three nodes
    if ((await call(nodes[0]!.adminUrl, 'PUT', '/upstreams/bench')) !== 200) throw new Error('PUT /upstreams/bench');
    // reads on a node answer from its copy: wait until every node has the upstream
    for (let i = 0; i < 500 && !nodes.every((g) => g.store.getByName('upstreams', 'bench')); i++)
      await new Promise((r) => setTimeout(r, 10));
    const addr = (i: number): string => `127.${1 + ((i >> 16) & 255)}.${(i >> 8) & 255}.${i & 255}:8080`;
    const register = async (i: number): Promise<void> => {
      const s = await call(nodes[i % 3]!.adminUrl, 'PUT', `/upstreams/bench/targets/${addr(i)}`, { ttl: 300 });
      if (s !== 200 && s !== 201) throw new Error(`register ${addr(i)}: ${s}`);
    };
    const reg = await timed(firstPart, writers, register);
    const regMore = targets > firstPart ? await timed(targets - firstPart, writers, (i) => register(firstPart + i)) : undefined;
    // 3. renewals
    const ren = await timed(targets, writers, async (i) => {
      const s = await call(nodes[(i + 1) % 3]!.adminUrl, 'POST', `/upstreams/bench/targets/${addr(i)}/heartbeat`);
      if (s >= 300) throw new Error(`heartbeat ${addr(i)}: ${s}`);
    });
    // 4. the database cut under steady load
    if ((await call(nodes[0]!.adminUrl, 'PUT', '/upstreams/steady')) !== 200) throw new Error('PUT /upstreams/steady');
    if ((await call(nodes[0]!.adminUrl, 'PUT', '/upstreams/steady/targets/127.0.0.1:' + appPort, {})) !== 200)
      throw new Error('PUT steady target');
    if ((await call(nodes[1]!.adminUrl, 'PUT', '/services/steady', { host: 'steady' })) !== 200) throw new Error('PUT /services/steady');
    if ((await call(nodes[2]!.adminUrl, 'PUT', '/services/steady/routes/steady', { paths: ['/steady'] })) !== 200)
      throw new Error('PUT steady route');
    const get = async (g: Gateway): Promise<number> => {
      const r = await request(`${g.proxyUrl}/steady/x`, { headersTimeout: 10_000, bodyTimeout: 10_000 });
      await r.body.dump();
      return r.statusCode;
    };
    for (let i = 0; i < 500; i++) {
      const ok = (await Promise.all(nodes.map(get))).every((st) => st === 200);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    let okCount = 0;
    let failedCount = 0;
    let loadOn = true;
    const loadUntil = Date.now() + outageMs + 60_000;
    const loops = Array.from({ length: clients }, async (_, c) => {
      for (let i = c; loadOn && Date.now() < loadUntil; i++) {
        try {
          if ((await get(nodes[i % 3]!)) === 200) okCount++;
          else failedCount++;
        } catch {
          failedCount++;
        }
      }
    });
    await new Promise((r) => setTimeout(r, 1_000));
    const okBeforeCut = okCount;
    await relay.cut();
    await new Promise((r) => setTimeout(r, outageMs));
    const okDuringCut = okCount - okBeforeCut;
    const failedDuringCut = failedCount;
    await relay.restore();
    const restoredAt = performance.now();
    for (let i = 0; i < 3000 && !nodes.every((g) => g.store.reachable); i++) await new Promise((r) => setTimeout(r, 10));
    const reconnectMs = performance.now() - restoredAt;
    let writeStatus = 503;
    for (let i = 0; i < 300 && writeStatus !== 200; i++) {
      writeStatus = await call(nodes[0]!.adminUrl, 'PUT', '/services/after-outage', { host: 'after.test' });
      if (writeStatus !== 200) await new Promise((r) => setTimeout(r, 20));
    }
    for (let i = 0; i < 3000 && ![...nodes[2]!.runtime.snapshot.servicesById.values()].some((x) => x.name === 'after-outage'); i++)
      await new Promise((r) => setTimeout(r, 5));
    const convergeMs = performance.now() - restoredAt;
    loadOn = false;
    await Promise.all(loops);
    const outage = {
      outageMs,
      clients,
      requests: okCount + failedCount,
      failed: failedCount,
      failedDuringCut,
      servedDuringCut: okDuringCut,
      reconnectMs: Math.round(reconnectMs),
      convergeMs: Math.round(convergeMs),
    };
    const propagation = summarize(prop);
    const rows = [
      {
        phase: 'propagation (write → every other node)',
        n: propagation.n,
        'rate/s': '-',
        'p50 ms': propagation.p50.toFixed(1),
        'p99 ms': propagation.p99.toFixed(1),
        'max ms': propagation.max.toFixed(1),
      },
      {
        phase: `registrations to ${firstPart} targets (${writers} writers, 3 nodes)`,
        n: reg.latency.n,
        'rate/s': reg.perSecond,
        'p50 ms': reg.latency.p50.toFixed(1),
        'p99 ms': reg.latency.p99.toFixed(1),
        'max ms': reg.latency.max.toFixed(1),
      },
      ...(regMore
        ? [
            {
              phase: `registrations ${firstPart} → ${targets} targets`,
              n: regMore.latency.n,
              'rate/s': regMore.perSecond,
              'p50 ms': regMore.latency.p50.toFixed(1),
              'p99 ms': regMore.latency.p99.toFixed(1),
              'max ms': regMore.latency.max.toFixed(1),
            },
          ]
        : []),
      {
        phase: `renewals at ${targets} leased targets (${writers} writers, 3 nodes)`,
        n: ren.latency.n,
        'rate/s': ren.perSecond,
        'p50 ms': ren.latency.p50.toFixed(1),
        'p99 ms': ren.latency.p99.toFixed(1),
        'max ms': ren.latency.max.toFixed(1),
      },
    ];
    console.log(table(rows));
    console.log(
      `outage: database cut for ${outageMs / 1000} s under ${clients} clients through the 3 proxies: ${outage.requests} requests, ${outage.failed} failed ` +
        `(${outage.servedDuringCut} served during the cut); every node reconnected ${outage.reconnectMs} ms after the database returned, ` +
        `a write through A was in C's snapshot after ${outage.convergeMs} ms`,
    );
    const goalMet = propagation.p99 <= 100 && outage.failed === 0;
    console.log(
      `goals: propagation p99 <= 100 ms: ${propagation.p99 <= 100 ? 'met' : 'NOT met'} (${propagation.p99.toFixed(1)} ms); ` +
        `0 failed through the outage: ${outage.failed === 0 ? 'met' : 'NOT met'} (${outage.failed})`,
    );
    const out = resolve(values.out);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(
      out,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          writes,
          targets,
          writers,
          propagation,
          registrations: reg,
          registrationsTo: regMore ? { from: firstPart, to: targets, ...regMore } : undefined,
          renewals: ren,
          outage,
          goals: { propagationP99Ms: 100, outageFailed: 0, met: goalMet },
        },
        null,
        2,
      ),
    );
    console.log(`wrote ${out}`);
  } finally {
    await Promise.all(nodes.map((g) => g.close(1000)));
    await relay.close();
    app.closeAllConnections();
    await new Promise<void>((r) => app.close(() => r()));
    await admin(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench:cluster: ${(err as Error).message}`);
    process.exit(1);
  },
);
