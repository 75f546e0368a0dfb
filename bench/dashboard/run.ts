/**
 * Dashboard benchmark (issue 16): what open dashboards cost a gateway under
 * proxy load.
 *
 * The gateway runs as its own process (`gw-gateway --store memory`, admin
 * token set, logs off), pinned to CPU 0 when `taskset` exists; four fast
 * upstream processes (bench/proxy/upstream.js) and the fixed-rate load
 * (bench/proxy/fixed-rate.js, open loop) run on CPU 1. Besides the four
 * proxied targets, a second upstream holds 200 idle targets, so each
 * dashboard carries a realistic page (one service, 204 targets).
 *
 * A dashboard here is what the page does: `GET /dashboard/events` with the
 * token in an Authorization header, read to the end by fetch().
 *
 * Phases, each at the same request rate, alternated A B B A per round so the
 * machine's drift falls on both: A = load with no dashboard, B = load with
 * N dashboards open. Printed per phase: gateway CPU (% of one core), proxy
 * p50/p99/errors, bytes/s each stream received, and the dashboard's own
 * shared work (`gw_dashboard_work_seconds_total` from /metrics: sampling
 * and diffing, % of one core; the writes to each stream are not in it). Then: gateway CPU with no
 * load, 0 vs N dashboards (alternated; the streams' own cost), and the delay from a health change (`PUT
 * …/unhealthy`, under load) until every one of the N streams has it.
 *
 *   npm run bench:dashboard -- [--quick] [--streams 20] [--rate 1000] [--seconds 8] [--rounds 2] [--out FILE] [--no-pin]
 *
 * Writes `.bench-out/dashboard.json`. The default run takes about 110 s;
 * `--quick` about 35 s.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from '../lib/args.js';
import { cpuMicros, table, waitForHttp } from '../lib/measure.js';
import { freePort } from '../lib/gateway.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const GATEWAY_CLI = join(here, '../../gateway/src/cli.js');
const UPSTREAM = join(here, '../proxy/upstream.js');
const FIXED_RATE = join(here, '../proxy/fixed-rate.js');
const TOKEN = 'bench-dashboard-token';

function spawnOn(pin: boolean, cpu: string, args: string[], stdout: 'ignore' | 'pipe' = 'ignore'): ChildProcess {
  return pin
    ? spawn('taskset', ['-c', cpu, process.execPath, ...args], { stdio: ['ignore', stdout, 'inherit'] })
    : spawn(process.execPath, args, { stdio: ['ignore', stdout, 'inherit'] });
}

async function admin(url: string, method: string, path: string, body?: unknown): Promise<void> {
  const r = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  await r.arrayBuffer();
}

interface Stream {
  bytes: number;
  messages: number;
  /** called with each chunk's text */
  watch?: (text: string) => void;
  done: Promise<void>;
  close(): void;
}

function openStream(adminUrl: string): Promise<Stream> {
  const ctrl = new AbortController();
  return fetch(`${adminUrl}/dashboard/events`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: ctrl.signal }).then((res) => {
    if (res.status !== 200 || !res.body) throw new Error(`/dashboard/events answered ${res.status}`);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    const s: Stream = {
      bytes: 0,
      messages: 0,
      done: Promise.resolve(),
      close: () => ctrl.abort(),
    };
    s.done = (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          s.bytes += value.byteLength;
          const text = decoder.decode(value, { stream: true });
          s.messages += text.split('\n\n').length - 1;
          s.watch?.(text);
        }
      } catch {
        // aborted
      }
    })();
    return s;
  });
}

interface LoadResult {
  sent: number;
  errors: number;
  p50ms: number;
  p99ms: number;
}

function runLoad(pin: boolean, url: string, rate: number, seconds: number): Promise<LoadResult> {
  const p = spawnOn(pin, '1', [FIXED_RATE, url, String(rate), '32', String(seconds)], 'pipe');
  let out = '';
  p.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => {
        p.kill('SIGKILL');
        reject(new Error('the load did not finish'));
      },
      (seconds + 30) * 1000,
    );
    p.on('exit', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)!) as LoadResult);
      } catch {
        reject(new Error(`unexpected load output: ${out}`));
      }
    });
  });
}

/** gw_dashboard_work_seconds_total from /metrics */
async function dashboardWorkSeconds(adminUrl: string): Promise<number> {
  const r = await fetch(`${adminUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const m = /^gw_dashboard_work_seconds_total (\S+)$/m.exec(await r.text());
  return m ? Number(m[1]) : NaN;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const r1 = (x: number): number => Math.round(x * 10) / 10;

async function main(): Promise<void> {
  const { values } = benchArgs(import.meta.url, {
    options: {
      quick: { type: 'boolean', default: process.env.GW_BENCH_QUICK === '1' },
      streams: { type: 'string', default: '20' },
      rate: { type: 'string', default: '1000' },
      seconds: { type: 'string' },
      rounds: { type: 'string' },
      out: { type: 'string' },
      'no-pin': { type: 'boolean', default: false },
    },
  });
  const quick = values.quick === true;
  const streamsN = Number(values.streams);
  const rate = Number(values.rate);
  const seconds = Number(values.seconds ?? (quick ? 3 : 8));
  const rounds = Number(values.rounds ?? (quick ? 1 : 2));
  const pin = !values['no-pin'] && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  for (const [name, v] of Object.entries({ streams: streamsN, rate, seconds, rounds }))
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number, got ${String(v)}`);

  const children: ChildProcess[] = [];
  const streams: Stream[] = [];
  try {
    const upstreamPorts: number[] = [];
    for (let i = 0; i < 4; i++) {
      const port = await freePort();
      upstreamPorts.push(port);
      children.push(spawnOn(pin, '1', [UPSTREAM, String(port)]));
    }
    const proxyPort = await freePort();
    const adminPort = await freePort();
    const gwProc = spawnOn(pin, '0', [
      GATEWAY_CLI,
      '--store',
      'memory',
      '--proxy-listen',
      `127.0.0.1:${proxyPort}`,
      '--admin-listen',
      `127.0.0.1:${adminPort}`,
      '--admin-token',
      TOKEN,
      '--access-log',
      'off',
      '--audit-log',
      'off',
      '--log-level',
      'error',
    ]);
    children.push(gwProc);
    const adminUrl = `http://127.0.0.1:${adminPort}`;
    const proxyUrl = `http://127.0.0.1:${proxyPort}`;
    await waitForHttp(`${adminUrl}/dashboard`);
    for (const p of upstreamPorts) await waitForHttp(`http://127.0.0.1:${p}/`);
    await admin(adminUrl, 'PUT', '/upstreams/bench.upstream', { healthchecks: { passive: { unhealthy: { tcp_failures: 1 } } } });
    await admin(adminUrl, 'PUT', '/services/bench', { host: 'bench.upstream', port: 80 });
    await admin(adminUrl, 'PUT', '/services/bench/routes/bench', { paths: ['/bench'] });
    for (const p of upstreamPorts)
      await admin(adminUrl, 'POST', '/upstreams/bench.upstream/targets', { target: `127.0.0.1:${p}`, tags: ['gw-deployment:bench:1'] });
    await admin(adminUrl, 'PUT', '/upstreams/idle.upstream', {});
    // 200 targets nothing routes to (127.0.1.x, never contacted): the page's size, not its traffic
    for (let i = 0; i < 200; i++)
      await admin(adminUrl, 'POST', '/upstreams/idle.upstream/targets', { target: `127.0.1.${1 + (i % 250)}:${10000 + i}` });
    const url = `${proxyUrl}/bench/x`;
    const pid = gwProc.pid!;
    // warm up the proxy path (JIT, connection pools)
    await runLoad(pin, url, rate, quick ? 3 : 5);

    const rows: Record<string, string | number>[] = [];
    const phases: {
      dashboards: number;
      cpuPct: number;
      workPct: number;
      p50ms: number;
      p99ms: number;
      errors: number;
      sent: number;
      streamBytesPerSec: number;
    }[] = [];
    const phase = async (dashboards: number): Promise<void> => {
      while (streams.length < dashboards) streams.push(await openStream(adminUrl));
      while (streams.length > dashboards) streams.pop()!.close();
      await new Promise((r) => setTimeout(r, 500));
      const bytes0 = streams.reduce((a, s) => a + s.bytes, 0);
      const work0 = await dashboardWorkSeconds(adminUrl);
      const cpu0 = cpuMicros(pid);
      const t0 = performance.now();
      const load = await runLoad(pin, url, rate, seconds);
      const secs = (performance.now() - t0) / 1000;
      const cpuPct = ((cpuMicros(pid) - cpu0) / 1e6 / secs) * 100;
      const workPct = (((await dashboardWorkSeconds(adminUrl)) - work0) / secs) * 100;
      const perStream = dashboards > 0 ? (streams.reduce((a, s) => a + s.bytes, 0) - bytes0) / dashboards / secs : 0;
      phases.push({
        dashboards,
        cpuPct,
        workPct,
        p50ms: load.p50ms,
        p99ms: load.p99ms,
        errors: load.errors,
        sent: load.sent,
        streamBytesPerSec: perStream,
      });
      rows.push({
        dashboards,
        'req/s': rate,
        'gateway CPU %': r1(cpuPct),
        'dashboard work %': Math.round(workPct * 1000) / 1000,
        'p50 ms': r1(load.p50ms),
        'p99 ms': r1(load.p99ms),
        errors: load.errors,
        'bytes/s per stream': Math.round(perStream),
      });
    };
    for (let r = 0; r < rounds; r++) {
      for (const n of r % 2 === 0 ? [0, streamsN, streamsN, 0] : [streamsN, 0, 0, streamsN]) await phase(n);
    }
    console.log(`\n== ${rate} req/s through the proxy, ${seconds} s per phase, gateway ${pin ? 'pinned to CPU 0' : 'not pinned'}`);
    console.log(table(rows));
    const cpuWith = median(phases.filter((p) => p.dashboards > 0).map((p) => p.cpuPct));
    const cpuWithout = median(phases.filter((p) => p.dashboards === 0).map((p) => p.cpuPct));
    const p99With = median(phases.filter((p) => p.dashboards > 0).map((p) => p.p99ms));
    const p99Without = median(phases.filter((p) => p.dashboards === 0).map((p) => p.p99ms));

    // idle: no load, 0 vs N streams (alternated), the streams' own cost
    const idleSecs = quick ? 3 : 5;
    const idle: { dashboards: number; cpuPct: number }[] = [];
    for (const n of quick ? [0, streamsN] : [0, streamsN, streamsN, 0]) {
      while (streams.length < n) streams.push(await openStream(adminUrl));
      while (streams.length > n) streams.pop()!.close();
      await new Promise((r) => setTimeout(r, 500));
      const c0 = cpuMicros(pid);
      const i0 = performance.now();
      await new Promise((r) => setTimeout(r, idleSecs * 1000));
      idle.push({ dashboards: n, cpuPct: ((cpuMicros(pid) - c0) / 1e6 / ((performance.now() - i0) / 1000)) * 100 });
    }
    const idleCpuPct = median(idle.filter((p) => p.dashboards > 0).map((p) => p.cpuPct));
    const idleBasePct = median(idle.filter((p) => p.dashboards === 0).map((p) => p.cpuPct));

    // a health change under load: PUT …/unhealthy until every stream has it
    while (streams.length < streamsN) streams.push(await openStream(adminUrl));
    await new Promise((r) => setTimeout(r, 500));
    const flips: number[] = [];
    const target = `127.0.0.1:${upstreamPorts[0]}`;
    const load = runLoad(pin, url, rate, quick ? 4 : 8);
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < (quick ? 3 : 6); i++) {
      const healthy = i % 2 === 1;
      const word = healthy ? '"state":"healthy"' : '"state":"unhealthy"';
      const seen = streams.map(
        (s) =>
          new Promise<number>((resolveSeen) => {
            s.watch = (text) => {
              if (text.includes(target) && text.includes(word)) {
                s.watch = undefined;
                resolveSeen(performance.now());
              }
            };
          }),
      );
      const t0 = performance.now();
      await admin(adminUrl, 'PUT', `/upstreams/bench.upstream/targets/${target}/${healthy ? 'healthy' : 'unhealthy'}`);
      const times = await Promise.race([
        Promise.all(seen),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('a stream did not get the change in 10 s')), 10_000)),
      ]);
      flips.push(Math.max(...times) - t0);
      await new Promise((r) => setTimeout(r, 300));
    }
    await load;
    if (flips.length % 2 === 1) await admin(adminUrl, 'PUT', `/upstreams/bench.upstream/targets/${target}/healthy`);

    const summary = {
      streams: streamsN,
      rate,
      seconds,
      rounds,
      pinned: pin,
      targets: 204,
      cpu_pct_without_dashboards: r1(cpuWithout),
      cpu_pct_with_dashboards: r1(cpuWith),
      cpu_pct_added: r1(cpuWith - cpuWithout),
      dashboard_work_pct_with_dashboards: Math.round(median(phases.filter((p) => p.dashboards > 0).map((p) => p.workPct)) * 1000) / 1000,
      p99_ms_without: r1(p99Without),
      p99_ms_with: r1(p99With),
      idle_cpu_pct_without_dashboards: r1(idleBasePct),
      idle_cpu_pct_with_dashboards: r1(idleCpuPct),
      cpu_us_per_request_without: Math.round((cpuWithout / 100 / rate) * 1e6),
      cpu_us_per_request_with: Math.round((cpuWith / 100 / rate) * 1e6),
      change_to_all_streams_ms_median: r1(median(flips)),
      change_to_all_streams_ms_max: r1(Math.max(...flips)),
      bytes_per_sec_per_stream: Math.round(median(phases.filter((p) => p.dashboards > 0).map((p) => p.streamBytesPerSec))),
    };
    console.log(`\n== summary (medians)`);
    console.log(
      table([
        {
          dashboards: streamsN,
          'CPU % without': summary.cpu_pct_without_dashboards,
          'CPU % with': summary.cpu_pct_with_dashboards,
          'CPU % added': summary.cpu_pct_added,
          'dashboard work %': summary.dashboard_work_pct_with_dashboards,
          'p99 ms without': summary.p99_ms_without,
          'p99 ms with': summary.p99_ms_with,
          'CPU µs/req without / with': `${summary.cpu_us_per_request_without} / ${summary.cpu_us_per_request_with}`,
          'idle CPU % 0 / N streams': `${summary.idle_cpu_pct_without_dashboards} / ${summary.idle_cpu_pct_with_dashboards}`,
          'change → all streams ms (median / max)': `${summary.change_to_all_streams_ms_median} / ${summary.change_to_all_streams_ms_max}`,
        },
      ]),
    );
    const out = values.out ?? join(root, '.bench-out', 'dashboard.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify({ summary, phases, idle, flips_ms: flips }, null, 2));
    console.log(`\nwrote ${out}`);
  } finally {
    for (const s of streams) s.close();
    for (const c of children) c.kill('SIGKILL');
  }
}

await main();
