/**
 * A real gateway on 127.0.0.1 random ports with silent logs, and a tiny
 * Admin API client for tests.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { startGateway, type Gateway, type GatewayOptions } from '../../gateway/src/gateway.js';
import { waitFor } from './upstream.js';

/**
 * The DNS server test gateways ask unless a test gives its own
 * (`dnsResolver`): a closed loopback port, so a made-up hostname target
 * (`konghq.test`) fails at once (DNS_ERROR) and no test's lookup ever
 * reaches the system resolver.
 */
export const NO_DNS = ['127.0.0.1:9'] as const;

export async function startTestGateway(opts: GatewayOptions = {}): Promise<Gateway & { admin: AdminClient }> {
  const gw = await startGateway({ store: 'memory', dnsResolver: NO_DNS, ...opts });
  return Object.assign(gw, { admin: new AdminClient(gw.adminUrl, opts.adminToken) });
}

export interface AdminResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export class AdminClient {
  constructor(
    readonly url: string,
    readonly token?: string,
  ) {}

  async call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<AdminResponse<T>> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const res = await fetch(this.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
  }
}

/** The `gw-gateway` bin, as built. */
export const GATEWAY_CLI = fileURLToPath(new URL('../../gateway/src/cli.js', import.meta.url));
/** This process's environment without GW_* variables: a developer's own settings never reach a spawned gateway. */
export const cleanEnv: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GW_')));

export interface CliGateway {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  /** from the gateway's own "gw-gateway ready" line: the addresses it bound */
  readonly proxyUrl: string;
  readonly adminUrl: string;
  /** what it wrote on stdout so far (its log lines, and the access log's) */
  out(): string;
  /** what it wrote on stderr so far */
  err(): string;
  /** SIGTERM; resolves with the exit code (null: killed by a signal) */
  stop(): Promise<number | null>;
}

/**
 * A `gw-gateway` process with `args` (the CLI path is added), its output
 * collected, killed after the test if still running; `exit` resolves with its
 * exit code and signal. {@link spawnGatewayCli} waits for it to be ready; a
 * test of what happens before (or instead of) ready uses this.
 */
export function spawnGatewayProcess(
  t: { after: (fn: () => void) => void },
  args: readonly string[],
  env: NodeJS.ProcessEnv = cleanEnv,
): {
  child: ChildProcessByStdio<null, Readable, Readable>;
  out: () => string;
  err: () => string;
  exit: Promise<[number | null, NodeJS.Signals | null]>;
} {
  const child = spawn(process.execPath, [GATEWAY_CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, sig) => resolve([code, sig])));
  return { child, out: () => out, err: () => err, exit };
}

/**
 * A real `gw-gateway` process. The proxy and the Admin API listen on port 0
 * unless `args` names `--proxy-listen`/`--admin-listen`, and the bound
 * addresses are read back from the gateway's "gw-gateway ready" line: no
 * port is picked beforehand, so no other process of a test running
 * alongside can take it meanwhile. Rejects, with its output, if the
 * gateway exits or is not ready within `readyMs`. Killed after the test.
 */
export async function spawnGatewayCli(
  t: { after: (fn: () => void) => void },
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; readyMs?: number } = {},
): Promise<CliGateway> {
  const full = [...args];
  if (!args.includes('--proxy-listen')) full.push('--proxy-listen', '127.0.0.1:0');
  if (!args.includes('--admin-listen')) full.push('--admin-listen', '127.0.0.1:0');
  // the ready line is logged at info
  if (!args.includes('--log-level')) full.push('--log-level', 'info');
  const { child, out: stdout, err: stderr, exit } = spawnGatewayProcess(t, full, opts.env);
  const exited = exit.then(([code]) => code);
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const readyLine = (): string | undefined =>
    stdout()
      .split('\n')
      .find((l) => l.includes('"msg":"gw-gateway ready"'));
  await waitFor(() => readyLine() !== undefined || gone(), opts.readyMs ?? 30_000, `gw-gateway ${args.join(' ')} ready`).catch(
    (e: Error) => {
      throw new Error(`${e.message}\nstdout: ${stdout()}\nstderr: ${stderr()}`);
    },
  );
  const line = readyLine();
  if (line === undefined)
    throw new Error(
      `gw-gateway ${args.join(' ')}: exited (${child.exitCode ?? child.signalCode}) before it was ready\nstdout: ${stdout()}\nstderr: ${stderr()}`,
    );
  const ready = JSON.parse(line) as { proxy: string; admin: string };
  return {
    child,
    proxyUrl: ready.proxy,
    adminUrl: ready.admin,
    out: stdout,
    err: stderr,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
