/**
 * Scripted upstream servers for tests: echo the request as JSON, or follow a
 * script (status sequence, hang, close the connection).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';

export interface EchoBody {
  name: string;
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  bodyBytes: number;
}

export type Behaviour = (req: IncomingMessage, res: ServerResponse, n: number) => void | 'default';

export interface TestUpstream {
  readonly server: Server;
  readonly port: number;
  readonly address: string;
  /** requests seen */
  count: number;
  close(): Promise<void>;
}

/**
 * Start an upstream on 127.0.0.1:0 that echoes requests (or follows
 * `behave`); `listen` picks another loopback address or a fixed port (two
 * A records of one name share the target's port).
 */
export async function startUpstream(
  name: string,
  behave?: Behaviour,
  listen: { host?: string; port?: number } = {},
): Promise<TestUpstream> {
  const state = { count: 0 };
  const server = createServer((req, res) => {
    const n = ++state.count;
    if (behave && behave(req, res, n) !== 'default') return;
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      const body: EchoBody = { name, method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes: bytes };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    });
  });
  const host = listen.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    address: `${host}:${port}`,
    get count() {
      return state.count;
    },
    set count(v: number) {
      state.count = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Ports below the kernel's ephemeral range (ip_local_port_range): no
 * process's listen(0) or outgoing connection is ever given one, so a port
 * {@link deadPort} picked cannot be taken by another test's process
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
 * A port nothing listens on (bound then released), for a process the test
 * starts to listen on, or to connect to and be refused. Picked at random
 * below the ephemeral range ({@link PICK_RANGE}), so that no other
 * process is handed it meanwhile.
 */
export async function deadPort(): Promise<number> {
  for (let i = 0; PICK_RANGE !== null && i < 20; i++) {
    const port = await bindable(PICK_RANGE.low + Math.floor(Math.random() * PICK_RANGE.size));
    if (port !== null) return port;
  }
  return (await bindable(0))!;
}

/** Poll `cond` until it is truthy or `timeoutMs` passes. */
export async function waitFor<T>(cond: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    // a check that itself never returns (a request stuck somewhere) fails at the deadline too, instead of hanging the file
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${what} (the check itself did not return)`)),
        Math.max(end - Date.now(), 0) + 1_000,
      );
    });
    try {
      const v = await Promise.race([cond(), stuck]);
      if (v) return v;
    } finally {
      clearTimeout(timer);
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface UpstreamProcess {
  readonly port: number;
  readonly address: string;
  readonly child: import('node:child_process').ChildProcess;
  /** SIGKILL the process and wait until it is gone */
  kill(): Promise<void>;
}

/**
 * A real upstream process (node:http on 127.0.0.1:0): answers `name` as JSON;
 * `/hang…` is held open until `GET /release` is sent to the process itself.
 */
export async function startUpstreamProcess(name: string): Promise<UpstreamProcess> {
  const { spawn } = await import('node:child_process');
  const script = `
    const http = require('node:http');
    const held = [];
    const s = http.createServer((req, res) => {
      if (req.url.startsWith('/release')) { for (const r of held.splice(0)) r.end('released'); return res.end('ok'); }
      if (req.url.startsWith('/hang')) { held.push(res); return; }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ name: ${JSON.stringify(name)}, url: req.url }));
    });
    s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`upstream process ${name} did not start`)), 10_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(Number(out.trim()));
      }
    });
    child.once('exit', (code) => reject(new Error(`upstream process ${name} exited (${code})`)));
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    port,
    address: `127.0.0.1:${port}`,
    child,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
