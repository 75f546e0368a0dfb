/**
 * Preloaded (`NODE_OPTIONS=--import=…`) into a spawned gw-gateway by
 * last-resort.test.ts, and so into its `--workers` proxies (they inherit the
 * environment), and into a gw-agent sidecar by agent-run.test.ts: on each
 * SIGUSR2 the process does what a
 * gw bug would do, `THROWS` times (default 1) an exception thrown from a
 * timer, and once a promise rejected that nobody handles.
 */
process.on('SIGUSR2', () => {
  const n = Number(process.env.THROWS ?? 1);
  for (let i = 0; i < n; i++) {
    setTimeout(() => {
      throw new Error(`boom ${i + 1}: thrown in a timer`);
    });
  }
  void Promise.reject(new Error('boom: rejected, and nobody handles it'));
});
