/**
 * Helpers for the gw-agent tests: spawn the real binary (from dist or any
 * --outDir, found relative to this file), collect its output, and a tiny
 * app whose health answer and hanging requests the test controls.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers/upstream.js';

export const CLI = fileURLToPath(new URL('../../agent/src/cli.js', import.meta.url));

export interface AgentRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `gw-agent ...args` to completion. */
export function runAgent(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 60_000): Promise<AgentRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`gw-agent ${args.join(' ')} did not finish in ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(timer);
      // let the pipes flush
      setImmediate(() => resolve({ code, stdout, stderr }));
    });
  });
}

/** The parent's env without GW_* settings, so a developer's shell cannot change a test. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GW_')) env[k] = v;
  return env;
}

export interface LongRunning {
  readonly child: ChildProcess;
  /** stdout lines parsed as JSON (pino logs) */
  readonly logs: Record<string, unknown>[];
  stderr: string;
  /** resolves with the exit code once the process exited and its stdout/stderr are read to the end */
  exited: Promise<number | null>;
  /** true once {@link LongRunning.exited} has resolved: every log line and all of stderr are in */
  readonly closed: boolean;
  kill(signal?: NodeJS.Signals): void;
}

/** Start `gw-agent ...args` (e.g. `run`) and keep it running. */
export function startAgent(args: string[], env: Record<string, string | undefined> = {}): LongRunning {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let buf = '';
  let closed = false;
  const r: LongRunning = {
    child,
    logs,
    stderr: '',
    // 'close', not 'exit': a test that reads the output after the exit must find all of it
    exited: new Promise((resolve) =>
      child.on('close', (code) => {
        closed = true;
        resolve(code);
      }),
    ),
    get closed() {
      return closed;
    },
    kill: (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
  child.stdout!.on('data', (c: Buffer) => {
    buf += c.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  child.stderr!.on('data', (c: Buffer) => (r.stderr += c.toString()));
  return r;
}

/** `--control-listen` for a sidecar under test: any free port, bound by the sidecar itself (read it back with {@link controlUrl}). */
export const ANY_CONTROL_PORT = '127.0.0.1:0';

/**
 * The control endpoint a sidecar started with {@link ANY_CONTROL_PORT}
 * listens on, from its "control endpoint listening" log line. A port picked
 * beforehand (bound, released, then handed to the sidecar) can be taken by
 * another process of a test running alongside before the sidecar binds it;
 * the test then talks to that process (which may well answer "registered").
 */
export async function controlUrl(agent: LongRunning, timeoutMs = 30_000): Promise<string> {
  const found = (): unknown => agent.logs.find((l) => l.msg === 'control endpoint listening')?.control;
  // closed, not just exited: a sidecar that stops at once (a refused registration) has its log line read by then
  const exited = (): boolean => agent.closed;
  await waitFor(() => found() !== undefined || exited(), timeoutMs, 'the sidecar listening on its control endpoint');
  const url = found();
  if (typeof url !== 'string')
    throw new Error(`the sidecar exited (${agent.child.exitCode ?? agent.child.signalCode}) before listening: ${agent.stderr}`);
  return url;
}

export interface TestApp {
  readonly port: number;
  /** what /health answers */
  healthStatus: number;
  /** requests served (not /health) */
  served: number;
  /** /health probes answered */
  readonly healthChecks: number;
  /** hanging requests (paths starting /hang) waiting for release() */
  readonly hanging: number;
  release(): void;
  close(): Promise<void>;
}

/** An app the sidecar fronts: /health answers `healthStatus`, /hang… hangs until release(), the rest answers JSON after `delayMs`. */
export async function startTestApp(name: string, opts: { healthStatus?: number; delayMs?: number } = {}): Promise<TestApp> {
  const hung: ServerResponse[] = [];
  const state = { healthStatus: opts.healthStatus ?? 200, served: 0, healthChecks: 0 };
  const server = createServer((req, res) => {
    if (req.url === '/health') {
      state.healthChecks++;
      res.statusCode = state.healthStatus;
      res.end(String(state.healthStatus));
      return;
    }
    state.served++;
    if (req.url?.includes('/hang')) {
      hung.push(res);
      return;
    }
    setTimeout(() => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ app: name, url: req.url }));
    }, opts.delayMs ?? 0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    get healthStatus() {
      return state.healthStatus;
    },
    set healthStatus(v: number) {
      state.healthStatus = v;
    },
    get served() {
      return state.served;
    },
    get healthChecks() {
      return state.healthChecks;
    },
    get hanging() {
      return hung.filter((r) => !r.writableEnded).length;
    },
    release: () => {
      for (const r of hung.splice(0)) if (!r.writableEnded) r.end(JSON.stringify({ app: name, released: true }));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of hung.splice(0)) r.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** GET a JSON document (e.g. the sidecar's control endpoint); undefined when unreachable. */
export async function getJson<T = Record<string, unknown>>(url: string): Promise<{ status: number; body: T } | undefined> {
  try {
    const r = await fetch(url);
    return { status: r.status, body: (await r.json()) as T };
  } catch {
    return undefined;
  }
}

/** Parse JSON lines. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
