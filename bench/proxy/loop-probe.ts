/**
 * Preloaded into a proxy under test (`node --import …/loop-probe.js`): its
 * event-loop delay at 1 ms resolution, a finer view than the 10 ms of
 * prom-client's gauge. On SIGUSR2 it writes `{ seq, p50ms, p99ms, maxms,
 * samples }` of the delays since the previous signal to
 * `$GW_LOOP_PROBE_FILE`, then starts over. A sample is the interval
 * between two ticks of a 1 ms timer minus that 1 ms (node's
 * monitorEventLoopDelay records the whole interval). The gateway has no
 * SIGUSR2 handler of its own; nothing else changes in the process.
 * With `GW_LOOP_PROBE_CPU_PROF=FILE` (bench:proxy --cpu-prof) the first
 * SIGUSR2 also starts V8's CPU profiler (inspector session), and SIGTERM
 * writes the profile to FILE and exits the process with status 0. With
 * `GW_LOOP_PROBE_HEAP_PROF=FILE` (bench:proxy --alloc-prof) the same for
 * V8's sampling heap profiler, counting every sampled allocation (objects
 * the young and old generation GCs collected included: where the garbage
 * per request comes from, not what stays alive).
 */
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.GW_LOOP_PROBE_FILE;
if (file) {
  const TICK_MS = 1;
  const h = monitorEventLoopDelay({ resolution: TICK_MS });
  h.enable();
  let seq = 0;
  const ms = (ns: number) => Math.max(0, ns / 1e6 - TICK_MS);
  process.on('SIGUSR2', () => {
    const out = { seq: ++seq, p50ms: ms(h.percentile(50)), p99ms: ms(h.percentile(99)), maxms: ms(h.max), samples: h.count };
    h.reset();
    // written aside, then renamed: the reader never sees half a file
    writeFileSync(`${file}.tmp`, JSON.stringify(out));
    renameSync(`${file}.tmp`, file);
  });
}
/** The profilers to start on the first SIGUSR2: what to post to start, to stop, and where the stop's result goes. */
const profilers = [
  {
    file: process.env.GW_LOOP_PROBE_CPU_PROF,
    start: [['Profiler.enable'], ['Profiler.start']],
    stop: 'Profiler.stop',
  },
  {
    file: process.env.GW_LOOP_PROBE_HEAP_PROF,
    start: [
      ['HeapProfiler.enable'],
      // a sample every 4 KiB allocated (V8's default is 32 KiB): a few thousand samples a second under load
      [
        'HeapProfiler.startSampling',
        { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true },
      ],
    ],
    stop: 'HeapProfiler.stopSampling',
  },
].filter((p) => p.file !== undefined);
if (profilers.length > 0) {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object): Promise<{ profile?: unknown }> =>
    new Promise((resolve, reject) =>
      session.post(method, params ?? {}, (err, res?: object) => (err ? reject(err) : resolve((res ?? {}) as { profile?: unknown }))),
    );
  let started = false;
  process.on('SIGUSR2', () => {
    if (started) return;
    started = true;
    void (async () => {
      for (const p of profilers) for (const [method, params] of p.start) await post(method as string, params as object | undefined);
    })();
  });
  process.once('SIGTERM', () => {
    if (!started) process.exit(0);
    void (async () => {
      for (const p of profilers) {
        try {
          const res = await post(p.stop);
          writeFileSync(p.file!, JSON.stringify(res.profile));
        } catch (err) {
          console.error(`loop-probe: ${p.stop} failed:`, err);
        }
      }
      process.exit(0);
    })();
  });
}
