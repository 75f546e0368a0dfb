/**
 * One proxied request: route → service → balancer pick → undici request,
 * with Kong's retry rules (§3.5) and error statuses (§3.6).
 */
import { randomUUID } from 'node:crypto';
import type { BlockList } from 'node:net';
import { isTrusted } from '../config/trusted-ips.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BalancerTarget, PickContext } from '../balancer/balancer.js';
import type { Service } from '../entities/types.js';
import type { Logger } from '../observability/log.js';
import type { RouteMatch } from '../router/router.js';
import type { Runtime, UpstreamEntry } from '../runtime/runtime.js';
import type { ProxyStats } from '../observability/metrics.js';
import type { RequestRecord } from '../observability/request-record.js';
import { ClientClosedError, dispatchTry, HedgeLostError, type Race, type Settled, type TryHandle } from './dispatch.js';
import { classify, failureCode, sendProxyError, SERVER, type TryFailure } from './error-map.js';
export { SERVER } from './error-map.js';
import { downstreamHeaders, upstreamHeaders, upstreamHost } from './headers.js';
import type { OutcomeSink } from './outcome.js';
import { tlsFor, type Pools } from './pools.js';
import { rawRequestPath, upstreamPath } from './uri.js';
import { watchWrites } from './write-timeout.js';
import { StreamedBody, type RequestBody } from './body.js';

/** `Via` on responses, as Kong: the upstream HTTP version (1.1) and the server token */
export const VIA = `1.1 ${SERVER}`;
const VIA_IN_10 = `1.0 ${SERVER}`;
/** `Via` on the upstream request, as Kong (kong/runloop/handler.lua): the client's HTTP version and the server token */
export const inboundVia = (httpVersion: string): string =>
  httpVersion === '1.1' ? VIA : httpVersion === '1.0' ? VIA_IN_10 : `${httpVersion} ${SERVER}`;
/** Unguessable request ids (node serves randomUUID from a pooled entropy buffer: ~0.1 µs each). */
export const nextRequestId = (): string => randomUUID();

const NON_IDEMPOTENT = new Set(['POST', 'PATCH', 'LOCK']);
const NO_TRIED: ReadonlySet<string> = new Set();

export interface ForwardDeps {
  runtime: Runtime;
  pools: Pools;
  outcomes: OutcomeSink;
  stats: ProxyStats;
  logger: Logger;
  listenPort: number;
  /** trusted_ips (null: nobody's X-Forwarded-* headers are believed) */
  trusted: BlockList | null;
}

interface Destination {
  target: BalancerTarget | null;
  host: string;
  port: number;
  /** consistent hashing on a cookie the client lacked */
  setCookie?: string | undefined;
}

/** Resolve what a request routes to, or answer the error itself and return null. */
export interface Routed {
  match: RouteMatch;
  service: Service;
  path: string;
  query: string;
  /** the peer is in trusted_ips */
  trusted: boolean;
  /** the client's scheme: ours, or a trusted load balancer's X-Forwarded-Proto */
  scheme: 'http' | 'https';
}

export function route(deps: ForwardDeps, req: IncomingMessage, res: ServerResponse | null, requestId: string): Routed | null {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q);
  const match = deps.runtime.snapshot.router.match({
    method: req.method ?? 'GET',
    host: req.headers.host,
    path,
    headers: req.headers,
    port: deps.listenPort,
  });
  if (!match) {
    if (res) sendProxyError(res, 'GW_ERR_PROXY_NO_ROUTE', requestId, req.headers.accept, { 'x-gw-request-id': requestId });
    return null;
  }
  const trusted = deps.trusted !== null && isTrusted(deps.trusted, req.socket.remoteAddress ?? '');
  const xfp = trusted ? req.headers['x-forwarded-proto'] : undefined;
  const scheme = typeof xfp === 'string' && xfp.trim().toLowerCase() === 'https' ? 'https' : 'http';
  if (scheme === 'http' && !match.route.protocols.includes('http')) {
    // an https-only route reached over plain HTTP (Kong: 426, or the configured redirect)
    const code = match.route.https_redirect_status_code;
    if (res && code === 426)
      sendProxyError(res, 'GW_ERR_PROXY_HTTPS_REQUIRED', requestId, req.headers.accept, { 'x-gw-request-id': requestId });
    else if (res) {
      res.writeHead(code, {
        location: `https://${(req.headers.host ?? '').replace(/:\d+$/, '')}${url}`,
        'content-length': '0',
        server: SERVER,
        'x-gw-request-id': requestId,
      });
      res.end();
    }
    return null;
  }
  if (!match.service) {
    if (res) sendProxyError(res, 'GW_ERR_PROXY_NO_SERVICE', requestId, req.headers.accept, { 'x-gw-request-id': requestId });
    return null;
  }
  return { match, service: match.service, path, query, trusted, scheme };
}

export function pickDestination(entry: UpstreamEntry | undefined, service: Service, ctx: PickContext): Destination | null {
  if (!entry) return { target: null, host: service.host, port: service.port };
  const r = entry.balancer.pick(ctx);
  return r ? { target: r.target, host: r.target.host, port: r.target.port, setCookie: r.setCookie } : null;
}

/** Methods safe to send twice: hedging only ever duplicates these, and only without a body. */
const HEDGEABLE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The first try to succeed, else (all failed) the last failure. */
function firstSuccess(tries: readonly Promise<Settled>[]): Promise<Settled> {
  return new Promise((resolve) => {
    let pending = tries.length;
    for (const t of tries) {
      void t.then((r) => {
        if (r.ok) resolve(r);
        else if (--pending === 0) resolve(r);
      });
    }
  });
}

/**
 * `reqBody`: the request body as read by body.ts (null: none; a Buffer: read
 * whole; else streamed). `rec` is filled as the request goes (route, tries,
 * latencies); the caller hands it to the observers once the response is done.
 */
export function forward(
  deps: ForwardDeps,
  req: IncomingMessage,
  res: ServerResponse,
  reqBody: RequestBody,
  rec: RequestRecord,
): Promise<void> | undefined {
  const requestId = rec.id;
  // built only when the gateway answers an error itself (not per request)
  const errHeaders = (): Record<string, string> => ({ 'x-gw-request-id': requestId, 'x-kong-request-id': requestId, via: VIA });
  const routed = route(deps, req, res, requestId);
  if (!routed) return;
  rec.route = routed.match.route;
  rec.service = routed.service;
  const entry = deps.runtime.snapshot.upstreams.get(routed.service.host);
  if (entry) {
    rec.upstream = entry.upstream.name;
    const retryAfter = deps.outcomes.admit(entry.upstream.id);
    if (retryAfter > 0) {
      sendProxyError(
        res,
        'GW_ERR_PROXY_UPSTREAM_LIMIT',
        requestId,
        req.headers.accept,
        { ...errHeaders(), 'retry-after': String(retryAfter) },
        [entry.upstream.name],
      );
      return;
    }
  }
  return forwardTries(deps, req, res, reqBody, routed, entry, rec, errHeaders);
}

/**
 * The try loop (retries and hedging). An upstream's request was admitted
 * (upstream limits): told when it is done, and whether it failed (an error
 * answer or a 5xx).
 */
async function forwardTries(
  deps: ForwardDeps,
  req: IncomingMessage,
  res: ServerResponse,
  reqBody: RequestBody,
  routed: Routed,
  entry: UpstreamEntry | undefined,
  rec: RequestRecord,
  errHeaders: () => Record<string, string>,
): Promise<void> {
  // the upstream limits are told once the request is done, and whether it failed (an error answer or a 5xx)
  let failed = true;
  try {
    const requestId = rec.id;
    const started = rec.started;
    const { match, service, path, query } = routed;
    const accept = req.headers.accept;
    const outcomes = deps.outcomes;
    const method = req.method ?? 'GET';
    const body = reqBody !== null;
    const buffered = reqBody instanceof StreamedBody ? null : reqBody;
    const streamed = reqBody instanceof StreamedBody ? reqBody : null;
    const upPath = upstreamPath(path, match.matchedPath, match.route.strip_path, service.path) + query;
    // the targets tried and failed: a Set only once a try failed (most requests need none)
    const ctx: { -readonly [K in keyof PickContext]: PickContext[K] } = {
      clientIp: req.socket.remoteAddress ?? '',
      headers: req.headers,
      path,
      query: query.slice(1),
      uriCaptures: match.uriCaptures,
      tried: NO_TRIED,
    };
    const markTried = (id: string): void => {
      if (ctx.tried === NO_TRIED) ctx.tried = new Set([id]);
      else (ctx.tried as Set<string>).add(id);
    };
    const maxTries = service.retries + 1;
    const hedgeable = entry !== undefined && !body && HEDGEABLE.has(method);
    let lastFailure: TryFailure | undefined;

    /** Send one try to `dest`, with all its accounting (in-flight counts, passive outcome). */
    const launch = (dest: Destination, race: Race | undefined): { handle: TryHandle; started: number; settled: Promise<Settled> } => {
      // a hostname target's address is connected to by IP; Host and SNI keep the target's name (Kong)
      const name = dest.target?.name ?? dest.host;
      const host = upstreamHost(
        match.route.preserve_host,
        req.headers.host,
        name,
        dest.port,
        entry?.upstream.host_header ?? null,
        service.protocol,
      );
      const headers = upstreamHeaders(
        req,
        {
          host,
          clientIp: ctx.clientIp,
          listenPort: deps.listenPort,
          scheme: routed.scheme,
          requestPath: rawRequestPath(req, path),
          prefix: match.route.strip_path ? match.matchedPath : null,
          via: inboundVia(req.httpVersion),
          requestId,
          trusted: routed.trusted,
        },
        false,
      );
      const pool = deps.pools.get(
        dest.host,
        dest.port,
        service.connect_timeout,
        tlsFor(service.protocol, name, entry?.upstream.host_header ?? null, service.tls_verify),
      );
      const tryStart = performance.now();
      const target = entry ? dest.target : null;
      rec.addTarget(target ? target.address : `${dest.host}:${dest.port}`);
      // one report per try: started (in flight, trial slot) … verdict … ended
      const token = target && entry ? outcomes.tryStarted(entry.upstream.id, target.id) : 0;
      // a streamed body is watched for write_timeout; a buffered one is written at once
      const watched = body && buffered === null ? watchWrites(req, service.write_timeout, (err) => handle.abort(err)) : undefined;
      const handle = dispatchTry(
        pool,
        { method, path: upPath, headers, body: buffered ?? streamed?.take() ?? null, timeoutMs: service.read_timeout },
        res,
        (status, upstreamHeaders_) => {
          const upstreamLatency = performance.now() - tryStart;
          // only the try that owns the response gets here (a hedge's loser is cancelled before)
          rec.answered = true;
          rec.upstreamMs = upstreamLatency;
          rec.gatewayMs = tryStart - started;
          if (target && entry) outcomes.onOutcome(entry.upstream.id, target.id, token, 'success', status, upstreamLatency);
          return downstreamHeaders(upstreamHeaders_, {
            via: VIA,
            server: SERVER,
            requestId,
            upstreamLatency,
            proxyLatency: tryStart - started,
            setCookie: dest.setCookie,
          });
        },
        race,
        // the try's accounting, once, when it is over
        (r) => {
          watched?.stop();
          if (!target || !entry) return;
          // a lost hedge race is accounted below; a client that went away is not the target's failure
          if (!r.ok && !(r.err instanceof HedgeLostError) && !clientGone(r.err, res)) {
            const f = classify(r.err);
            outcomes.onOutcome(entry.upstream.id, target.id, token, f === 'timeout' ? 'timeout' : 'tcp_failure');
          }
          outcomes.tryEnded(entry.upstream.id, target.id, token, performance.now() - tryStart, r.ok);
        },
      );
      return { handle, started: tryStart, settled: handle.promise };
    };

    for (let attempt = 1; attempt <= maxTries; attempt++) {
      const dest = pickDestination(entry, service, ctx);
      if (!dest) {
        if (attempt === 1 || lastFailure === undefined) sendProxyError(res, 'GW_ERR_PROXY_NO_PEER', requestId, accept, errHeaders());
        // every target was tried: report the last try's failure as Kong does
        else sendProxyError(res, failureCode(lastFailure), requestId, accept, errHeaders());
        return;
      }
      const hedgeMs =
        hedgeable && entry && dest.target && entry.balancer.availableCount() > 1
          ? deps.outcomes.hedgeDelay(entry.upstream.id, service.read_timeout)
          : undefined;
      const race: Race | undefined = hedgeMs === undefined ? undefined : { winner: null, handles: [] };
      const first = launch(dest, race);
      let result: Settled;
      if (hedgeMs === undefined || !race) {
        result = await first.settled;
      } else {
        let timer: NodeJS.Timeout | undefined;
        const fired = new Promise<'hedge'>((resolve) => (timer = setTimeout(resolve, hedgeMs, 'hedge')));
        const r = await Promise.race([first.settled, fired]);
        clearTimeout(timer);
        if (r !== 'hedge') result = r;
        else if (first.handle.answered || res.headersSent || res.destroyed) result = await first.settled;
        else {
          // still no answer after the adaptive deadline: ask another target too, first answer wins
          markTried(dest.target!.id);
          const other = pickDestination(entry, service, ctx);
          if (!other || !other.target) result = await first.settled;
          else {
            const second = launch(other, race);
            deps.stats.hedged++;
            result = await firstSuccess([first.settled, second.settled]);
            if (race.winner === second.handle && entry) {
              deps.stats.hedgeWins++;
              // the first target never answered within the deadline: a timeout for passive checks
              outcomes.onOutcome(entry.upstream.id, dest.target!.id, 0, 'timeout', undefined, performance.now() - first.started);
            }
            if (!result.ok && dest.target) markTried(other.target.id);
          }
        }
      }
      if (result.ok) {
        failed = result.status >= 500;
        return;
      }
      const err = result.err;
      const failure = classify(err);
      lastFailure = failure;
      if (dest.target) markTried(dest.target.id);
      const sent = failure !== 'connect' && failure !== 'dns';
      const replayable = streamed === null || streamed.replayable;
      const retry = attempt < maxTries && !res.headersSent && replayable && (!sent || !NON_IDEMPOTENT.has(method)) && !res.destroyed;
      deps.logger.debug(
        { requestId, attempt, target: `${dest.host}:${dest.port}`, failure, retry, err: (err as Error).message },
        'try failed',
      );
      if (!retry) {
        sendProxyError(res, failureCode(failure), requestId, accept, errHeaders());
        return;
      }
    }
  } finally {
    if (entry) deps.outcomes.requestDone(entry.upstream.id, failed);
  }
}

/**
 * The try failed because the client left (its connection closed before the
 * response was complete: the try was aborted, or its request body broke):
 * Kong logs a 499 and does not count it against the target.
 */
function clientGone(err: unknown, res: ServerResponse): boolean {
  return err instanceof ClientClosedError || (res.destroyed && !res.writableFinished);
}
