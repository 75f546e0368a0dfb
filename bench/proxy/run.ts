/**
 * Proxy benchmark: the same 64-byte upstream behind (a) nothing, (b) nginx
 * with 1 worker and upstream keepalive, (c) `minimal`: the shared minimal
 * node:http + undici proxy (../shared/bench/minimal-undici-proxy.mjs when
 * present, else its copy in bench/proxy/; the floor for a Node proxy),
 * (c2) `minimal-10k-targets`: the same proxy round-robin over the 10,000
 * upstreams of gw-10k-targets (bench/proxy/minimal-many.ts; what that many
 * origins cost the floor itself), (c3) `minimal-kong-headers`: the same
 * proxy adding the headers gw adds both ways (bench/proxy/minimal-kong-headers.ts:
 * what Kong's X-Forwarded-*, Via and X-Kong-* headers cost any Node proxy),
 * (d) @fastify/http-proxy, and gw-gateway with every feature on (active and
 * passive health checks, metrics, hedging/stall guard defaults):
 * (e) `gw` with its access log to a file, (f) `gw-no-access-log`,
 * (f2) `gw-access-log-stdout` (the CLI default: lines to stdout, here a pipe
 * read by `cat` on the load CPU, as a container log driver reads it),
 * (g) `gw-10k-routes` (9,999 other prefix routes), (g2) `gw-2-targets` (no
 * access log, two targets 127.2.0.1-2: what balancing over more than one
 * target costs, hedging's per-request deadline included), (h) `gw-10k-targets`
 * (10,000 targets in the upstream: 127.1.x.y addresses, each one a listener
 * of two upstream processes), (i) `gw-2-workers` (only with --unpinned).
 * The proxy being measured runs pinned to CPU 0; wrk and the upstream on
 * CPU 1; the contenders not being measured are stopped (SIGSTOP, on CPU 1)
 * for the rounds and passes of the others. Rounds are interleaved; before
 * each round of a 10,000-target row, 3 s of unmeasured load reopen the
 * upstream connections that timed out meanwhile. In the fixed-rate passes
 * the proxy is on CPU 0 as well (the generator on CPU 1 is
 * latency-sensitive). Reported per contender: requests/s, p50/p99 latency,
 * CPU µs per request of the proxy process (from /proc), and that CPU as a ratio to
 * `minimal` and to nginx (`× minimal per round`: the median over the rounds
 * of the ratio to minimal's CPU in the same round, steadier when the
 * machine's speed drifts; with --ref-dist also `× ref per round`, the
 * same against the row's `ref-` row; with row minimal-kong-headers, `× kong-headers
 * per round` against it); `idle %cpu`: the proxy's background CPU with no
 * traffic (read over 5 s after the warm-ups: health probes, timers, GC), and
 * `µs/req less idle`: the CPU per request without that background's share
 * at the row's request rate (gw-10k-targets probes 10,000 targets every 5 s).
 *
 *   npm run bench:proxy -- [--duration 5] [--rounds 3] [--connections 50] [--only gw,nginx]
 *                          [--rate 2000]   also measure latency at a fixed rate (open loop), p99 added over direct
 *                          [--rate-passes 5]  recorded fixed-rate passes per contender (after one warm-up pass)
 *                          [--rate-gen node|hey]  the fixed-rate generator: `node` (bench/proxy/fixed-rate.ts, open
 *                                          loop, latency from each request's due time) or `hey` (Debian's Go load
 *                                          generator, installed if missing: 10 workers each rate-limited to rate/10
 *                                          per second, closed loop, latency from the send; its own p99 against
 *                                          direct is several ms lower than the node generator's)
 *                          [--unpinned]    everything on every core (compares gw with gw --workers 2 on this box)
 *                          [--ref-dist D]  also rows ref-gw, ref-gw-no-access-log, ref-gw-access-log-stdout, ref-gw-10k-targets, ref-gw-2-targets:
 *                                          the gw of another build's dist/ D
 *                                          (a worktree of an earlier commit, built), measured in the same run
 *                          [--alloc]       the Node proxies run with --trace-gc-nvp: KB allocated per request
 *                                          (the allocated= sums of each round / its requests; the trace costs CPU, so
 *                                          read the CPU column of such a run with care)
 *                          [--cpu-prof]    a CPU profile of each one-process Node proxy from the end of the warm-ups
 *                                          to the end of the run (the loop probe starts V8's profiler on its first
 *                                          SIGUSR2), in .bench-out/prof/NAME.cpuprofile;
 *                                          `node dist/bench/proxy/prof-summary.js FILE` prints where the time went
 *                          [--alloc-prof]  the same with V8's sampling heap profiler, every sampled allocation counted
 *                                          (collected ones included): .bench-out/prof/NAME.heapprofile; prof-summary
 *                                          prints bytes by function, per request with `--requests N` (the bench
 *                                          prints N, the requests each proxy served while it was profiled)
 *
 * Fixed rate (`--rate R`, bench/proxy/fixed-rate.ts, on the load CPU): after
 * the wrk rounds, one warm-up pass per contender (not recorded), then
 * `--rate-passes` passes of `--duration` s each, interleaved across
 * contenders like the wrk rounds. Reported: the median over the passes of
 * p50/p99/max, and `p99 added ms` = the median over the passes of
 * (contender's p99 − direct's p99 in the same pass). `loop p99 ms` is the
 * proxy's event-loop delay p99 during each pass (median over the passes),
 * for the Node proxies (minimal, fastify-http-proxy and the one-process gw
 * rows): bench/proxy/loop-probe.ts is preloaded into them (`--import`), a
 * `monitorEventLoopDelay` at 1 ms resolution that the bench reads and resets
 * with SIGUSR2 right before and right after each pass. (gw's own
 * `gw_nodejs_eventloop_lag_p99_seconds` has prom-client's 10 ms resolution:
 * too coarse to judge 2 ms.) Not for gw-2-workers (several loops).
 *
 * Goals (issue 17): gw ≤ 1.2× minimal CPU per request, gw-no-access-log
 * ≤ 1.1×, the 10k-routes and 10k-targets rows within 10% of gw-no-access-log;
 * at a fixed 2,000 req/s (median of 5 passes after warm-up), p99 added over
 * direct ≤ 1 ms and event-loop delay p99 ≤ 2 ms.
 * Row minimal-kong-headers shows what Kong's headers alone cost the floor
 * proxy: on 2026-12-03 already 1.14× minimal (docs/performance.md).
 */
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchArgs } from '../lib/args.js';
import { cpuMicrosTree, percentile, runWrk, spawnPinned, table, waitForHttp, type WrkResult } from '../lib/measure.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const { values } = benchArgs(import.meta.url, {
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    only: { type: 'string' },
    rate: { type: 'string' },
    'rate-passes': { type: 'string', default: '5' },
    unpinned: { type: 'boolean', default: false },
    alloc: { type: 'boolean', default: false },
    'ref-dist': { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    'alloc-prof': { type: 'boolean', default: false },
    'rate-gen': { type: 'string', default: 'node' },
  },
});
const rate = values.rate === undefined ? undefined : Number(values.rate);
const ratePasses = Number(values['rate-passes']);
const rateGen = values['rate-gen'];
if (rateGen !== 'node' && rateGen !== 'hey') throw new Error('--rate-gen: node or hey');
if (!Number.isInteger(ratePasses) || ratePasses < 1) throw new Error('--rate-passes: a whole number ≥ 1');
/** CPU sets: the proxy, and the load generator + upstream */
const PROXY_CPU = values.unpinned ? '0-1' : '0';
const LOAD_CPU = values.unpinned ? '0-1' : '1';
const duration = Number(values.duration);
const rounds = Number(values.rounds);
const connections = Number(values.connections);

function ensureTools(): void {
  const missing = ['wrk', 'nginx', 'taskset', ...(rate !== undefined && rateGen === 'hey' ? ['hey'] : [])].filter(
    (t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0,
  );
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
  /** a Node proxy in one process, started with the loop probe ({@link probed}): its event-loop delay is measured */
  loop?: boolean;
  /** warm-up seconds before the rounds (default 1) */
  warmup?: number;
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
    start: (port, up, dir) => startMinimal(port, dir, minimalProxy(), { UPSTREAMS: `http://127.0.0.1:${up}` }),
    loop: true,
  },
  {
    // the floor proxy plus the headers gw adds (Kong's semantics): what they cost node and undici, not gw's code
    name: 'minimal-kong-headers',
    start: (port, up, dir) => startMinimal(port, dir, join(here, 'minimal-kong-headers.js'), { UPSTREAMS: `http://127.0.0.1:${up}` }),
    loop: true,
  },
  {
    // the floor proxy round-robin over the 10,000 targets of gw-10k-targets: what that many origins cost any undici proxy
    name: 'minimal-10k-targets',
    start: (port, up, dir) => {
      const file = join(dir, 'upstreams-10k.txt');
      writeFileSync(
        file,
        manyTargets(10_000)
          .map((h) => `http://${h}:${up}`)
          .join(','),
      );
      return startMinimal(port, dir, join(here, 'minimal-many.js'), { UPSTREAMS_FILE: file });
    },
    loop: true,
    warmup: 8,
  },
  {
    name: 'fastify-http-proxy',
    start: (port, up, dir) =>
      spawnPinned(
        PROXY_CPU,
        node,
        [...PROBE_ARGS, join(here, 'fastify-proxy.js'), String(port), String(up)],
        probed(dir, port),
        gcOut(dir, port),
      ),
    loop: true,
  },
  { name: 'gw', start: (port, up, dir) => startGw({ port, up, dir, accessLog: join(dir, 'access.log') }), loop: true },
  { name: 'gw-no-access-log', start: (port, up, dir) => startGw({ port, up, dir }), loop: true },
  {
    // the CLI's default, --access-log stdout, into a pipe with a reader (as a container runtime's log driver): no --alloc figure
    name: 'gw-access-log-stdout',
    start: (port, up, dir) => startGwStdout(port, up, dir),
    loop: true,
  },
  // --ref-dist DIR: the same two rows from another build (e.g. a worktree of an earlier commit), for a before/after in one run
  ...(values['ref-dist'] === undefined
    ? []
    : [
        {
          name: 'ref-gw',
          start: (port: number, up: number, dir: string) =>
            startGw({ port, up, dir, accessLog: join(dir, 'access-ref.log'), dist: resolve(values['ref-dist']!) }),
          loop: true,
        },
        {
          name: 'ref-gw-no-access-log',
          start: (port: number, up: number, dir: string) => startGw({ port, up, dir, dist: resolve(values['ref-dist']!) }),
          loop: true,
        },
        {
          name: 'ref-gw-access-log-stdout',
          start: (port: number, up: number, dir: string) => startGwStdout(port, up, dir, resolve(values['ref-dist']!)),
          loop: true,
        },
        {
          name: 'ref-gw-10k-targets',
          start: (port: number, up: number, dir: string) =>
            startGw({ port, up, dir, targets: manyTargets(10_000), dist: resolve(values['ref-dist']!) }),
          loop: true,
          warmup: 8,
        },
        {
          name: 'ref-gw-2-targets',
          start: (port: number, up: number, dir: string) =>
            startGw({ port, up, dir, targets: TWO_TARGETS, dist: resolve(values['ref-dist']!) }),
          loop: true,
        },
      ]),
  { name: 'gw-10k-routes', start: (port, up, dir) => startGw({ port, up, dir, routes: 10_000 }), loop: true },
  // more than one target: the balancer picks, and every GET gets a hedging deadline (one target has no other to hedge to)
  { name: 'gw-2-targets', start: (port, up, dir) => startGw({ port, up, dir, targets: TWO_TARGETS }), loop: true },
  // the first request to each target creates its pool and connection: warm up until every target has been used a few times
  { name: 'gw-10k-targets', start: (port, up, dir) => startGw({ port, up, dir, targets: manyTargets(10_000) }), loop: true, warmup: 8 },
  ...(values.unpinned
    ? [{ name: 'gw-2-workers', start: (port: number, up: number, dir: string) => startGw({ port, up, dir, workers: 2 }) }]
    : []),
];

/** node arguments that preload the event-loop probe (bench/proxy/loop-probe.ts); with --alloc also V8's GC trace */
const PROBE_ARGS = ['--import', pathToFileURL(join(here, 'loop-probe.js')).href, ...(values.alloc ? ['--trace-gc-nvp'] : [])];
/** --alloc: where the GC trace (stdout) of the proxy on `port` goes */
const gcFile = (dir: string, port: number): string => join(dir, `gc-${port}.txt`);
const gcOut = (dir: string, port: number): number | undefined => (values.alloc ? openSync(gcFile(dir, port), 'w') : undefined);
/**
 * Bytes allocated between two offsets of a GC trace: the sum of its
 * `allocated=` fields (bytes allocated since the previous GC). The trace is
 * block-buffered, so the window is off by at most a buffer's worth of
 * lines (4 KiB, a few GCs of the hundreds in a round).
 */
function allocatedBetween(file: string, from: number, to: number): number {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(Math.max(0, to - from));
    readSync(fd, buf, 0, buf.length, from);
    let sum = 0;
    for (const m of buf.toString('latin1').matchAll(/\ballocated=(\d+)/g)) sum += Number(m[1]);
    return sum;
  } finally {
    closeSync(fd);
  }
}
/** Where the probe of the proxy on `port` writes its figures. */
const probeFile = (dir: string, port: number): string => join(dir, `loop-${port}.json`);
/** The environment of a probed proxy. */
const probed = (dir: string, port: number): NodeJS.ProcessEnv => ({
  ...process.env,
  GW_LOOP_PROBE_FILE: probeFile(dir, port),
  // --cpu-prof: the probe profiles from its first SIGUSR2 and writes the profile on SIGTERM
  ...(values['cpu-prof'] ? { GW_LOOP_PROBE_CPU_PROF: join(PROF_DIR, `port-${port}.cpuprofile`) } : {}),
  ...(values['alloc-prof'] ? { GW_LOOP_PROBE_HEAP_PROF: join(PROF_DIR, `port-${port}.heapprofile`) } : {}),
});
/** --cpu-prof or --alloc-prof */
const profiling = values['cpu-prof'] || values['alloc-prof'];
/** Seconds of unmeasured load before each round of a row with a long warm-up (the 10,000-target rows). */
const REWARM_S = 3;
/** How long every proxy's background CPU is read with no traffic, after the warm-ups. */
const IDLE_WINDOW_MS = 5000;
/** --cpu-prof, --alloc-prof: where the profiles go */
const PROF_DIR = join(root, '.bench-out/prof');

/** The shared minimal proxy when this checkout sits next to ../shared, else the copy kept in bench/proxy. */
function minimalProxy(): string {
  const shared = resolve(root, '../shared/bench/minimal-undici-proxy.mjs');
  return existsSync(shared) ? shared : join(root, 'bench/proxy/minimal-undici-proxy.mjs');
}

/**
 * The floor proxy, or a script wrapping it (`MINIMAL` names the proxy for
 * those), pinned and probed like every Node row; `env`: its upstreams.
 */
function startMinimal(port: number, dir: string, script: string, env: Record<string, string>): ChildProcess {
  return spawnPinned(
    PROXY_CPU,
    node,
    [...PROBE_ARGS, script],
    {
      ...probed(dir, port),
      UNDICI: join(root, 'node_modules/undici/index.js'),
      MINIMAL: minimalProxy(),
      PORT: String(port),
      ...env,
    },
    gcOut(dir, port),
  );
}

/** Addresses of the 10,000-target row: 127.1.x.y, all loopback. */
const manyTargets = (n: number): string[] => Array.from({ length: n }, (_, i) => `127.1.${(i >> 8) & 0xff}.${i & 0xff}`);
/** The gw-2-targets row's upstream addresses (consecutive: one upstream.js process listens on both). */
const TWO_TARGETS = ['127.2.0.1', '127.2.0.2'];

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
  /** the targets' addresses (default: 127.0.0.1 alone) */
  targets?: readonly string[];
  workers?: number;
  accessLog?: string;
  /** another build's dist/ (--ref-dist) instead of this checkout's */
  dist?: string;
  /** the gateway's stdout (default: the GC trace with --alloc, else ignored) */
  stdout?: number;
}): ChildProcess {
  const routes = o.routes ?? 1;
  const file = join(o.dir, `kong-${o.port}.json`);
  const extra = Array.from({ length: routes - 1 }, (_, i) => ({ name: `r${i}`, paths: [`/svc${i}/v1`], service: 'bench' }));
  const targets = (o.targets ?? ['127.0.0.1']).map((a) => ({ target: `${a}:${o.up}` }));
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
  const workers = o.workers ?? 1;
  return spawnPinned(
    PROXY_CPU,
    node,
    [
      ...(workers === 1 ? PROBE_ARGS : []),
      join(o.dist ?? join(root, 'dist'), 'gateway/src/cli.js'),
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
      String(workers),
      '--access-log',
      o.accessLog ?? 'off',
    ],
    workers === 1 ? probed(o.dir, o.port) : process.env,
    o.stdout ?? (workers === 1 ? gcOut(o.dir, o.port) : undefined),
  );
}

/** gw with `--access-log stdout` into a pipe read by `cat` on the load CPU (as a container runtime's log driver reads it). */
function startGwStdout(port: number, up: number, dir: string, dist?: string): ChildProcess {
  const fifo = join(dir, `stdout-${port}.fifo`);
  execFileSync('mkfifo', [fifo]);
  const reader = spawnPinned(LOAD_CPU, 'sh', ['-c', `exec cat "${fifo}" > /dev/null`]);
  const fd = openSync(fifo, 'w'); // returns once the reader has opened its end
  const gw = startGw({ port, up, dir, accessLog: 'stdout', stdout: fd, ...(dist === undefined ? {} : { dist }) });
  closeSync(fd);
  gw.once('exit', () => reader.kill('SIGKILL'));
  return gw;
}

/** One pass of fixed-rate.js (its JSON line), plus the gateway's event-loop delay during it. */
interface FixedRatePass {
  sent: number;
  errors: number;
  p50ms: number;
  p90ms: number;
  p99ms: number;
  maxms: number;
  /** the proxy's largest event-loop delay during the pass (ms, loop probe) */
  loopMaxMs?: number;
  /** the proxy's event-loop delay p99 during the pass (ms, loop probe at 1 ms resolution) */
  loopP99Ms?: number;
}

/** Per contender: `sent` and `errors` summed over the recorded passes, the rest medians of the passes. */
interface FixedRate extends FixedRatePass {
  name: string;
  rate: number;
  passes: number;
  /** median over the passes of (p99 − direct's p99 in the same pass) */
  p99AddedMs?: number;
  perPass: FixedRatePass[];
}

/** One fixed-rate pass of bench/proxy/fixed-rate.ts against the proxy on `port`. */
function nodePass(port: number): FixedRatePass {
  const out = execFileSync(
    'taskset',
    ['-c', LOAD_CPU, node, join(here, 'fixed-rate.js'), `http://127.0.0.1:${port}/`, String(rate), String(connections), String(duration)],
    { encoding: 'utf8', timeout: (duration + 60) * 1000 },
  );
  return JSON.parse(out) as FixedRatePass;
}

/**
 * hey's workers: each one is rate-limited by its own ticker, and the
 * tickers fire together, so the load comes in bursts of this many requests
 * (measured against the upstream alone at 2,000 req/s: p99 1.7 ms with 10
 * workers, 3.5 ms with 20, 14.7 ms with 50).
 */
const HEY_WORKERS = 10;

/**
 * One fixed-rate pass of `hey` ({@link HEY_WORKERS} workers, each limited
 * to rate/HEY_WORKERS requests a second) against the proxy on `port`; the
 * percentiles from its per-request CSV (response-time in seconds, status).
 */
function heyPass(port: number): FixedRatePass {
  const out = execFileSync(
    'taskset',
    [
      '-c',
      LOAD_CPU,
      'hey',
      '-z',
      `${duration}s`,
      '-c',
      String(HEY_WORKERS),
      '-q',
      String(rate! / HEY_WORKERS),
      '-o',
      'csv',
      `http://127.0.0.1:${port}/`,
    ],
    { encoding: 'utf8', timeout: (duration + 60) * 1000, maxBuffer: 256 * 1024 * 1024 },
  );
  const ms: number[] = [];
  let errors = 0;
  for (const line of out.split('\n').slice(1)) {
    const f = line.split(',');
    if (f.length < 7) continue;
    ms.push(Number(f[0]) * 1000);
    if (f[6] !== '200') errors++;
  }
  return {
    sent: ms.length,
    errors,
    p50ms: percentile(ms, 50),
    p90ms: percentile(ms, 90),
    p99ms: percentile(ms, 99),
    maxms: percentile(ms, 100),
  };
}

/** The loop probe's figures since its last reading (it starts over): SIGUSR2, then wait for the file it writes. */
async function readProbe(pid: number, file: string): Promise<{ p99ms: number; maxms: number; samples: number }> {
  const before = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { seq: number }).seq : 0;
  process.kill(pid, 'SIGUSR2');
  const end = Date.now() + 5000;
  for (;;) {
    if (existsSync(file)) {
      const r = JSON.parse(readFileSync(file, 'utf8')) as { seq: number; p99ms: number; maxms: number; samples: number };
      if (r.seq > before) return r;
    }
    if (Date.now() > end) throw new Error(`the loop probe of pid ${pid} did not answer within 5 s (${file})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Sample extends WrkResult {
  cpuUsPerReq: number;
  /** --alloc: KB allocated per request (V8's GC trace) */
  allocKbPerReq?: number;
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
    if (chosen.some((c) => c.name.endsWith('10k-targets'))) {
      // 10,000 listeners on 127.1.x.y:port, split over two processes (file descriptor limits)
      const all = manyTargets(10_000);
      for (const half of [all.slice(0, 5000), all.slice(5000)]) {
        children.push(spawnPinned(LOAD_CPU, node, [join(here, 'upstream.js'), String(upstreamPort), half[0]!, String(half.length)]));
        await waitForHttp(`http://${half.at(-1)}:${upstreamPort}/`, 60_000);
      }
    }
    if (chosen.some((c) => c.name.endsWith('gw-2-targets'))) {
      children.push(
        spawnPinned(LOAD_CPU, node, [join(here, 'upstream.js'), String(upstreamPort), TWO_TARGETS[0]!, String(TWO_TARGETS.length)]),
      );
      await waitForHttp(`http://${TWO_TARGETS.at(-1)}:${upstreamPort}/`);
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
    /**
     * Only the proxy being measured runs, on the proxy CPU: the others are
     * stopped (SIGSTOP) on the load CPU, so their background work (health
     * probes, GC, timers; the 10,000-target gateway probes 2,000 targets a
     * second, a third of a core) takes neither the measured proxy's CPU nor
     * the load generator's and the upstream's. `null`: all run, on the proxy
     * CPU. Pinned mode only.
     */
    const place = (active: string | null): void => {
      if (values.unpinned) return;
      for (const [name, p] of procs) {
        if (p.pid === undefined) continue;
        const on = active === null || name === active;
        execFileSync('taskset', ['-a', '-p', '-c', on ? PROXY_CPU : LOAD_CPU, String(p.pid)], { stdio: 'ignore' });
        process.kill(p.pid, on ? 'SIGCONT' : 'SIGSTOP');
      }
    };
    for (const c of chosen) {
      place(c.name);
      // warm-up (JIT, pools)
      runWrk(`http://127.0.0.1:${procs.get(c.name)!.port}/`, { connections, seconds: c.warmup ?? 1, cpu: LOAD_CPU });
    }
    place(null);
    // background CPU with no traffic (health probes, timers, GC), all proxies idle at once
    const idle = new Map<string, number>();
    {
      const t0 = process.hrtime.bigint();
      const before = new Map([...procs].filter(([, p]) => p.pid !== undefined).map(([n, p]) => [n, cpuMicrosTree(p.pid!)]));
      await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
      const us = Number(process.hrtime.bigint() - t0) / 1000;
      for (const [n, c0] of before) idle.set(n, (cpuMicrosTree(procs.get(n)!.pid!) - c0) / us);
    }
    /** requests each proxy served since its profiler started (--cpu-prof, --alloc-prof) */
    const profiledRequests = new Map<string, number>();
    const countProfiled = (name: string, n: number): void => {
      if (profiling) profiledRequests.set(name, (profiledRequests.get(name) ?? 0) + n);
    };
    if (profiling) {
      mkdirSync(PROF_DIR, { recursive: true });
      for (const c of chosen) if (c.loop) process.kill(procs.get(c.name)!.pid!, 'SIGUSR2');
    }
    for (let r = 0; r < rounds; r++) {
      for (const c of chosen) {
        place(c.name);
        const p = procs.get(c.name)!;
        // the 10,000-target rows: their upstream connections closed (keep-alive timeout) while the other rows ran; reopen them unmeasured
        if ((c.warmup ?? 1) > 1)
          countProfiled(c.name, runWrk(`http://127.0.0.1:${p.port}/`, { connections, seconds: REWARM_S, cpu: LOAD_CPU }).requests);
        const cpu0 = p.pid ? cpuMicrosTree(p.pid) : 0;
        const trace = values.alloc && c.loop && existsSync(gcFile(dir, p.port)) ? gcFile(dir, p.port) : undefined;
        const at0 = trace ? statSync(trace).size : 0;
        const w = runWrk(`http://127.0.0.1:${p.port}/`, {
          connections,
          seconds: duration,
          cpu: LOAD_CPU,
          threads: values.unpinned ? 2 : 1,
        });
        const cpu1 = p.pid ? cpuMicrosTree(p.pid) : 0;
        countProfiled(c.name, w.requests);
        const s: Sample = { ...w, cpuUsPerReq: p.pid ? (cpu1 - cpu0) / w.requests : NaN };
        if (trace) s.allocKbPerReq = allocatedBetween(trace, at0, statSync(trace).size) / 1024 / w.requests;
        samples.set(c.name, [...(samples.get(c.name) ?? []), s]);
        console.log(
          `round ${r + 1} ${c.name}: ${Math.round(s.rps)} req/s, p99 ${s.p99ms.toFixed(2)} ms, ${s.cpuUsPerReq.toFixed(1)} µs CPU/req` +
            (s.allocKbPerReq === undefined ? '' : `, ${s.allocKbPerReq.toFixed(1)} KB allocated/req`),
        );
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const minimalRounds = samples.get('minimal');
    /** The median over the rounds of (a row's CPU per request / another row's in the same round). */
    const perRoundRatio = (s: Sample[], other: Sample[] | undefined): number | undefined =>
      other === undefined || Number.isNaN(s[0]?.cpuUsPerReq ?? NaN)
        ? undefined
        : median(s.map((x, i) => x.cpuUsPerReq / other[i]!.cpuUsPerReq));
    const summary = chosen.map((c) => {
      const s = samples.get(c.name)!;
      return {
        name: c.name,
        rps: median(s.map((x) => x.rps)),
        p50ms: median(s.map((x) => x.p50ms)),
        p99ms: median(s.map((x) => x.p99ms)),
        cpuUsPerReq: median(s.map((x) => x.cpuUsPerReq)),
        allocKbPerReq: s[0]?.allocKbPerReq === undefined ? undefined : median(s.map((x) => x.allocKbPerReq ?? NaN)),
        errors: s.reduce((a, x) => a + x.errors, 0),
        /** share of a core used with no traffic (before the rounds) */
        idleCpu: idle.get(c.name),
        /**
         * the median over rounds of (this row's CPU per request / minimal's in the same round): on a machine
         * whose speed drifts between rounds, steadier than the ratio of the two medians
         */
        minimalRatio: perRoundRatio(s, minimalRounds),
        /** --ref-dist: the same for this row against its `ref-` row (the build it is compared with) */
        refRatio: perRoundRatio(s, samples.get(`ref-${c.name}`)),
        /** the same against minimal-kong-headers (when it ran): the floor proxy doing what Kong's headers require */
        kongHeadersRatio: perRoundRatio(s, samples.get('minimal-kong-headers')),
      };
    });
    /** CPU µs per request less the idle background's share at that request rate */
    const net = (s: (typeof summary)[number]): number => s.cpuUsPerReq - ((s.idleCpu ?? 0) * 1e6) / s.rps;
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
      '× minimal per round': s.minimalRatio === undefined ? '-' : s.minimalRatio.toFixed(2),
      ...(values['ref-dist'] === undefined ? {} : { '× ref per round': s.refRatio === undefined ? '-' : s.refRatio.toFixed(2) }),
      ...(samples.has('minimal-kong-headers')
        ? { '× kong-headers per round': s.kongHeadersRatio === undefined ? '-' : s.kongHeadersRatio.toFixed(2) }
        : {}),
      '× nginx': nginx && !Number.isNaN(s.cpuUsPerReq) ? (s.cpuUsPerReq / nginx.cpuUsPerReq).toFixed(2) : '-',
      'idle %cpu': s.idleCpu === undefined ? '-' : (100 * s.idleCpu).toFixed(1),
      'µs/req less idle': s.idleCpu === undefined ? '-' : net(s).toFixed(1),
      ...(values.alloc ? { 'KB alloc/req': s.allocKbPerReq === undefined ? '-' : s.allocKbPerReq.toFixed(1) } : {}),
      errors: s.errors,
    }));
    console.log(
      `\nmedian of ${rounds} rounds × ${duration} s, wrk -c${connections}, ${values.unpinned ? 'everything on both CPUs' : 'proxy on CPU 0, wrk + upstream on CPU 1'}\n`,
    );
    console.log(table(rows));
    let fixedRate: FixedRate[] | undefined;
    if (rate !== undefined) {
      // the fixed-rate generator is latency-sensitive: the proxy on the proxy CPU, the others stopped
      const ratePass = async (c: Contender): Promise<FixedRatePass> => {
        place(c.name);
        const p = procs.get(c.name)!;
        const probe = c.loop && p.pid !== undefined ? probeFile(dir, p.port) : undefined;
        if (probe !== undefined) await readProbe(p.pid!, probe); // starts the probe over: the next reading covers this pass
        const r = rateGen === 'hey' ? heyPass(p.port) : nodePass(p.port);
        countProfiled(c.name, r.sent);
        const pass: FixedRatePass = { sent: r.sent, errors: r.errors, p50ms: r.p50ms, p90ms: r.p90ms, p99ms: r.p99ms, maxms: r.maxms };
        if (probe !== undefined) {
          const l = await readProbe(p.pid!, probe);
          pass.loopP99Ms = l.p99ms;
          pass.loopMaxMs = l.maxms;
        }
        return pass;
      };
      for (const c of chosen) await ratePass(c); // warm-up pass, not recorded
      console.log(`fixed rate: ${rate} req/s, generator ${rateGen}`);
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
        const maxes = ps.flatMap((x) => (x.loopMaxMs === undefined ? [] : [x.loopMaxMs]));
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
          loopMaxMs: maxes.length ? median(maxes) : undefined,
          perPass: ps,
        };
      });
      console.log(
        `\nfixed rate ${rate} req/s, ${rateGen === 'hey' ? `hey, ${HEY_WORKERS} rate-limited workers, latency from the send` : `${connections} connections, latency from the scheduled send time`}, median of ${ratePasses} passes × ${duration} s after a warm-up pass; loop p99: the proxy's event-loop delay during the pass (1 ms probe)\n`,
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
            'loop max ms': f.loopMaxMs === undefined ? '-' : f.loopMaxMs.toFixed(2),
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
          rateGen: rate === undefined ? undefined : rateGen,
          fixedRate,
        },
        null,
        2,
      ),
    );
    console.log(`\nJSON: ${out}`);
    place(null);
    if (profiling) {
      // SIGTERM: the probe writes its profile and exits; then the usual SIGKILL for what is left
      await Promise.all(
        [...procs.values()]
          .flatMap((p) => children.filter((c) => c.pid !== undefined && c.pid === p.pid))
          .map(
            (c) =>
              new Promise<void>((done) => {
                if (c.exitCode !== null || c.signalCode !== null) return done();
                const t = setTimeout(done, 15_000);
                c.once('exit', () => {
                  clearTimeout(t);
                  done();
                });
                c.kill('SIGTERM');
              }),
          ),
      );
      const kinds = [...(values['cpu-prof'] ? ['cpuprofile'] : []), ...(values['alloc-prof'] ? ['heapprofile'] : [])];
      for (const c of chosen)
        for (const kind of kinds) {
          const f = join(PROF_DIR, `port-${procs.get(c.name)!.port}.${kind}`);
          if (existsSync(f)) renameSync(f, join(PROF_DIR, `${c.name}.${kind}`));
        }
      console.log(`profiles: ${kinds.map((k) => `${PROF_DIR}/NAME.${k}`).join(', ')}`);
      console.log('requests each proxy served while profiled (prof-summary --requests N):');
      for (const c of chosen) if (c.loop) console.log(`  ${c.name} ${profiledRequests.get(c.name) ?? 0}`);
    }
  } finally {
    cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
