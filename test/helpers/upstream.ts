/**
 * Scripted upstream servers for tests: echo the request as JSON, or follow a
 * script (status sequence, hang, close the connection).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
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
 * A port nothing listens on (bound then released), for a process the test
 * starts to listen on, or to connect to and be refused: the demos' picker,
 * below the kernel's ephemeral range so that no other process is handed it
 * meanwhile (examples/demo/util.ts).
 */
export { freePort as deadPort } from '../../examples/demo/util.js';

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
