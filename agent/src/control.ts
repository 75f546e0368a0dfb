/**
 * The sidecar's local control endpoint (`--control-listen`, default
 * 127.0.0.1:9901):
 *   GET  /       state as JSON
 *   GET  /ready  200 while the target is registered, else 503 (ECS health check)
 *   POST /drain  drain this instance; answers JSON lines: progress…, then done
 *                (query: timeout=DURATION, deregister=1)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DrainProgress, DrainResult } from '../../sdk/src/drain.js';
import { parseDuration } from './options.js';

export interface ControlHandlers {
  state(): Record<string, unknown>;
  ready(): boolean;
  drain(o: {
    timeoutMs: number | undefined;
    deregister: boolean;
    onProgress: (p: DrainProgress) => void;
  }): Promise<DrainResult & { target?: string | undefined }>;
}

export interface ControlServer {
  readonly url: string;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function handle(h: ControlHandlers, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const u = new URL(req.url ?? '/', 'http://local');
  if (req.method === 'GET' && u.pathname === '/') return json(res, 200, h.state());
  if ((req.method === 'GET' || req.method === 'HEAD') && u.pathname === '/ready') {
    const ok = h.ready();
    return json(res, ok ? 200 : 503, { ready: ok, state: h.state().state });
  }
  if (req.method === 'POST' && u.pathname === '/drain') {
    const t = u.searchParams.get('timeout');
    const timeoutMs = t === null ? undefined : parseDuration(t);
    if (t !== null && timeoutMs === undefined)
      return json(res, 400, { message: `timeout: expected a duration like 500ms, 30s, 5m, got "${t}"` });
    const deregister = ['1', 'true', 'yes'].includes(u.searchParams.get('deregister') ?? '');
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const write = (e: Record<string, unknown>): void => void res.write(JSON.stringify(e) + '\n');
    try {
      const r = await h.drain({
        timeoutMs,
        deregister,
        onProgress: (p) => write({ event: 'progress', targets_left: p.targetsLeft, in_flight: p.inFlight, elapsed_ms: p.elapsedMs }),
      });
      write({
        event: 'done',
        drained: r.drained,
        target: r.target ?? null,
        targets: r.targets,
        deregistered: r.deregistered,
        targets_left: r.targetsLeft,
        in_flight: r.inFlight,
        elapsed_ms: r.elapsedMs,
      });
    } catch (err) {
      write({ event: 'error', message: (err as Error).message });
    }
    res.end();
    return;
  }
  json(res, 404, { message: `no route ${req.method} ${u.pathname}; try GET /, GET /ready, POST /drain` });
}

export async function startControlServer(listen: { host: string; port: number }, h: ControlHandlers): Promise<ControlServer> {
  const server: Server = createServer((req, res) => {
    handle(h, req, res).catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { message: (err as Error).message });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address === '0.0.0.0' ? '127.0.0.1' : a.address;
  return {
    url: `http://${host}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
