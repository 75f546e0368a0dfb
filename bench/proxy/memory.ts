/**
 * Memory bench (issue 17): what idle client connections and in-flight
 * requests cost a proxy, gw-gateway against the shared minimal proxy
 * (../shared/bench/minimal-undici-proxy.mjs next to the checkout when
 * present, else its copy bench/proxy/minimal-undici-proxy.mjs), in one run.
 *
 *   npm run bench:memory -- [--connections 10000] [--inflight 1000] [--only gw,minimal] [--gc]
 *
 * Setup: one upstream (bench/proxy/hold-upstream.ts: upstream.ts's 64-byte
 * answer plus a hold switch), gw-gateway as its own process
 * (bench/lib/gateway.ts: `--store memory --workers 1 --access-log off`, one
 * route `/` → one upstream with one target, no health checks), the minimal
 * proxy with UNDICI, PORT and UPSTREAMS as its header says, and the client
 * sockets in separate processes (bench/proxy/memory-client.ts, 5,000 sockets
 * each: file-descriptor limits). Everything on 127.0.0.1, ports from
 * freePort(); the proxies are not CPU-pinned (this measures memory).
 *
 * A reading is VmRSS from /proc/<pid>/status, and for gw also
 * `gw_nodejs_heap_size_used_bytes` (and external memory) from its admin
 * `GET /metrics` (the minimal proxy: RSS only). Heap used includes garbage
 * not yet collected, so each reading is taken after 2 s of quiet, twice 1 s
 * apart, and the second one kept. With `--gc`, both proxies run with
 * `--inspect=127.0.0.1:<free port>` and every reading is preceded by a full
 * GC forced through the inspector (HeapProfiler.collectGarbage); the minimal
 * proxy's heap used then comes from Runtime.getHeapUsage (gw's still from
 * /metrics): live objects, not garbage. Per contender, two phases, each on
 * a fresh process with its own baseline (after a 2 s warm-up: 32 concurrent
 * keep-alive GET loops, then closed):
 *  1. `--connections` idle keep-alive client connections: raw `node:net`
 *     sockets, each sends `GET / HTTP/1.1\r\nHost: x\r\n\r\n`, reads the
 *     response and stays open; per connection = (reading − baseline) / N;
 *     then all closed and read again;
 *  2. `--inflight` in-flight requests: that many connections, each served
 *     one request (the reference reading; also a per-connection figure at
 *     that count), then the upstream holds every request and each connection
 *     sends one more; measured once the count of requests the upstream holds
 *     has stopped growing for 1 s (or reached all); per request =
 *     (reading − reference) / M: the request on top of its open connection,
 *     including the upstream connections the pool opens for it (fds column).
 *     Then released: every request must get its 200.
 * The upstream sees at most the proxy's pool size at once (gw: 256
 * connections per origin, gateway/src/proxy/pools.ts; minimal: 64); undici
 * queues the rest inside the proxy. Both counts are reported: the requests
 * the load side wrote, and what the upstream held (with gw's own
 * `gw_upstream_target_active_requests`).
 *
 * Bounded: every wait has a deadline, the whole run at most 180 s; children
 * are killed on exit and on SIGINT/SIGTERM. JSON in .bench-out/memory.json.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from '../lib/args.js';
import { Pool, WebSocket } from 'undici';
import { freePort, startGatewayProcess } from '../lib/gateway.js';
import { table, waitForHttp } from '../lib/measure.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const { values } = benchArgs(import.meta.url, {
  options: {
    connections: { type: 'string', default: '10000' },
    inflight: { type: 'string', default: '1000' },
    only: { type: 'string' },
    gc: { type: 'boolean', default: false },
  },
});
const gc = values.gc;
const PER_CLIENT = 5000;
const connections = Number(values.connections);
const inflight = Number(values.inflight);
if (!Number.isInteger(connections) || connections < 1 || connections > 15_000) throw new Error('--connections: 1 … 15000');
if (!Number.isInteger(inflight) || inflight < 1 || inflight > PER_CLIENT) throw new Error(`--inflight: 1 … ${PER_CLIENT}`);
const RUN_DEADLINE_MS = 180_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The shared minimal proxy when this checkout sits next to ../shared, else the copy kept in bench/proxy. */
function minimalProxy(): string {
  const shared = resolve(root, '../shared/bench/minimal-undici-proxy.mjs');
  return existsSync(shared) ? shared : join(root, 'bench/proxy/minimal-undici-proxy.mjs');
}

// ---- children and IPC ----

const children: ChildProcess[] = [];
const killAll = () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
};
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

let nextId = 0;
/** Sends `msg` to a forked child and resolves with its reply (same id), or rejects after `timeoutMs`. */
function ask<T>(child: ChildProcess, what: string, msg: Record<string, unknown>, timeoutMs: number): Promise<T> {
  const id = ++nextId;
  return new Promise<T>((resolve, reject) => {
    const on = (m: unknown): void => {
      if ((m as { id?: number }).id !== id) return;
      clearTimeout(t);
      child.off('message', on);
      resolve(m as T);
    };
    const t = setTimeout(() => {
      child.off('message', on);
      reject(new Error(`${what} did not answer ${String(msg.op)} within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', on);
    child.send({ ...msg, id });
  });
}

interface ClientStats {
  open: number;
  written: number;
  answered: number;
  ok: number;
  errors: number;
  outstanding: number;
  ms: number;
}
interface UpstreamStats {
  held: number;
  connections: number;
  requests: number;
}

// ---- readings ----

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}
const fdCount = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;
function maxOpenFiles(pid: number): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return !m || m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

/** Unlabelled samples of a Prometheus text, and labelled ones summed per name. */
async function scrape(adminUrl: string): Promise<Map<string, number>> {
  const r = await fetch(`${adminUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
  const out = new Map<string, number>();
  for (const line of (await r.text()).split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (m) out.set(m[1]!, (out.get(m[1]!) ?? 0) + Number(m[2]));
  }
  return out;
}

interface Reading {
  rssBytes: number;
  heapUsedBytes?: number;
  externalBytes?: number;
  /** open file descriptors of the proxy process */
  fds: number;
}

interface Proxy {
  name: string;
  proc: ChildProcess;
  pid: number;
  port: number;
  adminUrl?: string;
  /** its inspector (`--gc`): a full GC is forced through it before each reading */
  inspectPort?: number;
  /** its upstream pool's connections per origin */
  poolConnections: number;
}

/** Calls inspector `methods` in order over one session; their results. */
async function inspect(inspectPort: number, methods: string[]): Promise<unknown[]> {
  const r = await fetch(`http://127.0.0.1:${inspectPort}/json/list`, { signal: AbortSignal.timeout(5000) });
  const [target] = (await r.json()) as { webSocketDebuggerUrl: string }[];
  if (!target) throw new Error(`no inspector target on :${inspectPort}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  const results: unknown[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`inspector: no answer to ${methods.join(', ')} within 10 s`)), 10_000);
      ws.onerror = () => {
        clearTimeout(t);
        reject(new Error('inspector: websocket error'));
      };
      ws.onopen = () => ws.send(JSON.stringify({ id: 0, method: methods[0] }));
      ws.onmessage = (e) => {
        const m = JSON.parse(String(e.data)) as { id?: number; result?: unknown };
        if (m.id !== results.length) return;
        results.push(m.result);
        if (results.length < methods.length) ws.send(JSON.stringify({ id: results.length, method: methods[results.length] }));
        else {
          clearTimeout(t);
          resolve();
        }
      };
    });
  } finally {
    ws.close();
  }
  return results;
}

/**
 * RSS and fds; heap used from gw's /metrics. With `--gc`, a full GC is forced
 * first, and the minimal proxy's heap used is read from its inspector
 * (Runtime.getHeapUsage).
 */
async function read(p: Proxy): Promise<Reading> {
  let inspectorHeap: number | undefined;
  if (p.inspectPort !== undefined) {
    const [, usage] = await inspect(p.inspectPort, ['HeapProfiler.collectGarbage', 'Runtime.getHeapUsage']);
    inspectorHeap = (usage as { usedSize: number }).usedSize;
  }
  const r: Reading = { rssBytes: rssBytes(p.pid), fds: fdCount(p.pid) };
  if (p.adminUrl) {
    const m = await scrape(p.adminUrl);
    r.heapUsedBytes = m.get('gw_nodejs_heap_size_used_bytes');
    r.externalBytes = m.get('gw_nodejs_external_memory_bytes');
  } else r.heapUsedBytes = inspectorHeap;
  return r;
}

/** 2 s of quiet, then two readings 1 s apart: the second. */
async function settled(p: Proxy): Promise<Reading> {
  await sleep(2000);
  await read(p);
  await sleep(1000);
  return read(p);
}

// ---- the proxies ----

async function startGw(upstreamPort: number, dir: string): Promise<Proxy> {
  const file = join(dir, 'kong.json');
  writeFileSync(
    file,
    JSON.stringify({
      _format_version: '3.0',
      services: [{ name: 'bench', host: 'bench-up', routes: [{ name: 'main', paths: ['/'] }] }],
      upstreams: [{ name: 'bench-up', targets: [{ target: `127.0.0.1:${upstreamPort}` }] }],
    }),
  );
  const inspectPort = gc ? await freePort() : undefined;
  const g = await startGatewayProcess(['--store', 'memory', '--config', file, '--workers', '1', '--access-log', 'off'], {
    nodeArgs: inspectPort === undefined ? [] : [`--inspect=127.0.0.1:${inspectPort}`],
  });
  children.push(g.proc);
  return {
    name: 'gw',
    proc: g.proc,
    pid: g.proc.pid!,
    port: Number(new URL(g.proxyUrl).port),
    adminUrl: g.adminUrl,
    inspectPort,
    poolConnections: 256,
  };
}

async function startMinimal(upstreamPort: number): Promise<Proxy> {
  const port = await freePort();
  const inspectPort = gc ? await freePort() : undefined;
  const inspect = inspectPort === undefined ? [] : [`--inspect=127.0.0.1:${inspectPort}`];
  const proc = spawn(process.execPath, [...inspect, minimalProxy()], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      UNDICI: join(root, 'node_modules/undici/index.js'),
      PORT: String(port),
      UPSTREAMS: `http://127.0.0.1:${upstreamPort}`,
    },
  });
  children.push(proc);
  await waitForHttp(`http://127.0.0.1:${port}/`);
  return { name: 'minimal', proc, pid: proc.pid!, port, inspectPort, poolConnections: 64 };
}

async function stop(p: Proxy): Promise<void> {
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  const exited = new Promise((r) => p.proc.once('exit', r));
  p.proc.kill('SIGTERM');
  if ((await Promise.race([exited.then(() => true), sleep(5000).then(() => false)])) === false) {
    p.proc.kill('SIGKILL');
    await exited;
  }
}

/** 32 concurrent keep-alive GET loops for `seconds`, then the connections closed. */
async function warmUp(port: number, seconds: number): Promise<{ requests: number; non200: number }> {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 32 });
  const end = Date.now() + seconds * 1000;
  let requests = 0;
  let non200 = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (Date.now() < end) {
        const r = await pool.request({ path: '/', method: 'GET', headersTimeout: 10_000, bodyTimeout: 10_000 });
        await r.body.dump();
        requests++;
        if (r.statusCode !== 200) non200++;
      }
    }),
  );
  await pool.close();
  return { requests, non200 };
}

// ---- the two phases, each on a fresh proxy process ----

interface Start {
  warmUp: { requests: number; non200: number };
  baseline: Reading;
}

interface IdlePhase extends Start {
  idle: Reading;
  open: { connections: number; open: number; answered: number; ok: number; errors: number; ms: number };
  closed: Reading;
  perConnectionRssBytes: number;
  perConnectionHeapBytes?: number;
}

interface InflightPhase extends Start {
  /** `inflight` idle connections, each served one request: the reference */
  idle: Reading;
  perConnectionRssBytes: number;
  perConnectionHeapBytes?: number;
  inflight: Reading;
  /** requests the load side wrote */
  written: number;
  /** requests the upstream held at the measurement (at most the proxy's pool size) */
  upstreamHeld: number;
  upstreamConnections: number;
  /** how long after the sends the upstream's count stopped growing */
  stableAfterMs: number;
  /** gw_upstream_target_active_requests at the measurement (gw only) */
  gwActiveRequests?: number;
  answered: number;
  ok: number;
  errors: number;
  releaseMs: number;
  released: Reading;
  /** (in flight − reference) / requests: a request on top of its open connection */
  perRequestRssBytes: number;
  perRequestHeapBytes?: number;
}

interface Result {
  name: string;
  poolConnections: number;
  idlePhase: IdlePhase;
  inflightPhase: InflightPhase;
}

const delta = (a: number | undefined, b: number | undefined, n: number): number | undefined =>
  a === undefined || b === undefined ? undefined : (a - b) / n;

const stats = (c: ChildProcess) => ask<ClientStats>(c, 'client', { op: 'wait', timeoutMs: 0 }, 5000);

async function begin(p: Proxy, fds: number): Promise<Start> {
  if (maxOpenFiles(p.pid) < fds) throw new Error(`${p.name}: open files limit ${maxOpenFiles(p.pid)} < ${fds}; raise ulimit -n`);
  const warm = await warmUp(p.port, 2);
  const baseline = await settled(p);
  console.log(`${p.name}: warm-up ${warm.requests} requests; baseline RSS ${mb(baseline.rssBytes)} MB`);
  return { warmUp: warm, baseline };
}

/** `connections` idle keep-alive connections, spread over the client processes. */
async function idlePhase(p: Proxy, clients: ChildProcess[]): Promise<IdlePhase> {
  const start = await begin(p, connections + 200);
  const before = await Promise.all(clients.map(stats));
  const t0 = performance.now();
  const per = Math.ceil(connections / clients.length);
  const opened = await Promise.all(
    clients.map((c, i) =>
      ask<ClientStats>(
        c,
        'client',
        { op: 'open', port: p.port, count: Math.max(0, Math.min(per, connections - i * per)), timeoutMs: 60_000 },
        65_000,
      ),
    ),
  );
  const open = {
    connections,
    open: opened.reduce((a, s) => a + s.open, 0),
    answered: opened.reduce((a, s, i) => a + s.answered - before[i]!.answered, 0),
    ok: opened.reduce((a, s, i) => a + s.ok - before[i]!.ok, 0),
    errors: opened.reduce((a, s, i) => a + s.errors - before[i]!.errors, 0),
    ms: performance.now() - t0,
  };
  console.log(`${p.name}: ${open.open} connections open, ${open.ok} of ${connections} answered 200 in ${Math.round(open.ms)} ms`);
  if (open.open !== connections || open.ok !== connections) throw new Error(`${p.name}: idle phase incomplete`);
  const idle = await settled(p);
  const stillOpen = (await Promise.all(clients.map(stats))).reduce((a, s) => a + s.open, 0);
  if (stillOpen !== connections) throw new Error(`${p.name}: ${connections - stillOpen} idle connections closed during the reading`);
  await Promise.all(clients.map((c) => ask(c, 'client', { op: 'close' }, 10_000)));
  const closed = await settled(p);
  console.log(`${p.name}: ${connections} idle: RSS ${mb(idle.rssBytes)} MB; closed: ${mb(closed.rssBytes)} MB`);
  return {
    ...start,
    idle,
    open,
    closed,
    perConnectionRssBytes: (idle.rssBytes - start.baseline.rssBytes) / connections,
    perConnectionHeapBytes: delta(idle.heapUsedBytes, start.baseline.heapUsedBytes, connections),
  };
}

/** `inflight` connections served once (the reference), then one request on each held by the upstream. */
async function inflightPhase(p: Proxy, client: ChildProcess, upstream: ChildProcess): Promise<InflightPhase> {
  const start = await begin(p, inflight + 500);
  const c0 = await stats(client);
  const o = await ask<ClientStats>(client, 'client', { op: 'open', port: p.port, count: inflight, timeoutMs: 30_000 }, 35_000);
  if (o.open !== inflight || o.ok - c0.ok !== inflight) throw new Error(`${p.name}: in-flight reference phase incomplete`);
  const idle = await settled(p);
  const u0 = await ask<UpstreamStats>(upstream, 'upstream', { op: 'hold' }, 5000);
  const w = await ask<ClientStats>(client, 'client', { op: 'send' }, 10_000);
  const written = w.written - o.written;
  const tHold = performance.now();
  let last = u0;
  let lastChange = tHold;
  for (;;) {
    const u = await ask<UpstreamStats>(upstream, 'upstream', { op: 'stats' }, 5000);
    if (u.held !== last.held) lastChange = performance.now();
    last = u;
    const now = performance.now();
    if (u.held >= inflight || now - lastChange >= 1000 || now - tHold > 20_000) break;
    await sleep(100);
  }
  const stableAfterMs = lastChange - tHold;
  await sleep(1000);
  await read(p);
  await sleep(1000);
  const inflightReading = await read(p);
  const gwActiveRequests = p.adminUrl ? (await scrape(p.adminUrl)).get('gw_upstream_target_active_requests') : undefined;
  const held = await ask<UpstreamStats>(upstream, 'upstream', { op: 'stats' }, 5000);
  console.log(
    `${p.name}: ${written} requests written, upstream holds ${held.held} on ${held.connections} connections` +
      (gwActiveRequests === undefined ? '' : `, gw reports ${gwActiveRequests} active`) +
      `; RSS ${mb(inflightReading.rssBytes)} MB`,
  );
  const tRelease = performance.now();
  await ask(upstream, 'upstream', { op: 'release' }, 5000);
  const done = await ask<ClientStats>(client, 'client', { op: 'wait', timeoutMs: 30_000 }, 35_000);
  const releaseMs = performance.now() - tRelease;
  const released = await settled(p);
  await ask(client, 'client', { op: 'close' }, 10_000);
  const ok = done.ok - o.ok;
  console.log(`${p.name}: released: ${ok} of ${inflight} got 200 in ${Math.round(releaseMs)} ms`);
  return {
    ...start,
    idle,
    perConnectionRssBytes: (idle.rssBytes - start.baseline.rssBytes) / inflight,
    perConnectionHeapBytes: delta(idle.heapUsedBytes, start.baseline.heapUsedBytes, inflight),
    inflight: inflightReading,
    written,
    upstreamHeld: held.held,
    upstreamConnections: held.connections,
    stableAfterMs,
    gwActiveRequests,
    answered: done.answered - o.answered,
    ok,
    errors: done.errors - o.errors,
    releaseMs,
    released,
    perRequestRssBytes: (inflightReading.rssBytes - idle.rssBytes) / inflight,
    perRequestHeapBytes: delta(inflightReading.heapUsedBytes, idle.heapUsedBytes, inflight),
  };
}

const mb = (b: number | undefined): string => (b === undefined ? '-' : (b / 1048576).toFixed(1));
const kb = (b: number | undefined): string => (b === undefined ? '-' : (b / 1024).toFixed(2));

function rows(r: Result): Record<string, string | number>[] {
  const row = (phase: string, x: Reading, ref: Reading | undefined, n: number | undefined, note = '') => ({
    contender: r.name,
    phase,
    'RSS MB': mb(x.rssBytes),
    'heap MB': mb(x.heapUsedBytes),
    fds: x.fds,
    'ΔRSS MB': ref ? mb(x.rssBytes - ref.rssBytes) : '-',
    'Δheap MB': ref && x.heapUsedBytes !== undefined ? mb(x.heapUsedBytes - ref.heapUsedBytes!) : '-',
    'RSS KB/unit': ref && n ? kb((x.rssBytes - ref.rssBytes) / n) : '-',
    'heap KB/unit': ref && n ? kb(delta(x.heapUsedBytes, ref.heapUsedBytes, n)) : '-',
    note,
  });
  const i = r.idlePhase;
  const f = r.inflightPhase;
  return [
    row('baseline', i.baseline, undefined, undefined, `fresh process, after ${i.warmUp.requests} warm-up requests`),
    row(`${connections} idle conns`, i.idle, i.baseline, connections, 'vs baseline, per connection'),
    row('all closed', i.closed, i.baseline, undefined, 'vs baseline'),
    row('baseline', f.baseline, undefined, undefined, `fresh process, after ${f.warmUp.requests} warm-up requests`),
    row(`${inflight} idle conns`, f.idle, f.baseline, inflight, 'vs baseline, per connection'),
    row(
      `${inflight} in flight`,
      f.inflight,
      f.idle,
      inflight,
      `vs ${inflight} idle conns, per request; ${f.written} sent, upstream held ${f.upstreamHeld} on ${f.upstreamConnections} conns (pool ${r.poolConnections})` +
        (f.gwActiveRequests === undefined ? '' : `, gw active ${f.gwActiveRequests}`),
    ),
    row('released', f.released, f.baseline, undefined, `vs baseline; ${f.ok}/${inflight} got 200`),
  ];
}

async function main(): Promise<void> {
  const deadline = setTimeout(() => {
    console.error(`memory bench: over ${RUN_DEADLINE_MS / 1000} s, giving up`);
    killAll();
    process.exit(1);
  }, RUN_DEADLINE_MS);
  deadline.unref();
  const only = values.only ? new Set(values.only.split(',')) : undefined;
  const names = ['gw', 'minimal'].filter((n) => !only || only.has(n));
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-mem-'));
  try {
    const upstreamPort = await freePort();
    const upstream = fork(join(here, 'hold-upstream.js'), [String(upstreamPort)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    children.push(upstream);
    await waitForHttp(`http://127.0.0.1:${upstreamPort}/`);
    const clients = Array.from({ length: Math.ceil(connections / PER_CLIENT) }, () => {
      const c = fork(join(here, 'memory-client.js'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      children.push(c);
      return c;
    });
    for (const c of clients) {
      await ask(c, 'client', { op: 'wait', timeoutMs: 0 }, 10_000);
      if (maxOpenFiles(c.pid!) < PER_CLIENT + 100) throw new Error(`client: open files limit ${maxOpenFiles(c.pid!)}; raise ulimit -n`);
    }
    const results: Result[] = [];
    const fresh = async <T>(name: string, f: (p: Proxy) => Promise<T>): Promise<T> => {
      const p = name === 'gw' ? await startGw(upstreamPort, dir) : await startMinimal(upstreamPort);
      try {
        return await f(p);
      } finally {
        await stop(p);
      }
    };
    for (const name of names) {
      const idle = await fresh(name, (p) => idlePhase(p, clients));
      const held = await fresh(name, (p) => inflightPhase(p, clients[0]!, upstream));
      results.push({ name, poolConnections: name === 'gw' ? 256 : 64, idlePhase: idle, inflightPhase: held });
    }
    console.log(
      `\nmemory: ${connections} idle keep-alive client connections, then (fresh process) ${inflight} in-flight requests (upstream holding); readings after 2 s quiet, second of two 1 s apart${gc ? ', each after a full GC forced through the inspector' : ''}\n`,
    );
    console.log(table(results.flatMap(rows)));
    const outDir = join(root, '.bench-out');
    mkdirSync(outDir, { recursive: true });
    const out = join(outDir, 'memory.json');
    writeFileSync(
      out,
      JSON.stringify(
        { date: new Date().toISOString(), node: process.version, nproc: cpus().length, connections, inflight, gc, results },
        null,
        2,
      ),
    );
    console.log(`\nJSON: ${out}`);
  } finally {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  killAll();
  process.exit(1);
});
