/**
 * The proxy listener (node:http in, undici out).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../observability/log.js';
import type { Runtime, Snapshot } from '../runtime/runtime.js';
import type { Service } from '../entities/types.js';
import { forward, nextRequestId, type ForwardDeps } from './forward.js';
import {
  BodyReader,
  BodyTimeoutError,
  hasBody,
  DEFAULT_BODY_BUFFER_SIZE,
  DEFAULT_CLIENT_BODY_TIMEOUT_MS,
  type RequestBody,
} from './body.js';
import { rewriteUrl } from './uri.js';
import { lastOf } from './headers.js';
import { errorCatalogue } from '../errors.js';
import { noOutcomes, type OutcomeSink } from './outcome.js';
import { Pools } from './pools.js';
import { proxyUpgrade } from './websocket.js';
import { clientClosed } from './dispatch.js';
import { generatedHeaders, proxyErrorOf, rawProxyError, sendProxyError } from './error-map.js';
import { compileTrusted } from '../config/trusted-ips.js';
import type { ProxyStats, RequestMetrics } from '../observability/metrics.js';
import { createAccessLog, type AccessLog, type AccessLogTarget } from '../observability/access-log.js';
import { RequestRecord } from '../observability/request-record.js';

export type { OutcomeSink, OutcomeKind } from './outcome.js';

export interface ProxyServerOptions {
  runtime: Runtime;
  logger: Logger;
  /** passive health checks plug in here (default: no-op) */
  outcomes?: OutcomeSink;
  /** per-route request metrics (default: not recorded) */
  metrics?: RequestMetrics;
  /** one JSON line per request: `off` (default), `stdout` or a file path (observability/access-log.ts) */
  accessLog?: AccessLogTarget | undefined;
  /** Kong's trusted_ips: peers whose X-Forwarded-* headers are believed (default none) */
  trustedIps?: readonly string[];
  /** limits on what a client may send (defaults: {@link DEFAULT_PROXY_LIMITS}) */
  limits?: Partial<ProxyLimits>;
}

/** What one client may send; docs/proxy.md "Limits". */
export interface ProxyLimits {
  /** request bodies up to this many bytes are read whole before the first try; larger ones stream once this much arrived */
  bodyBufferSize: number;
  /** longest pause between two reads of a body being buffered (ms) → 408 */
  clientBodyTimeoutMs: number;
  /** more request header fields than this → 431 */
  maxRequestHeaders: number;
  /** the request line and headers must arrive within this (ms) → 408 (nginx's client_header_timeout; node's headersTimeout) */
  clientHeaderTimeoutMs: number;
}

export const DEFAULT_PROXY_LIMITS: Readonly<ProxyLimits> = Object.freeze({
  bodyBufferSize: DEFAULT_BODY_BUFFER_SIZE,
  clientBodyTimeoutMs: DEFAULT_CLIENT_BODY_TIMEOUT_MS,
  maxRequestHeaders: 100,
  clientHeaderTimeoutMs: 60_000,
});

/** Pipelined requests read ahead on one connection before the proxy stops reading it. */
const PIPELINE_QUEUE = 16;

/** Per client connection: one request served at a time, the others wait in order. */
interface Conn {
  busy: boolean;
  queue: (IncomingMessage | ServerResponse)[];
  paused: boolean;
}
const kConn = Symbol('gw.conn');
type ClientSocket = Socket & { [kConn]?: Conn; _paused?: boolean };

// reg-name (RFC 3986 unreserved characters, no empty label run) or an IP literal, then an optional port
const HOST_RE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_~-][A-Za-z0-9._~-]*)(?::\d{0,5})?$/;

/**
 * nginx's `large_client_header_buffers 4 8k` (Kong sets none: nginx's
 * default): a request line, or one header line, longer than a buffer is
 * refused (414, 400); the whole head may fill the four of them.
 */
export const HEADER_LINE_MAX = 8 * 1024;
export const HEADER_SECTION_MAX = 4 * HEADER_LINE_MAX;

type HeadRefusal =
  | 'GW_ERR_PROXY_BAD_HOST'
  | 'GW_ERR_PROXY_HEADERS_TOO_MANY'
  | 'GW_ERR_PROXY_URI_TOO_LONG'
  | 'GW_ERR_PROXY_HEADER_TOO_LARGE'
  | 'GW_ERR_PROXY_METHOD_NOT_ALLOWED';

/** Why the request head is refused (before routing), or null. */
function checkHead(req: IncomingMessage, maxHeaders: number): [HeadRefusal, string] | null {
  const raw = req.rawHeaders;
  if (raw.length > maxHeaders * 2) return ['GW_ERR_PROXY_HEADERS_TOO_MANY', String(maxHeaders)];
  // nginx answers TRACE 405 itself, whatever the routes (no cross-site tracing)
  if (req.method === 'TRACE') return ['GW_ERR_PROXY_METHOD_NOT_ALLOWED', ''];
  // "METHOD URL HTTP/1.x\r\n" in one 8 KiB buffer
  if (req.url!.length + req.method!.length + 12 > HEADER_LINE_MAX) return ['GW_ERR_PROXY_URI_TOO_LONG', ''];
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === 4 && (n === 'Host' || n === 'host' || n.toLowerCase() === 'host')) hosts++;
    // "name: value\r\n" in one 8 KiB buffer (nginx's 494, answered 400 by Kong's error handler)
    if (n.length + raw[i + 1]!.length + 4 > HEADER_LINE_MAX) return ['GW_ERR_PROXY_HEADER_TOO_LARGE', ''];
  }
  if (hosts > 1) return ['GW_ERR_PROXY_BAD_HOST', 'more than one'];
  const host = req.headers.host;
  if (host === undefined) return null; // HTTP/1.0 (node refuses HTTP/1.1 without Host)
  if (host === '') return ['GW_ERR_PROXY_BAD_HOST', 'empty'];
  if (!hostName(host)) return ['GW_ERR_PROXY_BAD_HOST', 'not a host name'];
  return null;
}
/** Whether a Host header is a host name (and port); the last one's answer is kept (nearly every request repeats it: no regex run). */
const hostName = lastOf((host: string): boolean => HOST_RE.test(host) && !host.includes('..'));

/** Header field lines in the raw head of a request that failed to parse (the request line not counted). */
function headerLines(raw: Buffer | undefined): number {
  if (!raw) return 0;
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  return (end === -1 ? text : text.slice(0, end)).split('\r\n').length - 1;
}

/** nginx's request_length: the request line, the header lines and the body. */
function requestLength(req: IncomingMessage, body: RequestBody | undefined): number {
  const raw = req.rawHeaders;
  // "METHOD URL HTTP/1.1\r\n" … "name: value\r\n" … "\r\n"
  let n = (req.method?.length ?? 0) + (req.url?.length ?? 0) + 14;
  for (let i = 0; i < raw.length; i += 2) n += raw[i]!.length + raw[i + 1]!.length + 4;
  if (body instanceof Buffer) return n + body.length;
  const cl = req.headers['content-length'];
  return cl === undefined ? n : n + (Number(cl) || 0);
}

/** The status and Kong's message (kong/error_handlers.lua BODIES) a parser/timeout error on a client connection is answered with. */
function clientErrorAnswer(code: string | undefined): [number, string] {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'Request timeout'];
    case 'HPE_HEADER_OVERFLOW':
      // the head does not fit nginx's four 8 KiB buffers: nginx's 494, which Kong answers 400
      return [400, errorCatalogue.GW_ERR_PROXY_HEADER_TOO_LARGE.message];
    default:
      return [400, 'Bad request'];
  }
}

export interface ProxyServer {
  readonly server: Server;
  /** hedging counters (metrics) */
  readonly stats: ProxyStats;
  /** Listen; resolves with the bound port (port 0 = random). */
  listen(host: string, port: number): Promise<{ port: number }>;
  /** Stop accepting, let in-flight requests finish up to `graceMs`, then close pools. Idempotent. */
  close(graceMs?: number): Promise<void>;
}

export function createProxyServer(opts: ProxyServerOptions): ProxyServer {
  const pools = new Pools();
  const logger = opts.logger.child({ component: 'proxy' });
  const deps: ForwardDeps = {
    runtime: opts.runtime,
    pools,
    outcomes: opts.outcomes ?? noOutcomes,
    stats: { hedged: 0, hedgeWins: 0 },
    logger,
    listenPort: 0,
    trusted: compileTrusted(opts.trustedIps ?? []),
    done: (req, res, rec, body, err) => (err === undefined ? finish(req, res, rec, body) : failed(req, res, rec, err)),
  };
  const metrics = opts.metrics;
  const accessLog: AccessLog | undefined = createAccessLog(opts.accessLog ?? 'off', { warn: (msg, err) => logger.warn({ err }, msg) });
  const observed = metrics !== undefined || accessLog !== undefined;
  const limits: ProxyLimits = { ...DEFAULT_PROXY_LIMITS, ...opts.limits };
  const bodies = new BodyReader(limits.bodyBufferSize, limits.clientBodyTimeoutMs);
  let inFlight = 0;
  let drained: (() => void) | undefined;

  /** Refuse a request before routing: the answer, then the connection is closed. */
  const refuse = (
    req: IncomingMessage,
    res: ServerResponse,
    rec: RequestRecord,
    code: Parameters<typeof sendProxyError>[1],
    arg: string,
  ): undefined => {
    res.shouldKeepAlive = false;
    sendProxyError(res, code, rec.id, req.headers.accept, { ...generatedHeaders(rec.id, rec.started), connection: 'close' }, [arg]);
    return undefined;
  };

  /**
   * Serve one request: head checks, path normalisation, body, then the
   * tries. False: answered at once (refused, no route), the caller
   * finishes it; true: it goes on (the body being read, the tries running)
   * and its end calls {@link finish}. A request without a body goes straight
   * to the tries (no async step of its own).
   */
  const serve = (req: IncomingMessage, res: ServerResponse, rec: RequestRecord): boolean => {
    const bad = checkHead(req, limits.maxRequestHeaders);
    if (bad) {
      refuse(req, res, rec, bad[0], bad[1]);
      return false;
    }
    rewriteUrl(req);
    if (!hasBody(req)) return forward(deps, req, res, null, rec);
    serveBody(req, res, rec).catch((err: unknown) => failed(req, res, rec, err));
    return true;
  };

  /** {@link serve} with a request body: read it (buffered or streamed), then the tries. */
  const serveBody = async (req: IncomingMessage, res: ServerResponse, rec: RequestRecord): Promise<void> => {
    let body;
    try {
      body = await bodies.read(req);
    } catch (err) {
      if (err instanceof BodyTimeoutError) refuse(req, res, rec, 'GW_ERR_PROXY_BODY_TIMEOUT', String(err.ms));
      else res.destroy(); // the client broke its own request
      return finish(req, res, rec, undefined);
    }
    if (res.destroyed || !forward(deps, req, res, body, rec)) finish(req, res, rec, body);
  };

  /** The one "request finished" point: complete the record, hand it to the metrics and the access log. */
  const finish = (req: IncomingMessage, res: ServerResponse, rec: RequestRecord, body: RequestBody | undefined): void => {
    if (!observed) return;
    rec.totalMs = performance.now() - rec.started;
    // nothing was answered: the client went away first (nginx logs 499)
    rec.status = res.headersSent ? res.statusCode : 499;
    rec.error = proxyErrorOf(res);
    if (!rec.answered) rec.gatewayMs = rec.totalMs;
    rec.bytesIn = requestLength(req, body);
    rec.bytesOut = ((res.socket ?? req.socket).bytesWritten ?? 0) - rec.bytesOutBefore;
    try {
      metrics?.finished(rec);
      accessLog?.finished(rec, req);
    } catch (err) {
      logger.error({ err }, 'request observer failed');
    }
  };

  /**
   * A response closed (sent, or the client left): the one `close` listener
   * of every request, shared (`this` is the response; no closure and no
   * `once` wrapper per request). A response closes once.
   */
  function closed(this: ServerResponse): void {
    const req = this.req;
    const socket = req.socket as ClientSocket;
    // tries still running for a client that left are cancelled (dispatch.ts)
    clientClosed(this);
    // the response is out but the body was not read to its end (e.g. an error before any try): nothing more can be parsed
    if (!req.complete && !socket.destroyed) socket.end();
    next(socket[kConn]!, socket);
    if (--inFlight === 0) drained?.();
  }

  const start = (conn: Conn, socket: ClientSocket, req: IncomingMessage, res: ServerResponse): void => {
    conn.busy = true;
    inFlight++;
    res.on('close', closed);
    const rec = new RequestRecord(nextRequestId(), performance.now(), observed ? (socket.bytesWritten ?? 0) : 0);
    let goesOn;
    try {
      goesOn = serve(req, res, rec);
    } catch (err) {
      return failed(req, res, rec, err);
    }
    if (!goesOn) finish(req, res, rec, undefined);
  };

  /** Something threw while serving a request: a 500 (or, with a response under way, the connection closed), then its end. */
  const failed = (req: IncomingMessage, res: ServerResponse, rec: RequestRecord, err: unknown): void => {
    logger.error({ err }, 'proxy request failed');
    // as Kong's 500 for an error in the access phase (14-server_tokens_spec: X-Kong-Response-Latency, no proxy latencies)
    sendProxyError(res, 'GW_ERR_PROXY_INTERNAL', rec.id, req.headers.accept, generatedHeaders(rec.id, rec.started));
    finish(req, res, rec, undefined);
  };

  /** The previous response is done: serve the next pipelined request, if the client is still there. */
  const next = (conn: Conn, socket: ClientSocket): void => {
    conn.busy = false;
    if (socket.destroyed || socket.writableEnded) {
      conn.queue.length = 0;
      return;
    }
    if (conn.queue.length > 0) {
      const req = conn.queue.shift() as IncomingMessage;
      const res = conn.queue.shift() as ServerResponse;
      start(conn, socket, req, res);
    }
    // read on once the backlog is short again (unless node paused the socket for its own output backpressure)
    if (conn.paused && conn.queue.length < PIPELINE_QUEUE && !socket._paused) {
      conn.paused = false;
      socket.resume();
    }
  };

  // node checks header/request timeouts on an interval (30 s by default): often enough for the configured timeout
  const checkEvery = Math.max(50, Math.min(30_000, Math.floor(limits.clientHeaderTimeoutMs / 4)));
  const server = createServer(
    {
      keepAliveTimeout: 60_000,
      headersTimeout: limits.clientHeaderTimeoutMs,
      connectionsCheckingInterval: checkEvery,
      // the whole head (node's default is 16 KiB); lines are held to nginx's 8 KiB by checkHead()
      maxHeaderSize: HEADER_SECTION_MAX,
    },
    (req, res) => {
      const socket = req.socket as ClientSocket;
      let conn = socket[kConn];
      if (conn === undefined) socket[kConn] = conn = { busy: false, queue: [], paused: false };
      if (!conn.busy) return start(conn, socket, req, res);
      // pipelined behind a request still being served: wait (RFC 9112 §9.3.2, in order, one at a time)
      conn.queue.push(req, res);
      if (conn.queue.length >= PIPELINE_QUEUE * 2 && !conn.paused) {
        conn.paused = true;
        socket.pause();
      }
    },
  );
  // one more than the limit, so that "too many" can be told from "exactly the limit" (node drops the rest silently)
  server.maxHeadersCount = limits.maxRequestHeaders + 1;
  server.on('upgrade', (req, socket, head) => {
    const started = performance.now();
    const bad = checkHead(req, limits.maxRequestHeaders);
    if (bad) {
      const { status, message } = errorCatalogue[bad[0]];
      const id = nextRequestId();
      socket.end(rawProxyError(status, message.replace('%s', bad[1]), id, generatedHeaders(id, started)));
      return;
    }
    rewriteUrl(req);
    proxyUpgrade(deps, req, socket, head, started);
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const s = socket as ClientSocket & { _httpMessage?: { headersSent?: boolean } };
    // a parse or timeout error: answer it unless a response is already on the wire (then just close)
    if (!s.writable || s._httpMessage?.headersSent) {
      s.destroy();
      return;
    }
    // Node 22+ reports more than maxHeadersCount fields as a header overflow (20 dropped them): say which limit it was
    const id = nextRequestId();
    if (err.code === 'HPE_HEADER_OVERFLOW' && headerLines((err as { rawPacket?: Buffer }).rawPacket) > limits.maxRequestHeaders) {
      const message = errorCatalogue.GW_ERR_PROXY_HEADERS_TOO_MANY.message.replace('%s', String(limits.maxRequestHeaders));
      s.end(rawProxyError(431, message, id, generatedHeaders(id, performance.now())));
      return;
    }
    const [status, message] = clientErrorAnswer(err.code);
    // a parse error is answered as the bytes that broke it arrive; a timeout after at least the header timeout
    const latency = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? limits.clientHeaderTimeoutMs : 0;
    s.end(rawProxyError(status, message, id, generatedHeaders(id, performance.now() - latency)));
  });
  // targets that left every upstream: close their pools
  let last: Snapshot | undefined;
  const unsubscribe = opts.runtime.onSnapshot((snap) => {
    const before = last;
    last = snap;
    // only targets added or reweighted in place (no address left, same services): nothing to close, and no O(targets) scan
    if (before && noAddressLeft(before, snap)) return;
    const keep = new Set<string>();
    for (const e of snap.upstreams.values()) for (const t of e.balancer.targets) keep.add(`${t.host}:${t.port}`);
    for (const s of snap.servicesById.values()) keep.add(`${s.host}:${s.port}`);
    pools.prune(keep);
  });
  let closing: Promise<void> | undefined;
  return {
    server,
    stats: deps.stats,
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          deps.listenPort = (server.address() as { port: number }).port;
          resolve({ port: deps.listenPort });
        });
      });
    },
    close(graceMs = 10_000) {
      return (closing ??= (async () => {
        unsubscribe();
        bodies.close();
        await new Promise<void>((resolve) => {
          if (!server.listening) return resolve();
          server.close(() => resolve());
          server.closeIdleConnections();
          const wait = inFlight === 0 ? Promise.resolve() : new Promise<void>((r) => (drained = r));
          const timer = setTimeout(() => server.closeAllConnections(), graceMs);
          void wait.then(() => {
            clearTimeout(timer);
            server.closeAllConnections();
          });
        });
        await pools.close();
        await accessLog?.close();
      })());
    },
  };
}

/**
 * Whether `next` uses every address `prev` did: every upstream of `prev`
 * is still there with the same balancer or one derived in place from it
 * with no target address leaving (upstreams that are new only add
 * addresses), and no service address left. O(upstreams), plus O(services)
 * when the services changed.
 */
export function noAddressLeft(prev: Snapshot, next: Snapshot): boolean {
  if (!noServiceAddressLeft(prev.servicesById, next.servicesById)) return false;
  for (const [name, p] of prev.upstreams) {
    const e = next.upstreams.get(name);
    if (!e) return false;
    if (e.balancer === p.balancer) continue;
    const d = e.balancer.derivation;
    if (d?.from !== p.balancer || d.left.length > 0) return false;
  }
  return true;
}

/** Every service address of `prev` is still some service's in `next` (the same map: trivially). */
function noServiceAddressLeft(prev: ReadonlyMap<string, Service>, next: ReadonlyMap<string, Service>): boolean {
  if (prev === next) return true;
  const now = new Set<string>();
  for (const s of next.values()) now.add(`${s.host}:${s.port}`);
  for (const s of prev.values()) if (!now.has(`${s.host}:${s.port}`)) return false;
  return true;
}
