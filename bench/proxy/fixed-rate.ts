/**
 * Open-loop load at a fixed rate (what wrk2 does): request i is due at
 * start + i / rate, whatever happened before, and its latency is measured
 * from that due time, so a stalled proxy cannot hide its queueing
 * (no coordinated omission). Prints one JSON line.
 *
 *   node fixed-rate.js URL RATE CONNECTIONS SECONDS
 */
import { Pool } from 'undici';

const [url = '', rateText = '2000', connText = '50', secText = '5'] = process.argv.slice(2);
const target = new URL(url);
const rate = Number(rateText);
const connections = Number(connText);
const seconds = Number(secText);
const pool = new Pool(target.origin, { connections, pipelining: 1 });
const total = Math.round(rate * seconds);
const latencies = new Float64Array(total);
const interval = 1000 / rate;
let errors = 0;
let done = 0;
let next = 0;
const start = performance.now() + 50;

function fire(i: number, due: number): void {
  pool.request({ path: target.pathname + target.search, method: 'GET' }).then(
    async (r) => {
      await r.body.dump();
      if (r.statusCode !== 200) errors++;
      latencies[i] = performance.now() - due;
      finish();
    },
    () => {
      errors++;
      latencies[i] = performance.now() - due;
      finish();
    },
  );
}

function finish(): void {
  if (++done < total) return;
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  process.stdout.write(
    `${JSON.stringify({ rate, connections, seconds, sent: total, errors, p50ms: q(0.5), p90ms: q(0.9), p99ms: q(0.99), maxms: sorted[sorted.length - 1] })}\n`,
  );
  void pool.close().then(() => process.exit(0));
}

function tick(): void {
  const now = performance.now();
  while (next < total && start + next * interval <= now) {
    fire(next, start + next * interval);
    next++;
  }
  if (next < total) setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
}
setTimeout(tick, 50);
