/**
 * Registration benchmark: how long from register() to traffic.
 *
 * A gw-gateway runs as its own process (memory store, 127.0.0.1 only); this
 * process plays the instances. Per registration it measures
 * - `register`: the register() call until it resolves;
 * - `routable`: from that resolve until the first 200 through the proxy
 *   (the gateway's rebuild lag, the issue's target: p99 ≤ 20 ms);
 * - `total`: call → first 200.
 *
 * Phases (each registration creates its own service, route, upstream and
 * target, the longest path, then removes them untimed so the gateway does
 * not grow):
 * 1. `sequential`: one at a time;
 * 2. `concurrent`: `--concurrency` at a time;
 * 3. `throughput`: `--n` instances of one service registered `--concurrency`
 *    at a time, no routability check: registrations/s;
 * 4. `crowded`: sequential again with `--crowd` other gw upstreams present
 *    (the identity guard searches them all), skipped with `--crowd 0`.
 *
 *   npm run bench:registration -- [--n 200] [--concurrency 10] [--crowd 1000] [--out .bench-out/registration.json]
 *
 * Bounded: phases stop early once `--budget` seconds (default 50) have
 * passed; the report says so.
 */
import { createServer, type Server } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from '../lib/args.js';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { register, routeName } from '../../sdk/src/index.js';
import { KongAdmin } from '../../sdk/src/kong-admin.js';
import { startGatewayProcess } from '../lib/gateway.js';

const TARGET_P99_MS = 20;

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export interface PhaseResult {
  phase: string;
  n: number;
  concurrency: number;
  register?: Summary;
  routable?: Summary;
  total?: Summary;
  /** registrations completed per second of wall time */
  perSecond: number;
  /** stopped early by the time budget */
  truncated: boolean;
  note?: string;
}

/** Nearest-rank percentile of `xs` (ms), two decimals. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[i]! * 100) / 100;
}

export function summarize(xs: readonly number[]): Summary {
  return { n: xs.length, p50: percentile(xs, 50), p99: percentile(xs, 99), max: percentile(xs, 100) };
}

async function startApp(): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

export interface BenchOptions {
  n: number;
  concurrency: number;
  crowd: number;
  budgetMs: number;
  log?: (line: string) => void;
}

export async function runRegistrationBench(o: BenchOptions): Promise<{ phases: PhaseResult[]; gateway: string }> {
  const gw = await startGatewayProcess(['--store', 'memory']);
  const admin = new KongAdmin(gw.adminUrl);
  const dispatcher = new Agent({ keepAliveTimeout: 10_000, connections: 64 });
  const silent = pino({ level: 'silent' });
  const apps = await Promise.all(Array.from({ length: o.concurrency }, startApp));
  const deadline = Date.now() + o.budgetMs;
  let seq = 0;
  const log = o.log ?? (() => undefined);

  /** One registration of a fresh service, measured, then removed. */
  const once = async (port: number, timed: { register: number[]; routable: number[]; total: number[] }): Promise<void> => {
    const i = seq++;
    const service = `bench-${i}`;
    const t0 = performance.now();
    await register({
      adminUrl: gw.adminUrl,
      service,
      routes: [`/${service}`],
      port,
      host: '127.0.0.1',
      instanceId: `bench-instance-${i}`,
      handleSignals: false,
      keepAlive: false,
      logger: silent,
      onShutdown: () => undefined,
    });
    const t1 = performance.now();
    for (;;) {
      const r = await request(`${gw.proxyUrl}/${service}/`, { dispatcher });
      await r.body.dump();
      if (r.statusCode === 200) break;
      if (performance.now() - t1 > 10_000)
        throw new Error(`${service} not routable 10 s after register() resolved (last status ${r.statusCode})`);
    }
    const t2 = performance.now();
    timed.register.push(t1 - t0);
    timed.routable.push(t2 - t1);
    timed.total.push(t2 - t0);
    // untimed cleanup; the upstream's delete takes the target with it
    await admin.expect([204], 'DELETE', `/routes/${routeName(service, `/${service}`)}`);
    await admin.expect([204], 'DELETE', `/services/${service}`);
    await admin.expect([204], 'DELETE', `/upstreams/${service}.upstream`);
  };

  const latencyPhase = async (phase: string, n: number, concurrency: number, note?: string): Promise<PhaseResult> => {
    const timed = { register: [] as number[], routable: [] as number[], total: [] as number[] };
    let started = 0;
    let truncated = false;
    const t0 = performance.now();
    await Promise.all(
      apps.slice(0, concurrency).map(async (app) => {
        while (started < n) {
          if (Date.now() > deadline) {
            truncated = true;
            return;
          }
          started++;
          await once(app.port, timed);
        }
      }),
    );
    const wall = performance.now() - t0;
    const r: PhaseResult = {
      phase,
      n: timed.total.length,
      concurrency,
      register: summarize(timed.register),
      routable: summarize(timed.routable),
      total: summarize(timed.total),
      perSecond: Math.round((timed.total.length / wall) * 1000 * 10) / 10,
      truncated,
    };
    if (note) r.note = note;
    log(`${phase}: ${r.n} registrations, routable p99 ${r.routable!.p99} ms`);
    return r;
  };

  const phases: PhaseResult[] = [];
  try {
    // warm-up (JIT, connection pools), not reported
    await latencyPhase('warm-up', Math.min(20, o.n), 1);
    phases.push(await latencyPhase('sequential', o.n, 1));
    phases.push(await latencyPhase('concurrent', o.n, o.concurrency));

    // throughput: many instances of one service, no routability check
    {
      let i = 0;
      let truncated = false;
      const t0 = performance.now();
      const times: number[] = [];
      await Promise.all(
        Array.from({ length: o.concurrency }, async () => {
          while (i < o.n) {
            if (Date.now() > deadline) {
              truncated = true;
              return;
            }
            const k = i++;
            const s = performance.now();
            await register({
              adminUrl: gw.adminUrl,
              service: 'bench-fleet',
              routes: ['/bench-fleet'],
              port: 20_000 + k,
              host: '127.0.0.1',
              instanceId: `fleet-${k}`,
              handleSignals: false,
              keepAlive: false,
              logger: silent,
              onShutdown: () => undefined,
            });
            times.push(performance.now() - s);
          }
        }),
      );
      const wall = performance.now() - t0;
      phases.push({
        phase: 'throughput (one service)',
        n: times.length,
        concurrency: o.concurrency,
        register: summarize(times),
        perSecond: Math.round((times.length / wall) * 1000 * 10) / 10,
        truncated,
      });
      log(`throughput: ${times.length} registrations in ${Math.round(wall)} ms`);
    }

    if (o.crowd > 0 && Date.now() < deadline) {
      let made = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (made < o.crowd) {
            const k = made++;
            await admin.expect([200], 'PUT', `/upstreams/crowd-${k}.upstream`, { tags: ['gw'] });
          }
        }),
      );
      phases.push(
        await latencyPhase(
          `crowded (${o.crowd} other gw upstreams)`,
          Math.min(o.n, 50),
          1,
          'the identity guard looks up this address in every gw upstream',
        ),
      );
    }
  } finally {
    await dispatcher.close();
    for (const a of apps) a.server.close();
    gw.proc.kill('SIGTERM');
  }
  return { phases, gateway: 'gw-gateway, separate process, memory store, 127.0.0.1' };
}

function fmt(s: Summary | undefined, k: 'p50' | 'p99'): string {
  return s ? s[k].toFixed(2) : '-';
}

async function main(): Promise<void> {
  const { values } = benchArgs(import.meta.url, {
    options: {
      n: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '10' },
      crowd: { type: 'string', default: '1000' },
      budget: { type: 'string', default: '50' },
      out: { type: 'string', default: join(process.cwd(), '.bench-out', 'registration.json') },
    },
  });
  const opts: BenchOptions = {
    n: Number(values.n),
    concurrency: Number(values.concurrency),
    crowd: Number(values.crowd),
    budgetMs: Number(values.budget) * 1000,
    log: (l) => console.error(`# ${l}`),
  };
  for (const [k, v] of Object.entries({ n: opts.n, concurrency: opts.concurrency, crowd: opts.crowd, budget: opts.budgetMs })) {
    if (!Number.isInteger(v) || v < (k === 'crowd' ? 0 : 1))
      throw new Error(`--${k} must be a positive integer (got ${String(values[k as keyof typeof values])})`);
  }
  const started = Date.now();
  const { phases, gateway } = await runRegistrationBench(opts);
  const rows = phases.map((p) => ({
    phase: p.phase + (p.truncated ? ' (cut by budget)' : ''),
    n: p.n,
    conc: p.concurrency,
    'register p50': fmt(p.register, 'p50'),
    'register p99': fmt(p.register, 'p99'),
    'routable p50': fmt(p.routable, 'p50'),
    'routable p99': fmt(p.routable, 'p99'),
    'total p50': fmt(p.total, 'p50'),
    'total p99': fmt(p.total, 'p99'),
    'reg/s': p.perSecond,
  }));
  const headline = phases.find((p) => p.phase === 'sequential');
  const met = headline?.routable !== undefined && headline.routable.p99 <= TARGET_P99_MS;
  console.log(`\nregister() → first 200 through the proxy, ms (${gateway}; node ${process.version})\n`);
  console.log(tableOf(rows));
  console.log(
    `\ntarget: routable p99 ≤ ${TARGET_P99_MS} ms (sequential): ${met ? 'met' : 'NOT met'} (${headline?.routable?.p99 ?? '-'} ms); ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  const out = resolve(values.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        gateway,
        options: { n: opts.n, concurrency: opts.concurrency, crowd: opts.crowd },
        target: { routableP99Ms: TARGET_P99_MS, met },
        phases,
      },
      null,
      2,
    ),
  );
  console.log(`JSON: ${out}`);
}

/** Right-aligned columns. */
function tableOf(rows: Record<string, string | number>[]): string {
  const cols = Object.keys(rows[0] ?? {});
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join('  ');
  return [line(cols), line(width.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => String(r[c]))))].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
