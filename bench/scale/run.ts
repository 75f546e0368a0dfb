/**
 * Scale benchmark: Admin API write throughput and memory at many entities.
 *
 * A gw-gateway runs as its own process on the default file store (a temp
 * data dir, 127.0.0.1 only); this process is the writers. Phases:
 * 1. `targets`: `--targets` leased targets registered into one upstream by
 *    `--writers` concurrent writers (PUT /upstreams/u/targets/{addr}):
 *    registrations/s, p50/p99 per write;
 * 2. `renewals`: every target's lease renewed once through the heartbeat
 *    endpoint by the same writers: renewals/s, p50/p99;
 * 3. `upstreams`: `--upstreams` more upstreams created; RSS read at once
 *    and again after `--settle-ms` without writes (the RSS goal's state);
 * 4. `routes`: `--routes` routes written to one service by the writers:
 *    writes/s, p50/p99; then `routable`: single route writes timed until the
 *    proxy routes them (a write compiles an overlay, not the whole router:
 *    router/layered.ts); RSS after, and settled again;
 * with the gateway's RSS and V8 heap after phases 1, 3 and 4.
 *
 *   npm run bench:scale -- [--quick] [--targets 10000] [--routes 5000] [--upstreams 1000] [--writers 8] [--settle-ms 15000] [--out .bench-out/scale.json]
 *
 * Goals (issue 10, default file store): ≥ 2,000 registrations/s with p99 ≤ 20 ms
 * at 10,000 targets; ≥ 500 route writes/s at 5,000 routes; RSS ≤ 200 MB at
 * 10,000 targets and 1,000 upstreams.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from '../lib/args.js';
import { Pool, request } from 'undici';
import { cpuMicros, table } from '../lib/measure.js';
import { startGatewayProcess } from '../lib/gateway.js';
import { summarize, type Summary } from '../registration/run.js';

export const GOALS = { registrationsPerSecond: 2000, registrationP99Ms: 20, routeWritesPerSecond: 500, rssMb: 200 } as const;

export interface ScaleOptions {
  targets: number;
  routes: number;
  upstreams: number;
  writers: number;
  /** route writes timed until routable */
  routableSamples: number;
  /** ms without writes before the settled RSS is read */
  settleMs: number;
  log?: (line: string) => void;
}

export interface ScalePhase {
  phase: string;
  n: number;
  writers: number;
  perSecond: number;
  latency: Summary;
  /** gateway CPU time (user + sys) per operation, ms: what the gateway costs, whatever else the machine runs */
  cpuMsPerOp: number;
  /** gateway RSS after the phase, MB */
  rssMb?: number;
  /** gateway V8 heap in use after the phase, MB (from GET /status) */
  heapMb?: number;
}

export interface ScaleReport {
  phases: ScalePhase[];
  /**
   * MB: after the targets, after the upstreams, then settled there (the
   * goal: `settleMs` without writes, as an operator's graph shows it), after
   * the routes, and settled with everything
   */
  rss: { targetsMb: number; upstreamsMb: number; settledMb: number; routesMb: number; allSettledMb: number };
  goals: typeof GOALS & { met: Record<string, boolean> };
}

/** The gateway's resident set, MB (Linux /proc). */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : NaN;
}

/** `n` requests made by `writers` concurrent loops; each one timed. */
async function writers(
  pid: number,
  n: number,
  count: number,
  one: (i: number) => Promise<void>,
): Promise<{ ms: number[]; wallMs: number; cpuUs: number }> {
  const ms: number[] = [];
  let next = 0;
  const cpu0 = cpuMicros(pid);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: count }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        const s = performance.now();
        await one(i);
        ms.push(performance.now() - s);
      }
    }),
  );
  return { ms, wallMs: performance.now() - t0, cpuUs: cpuMicros(pid) - cpu0 };
}

/** 127.x.y.z:port for target i: distinct addresses, all loopback. */
const address = (i: number): string => `127.${1 + ((i >> 16) & 0xff)}.${(i >> 8) & 0xff}.${i & 0xff}:8080`;

export async function runScaleBench(o: ScaleOptions): Promise<ScaleReport> {
  const log = o.log ?? (() => undefined);
  const dataDir = mkdtempSync(join(tmpdir(), 'gw-bench-scale-'));
  const gw = await startGatewayProcess(['--store', 'file', '--data-dir', dataDir]);
  const pool = new Pool(gw.adminUrl, { connections: o.writers * 2, pipelining: 1 });
  const app: Server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const appPort = (app.address() as AddressInfo).port;
  const call = async (method: 'PUT' | 'POST' | 'GET', path: string, body?: unknown, ok = [200, 201]): Promise<void> => {
    const r = await pool.request({
      method,
      path,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.body.text();
    if (!ok.includes(r.statusCode)) throw new Error(`${method} ${path}: ${r.statusCode} ${text}`);
  };
  const pid = gw.proc.pid!;
  // steady state: V8 returns the pages freed after a write burst to the OS
  // once allocation goes quiet (its memory reducer), so RSS is read again
  // after `settleMs` without writes
  const settle = async (what: string): Promise<number> => {
    for (let waited = 0; waited < o.settleMs; waited += 1000) await new Promise((r) => setTimeout(r, 1000));
    const mb = rssMb(pid);
    log(`settled ${what} (${o.settleMs / 1000} s without writes): RSS ${mb} MB, heap ${await heapMb()} MB`);
    return mb;
  };
  const heapMb = async (): Promise<number> => {
    const r = await pool.request({ method: 'GET', path: '/status' });
    const body = (await r.body.json()) as { memory?: { workers_lua_vms?: { http_allocated_gc?: string }[] } };
    return Number.parseFloat(body.memory?.workers_lua_vms?.[0]?.http_allocated_gc ?? 'NaN');
  };
  const phases: ScalePhase[] = [];
  const phase = (name: string, n: number, run: { ms: number[]; wallMs: number; cpuUs: number }): ScalePhase => {
    const p: ScalePhase = {
      phase: name,
      n,
      writers: o.writers,
      perSecond: Math.round((n / run.wallMs) * 1000),
      latency: summarize(run.ms),
      cpuMsPerOp: Math.round(run.cpuUs / n) / 1000,
    };
    phases.push(p);
    log(
      `${name}: ${n} in ${(run.wallMs / 1000).toFixed(1)} s, ${p.perSecond}/s, p50 ${p.latency.p50} ms, p99 ${p.latency.p99} ms, gateway CPU ${p.cpuMsPerOp} ms/op`,
    );
    return p;
  };
  try {
    // 1. targets into one upstream
    await call('PUT', '/upstreams/scale', {});
    const targets = phase(
      `targets (to ${o.targets}, one upstream)`,
      o.targets,
      await writers(pid, o.targets, o.writers, (i) =>
        call('PUT', `/upstreams/scale/targets/${address(i)}`, { ttl: 3600, tags: ['gw-bench'] }),
      ),
    );
    const targetsMb = rssMb(pid);
    targets.rssMb = targetsMb;
    targets.heapMb = await heapMb();
    // 2. one renewal per target through the heartbeat endpoint
    phase(
      `renewals (at ${o.targets} leased targets)`,
      o.targets,
      await writers(pid, o.targets, o.writers, (i) => call('POST', `/upstreams/scale/targets/${address(i)}/heartbeat`)),
    );
    // 3. many upstreams: the RSS goal's state (10,000 targets, 1,000 upstreams)
    const up = phase(
      `upstreams (to ${o.upstreams})`,
      o.upstreams,
      await writers(pid, o.upstreams, o.writers, (i) => call('PUT', `/upstreams/many-${i}`, {})),
    );
    const upstreamsMb = rssMb(pid);
    up.rssMb = upstreamsMb;
    up.heapMb = await heapMb();
    const settledMb = await settle('at the goal state');
    // 4. routes on one service
    await call('PUT', '/upstreams/app', {});
    await call('PUT', `/upstreams/app/targets/127.0.0.1:${appPort}`, {});
    await call('PUT', '/services/scale', { host: 'app', port: appPort });
    const routes = phase(
      `routes (to ${o.routes}, one service)`,
      o.routes,
      await writers(pid, o.routes, o.writers, (i) => call('PUT', `/services/scale/routes/r${i}`, { paths: [`/r${i}`] })),
    );
    const routesMb = rssMb(pid);
    routes.rssMb = routesMb;
    routes.heapMb = await heapMb();
    // write → routable, one at a time, at the full route table
    const lag: number[] = [];
    const cpu0 = cpuMicros(pid);
    const t0 = performance.now();
    for (let k = 0; k < o.routableSamples; k++) {
      const path = `/late${k}`;
      const s = performance.now();
      await call('PUT', `/services/scale/routes/late${k}`, { paths: [path] });
      for (;;) {
        const r = await request(`${gw.proxyUrl}${path}`);
        await r.body.dump();
        if (r.statusCode === 200) break;
        if (performance.now() - s > 10_000) throw new Error(`route ${path} not routable 10 s after its write`);
      }
      lag.push(performance.now() - s);
    }
    phase(`write → routable (at ${o.routes} routes)`, o.routableSamples, {
      ms: lag,
      wallMs: performance.now() - t0,
      cpuUs: cpuMicros(pid) - cpu0,
    });
    const allSettledMb = await settle(`with ${o.routes} routes too`);
    const met = {
      registrations: targets.perSecond >= GOALS.registrationsPerSecond && targets.latency.p99 <= GOALS.registrationP99Ms,
      routes: routes.perSecond >= GOALS.routeWritesPerSecond,
      rss: settledMb <= GOALS.rssMb,
    };
    return { phases, rss: { targetsMb, upstreamsMb, settledMb, routesMb, allSettledMb }, goals: { ...GOALS, met } };
  } finally {
    await pool.close();
    app.close();
    gw.proc.kill('SIGTERM');
    await new Promise((r) => (gw.proc.exitCode !== null ? r(undefined) : gw.proc.once('exit', r)));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = benchArgs(import.meta.url, {
    options: {
      quick: { type: 'boolean', default: false },
      targets: { type: 'string' },
      routes: { type: 'string' },
      upstreams: { type: 'string' },
      writers: { type: 'string', default: '8' },
      'settle-ms': { type: 'string' },
      out: { type: 'string', default: join(process.cwd(), '.bench-out', 'scale.json') },
    },
  });
  const q = values.quick === true;
  const opts: ScaleOptions = {
    targets: Number(values.targets ?? (q ? 1000 : 10_000)),
    routes: Number(values.routes ?? (q ? 500 : 5000)),
    upstreams: Number(values.upstreams ?? (q ? 100 : 1000)),
    writers: Number(values.writers),
    routableSamples: q ? 5 : 20,
    settleMs: Number(values['settle-ms'] ?? (q ? 2000 : 15_000)),
    log: (l) => console.error(`# ${l}`),
  };
  for (const k of ['targets', 'routes', 'upstreams', 'writers'] as const) {
    if (!Number.isInteger(opts[k]) || opts[k] < 1) throw new Error(`--${k} must be a positive integer (got ${String(values[k])})`);
  }
  const started = Date.now();
  const report = await runScaleBench(opts);
  const rows = report.phases.map((p) => ({
    phase: p.phase,
    n: p.n,
    writers: p.writers,
    'per s': p.perSecond,
    'p50 ms': p.latency.p50,
    'p99 ms': p.latency.p99,
    'max ms': p.latency.max,
    'gw CPU ms/op': p.cpuMsPerOp,
    'RSS MB': p.rssMb ?? '',
    'heap MB': p.heapMb ?? '',
  }));
  console.log(`\nAdmin API writes on the file store (gw-gateway process; node ${process.version})\n`);
  console.log(table(rows));
  const m = report.goals.met;
  console.log(
    `\ngoals: registrations ≥ ${GOALS.registrationsPerSecond}/s with p99 ≤ ${GOALS.registrationP99Ms} ms: ${m.registrations ? 'met' : 'NOT met'}; ` +
      `route writes ≥ ${GOALS.routeWritesPerSecond}/s: ${m.routes ? 'met' : 'NOT met'}; RSS ≤ ${GOALS.rssMb} MB: ${m.rss ? 'met' : 'NOT met'} (${report.rss.settledMb} MB settled, ${report.rss.upstreamsMb} MB at once; ${report.rss.allSettledMb} MB settled with the routes too); ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  const out = resolve(values.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify({ date: new Date().toISOString(), node: process.version, options: { ...opts, log: undefined }, ...report }, null, 2),
  );
  console.log(`JSON: ${out}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
