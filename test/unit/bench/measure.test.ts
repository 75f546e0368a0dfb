import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProcStat, parseWrk, table } from '../../../bench/lib/measure.js';

const WRK = `Running 2s test @ http://127.0.0.1:20001/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.63ms  651.31us  12.27ms   89.44%
    Req/Sec    16.80k     1.21k   18.20k    75.00%
  Latency Distribution
     50%    2.72ms
     75%    2.90ms
     90%    3.30ms
     99%  850.00us
  33406 requests in 2.00s, 5.80MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  16702.88
Transfer/sec:      2.90MB
`;

test('wrk --latency output is parsed into requests, rate, percentiles in ms and errors', () => {
  const r = parseWrk(WRK);
  assert.equal(r.requests, 33406);
  assert.equal(r.seconds, 2);
  assert.equal(r.rps, 16703);
  assert.equal(r.p50ms, 2.72);
  assert.equal(r.p99ms, 0.85);
  assert.equal(r.errors, 7);
  assert.throws(() => parseWrk('garbage'), /unexpected wrk output/);
});

test('/proc/<pid>/stat CPU time is read after the command name, even with spaces in it', () => {
  const stat = '1234 (node my proxy) S 1 1234 1234 0 -1 4194560 5000 0 0 0 250 50 0 0 20 0 11 0 100 0 0';
  // utime 250 + stime 50 ticks at CLK_TCK (100 on Linux) = 3 s
  assert.equal(parseProcStat(stat), 3_000_000);
});

test('tables align columns', () => {
  const t = table([
    { a: 'x', bb: 1 },
    { a: 'long', bb: 22 },
  ]).split('\n');
  assert.equal(t.length, 4);
  assert.ok(t.every((line) => line.length === t[0]!.length));
});

test('cpuMicrosTree counts a process and its children', async () => {
  const { spawn } = await import('node:child_process');
  const { childPids, cpuMicrosTree, cpuMicros } = await import('../../../bench/lib/measure.js');
  const parent = spawn(
    process.execPath,
    [
      '-e',
      "const c=require('child_process').spawn(process.execPath,['-e','setTimeout(()=>{},5000)'],{stdio:'inherit'});setTimeout(()=>{c.kill();process.exit(0)},4000)",
    ],
    { stdio: 'ignore' },
  );
  try {
    const deadline = Date.now() + 5_000;
    while (childPids(parent.pid!).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(childPids(parent.pid!).length, 1);
    assert.ok(cpuMicrosTree(parent.pid!) >= cpuMicros(parent.pid!));
  } finally {
    for (const c of childPids(parent.pid!)) process.kill(c, 'SIGKILL');
    parent.kill('SIGKILL');
  }
});
