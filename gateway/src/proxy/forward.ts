/**
 * One proxied request: route → service → balancer pick → undici request,
 * with Kong's retry rules (§3.5) and error statuses (§3.6).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BalancerTarget, PickContext } from '../balancer/balancer.js';
import type { Service } from '../entities/types.js';
import type { Logger } from '../observability/log.js';
import type { RouteMatch } from '../router/router.js';
import type { Runtime, UpstreamEntry } from '../runtime/runtime.js';
import { GW_VERSION } from '../version.js';
import { dispatchTry } from './dispatch.js';
import { classify, failureCode, sendProxyError, type TryFailure } from './error-map.js';
import { downstreamHeaders, upstreamHeaders, upstreamHost } from './headers.js';
import type { OutcomeSink } from './outcome.js';
import type { Pools } from './pools.js';
import { upstreamPath } from './uri.js';

export const VIA = `1.1 gw/${GW_VERSION}`;
const ID_PREFIX = randomBytes(6).toString('hex');
let idCounter = 0;
export const nextRequestId = (): string => `${ID_PREFIX}${(++idCounter).toString(36)}`;

const NON_IDEMPOTENT = new Set(['POST', 'PATCH', 'LOCK']);
const NO_TRIED: ReadonlySet<string> = new Set();

export interface ForwardDeps {
  runtime: Runtime;
  pools: Pools;
  outcomes: OutcomeSink;
  logger: Logger;
  listenPort: number;
}

interface Destination {
  target: BalancerTarget | null;
  host: string;
  port: number;
  /** consistent hashing on a cookie the client lacked */
  setCookie?: string | undefined;
}

/** Bodies up to this size (known Content-Length) are read first so a retry can replay them; larger ones stream. */
const REPLAY_LIMIT = 64 * 1024;

async function readSmallBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

function hasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  return (cl !== undefined && cl !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** Resolve what a request routes to, or answer the error itself and return null. */
export function route(deps: ForwardDeps, req: IncomingMessage, res: ServerResponse | null, requestId: string): { match: RouteMatch; service: Service; path: string; query: string } | null {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q);
  const match = deps.runtime.snapshot.router.match({ method: req.method ?? 'GET', host: req.headers.host, path, headers: req.headers, port: deps.listenPort });
  if (!match) {
    if (res) sendProxyError(res, 'GW_ERR_PROXY_NO_ROUTE', requestId, req.headers.accept, { 'x-gw-request-id': requestId });
    return null;
  }
  if (!match.service) {
    if (res) sendProxyError(res, 'GW_ERR_PROXY_NO_SERVICE', requestId, req.headers.accept, { 'x-gw-request-id': requestId });
    return null;
  }
  return { match, service: match.service, path, query };
}

export function pickDestination(entry: UpstreamEntry | undefined, service: Service, ctx: PickContext): Destination | null {
  if (!entry) return { target: null, host: service.host, port: service.port };
  const r = entry.balancer.pick(ctx);
  return r ? { target: r.target, host: r.target.host, port: r.target.port, setCookie: r.setCookie } : null;
}

export async function forward(deps: ForwardDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now();
  const requestId = nextRequestId();
  const accept = req.headers.accept;
  const errHeaders = { 'x-gw-request-id': requestId, 'x-kong-request-id': requestId, via: VIA };
  const routed = route(deps, req, res, requestId);
  if (!routed) return;
  const { match, service, path, query } = routed;
  const snapshot = deps.runtime.snapshot;
  const entry = snapshot.upstreams.get(service.host);
  const method = req.method ?? 'GET';
  const body = hasBody(req);
  const cl = Number(req.headers['content-length']);
  const buffered = body && req.headers['transfer-encoding'] === undefined && cl <= REPLAY_LIMIT ? await readSmallBody(req) : null;
  const upPath = upstreamPath(path, match.matchedPath, match.route.strip_path, service.path) + query;
  const tried = new Set<string>();
  const ctx: PickContext = { clientIp: req.socket.remoteAddress ?? '', headers: req.headers, path, query: query.slice(1), uriCaptures: match.uriCaptures, tried: entry ? tried : NO_TRIED };
  const maxTries = service.retries + 1;
  let lastFailure: TryFailure | undefined;

  for (let attempt = 1; attempt <= maxTries; attempt++) {
    const dest = pickDestination(entry, service, ctx);
    if (!dest) {
      if (attempt === 1 || lastFailure === undefined) return sendProxyError(res, 'GW_ERR_PROXY_NO_PEER', requestId, accept, errHeaders);
      // every target was tried: report the last try's failure as Kong does
      return sendProxyError(res, failureCode(lastFailure), requestId, accept, errHeaders);
    }
    const host = upstreamHost(match.route.preserve_host, req.headers.host, dest.host, dest.port, entry?.upstream.host_header ?? null, service.protocol);
    const headers = upstreamHeaders(req, { host, clientIp: ctx.clientIp, listenPort: deps.listenPort, scheme: 'http', requestPath: path, prefix: match.route.strip_path ? match.matchedPath : null, via: VIA, requestId }, false);
    const pool = deps.pools.get(dest.host, dest.port, service.connect_timeout);
    const tryStart = performance.now();
    if (dest.target && entry) deps.runtime.requestStarted(entry, dest.target.id);
    let ended = false;
    const end = (ok: boolean) => {
      if (!ended && dest.target && entry) deps.runtime.requestEnded(entry, dest.target.id, performance.now() - tryStart, ok);
      ended = true;
    };
    try {
      await dispatchTry(pool, { method, path: upPath, headers, body: buffered ?? (body ? req : null), timeoutMs: service.read_timeout }, res, (status, upstreamHeaders_) => {
        const upstreamLatency = Math.round(performance.now() - tryStart);
        if (dest.target && entry) deps.outcomes.onOutcome(entry.upstream.name, dest.target.id, 'success', status);
        const out = downstreamHeaders(upstreamHeaders_, VIA);
        out['x-gw-request-id'] = requestId;
        out['x-kong-request-id'] = requestId;
        out['x-kong-upstream-latency'] = String(upstreamLatency);
        out['x-kong-proxy-latency'] = String(Math.round(tryStart - started));
        if (dest.setCookie) {
          const prev = out['set-cookie'];
          out['set-cookie'] = prev === undefined ? dest.setCookie : [...(Array.isArray(prev) ? prev : [prev]), dest.setCookie];
        }
        return out;
      });
      end(true);
      return;
    } catch (err) {
      end(false);
      const failure = classify(err);
      lastFailure = failure;
      if (dest.target && entry) deps.outcomes.onOutcome(entry.upstream.name, dest.target.id, failure === 'timeout' ? 'timeout' : 'tcp_failure');
      if (dest.target) tried.add(dest.target.id);
      const sent = failure !== 'connect' && failure !== 'dns';
      const replayable = !body || buffered !== null || !req.readableDidRead;
      const retry = attempt < maxTries && !res.headersSent && replayable && (!sent || !NON_IDEMPOTENT.has(method)) && !res.destroyed;
      deps.logger.debug({ requestId, attempt, target: `${dest.host}:${dest.port}`, failure, retry, err: (err as Error).message }, 'try failed');
      if (!retry) return sendProxyError(res, failureCode(failure), requestId, accept, errHeaders);
    }
  }
}
