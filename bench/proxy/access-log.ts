/**
 * The access log's own cost, apart from the proxy: a child process builds
 * `--lines` access lines at about `--per-ms` lines a millisecond (a
 * gateway's rate under load) into the writer of `--dest` (`stdout`: a pipe
 * read by `cat` on the load CPU, as a container log driver reads it; or
 * `file`), pinned to CPU 0. Reported per build (this checkout's dist/, and
 * `--ref-dist D` for a before/after): CPU µs per line of the main thread
 * (the event loop: /proc/self/task/<pid>/stat) and of the whole process
 * (with the stdout writer thread), and lines dropped. Median of `--runs`.
 *
 *   node dist/bench/proxy/access-log.js [--lines 60000] [--per-ms 15] [--dest stdout|file] [--runs 3] [--ref-dist D]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchArgs } from '../lib/args.js';
import { median, parseProcStat, table } from '../lib/measure.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const { values } = benchArgs(import.meta.url, {
  options: {
    lines: { type: 'string', default: '60000' },
    'per-ms': { type: 'string', default: '15' },
    dest: { type: 'string', default: 'stdout' },
    runs: { type: 'string', default: '3' },
    'ref-dist': { type: 'string' },
    child: { type: 'string' },
  },
});

interface Result {
  mainUs: number;
  processUs: number;
  dropped: number;
  wallMs: number;
}

/** In the child: write the lines through `dist`'s access log and print the figures (stderr, one JSON line). */
async function child(dist: string): Promise<void> {
  const lines = Number(values.lines);
  const perMs = Number(values['per-ms']);
  const { createAccessLog } = (await import(pathToFileURL(join(dist, 'gateway/src/observability/access-log.js')).href)) as {
    createAccessLog: (dest: string) => { finished(rec: unknown, req: unknown): void; close(): Promise<void>; dropped: number };
  };
  const { RequestRecord } = (await import(pathToFileURL(join(dist, 'gateway/src/observability/request-record.js')).href)) as {
    RequestRecord: new (id: string, a: number, b: number) => Record<string, unknown> & { addTarget(t: string): void };
  };
  const dest = values.dest === 'file' ? join(mkdtempSync(join(tmpdir(), 'gw-alog-')), 'access.log') : 'stdout';
  const log = createAccessLog(dest);
  // the main thread alone: its task's stat (process.cpuUsage() counts the writer thread too)
  const mainCpu = (): number => parseProcStat(readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8'));
  const route = { id: 'r', name: 'users-api' };
  const service = { id: 's', name: 'users' };
  const c0 = process.cpuUsage();
  const m0 = mainCpu();
  const t0 = performance.now();
  for (let i = 0; i < lines; i++) {
    const rec = new RequestRecord(`0b5e9a1c-3f7d-4a2b-9c8e-${String(i).padStart(12, '0')}`, 0, 0);
    Object.assign(rec, { status: 200, totalMs: 1.234, upstreamMs: 1.0, gatewayMs: 0.234, route, service, upstream: 'users.upstream' });
    rec.addTarget('127.0.0.1:8080');
    log.finished(rec, { method: 'GET', url: `/users/${i}?q=1`, socket: { remoteAddress: '127.0.0.1' } });
    if (i % perMs === 0) await new Promise((r) => setTimeout(r, 1));
  }
  await log.close();
  const c = process.cpuUsage(c0);
  const out: Result = {
    mainUs: (mainCpu() - m0) / lines,
    processUs: (c.user + c.system) / lines,
    dropped: log.dropped,
    wallMs: performance.now() - t0,
  };
  if (dest !== 'stdout') rmSync(dirname(dest), { recursive: true, force: true });
  process.stderr.write(`${JSON.stringify(out)}\n`);
}

/** One run of a build: the child on CPU 0, its stdout a real pipe into `cat` on CPU 1 (a shell pipeline, as a container runtime wires it). */
function run(dist: string): Promise<Result> {
  return new Promise((resolveRun, reject) => {
    const q = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;
    const args = [
      process.execPath,
      process.argv[1]!,
      '--child',
      dist,
      '--lines',
      values.lines!,
      '--per-ms',
      values['per-ms']!,
      '--dest',
      values.dest!,
    ];
    const gen = spawn('sh', ['-c', `taskset -c 0 ${args.map(q).join(' ')} | taskset -c 1 cat > /dev/null`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    gen.stderr.on('data', (d: Buffer) => (err += d.toString()));
    gen.once('exit', (code) => {
      const line = err.trim().split('\n').at(-1) ?? '';
      if (code !== 0) return reject(new Error(`generator exited ${code}: ${err}`));
      resolveRun(JSON.parse(line) as Result);
    });
  });
}

async function main(): Promise<void> {
  if (values.child !== undefined) return child(values.child);
  if (values.dest !== 'stdout' && values.dest !== 'file') throw new Error('--dest: stdout or file');
  const builds: [string, string][] = [['this build', join(root, 'dist')]];
  if (values['ref-dist'] !== undefined) builds.push(['ref', resolve(values['ref-dist'])]);
  const runs = Number(values.runs);
  const got = new Map<string, Result[]>(builds.map(([n]) => [n, []]));
  for (let r = 0; r < runs; r++) {
    for (const [name, dist] of builds) {
      const x = await run(dist);
      got.get(name)!.push(x);
      console.log(
        `run ${r + 1} ${name}: main ${x.mainUs.toFixed(2)} µs/line, process ${x.processUs.toFixed(2)} µs/line, dropped ${x.dropped}`,
      );
    }
  }
  const rows = builds.map(([name]) => {
    const xs = got.get(name)!;
    return {
      build: name,
      'main thread µs/line': median(xs.map((x) => x.mainUs)).toFixed(2),
      'process µs/line': median(xs.map((x) => x.processUs)).toFixed(2),
      dropped: xs.reduce((a, x) => a + x.dropped, 0),
      'lines/s': Math.round(Number(values.lines) / (median(xs.map((x) => x.wallMs)) / 1000)),
    };
  });
  console.log(`\n${values.lines} lines to ${values.dest}, about ${values['per-ms']} a millisecond, median of ${runs} runs\n`);
  console.log(table(rows));
  const outDir = join(root, '.bench-out');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'access-log.json'), JSON.stringify({ date: new Date().toISOString(), options: values, rows }, null, 2));
  console.log(`\nJSON: ${join(outDir, 'access-log.json')}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
