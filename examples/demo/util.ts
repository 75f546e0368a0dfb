/** What both demos (`npm run demo`, `npm run demo:cluster`) need: a free port and a bounded wait. */
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Poll `cond` every 50 ms until it holds; a check that throws (a process not up yet) counts as not yet. */
export async function waitFor(demo: string, what: string, cond: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (
    !(await Promise.resolve()
      .then(cond)
      .catch(() => false))
  ) {
    if (Date.now() > end) throw new Error(`${demo}: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
