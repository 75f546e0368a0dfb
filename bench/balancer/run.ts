/**
 * Pick cost of every balancer algorithm over 10, 1,000 and 10,000 targets:
 * build time and nanoseconds per request cycle (pick, a try started and
 * one ended on the targets' records), single thread, no I/O. Each algorithm runs in its own
 * process so one's JIT state does not slow the next. Run:
 * `node dist/bench/balancer/run.js`.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Balancer, PickContext } from '../../gateway/src/balancer/balancer.js';
import { LocalStatusTable } from '../../gateway/src/balancer/local-status.js';
import { createBalancer } from '../../gateway/src/balancer/registry.js';
import type { Target, Upstream } from '../../gateway/src/entities/types.js';

const SIZES = [10, 1000, 10_000];
const CYCLES = 200_000;

interface Case {
  name: string;
  upstream: Partial<Upstream>;
  /** weight of target i */
  weight: (i: number) => number;
}

const cases: Case[] = [
  { name: 'round-robin, equal weights', upstream: { algorithm: 'round-robin' }, weight: () => 100 },
  { name: 'round-robin, weights 1..100', upstream: { algorithm: 'round-robin' }, weight: (i) => (i % 100) + 1 },
  { name: 'least-connections', upstream: { algorithm: 'least-connections' }, weight: () => 100 },
  { name: 'consistent-hashing on ip', upstream: { algorithm: 'consistent-hashing', hash_on: 'ip' }, weight: () => 100 },
  {
    name: 'consistent-hashing on header, fallback ip',
    upstream: { algorithm: 'consistent-hashing', hash_on: 'header', hash_on_header: 'x-user', hash_fallback: 'ip' },
    weight: () => 100,
  },
  { name: 'latency', upstream: { algorithm: 'latency' }, weight: () => 100 },
];

const baseUpstream: Upstream = {
  id: '00000000-0000-4000-8000-000000000001',
  name: 'bench',
  algorithm: 'round-robin',
  hash_on: 'none',
  hash_fallback: 'none',
  hash_on_header: null,
  hash_fallback_header: null,
  hash_on_cookie: null,
  hash_on_cookie_path: '/',
  hash_on_query_arg: null,
  hash_fallback_query_arg: null,
  hash_on_uri_capture: null,
  hash_fallback_uri_capture: null,
  slots: 10_000,
} as Upstream; // the bench needs only the fields balancers read

function makeTargets(n: number, weight: (i: number) => number): Target[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `t-${i}`,
    target: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}:8080`,
    weight: weight(i),
  })) as Target[]; // likewise: id, target and weight are all a balancer reads
}

function contexts(): PickContext[] {
  // 1024 distinct clients, reused round-robin: no allocation in the timed loop
  return Array.from({ length: 1024 }, (_, k) => ({
    clientIp: `192.168.${k >> 8}.${k & 255}`,
    headers: { 'x-user': `user-${k * 7919}` },
    path: '/api/users',
    query: '',
    tried: new Set<string>(),
  }));
}

function cycle(b: Balancer, ctxs: PickContext[], n: number): number {
  // the per-target records health keeps in the gateway (in-flight counts, availability)
  const records = new LocalStatusTable(b);
  const inFlight = new Array<string>(64);
  let head = 0;
  let misses = 0;
  for (let k = 0; k < n; k++) {
    const r = b.pick(ctxs[k & 1023]!);
    if (!r) {
      misses++;
      continue;
    }
    records.start(r.target.id);
    // keep 64 requests in flight so least-connections and latency see load
    const old = inFlight[head];
    if (old !== undefined) records.end(old, 5 + (k % 17), true);
    inFlight[head] = r.target.id;
    head = (head + 1) & 63;
  }
  return misses;
}

/** One case in this process: its table rows. */
function runCase(c: Case): string[] {
  const ctxs = contexts();
  const rows: string[] = [];
  {
    for (const n of SIZES) {
      const ts = makeTargets(n, c.weight);
      const u = { ...baseUpstream, ...c.upstream } as Upstream;
      let t0 = process.hrtime.bigint();
      const b = createBalancer(u, ts, { seed: 1 });
      const buildMs = Number(process.hrtime.bigint() - t0) / 1e6;
      cycle(b, ctxs, 20_000); // warm-up
      t0 = process.hrtime.bigint();
      const misses = cycle(b, ctxs, CYCLES);
      const ns = Number(process.hrtime.bigint() - t0) / CYCLES;
      if (misses > 0) throw new Error(`${c.name} ${n}: ${misses} picks found no target`);
      rows.push(`| ${c.name} | ${n} | ${buildMs.toFixed(2)} | ${ns.toFixed(0)} |`);
    }
  }
  return rows;
}

const only = process.argv[2];
if (only !== undefined) {
  const c = cases[Number(only)];
  if (!c) throw new RangeError(`no bench case ${only}`);
  console.log(runCase(c).join('\n'));
} else {
  const self = fileURLToPath(import.meta.url);
  console.log('| algorithm | targets | build ms | ns / request (pick+start+end) |\n|---|---:|---:|---:|');
  for (let k = 0; k < cases.length; k++) console.log(execFileSync(process.execPath, [self, String(k)], { encoding: 'utf8' }).trimEnd());
}
