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
 * writes the profile to FILE and exits the process with status 0.
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
const profFile = process.env.GW_LOOP_PROBE_CPU_PROF;
if (profFile) {
  const session = new Session();
  session.connect();
  let started = false;
  process.on('SIGUSR2', () => {
    if (started) return;
    started = true;
    session.post('Profiler.enable', () => session.post('Profiler.start'));
  });
  process.once('SIGTERM', () => {
    if (!started) process.exit(0);
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(profFile, JSON.stringify(res.profile));
      process.exit(0);
    });
  });
}
