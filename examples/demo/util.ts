/** What both demos (`npm run demo`, `npm run demo:cluster`) need: a free port and a bounded wait. */
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';

/**
 * Ports below the kernel's ephemeral range (ip_local_port_range): no
 * process's listen(0) or outgoing connection is ever given one, so a port
 * {@link freePort} picked cannot be taken by another process (a test running alongside)
 * between its release and its use. Null when that range leaves too little
 * room below it (then the kernel picks, as listen(0)).
 */
const PICK_RANGE = ((): { low: number; size: number } | null => {
  let low = 32768;
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    // not Linux: assume the IANA dynamic range's usual neighbour
  }
  const from = Math.max(10_000, low - 12_000);
  return Number.isInteger(low) && low - from >= 2_000 ? { low: from, size: low - from } : null;
})();

async function bindable(port: number): Promise<number | null> {
  const s = createServer();
  const ok = await new Promise<boolean>((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (!ok) return null;
  const bound = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return bound;
}

/**
 * A free port for a process about to be started (bound then released).
 * Picked at random below the ephemeral range ({@link PICK_RANGE}), so
 * that no other process is handed it before that process binds it.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; PICK_RANGE !== null && i < 20; i++) {
    const port = await bindable(PICK_RANGE.low + Math.floor(Math.random() * PICK_RANGE.size));
    if (port !== null) return port;
  }
  return (await bindable(0))!;
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
