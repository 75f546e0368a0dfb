/**
 * Hostile clients against one target (issue 12): how long does a control
 * request to the same target take while
 *   (a) nobody else is there (baseline),
 *   (b) N slow uploaders send `Content-Length: 1000000` bodies at 1 byte/s,
 *   (c) one connection holds 300 pipelined GETs to a path the target never answers?
 * gw-gateway runs as its own process (--store memory); the upstream, the
 * attackers and the control client share this process. Every figure is
 * bounded: at most 1,000 uploaders and 120 s per phase.
 *
 *   npm run bench:hostile -- [--uploaders 300] [--seconds 20] [--interval 50]
 *
 * Prints a table and writes .bench-out/hostile.json.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from '../lib/args.js';
import { table, waitForHttp } from '../lib/measure.js';
import { freePort } from '../lib/gateway.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const CLI = join(root, 'dist/gateway/src/cli.js');
const { values } = benchArgs(import.meta.url, {
  options: {
    uploaders: { type: 'string', default: '300' },
    seconds: { type: 'string', default: '20' },
    interval: { type: 'string', default: '50' },
  },
});
const uploaders = Math.min(1000, Math.max(1, Number(values.uploaders)));
const seconds = Math.min(120, Math.max(1, Number(values.seconds)));
const intervalMs = Math.max(5, Number(values.interval));

interface Upstream {
  server: Server;
  port: number;
  connections: number;
  seen: Map<string, number>;
}

async function startUpstream(): Promise<Upstream> {
  const u: Upstream = { server: createServer(), port: 0, connections: 0, seen: new Map() };
  u.server.on('request', (req, res) => {
    const kind = (req.url ?? '/').split('/')[1] ?? '';
    u.seen.set(kind, (u.seen.get(kind) ?? 0) + 1);
    if (kind === 'hang') return;
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  u.server.on('connection', () => u.connections++);
  await new Promise<void>((r) => u.server.listen(0, '127.0.0.1', r));
  u.port = (u.server.address() as AddressInfo).port;
  return u;
}

/** One control GET on a fresh connection: its latency in ms, or -1 on error / non-200 / 5 s. */
function controlOnce(port: number): Promise<number> {
  return new Promise((resolveMs) => {
    const t0 = performance.now();
    const req = httpRequest({ host: '127.0.0.1', port, path: '/control', agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolveMs(res.statusCode === 200 ? performance.now() - t0 : -1));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolveMs(-1));
    req.end();
  });
}

interface Figures {
  phase: string;
  samples: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
  upstreamConnections: number;
}

async function measure(phase: string, port: number, up: Upstream, ms: number): Promise<Figures> {
  const conns = up.connections;
  const lat: number[] = [];
  let errors = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const next = performance.now() + intervalMs;
    const v = await controlOnce(port);
    if (v < 0) errors++;
    else lat.push(v);
    const wait = next - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  lat.sort((a, b) => a - b);
  const q = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  return {
    phase,
    samples: lat.length + errors,
    errors,
    p50: q(0.5),
    p99: q(0.99),
    max: lat.at(-1) ?? NaN,
    upstreamConnections: up.connections - conns,
  };
}

async function main(): Promise<void> {
  const up = await startUpstream();
  const adminPort = await freePort();
  const proxyPort = await freePort();
  const gw = spawn(
    process.execPath,
    [
      CLI,
      '--store',
      'memory',
      '--proxy-listen',
      `127.0.0.1:${proxyPort}`,
      '--admin-listen',
      `127.0.0.1:${adminPort}`,
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const sockets: Socket[] = [];
  let drip: NodeJS.Timeout | undefined;
  try {
    const admin = `http://127.0.0.1:${adminPort}`;
    await waitForHttp(`${admin}/status`);
    const call = async (method: string, path: string, body: unknown): Promise<void> => {
      const r = await fetch(admin + path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    };
    await call('PUT', '/upstreams/u', {});
    await call('POST', '/upstreams/u/targets', { target: `127.0.0.1:${up.port}` });
    await call('PUT', '/services/s', { host: 'u' });
    await call('PUT', '/services/s/routes/r', { paths: ['/'] });
    for (let i = 0; i < 50; i++) await controlOnce(proxyPort); // warm-up
    const results: Figures[] = [];
    results.push(await measure('baseline', proxyPort, up, seconds * 1000));

    // (b) slow uploaders
    for (let i = 0; i < uploaders; i++) {
      const s = connect(proxyPort, '127.0.0.1');
      s.on('error', () => undefined);
      s.write(`POST /upload/${i} HTTP/1.1\r\nhost: bench.test\r\ncontent-length: 1000000\r\n\r\n`);
      sockets.push(s);
    }
    drip = setInterval(() => {
      for (const s of sockets) if (!s.destroyed) s.write('x');
    }, 1000);
    await new Promise((r) => setTimeout(r, 2000));
    const slow = await measure(`${uploaders} slow uploaders`, proxyPort, up, seconds * 1000);
    const alive = sockets.filter((s) => !s.destroyed).length;
    results.push(slow);
    clearInterval(drip);
    for (const s of sockets.splice(0)) s.destroy();

    // (c) 300 pipelined GETs that the target never answers
    const pipe = connect(proxyPort, '127.0.0.1');
    pipe.on('error', () => undefined);
    let payload = '';
    for (let i = 0; i < 300; i++) payload += `GET /hang/${i} HTTP/1.1\r\nhost: bench.test\r\n\r\n`;
    pipe.write(payload);
    await new Promise((r) => setTimeout(r, 1000));
    results.push(await measure('300 pipelined GETs, never answered', proxyPort, up, seconds * 1000));
    const hangBefore = up.seen.get('hang') ?? 0;
    pipe.destroy();
    await new Promise((r) => setTimeout(r, 5000));
    const hangAfterClose = (up.seen.get('hang') ?? 0) - hangBefore;

    console.log(
      table(
        results.map((r) => ({
          phase: r.phase,
          samples: r.samples,
          errors: r.errors,
          'p50 ms': r.p50.toFixed(2),
          'p99 ms': r.p99.toFixed(2),
          'max ms': r.max.toFixed(2),
          'new upstream conns': r.upstreamConnections,
        })),
      ),
    );
    const extra = {
      uploadersStillConnected: alive,
      uploadsSeenByUpstream: up.seen.get('upload') ?? 0,
      pipelinedSeenByUpstream: hangBefore,
      pipelinedSeenAfterClientClosed5s: hangAfterClose,
    };
    console.log(
      `\nuploaders still connected at the end: ${alive}/${uploaders}; uploads that reached the upstream: ${extra.uploadsSeenByUpstream}`,
    );
    console.log(`pipelined GETs that reached the upstream: ${hangBefore}/300; in the 5 s after the client closed: ${hangAfterClose}`);
    const outDir = join(root, '.bench-out');
    mkdirSync(outDir, { recursive: true });
    const out = join(outDir, 'hostile.json');
    writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), uploaders, seconds, intervalMs, results, ...extra }, null, 2));
    console.log(`JSON: ${out}`);
  } finally {
    clearInterval(drip);
    for (const s of sockets) s.destroy();
    gw.kill('SIGTERM');
    await new Promise((r) => gw.once('exit', r));
    up.server.closeAllConnections();
    up.server.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
