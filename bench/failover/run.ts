/**
 * Failover benchmark: the targets of issue 4 (health checks, circuit
 * breaking, stall guard, hedging), measured against a real gw-gateway.
 *
 * The gateway runs as its own process (`gw-gateway --store memory`, admin
 * and proxy on free 127.0.0.1 ports, pinned to CPU 0 when `taskset` exists);
 * this process plays the upstreams (node:http servers on 127.0.0.1 answering
 * after a uniform random 5–35 ms) and the clients (undici, a fixed number of
 * workers each sending GETs back to back), pinned to CPU 1. Health states are
 * read by polling `GET /upstreams/{u}/health` every 10 ms; hedges from
 * `gw_hedged_requests_total` on `GET /metrics`.
 *
 * Scenarios (each prints its rows; all land in `.bench-out/failover.json`):
 * 1. `kill`: 3 targets, passive `{ unhealthy: { tcp_failures: 1, timeouts: 1 } }`,
 *    24-way load; one target is killed mid-run (server closed, its sockets
 *    destroyed): client failures, kill → `ejected`.
 * 2. `hang`: the same, but one target starts accepting and never answering:
 *    failed requests, requests over 500 ms, p50/p99/max, hang → `ejected`,
 *    extra tries sent by hedging; and a steady phase with no failure first
 *    (hedged / requests there). `hang-no-checks`: the same with no
 *    healthchecks (Kong's defaults): only the stall guard and hedging.
 * 3. `recovery`: (a) active checks only (intervals 1 s, successes 1,
 *    tcp_failures 1): a target is killed, seen unhealthy, restarted on the
 *    same port at a random moment → time to `healthy`; (b) passive only with
 *    `gw.breaker_cooldown: 1`: killed under load, ejected, back before the
 *    cool-down ends → time to `healthy` (through a half-open trial request).
 * 4. `overhead`: CPU µs per request of the gateway process (/proc) with
 *    passive checks configured vs none (and, for reference, none with
 *    hedging and the stall guard off), same load (wrk when installed,
 *    else undici), two fast upstream processes. Measured as a simultaneous
 *    A/B: two identical gateways on CPU 0 loaded at the same time, one per
 *    variant, swapped every round (this machine's host noise moves single
 *    rounds by ±30%; a pair measured at once sees the same noise).
 *
 *   npm run bench:failover -- [--quick] [--only kill,hang,hang-no-checks,recovery,overhead] [--out FILE] [--load auto|wrk|undici] [--no-pin]
 *
 * `--quick` (or GW_BENCH_QUICK=1) shrinks every phase for a smoke run
 * (about 20 s, no CPU pinning); the default run takes about 70 s.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { benchArgs } from '../lib/args.js';
import { Pool, request } from 'undici';
import { cpuMicros, median, parseWrk, percentile, table, waitForHttp } from '../lib/measure.js';

export { median, percentile };
import { freePort, startGatewayProcess } from '../lib/gateway.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const FAST_UPSTREAM = join(here, '../proxy/upstream.js');
/** ports this bench must never bind (other services of the machine) */
const FORBIDDEN_PORTS = new Set([3306, 5672, 1883, 4222, 5432, 6379]);
const PASSIVE = { passive: { unhealthy: { tcp_failures: 1, timeouts: 1 } } };

// ---- statistics ------------------------------------------------------------

/** Mean and standard error of the mean, for the per-round overhead figures. */
export function meanSem(xs: readonly number[]): { passiveVsOffMeanPct: number; passiveVsOffSemPct: number } {
  const n = xs.length;
  const mean = xs.reduce((a, x) => a + x, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : NaN;
  return { passiveVsOffMeanPct: r2(mean), passiveVsOffSemPct: r2(sd / Math.sqrt(n)) };
}

const r1 = (x: number): number => Math.round(x * 10) / 10;
const r2 = (x: number): number => Math.round(x * 100) / 100;

// ---- result shapes -----------------------------------------------------------

export interface LoadSummary {
  requests: number;
  failed: number;
  /** requests slower than 500 ms */
  over500ms: number;
  p50ms: number;
  p99ms: number;
  maxMs: number;
}

export interface KillResult extends LoadSummary {
  /** kill → first poll that saw `gw.state` = ejected, ms (null: not seen) */
  ejectMs: number | null;
  /** kill → last poll that still saw it healthy, ms: the ejection happened between the two */
  ejectAfterMs: number | null;
}

export interface HangResult extends LoadSummary {
  /** the upstream's `healthchecks` ('passive' as in kill, or 'none': Kong's defaults, only gw's stall guard and hedging) */
  checks: 'passive' | 'none';
  steady: { requests: number; failed: number; hedged: number; hedgedPct: number; ejections: number; p50ms: number; p99ms: number };
  /** hang → `gw.state` no longer healthy (stall guard or ejection), ms */
  outMs: number | null;
  /** hang → `gw.state` = ejected, ms */
  ejectMs: number | null;
  /** hang → last poll that did not see it ejected, ms */
  ejectAfterMs: number | null;
  /** extra tries hedging sent during the hang phase */
  hedged: number;
  hedgedPct: number;
  hedgeWins: number;
  /** ejections during the hang phase, and those refused by max_ejection_percent */
  ejections: number;
  ejectionsCapped: number;
  /** requests the hung target accepted and never answered */
  held: number;
  /** `gw.state` of the 3 targets (the hung one first) when the hang began and at the end */
  statesAtHang: string[];
  statesAtEnd: string[];
}

export interface ActiveRecoveryCycle {
  /** kill → unhealthy, ms */
  downMs: number | null;
  /** restart → healthy, ms */
  upMs: number | null;
}

export interface PassiveRecoveryCycle {
  /** kill → ejected, ms */
  ejectMs: number | null;
  /** the cool-down the breaker chose: kill → ejected_until, ms (doubles on repeated ejections) */
  cooldownMs: number | null;
  /** ejected (seen) → restarted, ms */
  restartedAfterMs: number;
  /** restart → healthy, ms */
  upMs: number | null;
  /** healthy (seen) − ejected_until, ms: how late after the cool-down the half-open trial closed the circuit */
  afterCooldownMs: number | null;
}

export interface RecoveryResult {
  active: { intervalS: number; cycles: ActiveRecoveryCycle[]; maxUpMs: number | null; load: LoadSummary };
  passive: { breakerCooldownS: number; cycles: PassiveRecoveryCycle[]; maxUpMs: number | null; load: LoadSummary };
}

export interface OverheadRound {
  variant: string;
  /** which of the two gateways (0, 1) served it */
  gateway: number;
  requests: number;
  /** from the scheduler's run time (schedstat, ns precision) */
  cpuUsPerReq: number;
  /** from /proc/<pid>/stat utime + stime (10 ms ticks), as bench:proxy reports */
  statCpuUsPerReq: number;
  rps: number;
  errors: number;
}

export interface OverheadResult {
  tool: 'wrk' | 'undici';
  /** per gateway (two are loaded at once) */
  connections: number;
  seconds: number;
  rounds: OverheadRound[];
  /** median CPU µs per request by variant (schedstat) */
  cpuUsPerReq: Record<string, number>;
  /** the same from /proc/<pid>/stat ticks */
  statCpuUsPerReq: Record<string, number>;
  /** passive vs off, % (median of the per-round ratios) */
  passiveVsOffPct: number;
  /** passive vs off per round, %: the spread is the noise */
  passiveVsOffByRoundPct: number[];
  /** mean of the per-round figures and its standard error, % */
  passiveVsOffMeanPct: number;
  passiveVsOffSemPct: number;
  /** checks off, hedging + stall guard off vs on, % */
  noHedgingVsOffPct: number;
}

export interface Goal {
  scenario: string;
  measure: string;
  value: number | null;
  goal: string;
  met: boolean;
}

export interface FailoverReport {
  date: string;
  machine: { cpus: number; model: string; node: string };
  command: string;
  quick: boolean;
  pinned: boolean;
  concurrency: number;
  latencyMs: [number, number];
  scenarios: { kill?: KillResult; hang?: HangResult; hangNoChecks?: HangResult; recovery?: RecoveryResult; overhead?: OverheadResult };
  goals: Goal[];
}

// ---- processes and ports -----------------------------------------------------

async function listenFree(server: Server, port = 0): Promise<number> {
  for (let i = 0; i < 20; i++) {
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', fail);
        ok();
      });
    });
    const p = (server.address() as AddressInfo).port;
    if (port !== 0 || !FORBIDDEN_PORTS.has(p)) return p;
    await new Promise<void>((r) => server.close(() => r()));
  }
  throw new Error('no free port');
}

const hasTool = (t: string): boolean => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0;

function spawnMaybePinned(pin: boolean, cpu: string, cmd: string, args: string[]): ChildProcess {
  return pin
    ? spawn('taskset', ['-c', cpu, cmd, ...args], { stdio: ['ignore', 'ignore', 'inherit'] })
    : spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

interface Gateway {
  proc: ChildProcess;
  pid: number;
  proxyUrl: string;
  adminUrl: string;
  close(): Promise<void>;
}

const children = new Set<ChildProcess>();

async function startGateway(pin: boolean): Promise<Gateway> {
  const { proc, proxyUrl, adminUrl } = await startGatewayProcess(['--store', 'memory'], pin ? { cpu: '0' } : {});
  children.add(proc);
  await waitForHttp(`${proxyUrl}/`);
  return {
    proc,
    pid: proc.pid!,
    proxyUrl,
    adminUrl,
    close: async () => {
      if (proc.exitCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGKILL');
      await exited;
      children.delete(proc);
    },
  };
}

// ---- Admin API -------------------------------------------------------------

async function call<T = unknown>(
  gw: Gateway,
  method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const r = await request(gw.adminUrl + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await r.body.text();
  return { status: r.statusCode, body: (text ? JSON.parse(text) : null) as T };
}

async function expectStatus(gw: Gateway, want: number, method: 'PUT' | 'POST', path: string, body: unknown): Promise<void> {
  const r = await call(gw, method, path, body);
  if (r.status !== want) throw new Error(`${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
}

/** upstream `<name>.up` with `fields`, its targets, service `<name>` and route `/<name>` */
async function define(gw: Gateway, name: string, fields: Record<string, unknown>, targets: readonly string[]): Promise<void> {
  await expectStatus(gw, 200, 'PUT', `/upstreams/${name}.up`, fields);
  for (const t of targets) await expectStatus(gw, 201, 'POST', `/upstreams/${name}.up/targets`, { target: t });
  await expectStatus(gw, 200, 'PUT', `/services/${name}`, { host: `${name}.up` });
  await expectStatus(gw, 201, 'POST', `/services/${name}/routes`, { name, paths: [`/${name}`] });
}

interface HealthView {
  state: string;
  ejectedUntil: number | null;
}

async function healthOf(gw: Gateway, upstream: string, address: string): Promise<HealthView | undefined> {
  const r = await call<{ data: { target: string; gw?: { state: string; ejected_until: string | null } }[] }>(
    gw,
    'GET',
    `/upstreams/${upstream}/health`,
  );
  const e = r.body.data.find((x) => x.target === address);
  if (!e?.gw) return undefined;
  return { state: e.gw.state, ejectedUntil: e.gw.ejected_until === null ? null : Date.parse(e.gw.ejected_until) };
}

/**
 * Poll the target's health every `everyMs` until `want` holds; resolves
 * the `performance.now()` of the first poll that saw it (`at`), of the last
 * one that did not (`before`: the change happened in between) and the view,
 * or null after `timeoutMs`.
 */
async function waitState(
  gw: Gateway,
  upstream: string,
  address: string,
  want: (v: HealthView) => boolean,
  timeoutMs: number,
  everyMs = 10,
): Promise<{ at: number; before: number; view: HealthView } | null> {
  let before = performance.now();
  const end = before + timeoutMs;
  for (;;) {
    const v = await healthOf(gw, upstream, address);
    const at = performance.now();
    if (v && want(v)) return { at, before, view: v };
    if (at > end) return null;
    before = at;
    await sleep(everyMs);
  }
}

/** Sum of a Prometheus metric's samples on the admin `/metrics` whose labels include `labels` (e.g. `upstream="x.up"`). */
export function metricSum(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))) {
    if (labels && !(m[1] ?? '').includes(labels)) continue;
    sum += Number(m[2]);
  }
  return sum;
}

interface Counters {
  hedged: number;
  hedgeWins: number;
  /** circuit openings (ejections) of the upstream */
  opened: number;
  /** ejections refused by max_ejection_percent */
  capped: number;
}

async function counters(gw: Gateway, upstream: string): Promise<Counters> {
  const r = await request(`${gw.adminUrl}/metrics`);
  const text = await r.body.text();
  if (!/^gw_hedged_requests_total /m.test(text)) throw new Error('gw_hedged_requests_total missing from /metrics');
  const u = `upstream="${upstream}"`;
  return {
    hedged: metricSum(text, 'gw_hedged_requests_total'),
    hedgeWins: metricSum(text, 'gw_hedge_wins_total'),
    opened: metricSum(text, 'gw_circuit_transitions_total', `${u},to="open"`),
    capped: metricSum(text, 'gw_ejections_capped_total', u),
  };
}

const diff = (a: Counters, b: Counters): Counters => ({
  hedged: b.hedged - a.hedged,
  hedgeWins: b.hedgeWins - a.hedgeWins,
  opened: b.opened - a.opened,
  capped: b.capped - a.capped,
});

async function states(gw: Gateway, upstream: string, bs: readonly Backend[]): Promise<string[]> {
  return Promise.all(bs.map(async (b) => (await healthOf(gw, upstream, b.address))?.state ?? '?'));
}

/**
 * CPU time of a process in µs, as the scheduler counts it (sum of every
 * thread's `/proc/<pid>/task/<tid>/schedstat` run time, ns precision); the
 * utime + stime of `/proc/<pid>/stat` that {@link cpuMicros} reads comes in
 * 10 ms ticks, too coarse for 1–2 s windows at half a CPU.
 */
export function schedMicros(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread exited meanwhile
    }
  }
  return ns / 1000;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- upstreams -------------------------------------------------------------

/** An upstream answering 200 after a uniform random delay in [min, max] ms; can be killed, restarted, made to hang. */
export class Backend {
  port = 0;
  hang = false;
  /** responses accepted while hanging, never answered */
  readonly held: ServerResponse[] = [];
  count = 0;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  readonly #latency: readonly [number, number];

  constructor(latency: readonly [number, number]) {
    this.#latency = latency;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const [min, max] = this.#latency;
    const server = createServer((_req, res) => {
      this.count++;
      if (this.hang) {
        this.held.push(res);
        return;
      }
      setTimeout(() => res.end('ok'), min + Math.random() * (max - min));
    });
    server.keepAliveTimeout = 60_000;
    server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
    this.port = await listenFree(server, this.port);
    this.#server = server;
    return this;
  }

  /** Stop listening and destroy every connection at once (a crashed process). */
  kill(): void {
    this.#server?.close();
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }

  /** Release the held responses and stop. */
  stop(): void {
    for (const r of this.held.splice(0)) r.destroy();
    this.kill();
  }
}

async function backends(n: number, latency: readonly [number, number]): Promise<Backend[]> {
  return Promise.all(Array.from({ length: n }, () => new Backend(latency).start()));
}

// ---- load --------------------------------------------------------------------

interface Sample {
  ms: number;
  ok: boolean;
}

/**
 * `concurrency` workers sending GET `path` back to back until `stop()` is
 * true or `maxMs` passed; `at` runs callbacks at offsets (ms) from the start.
 */
async function runLoad(
  proxyUrl: string,
  path: string,
  concurrency: number,
  maxMs: number,
  opts: { stop?: () => boolean; at?: [number, () => void][] } = {},
): Promise<Sample[]> {
  const pool = new Pool(proxyUrl, { connections: concurrency, headersTimeout: 10_000, bodyTimeout: 10_000, keepAliveTimeout: 30_000 });
  const samples: Sample[] = [];
  const end = performance.now() + maxMs;
  const timers = (opts.at ?? []).map(([ms, f]) => setTimeout(f, ms));
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end && !opts.stop?.()) {
          const t0 = performance.now();
          let ok = false;
          try {
            const r = await pool.request({ method: 'GET', path });
            await r.body.text();
            ok = r.statusCode === 200;
          } catch {
            ok = false;
          }
          samples.push({ ms: performance.now() - t0, ok });
        }
      }),
    );
  } finally {
    for (const t of timers) clearTimeout(t);
    await pool.close();
  }
  return samples;
}

function summarizeLoad(s: readonly Sample[]): LoadSummary {
  const ms = s.map((x) => x.ms);
  return {
    requests: s.length,
    failed: s.filter((x) => !x.ok).length,
    over500ms: ms.filter((x) => x > 500).length,
    p50ms: r2(percentile(ms, 50)),
    p99ms: r2(percentile(ms, 99)),
    maxMs: r2(Math.max(...ms)),
  };
}

// ---- scenarios ---------------------------------------------------------------

interface Sizes {
  warmupMs: number;
  killMs: number;
  killAtMs: number;
  steadyMs: number;
  hangMs: number;
  hangAtMs: number;
  activeCycles: number;
  passiveCycles: number;
  overheadRounds: number;
  overheadSeconds: number;
}

const FULL: Sizes = {
  warmupMs: 1_000,
  killMs: 5_000,
  killAtMs: 2_000,
  steadyMs: 5_000,
  hangMs: 5_000,
  hangAtMs: 1_500,
  activeCycles: 4,
  passiveCycles: 2,
  overheadRounds: 6,
  overheadSeconds: 2,
};
const QUICK: Sizes = {
  warmupMs: 300,
  killMs: 1_200,
  killAtMs: 500,
  steadyMs: 800,
  hangMs: 1_500,
  hangAtMs: 500,
  activeCycles: 1,
  passiveCycles: 1,
  overheadRounds: 2,
  overheadSeconds: 1,
};

interface Ctx {
  sizes: Sizes;
  pin: boolean;
  concurrency: number;
  latency: readonly [number, number];
  load: 'auto' | 'wrk' | 'undici';
  log: (s: string) => void;
}

async function scenarioKill(c: Ctx): Promise<KillResult> {
  const gw = await startGateway(c.pin);
  const bs = await backends(3, c.latency);
  try {
    await define(
      gw,
      'kill',
      { healthchecks: PASSIVE },
      bs.map((b) => b.address),
    );
    await runLoad(gw.proxyUrl, '/kill', c.concurrency, c.sizes.warmupMs); // warm-up (JIT, pools), not reported
    let watch: Promise<{ at: number; before: number } | null> = Promise.resolve(null);
    const samples = await runLoad(gw.proxyUrl, '/kill', c.concurrency, c.sizes.killMs, {
      at: [
        [
          c.sizes.killAtMs,
          () => {
            const t0 = performance.now();
            bs[0]!.kill();
            watch = waitState(gw, 'kill.up', bs[0]!.address, (v) => v.state === 'ejected', 5_000).then((r) =>
              r ? { at: r.at - t0, before: r.before - t0 } : null,
            );
          },
        ],
      ],
    });
    const ejected = await watch;
    return { ...summarizeLoad(samples), ejectMs: ejected ? r1(ejected.at) : null, ejectAfterMs: ejected ? r1(ejected.before) : null };
  } finally {
    for (const b of bs) b.stop();
    await gw.close();
  }
}

async function scenarioHang(c: Ctx, checks: 'passive' | 'none'): Promise<HangResult> {
  const gw = await startGateway(c.pin);
  const bs = await backends(3, c.latency);
  const name = checks === 'passive' ? 'hang' : 'hangdefault';
  const up = `${name}.up`;
  try {
    await define(
      gw,
      name,
      checks === 'passive' ? { healthchecks: PASSIVE } : {},
      bs.map((b) => b.address),
    );
    await runLoad(gw.proxyUrl, `/${name}`, c.concurrency, c.sizes.warmupMs); // warm-up (JIT, pools), not reported
    // steady state: no failure, how many hedges does normal latency variance cost?
    const c0 = await counters(gw, up);
    const steady = summarizeLoad(
      await runLoad(gw.proxyUrl, `/${name}`, c.concurrency, checks === 'passive' ? c.sizes.steadyMs : c.sizes.warmupMs),
    );
    const c1 = await counters(gw, up);
    let out: Promise<number | null> = Promise.resolve(null);
    let ejected: Promise<{ at: number; before: number } | null> = Promise.resolve(null);
    let statesAtHang: Promise<string[]> = Promise.resolve([]);
    const samples = await runLoad(gw.proxyUrl, `/${name}`, c.concurrency, c.sizes.hangMs, {
      at: [
        [
          c.sizes.hangAtMs,
          () => {
            const t0 = performance.now();
            bs[0]!.hang = true;
            statesAtHang = states(gw, up, bs);
            out = waitState(gw, up, bs[0]!.address, (v) => v.state !== 'healthy', c.sizes.hangMs).then((r) => (r ? r.at - t0 : null));
            ejected = waitState(gw, up, bs[0]!.address, (v) => v.state === 'ejected', c.sizes.hangMs).then((r) =>
              r ? { at: r.at - t0, before: r.before - t0 } : null,
            );
          },
        ],
      ],
    });
    const c2 = await counters(gw, up);
    const load = summarizeLoad(samples);
    const [o, e] = [await out, await ejected];
    const s = diff(c0, c1);
    const h = diff(c1, c2);
    return {
      ...load,
      checks,
      steady: {
        requests: steady.requests,
        failed: steady.failed,
        hedged: s.hedged,
        hedgedPct: r2((s.hedged / steady.requests) * 100),
        ejections: s.opened,
        p50ms: steady.p50ms,
        p99ms: steady.p99ms,
      },
      outMs: o === null ? null : r1(o),
      ejectMs: e ? r1(e.at) : null,
      ejectAfterMs: e ? r1(e.before) : null,
      hedged: h.hedged,
      hedgedPct: r2((h.hedged / load.requests) * 100),
      hedgeWins: h.hedgeWins,
      ejections: h.opened,
      ejectionsCapped: h.capped,
      held: bs[0]!.held.length,
      statesAtHang: await statesAtHang,
      statesAtEnd: await states(gw, up, bs),
    };
  } finally {
    for (const b of bs) b.stop();
    await gw.close();
  }
}

async function scenarioRecovery(c: Ctx): Promise<RecoveryResult> {
  const gw = await startGateway(c.pin);
  const bs = await backends(3, c.latency);
  const ps = await backends(3, c.latency);
  try {
    // (a) active checks only
    const intervalS = 1;
    await define(
      gw,
      'active',
      { healthchecks: { active: { healthy: { interval: intervalS, successes: 1 }, unhealthy: { interval: intervalS, tcp_failures: 1 } } } },
      bs.map((b) => b.address),
    );
    // targets added at run time warm up until their first good probe
    for (const b of bs) {
      if (!(await waitState(gw, 'active.up', b.address, (v) => v.state === 'healthy', 5_000)))
        throw new Error(`${b.address} never warmed up`);
    }
    const activeCycles: ActiveRecoveryCycle[] = [];
    let done = false;
    const activeLoad = runLoad(gw.proxyUrl, '/active', c.concurrency, 60_000, { stop: () => done });
    try {
      for (let i = 0; i < c.sizes.activeCycles; i++) {
        const b = bs[0]!;
        await sleep(300);
        const t0 = performance.now();
        b.kill();
        const down = await waitState(gw, 'active.up', b.address, (v) => v.state === 'unhealthy', 5_000);
        // come back at a random phase of the probe schedule
        await sleep(Math.random() * intervalS * 1000);
        await b.start();
        const t1 = performance.now();
        const up = await waitState(gw, 'active.up', b.address, (v) => v.state === 'healthy', 5_000);
        activeCycles.push({ downMs: down ? r1(down.at - t0) : null, upMs: up ? r1(up.at - t1) : null });
        c.log(
          `  active cycle ${i + 1}: kill → unhealthy ${activeCycles.at(-1)!.downMs} ms, restart → healthy ${activeCycles.at(-1)!.upMs} ms`,
        );
      }
    } finally {
      done = true;
    }
    const activeSummary = summarizeLoad(await activeLoad);

    // (b) passive only, 1 s breaker cool-down: back through a half-open trial, no manual call
    const cooldownS = 1;
    await define(
      gw,
      'passive',
      { healthchecks: PASSIVE, gw: { breaker_cooldown: cooldownS } },
      ps.map((b) => b.address),
    );
    const passiveCycles: PassiveRecoveryCycle[] = [];
    done = false;
    const passiveLoad = runLoad(gw.proxyUrl, '/passive', c.concurrency, 60_000, { stop: () => done });
    try {
      for (let i = 0; i < c.sizes.passiveCycles; i++) {
        const b = ps[0]!;
        await sleep(500);
        const t0 = performance.now();
        const killWall = Date.now();
        b.kill();
        const ej = await waitState(gw, 'passive.up', b.address, (v) => v.state === 'ejected', 5_000);
        const until = ej?.view.ejectedUntil ?? null;
        const cooldownMs = until === null ? null : until - killWall;
        // back before the cool-down ends (a supervisor restarting it)
        const wait = 100 + Math.random() * Math.max(0, Math.min(600, (cooldownMs ?? 1000) - 300));
        await sleep(wait);
        await b.start();
        const t1 = performance.now();
        const up = await waitState(gw, 'passive.up', b.address, (v) => v.state === 'healthy', 15_000);
        const upWall = up ? Date.now() - (performance.now() - up.at) : null;
        passiveCycles.push({
          ejectMs: ej ? r1(ej.at - t0) : null,
          cooldownMs: cooldownMs === null ? null : Math.round(cooldownMs),
          restartedAfterMs: Math.round(wait),
          upMs: up ? r1(up.at - t1) : null,
          afterCooldownMs: upWall !== null && until !== null ? Math.round(upWall - until) : null,
        });
        c.log(`  passive cycle ${i + 1}: ${JSON.stringify(passiveCycles.at(-1))}`);
      }
    } finally {
      done = true;
    }
    const passiveSummary = summarizeLoad(await passiveLoad);
    const maxOf = (xs: (number | null)[]): number | null =>
      xs.some((x) => x === null) || xs.length === 0 ? null : Math.max(...(xs as number[]));
    return {
      active: { intervalS, cycles: activeCycles, maxUpMs: maxOf(activeCycles.map((x) => x.upMs)), load: activeSummary },
      passive: {
        breakerCooldownS: cooldownS,
        cycles: passiveCycles,
        maxUpMs: maxOf(passiveCycles.map((x) => x.upMs)),
        load: passiveSummary,
      },
    };
  } finally {
    for (const b of [...bs, ...ps]) b.stop();
    await gw.close();
  }
}

const execFileP = promisify(execFile);

/**
 * Simultaneous A/B: two identical gateways pinned to the same CPU, each
 * with the three variants as routes; in each round both are loaded at once,
 * one on variant A and the other on B (swapped every other round), so the
 * host's noise hits both halves of a pair alike and per-process bias cancels.
 */
async function scenarioOverhead(c: Ctx): Promise<OverheadResult> {
  const tool: 'wrk' | 'undici' = c.load === 'undici' ? 'undici' : c.load === 'wrk' || hasTool('wrk') ? 'wrk' : 'undici';
  const connections = 25;
  const seconds = c.sizes.overheadSeconds;
  const gws = [await startGateway(c.pin), await startGateway(c.pin)] as const;
  const ups: ChildProcess[] = [];
  try {
    const ports = [await freePort(), await freePort()];
    for (const p of ports) {
      const u = spawnMaybePinned(c.pin, '1', process.execPath, [FAST_UPSTREAM, String(p)]);
      children.add(u);
      ups.push(u);
      await waitForHttp(`http://127.0.0.1:${p}/`);
    }
    const targets = ports.map((p) => `127.0.0.1:${p}`);
    const variants: [string, Record<string, unknown>][] = [
      ['off', {}],
      ['passive', { healthchecks: PASSIVE }],
      ['off-no-hedging', { gw: { hedging: false, stall_guard: false } }],
    ];
    for (const gw of gws) for (const [name, fields] of variants) await define(gw, name, fields, targets);

    const load = async (gw: Gateway, variant: string, secs: number): Promise<{ requests: number; rps: number; errors: number }> => {
      if (tool === 'wrk') {
        const args = ['-t1', `-c${connections}`, `-d${secs}s`, '--latency', `${gw.proxyUrl}/${variant}`];
        const { stdout } = c.pin ? await execFileP('taskset', ['-c', '1', 'wrk', ...args]) : await execFileP('wrk', args);
        const w = parseWrk(stdout);
        return { requests: w.requests, rps: Math.round(w.rps), errors: w.errors };
      }
      const t0 = performance.now();
      const s = await runLoad(gw.proxyUrl, `/${variant}`, connections, secs * 1000);
      return { requests: s.length, rps: Math.round(s.length / ((performance.now() - t0) / 1000)), errors: s.filter((x) => !x.ok).length };
    };
    /** both gateways at once, gws[0] on `a` and gws[1] on `b` */
    const pair = async (a: string, b: string, secs: number): Promise<OverheadRound[]> => {
      const cpu0 = gws.map((g) => [cpuMicros(g.pid), schedMicros(g.pid)] as const);
      const res = await Promise.all([load(gws[0], a, secs), load(gws[1], b, secs)]);
      const cpu1 = gws.map((g) => [cpuMicros(g.pid), schedMicros(g.pid)] as const);
      return [a, b].map((variant, i) => ({
        variant,
        gateway: i,
        ...res[i]!,
        cpuUsPerReq: r2((cpu1[i]![1] - cpu0[i]![1]) / res[i]!.requests),
        statCpuUsPerReq: r2((cpu1[i]![0] - cpu0[i]![0]) / res[i]!.requests),
      }));
    };

    // warm-up (JIT, pools), not reported
    for (const [name] of variants) await pair(name, name, 1);
    const rounds: OverheadRound[] = [];
    const byRound: Record<string, number[]> = { passive: [], 'off-no-hedging': [] };
    for (let r = 0; r < c.sizes.overheadRounds; r++) {
      for (const other of ['passive', 'off-no-hedging']) {
        const [a, b] = r % 2 === 0 ? ['off', other] : [other, 'off'];
        const m = await pair(a, b, seconds);
        rounds.push(...m);
        const off = m.find((x) => x.variant === 'off')!;
        const o = m.find((x) => x.variant === other)!;
        byRound[other]!.push(r2((o.cpuUsPerReq / off.cpuUsPerReq - 1) * 100));
        c.log(
          `  round ${r + 1}: ${m.map((x) => `gw${x.gateway + 1} ${x.variant} ${x.rps} req/s ${x.cpuUsPerReq} µs/req${x.errors ? ` (${x.errors} errors)` : ''}`).join(' | ')} → ${other} ${byRound[other]!.at(-1)}%`,
        );
      }
    }
    const med = (k: 'cpuUsPerReq' | 'statCpuUsPerReq') =>
      Object.fromEntries(variants.map(([v]) => [v, r2(median(rounds.filter((x) => x.variant === v).map((x) => x[k])))]));
    return {
      tool,
      connections,
      seconds,
      rounds,
      cpuUsPerReq: med('cpuUsPerReq'),
      statCpuUsPerReq: med('statCpuUsPerReq'),
      passiveVsOffPct: r2(median(byRound.passive!)),
      passiveVsOffByRoundPct: byRound.passive!,
      ...meanSem(byRound.passive!),
      noHedgingVsOffPct: r2(median(byRound['off-no-hedging']!)),
    };
  } finally {
    for (const u of ups) {
      u.kill('SIGKILL');
      children.delete(u);
    }
    for (const gw of gws) await gw.close();
  }
}

// ---- goals and report ------------------------------------------------------------

export function goals(s: FailoverReport['scenarios']): Goal[] {
  const g: Goal[] = [];
  const add = (scenario: string, measure: string, value: number | null, goal: string, met: (v: number) => boolean) =>
    g.push({ scenario, measure, value, goal, met: value !== null && met(value) });
  if (s.kill) {
    add('kill', 'failed requests', s.kill.failed, '0', (v) => v === 0);
    add('kill', 'kill → ejected ms', s.kill.ejectMs, 'first failed try', () => true);
  }
  if (s.hang) {
    add('hang', 'failed requests', s.hang.failed, '0', (v) => v === 0);
    add('hang', 'requests > 500 ms', s.hang.over500ms, '≤ 3', (v) => v <= 3);
    add('hang', 'hang → ejected ms', s.hang.ejectMs, 'reported', () => true);
    add('hang', 'steady hedged %', s.hang.steady.hedgedPct, '< 1%', (v) => v < 1);
  }
  if (s.hangNoChecks) {
    add('hang, no checks', 'failed requests', s.hangNoChecks.failed, '0', (v) => v === 0);
    add('hang, no checks', 'requests > 500 ms', s.hangNoChecks.over500ms, '≤ 3', (v) => v <= 3);
    add('hang, no checks', 'hang → out of rotation ms', s.hangNoChecks.outMs, 'reported', () => true);
  }
  if (s.recovery) {
    const a = s.recovery.active;
    add('recovery', `active: restart → healthy max ms`, a.maxUpMs, `≤ ${a.intervalS * 1000 + 500}`, (v) => v <= a.intervalS * 1000 + 500);
    const p = s.recovery.passive;
    const cds = p.cycles.map((x) => x.cooldownMs ?? '?').join('/');
    add('recovery', 'passive: restart → healthy max ms', p.maxUpMs, `≤ cool-down (${cds} ms)`, () =>
      p.cycles.every((x) => x.upMs !== null && x.cooldownMs !== null && x.upMs <= x.cooldownMs),
    );
    add('recovery', 'failed requests', a.load.failed + p.load.failed, '0', (v) => v === 0);
  }
  if (s.overhead) add('overhead', 'CPU/req passive vs off %', s.overhead.passiveVsOffPct, '< 3%', (v) => v < 3);
  return g;
}

export interface RunOptions {
  quick: boolean;
  pin: boolean;
  load: 'auto' | 'wrk' | 'undici';
  only?: ReadonlySet<string>;
  log?: (s: string) => void;
}

export async function runFailoverBench(o: RunOptions): Promise<FailoverReport> {
  const log = o.log ?? ((s: string) => console.log(s));
  const pin = o.pin && hasTool('taskset');
  if (pin) spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  const c: Ctx = { sizes: o.quick ? QUICK : FULL, pin, concurrency: 24, latency: [5, 35], load: o.load, log };
  const want = (s: string): boolean => !o.only || o.only.has(s);
  const scenarios: FailoverReport['scenarios'] = {};
  const show = (rows: Record<string, string | number | null>[]) =>
    log(`${table(rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v ?? '-']))))}\n`);

  if (want('kill')) {
    log('kill: 3 targets, 24-way GETs, one target killed mid-run');
    const k = (scenarios.kill = await scenarioKill(c));
    show([
      {
        scenario: 'kill',
        requests: k.requests,
        failed: k.failed,
        'kill → ejected ms': k.ejectMs === null ? null : `${k.ejectAfterMs} … ${k.ejectMs}`,
        'p50 ms': k.p50ms,
        'p99 ms': k.p99ms,
        'max ms': k.maxMs,
      },
    ]);
  }
  const hangRows = (label: string, h: HangResult) => [
    {
      scenario: `${label}: steady`,
      requests: h.steady.requests,
      failed: h.steady.failed,
      '> 500 ms': '-',
      'p50 ms': h.steady.p50ms,
      'p99 ms': h.steady.p99ms,
      'max ms': '-',
      'hang → out ms': '-',
      'hang → ejected ms': '-',
      hedged: h.steady.hedged,
      'hedged %': h.steady.hedgedPct,
      ejections: h.steady.ejections,
      'states (hung first)': '-',
    },
    {
      scenario: label,
      requests: h.requests,
      failed: h.failed,
      '> 500 ms': h.over500ms,
      'p50 ms': h.p50ms,
      'p99 ms': h.p99ms,
      'max ms': h.maxMs,
      'hang → out ms': h.outMs,
      'hang → ejected ms': h.ejectMs === null ? null : `${h.ejectAfterMs} … ${h.ejectMs}`,
      hedged: h.hedged,
      'hedged %': h.hedgedPct,
      ejections: `${h.ejections}${h.ejectionsCapped ? ` (+${h.ejectionsCapped} capped)` : ''}`,
      'states (hung first)': `${h.statesAtHang.join('/')} → ${h.statesAtEnd.join('/')}`,
    },
  ];
  if (want('hang')) {
    log('hang: passive checks as in kill; steady phase, then one target accepts and never answers');
    show(hangRows('hang', (scenarios.hang = await scenarioHang(c, 'passive'))));
  }
  if (want('hang-no-checks')) {
    log("hang-no-checks: the same with no healthchecks (Kong defaults): only gw's stall guard and hedging");
    show(hangRows('hang, no checks', (scenarios.hangNoChecks = await scenarioHang(c, 'none'))));
  }
  if (want('recovery')) {
    log('recovery: (a) active checks 1 s, (b) passive only, breaker_cooldown 1 s');
    const r = (scenarios.recovery = await scenarioRecovery(c));
    const ups = (xs: (number | null)[]) => xs.map((x) => x ?? '-').join(', ');
    show([
      {
        scenario: 'recovery (a) active',
        cycles: r.active.cycles.length,
        'down ms': ups(r.active.cycles.map((x) => x.downMs)),
        'restart → healthy ms': ups(r.active.cycles.map((x) => x.upMs)),
        'max ms': r.active.maxUpMs,
        requests: r.active.load.requests,
        failed: r.active.load.failed,
      },
      {
        scenario: 'recovery (b) passive',
        cycles: r.passive.cycles.length,
        'down ms': ups(r.passive.cycles.map((x) => x.ejectMs)),
        'restart → healthy ms': ups(r.passive.cycles.map((x) => x.upMs)),
        'max ms': r.passive.maxUpMs,
        requests: r.passive.load.requests,
        failed: r.passive.load.failed,
      },
    ]);
  }
  if (want('overhead')) {
    log('overhead: gateway CPU per request, passive checks vs none');
    const ov = (scenarios.overhead = await scenarioOverhead(c));
    show(
      Object.entries(ov.cpuUsPerReq).map(([v, us]) => ({
        scenario: 'overhead',
        variant: v,
        'CPU µs/req (median)': us,
        '/proc/stat µs/req': ov.statCpuUsPerReq[v] ?? '-',
        'vs off %': v === 'off' ? '-' : v === 'passive' ? ov.passiveVsOffPct : ov.noHedgingVsOffPct,
        load: `${ov.tool} 2 × ${ov.connections} conns`,
        'per-round range %':
          v === 'passive' ? `${Math.min(...ov.passiveVsOffByRoundPct)} … ${Math.max(...ov.passiveVsOffByRoundPct)}` : '-',
        'mean ± s.e. %': v === 'passive' ? `${ov.passiveVsOffMeanPct} ± ${ov.passiveVsOffSemPct}` : '-',
        rounds: ov.rounds.filter((x) => x.variant === v).length,
      })),
    );
  }
  const report: FailoverReport = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
    command: `node ${process.argv
      .slice(1)
      .map((a) => (a.startsWith('/') ? a.slice(root.length + 1) || a : a))
      .join(' ')}`,
    quick: o.quick,
    pinned: pin,
    concurrency: c.concurrency,
    latencyMs: [c.latency[0], c.latency[1]],
    scenarios,
    goals: goals(scenarios),
  };
  log(
    table(
      report.goals.map((x) => ({
        scenario: x.scenario,
        measure: x.measure,
        value: x.value ?? '-',
        goal: x.goal,
        met: x.met ? 'yes' : 'NO',
      })),
    ),
  );
  return report;
}

async function main(): Promise<void> {
  const { values } = benchArgs(import.meta.url, {
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string' },
      load: { type: 'string', default: 'auto' },
      'no-pin': { type: 'boolean', default: false },
    },
  });
  const load = values.load;
  if (load !== 'auto' && load !== 'wrk' && load !== 'undici') throw new Error(`--load auto|wrk|undici, not ${load}`);
  const quick = values.quick || process.env.GW_BENCH_QUICK === '1';
  const cleanup = () => {
    for (const ch of children) ch.kill('SIGKILL');
  };
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  process.on('exit', cleanup);
  const report = await runFailoverBench({
    quick,
    pin: !values['no-pin'] && !quick,
    load,
    only: values.only ? new Set(values.only.split(',')) : undefined,
  });
  const out = values.out ?? join(root, '.bench-out', 'failover.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(report, null, 2));
  console.log(`\nJSON: ${out}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err instanceof Error ? err.stack : err);
      process.exit(1);
    },
  );
}
