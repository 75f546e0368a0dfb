/**
 * Where a V8 profile's time or allocations went.
 *
 * - A CPU profile (`node --cpu-prof`, or `bench:proxy --cpu-prof`): the
 *   functions with the most self time, and self time per source (gw's own
 *   modules, undici, node's internals, GC, idle), as a share of the
 *   non-idle time.
 * - A sampling heap profile (`bench:proxy --alloc-prof`, `.heapprofile`):
 *   the bytes each function allocated (self), per source and per function;
 *   with `--requests N` also as bytes per request.
 *
 *   node dist/bench/proxy/prof-summary.js FILE.cpuprofile|FILE.heapprofile [--top 30] [--requests N]
 */
import { readFileSync } from 'node:fs';
import { benchArgs } from '../lib/args.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
  timeDeltas: number[];
}
interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}
interface HeapProfile {
  head: HeapNode;
}

const { values, positionals } = benchArgs(import.meta.url, {
  options: { top: { type: 'string', default: '30' }, requests: { type: 'string' } },
  allowPositionals: true,
});
const usage = (why: string): never => {
  console.error(`${why}\nusage: prof-summary FILE.cpuprofile|FILE.heapprofile [--top N] [--requests N]`);
  process.exit(2);
};
if (positionals.length !== 1) usage('one profile file');
const top = Number(values.top);
if (!Number.isInteger(top) || top < 1) usage('--top: a whole number ≥ 1');
const requests = values.requests === undefined ? undefined : Number(values.requests);
if (requests !== undefined && !(Number.isInteger(requests) && requests > 0)) usage('--requests: a whole number ≥ 1');
const prof = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as CpuProfile | HeapProfile;

/** The source a frame belongs to. */
function source(url: string, fn: string): string {
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'gc';
  if (fn === '(program)') return 'program (native, not attributed)';
  if (url.includes('/node_modules/')) return `npm ${url.split('/node_modules/').pop()!.split('/')[0]}`;
  if (url.startsWith('node:')) return 'node internals';
  if (url.includes('/dist/')) return `gw ${url.split('/dist/').pop()!.split('/').slice(0, 3).join('/')}`;
  return url === '' ? 'native' : url;
}

/** `name file:line` of a frame */
function frameKey({ functionName, url, lineNumber }: CallFrame): string {
  const short = url.replace(/^.*\/(node_modules|dist)\//, '').replace(/^file:\/\//, '');
  return `${functionName || '(anonymous)'} ${short}${url ? `:${lineNumber + 1}` : ''}`;
}

/** Per source and per function: the amounts, biggest first, as shares of `total` (and per request, `perRequest`). */
function report(
  what: string,
  sources: Map<string, number>,
  fns: Map<string, number>,
  total: number,
  perRequest?: (v: number) => string,
): void {
  const pct = (v: number): string => `${((100 * v) / total).toFixed(1).padStart(5)} %${perRequest ? `  ${perRequest(v)}` : ''}`;
  console.log(`${what} by source:`);
  for (const [src, v] of [...sources].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${pct(v)}  ${src}`);
  console.log(`\ntop ${top} functions by ${what}:`);
  for (const [key, v] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(v)}  ${key}`);
}

const add = (m: Map<string, number>, k: string, v: number): void => void m.set(k, (m.get(k) ?? 0) + v);

if ('head' in prof) {
  // sampling heap profile: selfSize is V8's estimate of the bytes allocated at that frame
  const fns = new Map<string, number>();
  const sources = new Map<string, number>();
  let total = 0;
  const stack: HeapNode[] = [prof.head];
  while (stack.length > 0) {
    const n = stack.pop()!;
    stack.push(...n.children);
    if (n.selfSize === 0) continue;
    total += n.selfSize;
    add(sources, source(n.callFrame.url, n.callFrame.functionName), n.selfSize);
    add(fns, frameKey(n.callFrame), n.selfSize);
  }
  console.log(
    `allocated ${(total / 2 ** 20).toFixed(1)} MiB (sampled estimate)` +
      (requests ? `, ${requests} requests: ${(total / requests / 1024).toFixed(2)} KB per request` : '') +
      '\n',
  );
  report(
    'bytes allocated',
    sources,
    fns,
    total,
    requests
      ? (v) =>
          `${Math.round(v / requests)
            .toString()
            .padStart(6)} B/req`
      : undefined,
  );
} else {
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  /**
   * A gap between two samples longer than this is time the process was
   * stopped (bench:proxy SIGSTOPs the contenders not being measured; the
   * sampler thread stops with them), not time spent in the next sample's
   * function: V8 samples every millisecond or so, idle included.
   */
  const STOPPED_GAP_US = 1_000_000;
  /** µs of self time per node id, from the samples and their time deltas */
  const self = new Map<number, number>();
  let stopped = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i]!;
    const delta = prof.timeDeltas[i] ?? 0;
    if (delta > STOPPED_GAP_US) {
      stopped += delta;
      continue;
    }
    self.set(id, (self.get(id) ?? 0) + delta);
  }
  const fns = new Map<string, number>();
  const sources = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const frame = byId.get(id)!.callFrame;
    const src = source(frame.url, frame.functionName);
    if (src === 'idle') {
      idle += us;
      continue;
    }
    add(sources, src, us);
    busy += us;
    add(fns, frameKey(frame), us);
  }
  console.log(
    `busy ${(busy / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s, stopped ${(stopped / 1e6).toFixed(2)} s (gaps over ${STOPPED_GAP_US / 1e6} s, not counted)` +
      (requests ? `, ${requests} requests: ${(busy / requests).toFixed(1)} µs busy per request` : '') +
      '\n',
  );
  report('self time', sources, fns, busy, requests ? (v) => `${(v / requests).toFixed(2).padStart(6)} µs/req` : undefined);
}
