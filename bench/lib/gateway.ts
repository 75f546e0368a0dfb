/**
 * What every bench that runs gw-gateway as its own process needs: a free
 * loopback port, and a gateway process on two of them, waited for until
 * `GET /status` answers 200.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';

export const GATEWAY_CLI = join(dirname(fileURLToPath(import.meta.url)), '../../gateway/src/cli.js');

/** Ports other services of the machine hold: never handed out. */
export const FORBIDDEN_PORTS: ReadonlySet<number> = new Set([3306, 5672, 1883, 4222, 5432, 6379]);

/** A port free on 127.0.0.1 right now (never one of {@link FORBIDDEN_PORTS}). */
export async function freePort(): Promise<number> {
  for (;;) {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    if (!FORBIDDEN_PORTS.has(port)) return port;
  }
}

export interface GatewayProcess {
  proc: ChildProcess;
  proxyUrl: string;
  adminUrl: string;
}

/**
 * `gw-gateway --proxy-listen … --admin-listen … --log-level warn <args>` on
 * two free loopback ports, resolved once `/status` answers 200 (at most 20 s;
 * rejects at once when the process exits). `GW_BENCH_NODE_ARGS` (e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof`) is passed to node, to profile the
 * gateway, and so is `opts.nodeArgs` (e.g. `--inspect=127.0.0.1:PORT`);
 * `opts.cpu` pins it to those CPUs (`taskset -c`).
 */
export async function startGatewayProcess(
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; stdout?: 'ignore' | 'inherit'; nodeArgs?: readonly string[]; cpu?: string } = {},
): Promise<GatewayProcess> {
  const [proxy, admin] = [await freePort(), await freePort()];
  const nodeArgs = [...(process.env.GW_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), ...(opts.nodeArgs ?? [])];
  // `cpu`: pinned with taskset (which execs node: the pid is the gateway's)
  const [cmd, pre] = opts.cpu === undefined ? [process.execPath, []] : ['taskset', ['-c', opts.cpu, process.execPath]];
  const proc = spawn(
    cmd,
    [
      ...pre,
      ...nodeArgs,
      GATEWAY_CLI,
      '--proxy-listen',
      `127.0.0.1:${proxy}`,
      '--admin-listen',
      `127.0.0.1:${admin}`,
      '--log-level',
      'warn',
      ...args,
    ],
    { stdio: ['ignore', opts.stdout ?? 'ignore', 'inherit'], env: opts.env ?? process.env },
  );
  const adminUrl = `http://127.0.0.1:${admin}`;
  const end = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`gw-gateway exited with ${proc.exitCode}`);
    try {
      const r = await request(`${adminUrl}/status`);
      await r.body.dump();
      if (r.statusCode === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) {
      proc.kill('SIGKILL');
      throw new Error('gw-gateway did not answer /status within 20 s');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { proc, proxyUrl: `http://127.0.0.1:${proxy}`, adminUrl };
}
