/**
 * Where a V8 CPU profile's time went (`node --cpu-prof`, e.g. from
 * `bench:proxy --cpu-prof`): the functions with the most self time, and
 * self time per source (gw's own modules, undici, node's internals, GC,
 * idle), as a share of the non-idle time.
 *
 *   node dist/bench/proxy/prof-summary.js FILE.cpuprofile [--top 30]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '30' } }, allowPositionals: true });
if (positionals.length !== 1) {
  console.error('usage: prof-summary FILE.cpuprofile [--top N]');
  process.exit(2);
}
const top = Number(values.top);
if (!Number.isInteger(top) || top < 1) {
  console.error('--top: a whole number ≥ 1');
  process.exit(2);
}
const prof = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as Profile;
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
/** µs of self time per node id, from the samples and their time deltas */
const self = new Map<number, number>();
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i]!;
  self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
}

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

const fns = new Map<string, number>();
const sources = new Map<string, number>();
let busy = 0;
for (const [id, us] of self) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  const src = source(url, functionName);
  sources.set(src, (sources.get(src) ?? 0) + us);
  if (src === 'idle') continue;
  busy += us;
  const short = url.replace(/^.*\/(node_modules|dist)\//, '').replace(/^file:\/\//, '');
  const key = `${functionName || '(anonymous)'} ${short}${url ? `:${lineNumber + 1}` : ''}`;
  fns.set(key, (fns.get(key) ?? 0) + us);
}
const pct = (us: number): string => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
console.log(`busy ${(busy / 1e6).toFixed(2)} s, idle ${((sources.get('idle') ?? 0) / 1e6).toFixed(2)} s\n`);
console.log('self time by source:');
for (const [src, us] of [...sources]
  .filter(([s]) => s !== 'idle')
  .sort((a, b) => b[1] - a[1])
  .slice(0, 20))
  console.log(`  ${pct(us)}  ${src}`);
console.log(`\ntop ${top} functions by self time:`);
for (const [key, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${key}`);
