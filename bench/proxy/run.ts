/**
 * Proxy benchmark: the same 64-byte upstream behind (a) nothing, (b) nginx
 * with 1 worker and upstream keepalive, (c) `minimal`: the shared minimal
 * node:http + undici proxy (../shared/bench/minimal-undici-proxy.mjs when
 * present, else its copy in bench/proxy/; the floor for a Node proxy),
 * (d) @fastify/http-proxy, and gw-gateway with every feature on (active and
 * passive health checks, metrics, hedging/stall guard defaults):
 * (e) `gw` with its access log to a file, (f) `gw-no-access-log`,
 * (g) `gw-10k-routes` (9,999 other prefix routes), (h) `gw-10k-targets`
 * (10,000 targets in the upstream: 127.1.x.y addresses, each one a listener
 * of two upstream processes), (i) `gw-2-workers` (only with --unpinned).
 * The proxy runs pinned to CPU 0; wrk and the upstream to CPU 1. Rounds are
 * interleaved. Reported per contender: requests/s, p50/p99 latency, CPU µs
 * per request of the proxy process (from /proc), and that CPU as a ratio to
 * `minimal` and to nginx.
 *
 *   npm run bench:proxy -- [--duration 5] [--rounds 3] [--connections 50] [--only gw,nginx]
 *                          [--rate 2000]   also measure latency at a fixed rate (open loop), p99 added over direct
 *                          [--rate-passes 5]  recorded fixed-rate passes per contender (after one warm-up pass)
 *                          [--unpinned]    everything on every core (compares gw with gw --workers 2 on this box)
 *
 * Fixed rate (`--rate R`, bench/proxy/fixed-rate.ts, on the load CPU): after
 * the wrk rounds, one warm-up pass per contender (not recorded), then
 * `--rate-passes` passes of `--duration` s each, interleaved across
 * contenders like the wrk rounds. Reported: the median over the passes of
 * p50/p99/max, and `p99 added ms` = the median over the passes of
 * (contender's p99 − direct's p99 in the same pass). For one-process gw rows,
 * `loop p99 ms` is the gateway's event-loop delay p99 during each pass
 * (median over the passes), read from its admin `GET /metrics` (admin port =
 * proxy port + 1000): prom-client's `gw_nodejs_eventloop_lag_p99_seconds` is
 * the p99 of a `perf_hooks.monitorEventLoopDelay` histogram that is *reset on
 * every scrape* (node_modules/prom-client/lib/metrics/eventLoopLag.js), so it
 * is scraped once right before and once right after each pass and the
 * post-pass value covers that pass alone (nothing else in gw collects it).
 * Its resolution is 10 ms (prom-client's default `eventLoopMonitoringPrecision`):
 * the histogram records the interval between two ticks of a 10 ms timer (an
 * idle loop reads ≈ 10.1 ms), about 100 samples a second, so a 5 s pass's p99
 * is about its 5th-largest tick; the delay reported is that p99 minus the
 * 10 ms tick (the raw value is in the JSON as `loopP99RawMs`). Not shown for
 * gw-2-workers: its /metrics is the control process's loop, not a worker's.
 *
 * Goals (issue 17): gw ≤ 1.2× minimal CPU per request, gw-no-access-log
 * ≤ 1.1×, the 10k-routes and 10k-targets rows within 10% of gw-no-access-log;
 * at a fixed 2,000 req/s (median of 5 passes after warm-up), p99 added over
 * direct ≤ 1 ms and event-loop delay p99 ≤ 2 ms.
 */
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuMicrosTree, runWrk, spawnPinned, table, waitForHttp, type WrkResult } from '../lib/measure.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    only: { type: 'string' },
    rate: { type: 'string' },
    'rate-passes': { type: 'string', default: '5' },
    unpinned: { type: 'boolean', default: false },
  },
});
const rate = values.rate === undefined ? undefined : Number(values.rate);
const ratePasses = Number(values['rate-passes']);
if (!Number.isInteger(ratePasses) || ratePasses < 1) throw new Error('--rate-passes: a whole number ≥ 1');
/** CPU sets: the proxy, and the load generator + upstream */
const PROXY_CPU = values.unpinned ? '0-1' : '0';
const LOAD_CPU = values.unpinned ? '0-1' : '1';
const duration = Number(values.duration);
const rounds = Number(values.rounds);
const connections = Number(values.connections);

function ensureTools(): void {
  const missing = ['wrk', 'nginx', 'taskset'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (missing.length === 0) return;
  if (process.getuid?.() === 0) {
    console.log(`installing ${missing.join(', ')} from Debian packages...`);
    execFileSync(
      'sh',
      [
        '-c',
        `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${missing.map((m) => (m === 'taskset' ? 'util-linux' : m)).join(' ')}`,
      ],
      { stdio: 'inherit' },
    );
  } else {
    throw new Error(`missing ${missing.join(', ')}: apt-get install ${missing.join(' ')}`);
  }
}

interface Contender {
  name: string;
  start(port: number, upstreamPort: number, dir: string): ChildProcess;
  /** one gw process: its admin /metrics (proxy port + 1000) shows the event loop that serves the proxy */
  loop?: boolean;
}

const node = process.execPath;
const contenders: Contender[] = [
  { name: 'direct', start: () => null as unknown as ChildProcess },
  {
    name: 'nginx',
    start: (port, up, dir) => {
      const conf = join(dir, 'nginx.conf');
      writeFileSync(
        conf,
        `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  upstream up { server 127.0.0.1:${up}; keepalive 64; }
  server { listen 127.0.0.1:${port}; location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } } }`,
      );
      return spawnPinned(PROXY_CPU, 'nginx', ['-p', dir, '-c', conf]);
    },
  },
  {
    name: 'minimal',
    start: (port, up) =>
      spawnPinned(PROXY_CPU, node, [minimalProxy()], {
        ...process.env,
        UNDICI: join(root, 'node_modules/undici/index.js'),
        PORT: String(port),
        UPSTREAMS: `http://127.0.0.1:${up}`,
      }),
  },
  {
    name: 'fastify-http-proxy',
    start: (port, up) => spawnPinned(PROXY_CPU, node, [join(here, 'fastify-proxy.js'), String(port), String(up)]),
  },
  { name: 'gw', start: (port, up, dir) => startGw({ port, up, dir, accessLog: join(dir, 'access.log') }), loop: true },
  { name: 'gw-no-access-log', start: (port, up, dir) => startGw({ port, up, dir }), loop: true },
  { name: 'gw-10k-routes', start: (port, up, dir) => startGw({ port, up, dir, routes: 10_000 }), loop: true },
  { name: 'gw-10k-targets', start: (port, up, dir) => startGw({ port, up, dir, targets: 10_000 }), loop: true },
  ...(values.unpinned
    ? [{ name: 'gw-2-workers', start: (port: number, up: number, dir: string) => startGw({ port, up, dir, workers: 2 }) }]
    : []),
];

/** The shared minimal proxy when this checkout sits next to ../shared, else the copy kept in bench/proxy. */
function minimalProxy(): string {
  const shared = resolve(root, '../shared/bench/minimal-undici-proxy.mjs');
  return existsSync(shared) ? shared : join(root, 'bench/proxy/minimal-undici-proxy.mjs');
}

/** Addresses of the 10,000-target row: 127.1.x.y, all loopback. */
const manyTargets = (n: number): string[] => Array.from({ length: n }, (_, i) => `127.1.${(i >> 8) & 0xff}.${i & 0xff}`);

/** Health checks on every gw row: active (every 5 s, GET /) and passive, as an operator runs it. */
const HEALTHCHECKS = {
  active: {
    http_path: '/',
    healthy: { interval: 5, successes: 1 },
    unhealthy: { interval: 5, http_failures: 3, tcp_failures: 3, timeouts: 3 },
  },
  passive: { healthy: { successes: 5 }, unhealthy: { http_failures: 5, tcp_failures: 5, timeouts: 5 } },
};

/** `accessLog`: off unless a file is given (the CLI's default, stdout, would go to /dev/null here). */
function startGw(o: {
  port: number;
  up: number;
  dir: string;
  routes?: number;
  targets?: number;
  workers?: number;
  accessLog?: string;
}): ChildProcess {
  const routes = o.routes ?? 1;
  const file = join(o.dir, `kong-${o.port}.json`);
  const extra = Array.from({ length: routes - 1 }, (_, i) => ({ name: `r${i}`, paths: [`/svc${i}/v1`], service: 'bench' }));
  const targets = o.targets ? manyTargets(o.targets).map((a) => ({ target: `${a}:${o.up}` })) : [{ target: `127.0.0.1:${o.up}` }];
  writeFileSync(
    file,
    JSON.stringify({
      _format_version: '3.0',
      services: [{ name: 'bench', host: 'bench-up', routes: [{ name: 'main', paths: ['/'] }] }],
      routes: extra,
      upstreams: [{ name: 'bench-up', healthchecks: HEALTHCHECKS, targets }],
    }),
  );
  const adminPort = o.port + 1000;
  return spawnPinned(PROXY_CPU, node, [
    join(root, 'dist/gateway/src/cli.js'),
    '--store',
    'memory',
    '--config',
    file,
    '--proxy-listen',
    `127.0.0.1:${o.port}`,
    '--admin-listen',
    `127.0.0.1:${adminPort}`,
    '--log-level',
    'warn',
    '--workers',
    String(o.workers ?? 1),
    '--access-log',
    o.accessLog ?? 'off',
  ]);
}

/** One pass of fixed-rate.js (its JSON line), plus the gateway's event-loop delay during it. */
interface FixedRatePass {
  sent: number;
  errors: number;
  p50ms: number;
  p90ms: number;
  p99ms: number;
  maxms: number;
  /** gw_nodejs_eventloop_lag_p99_seconds scraped right after the pass (ms; includes the 10 ms tick) */
  loopP99RawMs?: number;
  /** loopP99RawMs − the 10 ms tick: the delay */
  loopP99Ms?: number;
}

/** Per contender: `sent` and `errors` summed over the recorded passes, the rest medians of the passes. */
interface FixedRate {
  name: string;
  rate: number;
  passes: number;
  sent: number;
  errors: number;
  p50ms: number;
  p90ms: number;
  p99ms: number;
  maxms: number;
  /** median over the passes of (p99 − direct's p99 in the same pass) */
  p99AddedMs?: number;
  loopP99Ms?: number;
  loopP99RawMs?: number;
  perPass: FixedRatePass[];
}

/** prom-client's event-loop histogram resolution (its default `eventLoopMonitoringPrecision`), ms */
const LOOP_TICK_MS = 10;

/** gw_nodejs_eventloop_lag_p99_seconds from a gateway's admin /metrics, in ms (the scrape resets the histogram). */
async function scrapeLoopP99(adminPort: number): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${adminPort}/metrics`, { signal: AbortSignal.timeout(5000) });
  const text = await r.text();
  const m = /^gw_nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})? (\S+)$/m.exec(text);
  if (!m) throw new Error(`no gw_nodejs_eventloop_lag_p99_seconds in :${adminPort}/metrics`);
  return Number(m[1]) * 1000;
}

interface Sample extends WrkResult {
  cpuUsPerReq: number;
}

async function main(): Promise<void> {
  ensureTools();
  const only = values.only ? new Set(values.only.split(',')) : undefined;
  const chosen = contenders.filter((c) => !only || only.has(c.name));
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-'));
  const children: ChildProcess[] = [];
  const cleanup = () => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  const base = 20_000 + Math.floor(Math.random() * 10_000);
  const upstreamPort = base;
  try {
    const upstream = spawnPinned(LOAD_CPU, node, [join(here, 'upstream.js'), String(upstreamPort)]);
    children.push(upstream);
    await waitForHttp(`http://127.0.0.1:${upstreamPort}/`);
    if (chosen.some((c) => c.name === 'gw-10k-targets')) {
      // 10,000 listeners on 127.1.x.y:port, split over two processes (file descriptor limits)
      const all = manyTargets(10_000);
      for (const half of [all.slice(0, 5000), all.slice(5000)]) {
        children.push(spawnPinned(LOAD_CPU, node, [join(here, 'upstream.js'), String(upstreamPort), half[0]!, String(half.length)]));
        await waitForHttp(`http://${half.at(-1)}:${upstreamPort}/`, 60_000);
      }
    }
    const procs = new Map<string, { port: number; pid: number | undefined }>();
    for (const [i, c] of chosen.entries()) {
      if (c.name === 'direct') {
        procs.set(c.name, { port: upstreamPort, pid: undefined });
        continue;
      }
      const port = base + 1 + i;
      const child = c.start(port, upstreamPort, dir);
      children.push(child);
      await waitForHttp(`http://127.0.0.1:${port}/`);
      procs.set(c.name, { port, pid: child.pid });
    }
    const samples = new Map<string, Sample[]>();
    for (const c of chosen) {
      // warm-up (JIT, pools)
      runWrk(`http://127.0.0.1:${procs.get(c.name)!.port}/`, { connections, seconds: 1, cpu: LOAD_CPU });
    }
    for (let r = 0; r < rounds; r++) {
      for (const c of chosen) {
        const p = procs.get(c.name)!;
        const cpu0 = p.pid ? cpuMicrosTree(p.pid) : 0;
        const w = runWrk(`http://127.0.0.1:${p.port}/`, {
          connections,
          seconds: duration,
          cpu: LOAD_CPU,
          threads: values.unpinned ? 2 : 1,
        });
        const cpu1 = p.pid ? cpuMicrosTree(p.pid) : 0;
        const s: Sample = { ...w, cpuUsPerReq: p.pid ? (cpu1 - cpu0) / w.requests : NaN };
        samples.set(c.name, [...(samples.get(c.name) ?? []), s]);
        console.log(
          `round ${r + 1} ${c.name}: ${Math.round(s.rps)} req/s, p99 ${s.p99ms.toFixed(2)} ms, ${s.cpuUsPerReq.toFixed(1)} µs CPU/req`,
        );
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const summary = chosen.map((c) => {
      const s = samples.get(c.name)!;
      return {
        name: c.name,
        rps: median(s.map((x) => x.rps)),
        p50ms: median(s.map((x) => x.p50ms)),
        p99ms: median(s.map((x) => x.p99ms)),
        cpuUsPerReq: median(s.map((x) => x.cpuUsPerReq)),
        errors: s.reduce((a, x) => a + x.errors, 0),
      };
    });
    const nginx = summary.find((s) => s.name === 'nginx');
    const minimal = summary.find((s) => s.name === 'minimal');
    const direct = summary.find((s) => s.name === 'direct');
    const rows = summary.map((s) => ({
      contender: s.name,
      'req/s': Math.round(s.rps),
      'p50 ms': s.p50ms.toFixed(2),
      'p99 ms': s.p99ms.toFixed(2),
      'p99 added ms': direct ? (s.p99ms - direct.p99ms).toFixed(2) : '-',
      'CPU µs/req': Number.isNaN(s.cpuUsPerReq) ? '-' : s.cpuUsPerReq.toFixed(1),
      '× minimal': minimal && !Number.isNaN(s.cpuUsPerReq) ? (s.cpuUsPerReq / minimal.cpuUsPerReq).toFixed(2) : '-',
      '× nginx': nginx && !Number.isNaN(s.cpuUsPerReq) ? (s.cpuUsPerReq / nginx.cpuUsPerReq).toFixed(2) : '-',
      errors: s.errors,
    }));
    console.log(
      `\nmedian of ${rounds} rounds × ${duration} s, wrk -c${connections}, ${values.unpinned ? 'everything on both CPUs' : 'proxy on CPU 0, wrk + upstream on CPU 1'}\n`,
    );
    console.log(table(rows));
    let fixedRate: FixedRate[] | undefined;
    if (rate !== undefined) {
      const ratePass = async (c: Contender): Promise<FixedRatePass> => {
        const p = procs.get(c.name)!;
        const admin = c.loop ? p.port + 1000 : undefined;
        if (admin !== undefined) await scrapeLoopP99(admin); // resets the histogram: the next scrape covers this pass
        const out = execFileSync(
          'taskset',
          [
            '-c',
            LOAD_CPU,
            node,
            join(here, 'fixed-rate.js'),
            `http://127.0.0.1:${p.port}/`,
            String(rate),
            String(connections),
            String(duration),
          ],
          { encoding: 'utf8', timeout: (duration + 60) * 1000 },
        );
        const r = JSON.parse(out) as FixedRatePass;
        const pass: FixedRatePass = { sent: r.sent, errors: r.errors, p50ms: r.p50ms, p90ms: r.p90ms, p99ms: r.p99ms, maxms: r.maxms };
        if (admin !== undefined) {
          pass.loopP99RawMs = await scrapeLoopP99(admin);
          pass.loopP99Ms = Math.max(0, pass.loopP99RawMs - LOOP_TICK_MS);
        }
        return pass;
      };
      for (const c of chosen) await ratePass(c); // warm-up pass, not recorded
      const passes = new Map<string, FixedRatePass[]>(chosen.map((c) => [c.name, []]));
      for (let r = 0; r < ratePasses; r++) {
        for (const c of chosen) {
          const s = await ratePass(c);
          passes.get(c.name)!.push(s);
          console.log(
            `rate pass ${r + 1} ${c.name}: p50 ${s.p50ms.toFixed(2)} ms, p99 ${s.p99ms.toFixed(2)} ms, max ${s.maxms.toFixed(2)} ms` +
              (s.loopP99Ms === undefined ? '' : `, loop p99 ${s.loopP99Ms.toFixed(2)} ms`) +
              (s.errors ? `, ${s.errors} errors` : ''),
          );
        }
      }
      const direct = passes.get('direct');
      fixedRate = chosen.map((c) => {
        const ps = passes.get(c.name)!;
        const loops = ps.flatMap((x) => (x.loopP99Ms === undefined ? [] : [x.loopP99Ms]));
        const raws = ps.flatMap((x) => (x.loopP99RawMs === undefined ? [] : [x.loopP99RawMs]));
        return {
          name: c.name,
          rate,
          passes: ps.length,
          sent: ps.reduce((a, x) => a + x.sent, 0),
          errors: ps.reduce((a, x) => a + x.errors, 0),
          p50ms: median(ps.map((x) => x.p50ms)),
          p90ms: median(ps.map((x) => x.p90ms)),
          p99ms: median(ps.map((x) => x.p99ms)),
          maxms: median(ps.map((x) => x.maxms)),
          p99AddedMs: direct ? median(ps.map((x, i) => x.p99ms - direct[i]!.p99ms)) : undefined,
          loopP99Ms: loops.length ? median(loops) : undefined,
          loopP99RawMs: raws.length ? median(raws) : undefined,
          perPass: ps,
        };
      });
      console.log(
        `\nfixed rate ${rate} req/s over ${connections} connections, median of ${ratePasses} passes × ${duration} s after a warm-up pass, latency from the scheduled send time; loop p99: gw's event-loop delay during the pass (10 ms ticks)\n`,
      );
      console.log(
        table(
          fixedRate.map((f) => ({
            contender: f.name,
            'p50 ms': f.p50ms.toFixed(2),
            'p99 ms': f.p99ms.toFixed(2),
            'max ms': f.maxms.toFixed(2),
            'p99 added ms': f.p99AddedMs === undefined ? '-' : f.p99AddedMs.toFixed(2),
            'loop p99 ms': f.loopP99Ms === undefined ? '-' : f.loopP99Ms.toFixed(2),
            errors: f.errors,
          })),
        ),
      );
    }
    const outDir = join(root, '.bench-out');
    mkdirSync(outDir, { recursive: true });
    const out = join(outDir, 'proxy.json');
    writeFileSync(
      out,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          duration,
          rounds,
          connections,
          unpinned: values.unpinned,
          results: summary,
          ratePasses: rate === undefined ? undefined : ratePasses,
          fixedRate,
        },
        null,
        2,
      ),
    );
    console.log(`\nJSON: ${out}`);
  } finally {
    cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
