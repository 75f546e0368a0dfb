/**
 * Steady load for deploy tests: `clients` loops of GETs through the proxy
 * until `done()` (or `maxMs`), counting successes per app (the example apps answer
 * `{ app }`) and keeping the reasons of failures.
 */
import { request } from 'undici';

export interface SteadyLoad {
  ok: number;
  failed: number;
  /** successful requests per answering app */
  readonly byApp: Map<string, number>;
  readonly failures: string[];
  /** Stop the loops and wait for the requests in flight. */
  done(): Promise<void>;
}

/** The loops stop by themselves after `maxMs` (default 3 min), so a test that fails before `done()` cannot keep its file running. */
export function steadyLoad(url: string, clients: number, maxMs = 180_000): SteadyLoad {
  let stop = false;
  const deadline = Date.now() + maxMs;
  const s = { ok: 0, failed: 0, byApp: new Map<string, number>(), failures: [] as string[] };
  const loop = async (): Promise<void> => {
    while (!stop && Date.now() < deadline) {
      try {
        const r = await request(url);
        const body = (await r.body.json().catch(() => ({}))) as { app?: string; message?: string };
        if (r.statusCode === 200) {
          s.ok++;
          s.byApp.set(body.app ?? '?', (s.byApp.get(body.app ?? '?') ?? 0) + 1);
        } else {
          s.failed++;
          s.failures.push(`${r.statusCode} ${body.message ?? ''}`);
        }
      } catch (err) {
        s.failed++;
        s.failures.push((err as Error).message);
      }
    }
  };
  const running = Array.from({ length: clients }, loop);
  return Object.assign(s, {
    done: async () => {
      stop = true;
      await Promise.all(running);
    },
  });
}
