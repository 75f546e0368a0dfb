/**
 * One proxied request: route → service → balancer pick → undici request,
 * with Kong's retry rules (§3.5) and error statuses (§3.6).
 */
import { randomFillSync } from 'node:crypto';
import type { BlockList } from 'node:net';
import { isTrusted } from '../config/trusted-ips.js';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { BalancerTarget, PickContext } from '../balancer/balancer.js';
import type { Service } from '../entities/types.js';
import type { Logger } from '../observability/log.js';
import type { RouteMatch } from '../router/router.js';
import type { Runtime, UpstreamEntry } from '../runtime/runtime.js';
import type { ProxyStats } from '../observability/metrics.js';
import type { RequestRecord } from '../observability/request-record.js';
import { ClientClosedError, dispatchTry, HedgeLostError, type Race, type Settled, type TryHandle, type TryOwner } from './dispatch.js';
import { classify, failureCode, generatedHeaders, proxiedErrorHeaders, sendProxyError, SERVER, VIA, type TryFailure } from './error-map.js';
export { SERVER, VIA } from './error-map.js';
import { downstreamHeaders, hostWithoutPort, realIp, upstreamHeaders, upstreamHost } from './headers.js';
import type { OutcomeSink } from './outcome.js';
import { tlsFor, type Pools } from './pools.js';
import { rawRequestPath, upstreamPath } from './uri.js';
import { watchWrites, type WriteWatch } from './write-timeout.js';
import { StreamedBody, type RequestBody } from './body.js';

const VIA_IN_10 = `1.0 ${SERVER}`;
/** `Via` on the upstream request, as Kong (kong/runloop/handler.lua): the client's HTTP version and the server token */
export const inboundVia = (httpVersion: string): string =>
  httpVersion === '1.1' ? VIA : httpVersion === '1.0' ? VIA_IN_10 : `${httpVersion} ${SERVER}`;
/** Random bytes for 256 request ids, refilled from the CSPRNG when used up (as node's randomUUID pools its entropy). */
const ID_POOL = Buffer.alloc(16 * 256);
let idOffset = ID_POOL.length;
/** The 32 characters of one id, written in place and read as one latin1 string. */
const ID_TEXT = Buffer.alloc(32);
/** byte → its two lower-case hex digits (first digit in the low byte) */
const HEX = new Uint16Array(256).map((_, i) => {
  const h = i.toString(16).padStart(2, '0');
  return h.charCodeAt(0) | (h.charCodeAt(1) << 8);
});

/**
 * Unguessable request ids in Kong's form: nginx's `$request_id`, 16 random
 * bytes as 32 lower-case hex digits (Kong's request-id spec asserts
 * `^[0-9a-f]+$`), from a pooled entropy buffer (as node's randomUUID pools
 * its entropy), built as one string.
 */
export function nextRequestId(): string {
  if (idOffset === ID_POOL.length) {
    randomFillSync(ID_POOL);
    idOffset = 0;
  }
  const b = ID_POOL;
  const o = idOffset;
  idOffset += 16;
  for (let i = 0, j = 0; i < 16; i++) {
    const h = HEX[b[o + i]!]!;
    ID_TEXT[j++] = h & 0xff;
    ID_TEXT[j++] = h >> 8;
  }
  return ID_TEXT.toString('latin1', 0, 32);
}

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
  /** A request whose tries {@link forward} started is over; `err`: the exception that ended it (then nothing was answered yet, maybe). */
  done(req: IncomingMessage, res: ServerResponse, rec: RequestRecord, body: RequestBody, err: unknown): void;
}

/** What the headers of an answer need of the request: its id and when it started (`performance.now()`). */
export type RequestStart = Pick<RequestRecord, 'id' | 'started'>;

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
  /** the connection's peer */
  peerIp: string;
  /** the client's address: the peer's, or a trusted peer's X-Real-IP (nginx's realip, as Kong) */
  clientIp: string;
  /** the client's scheme: ours, or a trusted load balancer's X-Forwarded-Proto */
  scheme: 'http' | 'https';
}

/**
 * `rec`: the request's id and start (`performance.now()`), for the headers
 * of an answer made here. `res` null: nothing is answered (an upgrade
 * request, websocket.ts answers on its socket).
 */
export function route(deps: ForwardDeps, req: IncomingMessage, res: ServerResponse | null, rec: RequestStart): Routed | null {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q);
  const match = deps.runtime.snapshot.router.match({
    method: req.method ?? 'GET',
    host: req.headers.host,
    path,
    headers: req.headers,
    distinct: req,
    port: deps.listenPort,
  });
  if (!match) {
    if (res) sendProxyError(res, 'GW_ERR_PROXY_NO_ROUTE', rec.id, req.headers.accept, generatedHeaders(rec.id, rec.started));
    return null;
  }
  const peerIp = req.socket.remoteAddress ?? '';
  const trusted = deps.trusted !== null && isTrusted(deps.trusted, peerIp);
  const clientIp = trusted ? realIp(req, peerIp) : peerIp;
  const xfp = trusted ? req.headers['x-forwarded-proto'] : undefined;
  const scheme = typeof xfp === 'string' && xfp.trim().toLowerCase() === 'https' ? 'https' : 'http';
  if (scheme === 'http' && !match.route.protocols.includes('http')) {
    // an https-only route reached over plain HTTP (Kong: 426, or the configured redirect)
    const code = match.route.https_redirect_status_code;
    if (res && code === 426)
      // kong/runloop/handler.lua: kong.response.error(426, …, { Connection = "Upgrade", Upgrade = "TLS/1.2, HTTP/1.1" });
      // nginx writes its own Connection line before Lua's, so there are two
      sendProxyError(res, 'GW_ERR_PROXY_HTTPS_REQUIRED', rec.id, req.headers.accept, {
        connection: [res.shouldKeepAlive ? 'keep-alive' : 'close', 'Upgrade'],
        upgrade: 'TLS/1.2, HTTP/1.1',
        ...generatedHeaders(rec.id, rec.started),
      });
    else if (res) {
      res.writeHead(code, {
        location: `https://${hostWithoutPort(req.headers.host ?? '')}${url}`,
        'content-length': '0',
        server: SERVER,
        ...generatedHeaders(rec.id, rec.started),
      });
      res.end();
    }
    return null;
  }
  if (!match.service) {
    if (res) sendProxyError(res, 'GW_ERR_PROXY_NO_SERVICE', rec.id, req.headers.accept, generatedHeaders(rec.id, rec.started));
    return null;
  }
  return { match, service: match.service, path, query, trusted, scheme, peerIp, clientIp };
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
 * latencies). False: answered at once (no route, upstream limit); true: the
 * tries run, and `deps.done` is called once they are over (the caller then
 * hands the record to the observers).
 */
export function forward(deps: ForwardDeps, req: IncomingMessage, res: ServerResponse, reqBody: RequestBody, rec: RequestRecord): boolean {
  const routed = route(deps, req, res, rec);
  if (!routed) return false;
  rec.route = routed.match.route;
  rec.service = routed.service;
  const entry = deps.runtime.snapshot.upstreams.get(routed.service.host);
  if (entry) {
    rec.upstream = entry.upstream.name;
    const retryAfter = deps.outcomes.admit(entry.upstream.id);
    if (retryAfter > 0) {
      // refused before any pick: not proxied, as a Kong plugin's short-circuit in the access phase
      sendProxyError(
        res,
        'GW_ERR_PROXY_UPSTREAM_LIMIT',
        rec.id,
        req.headers.accept,
        { ...generatedHeaders(rec.id, rec.started), 'retry-after': String(retryAfter) },
        [entry.upstream.name],
      );
      return false;
    }
  }
  new Exchange(deps, req, res, reqBody, routed, entry, rec).run();
  return true;
}

/**
 * One request's tries (retries and hedging): the state the try loop and
 * every try's callbacks share, in one object (not a closure context per
 * request and two closures per try; the hot path's allocations).
 */
class Exchange {
  readonly #deps: ForwardDeps;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #rec: RequestRecord;
  readonly #routed: Routed;
  readonly #entry: UpstreamEntry | undefined;
  readonly #buffered: Buffer | null;
  readonly #streamed: StreamedBody | null;
  readonly #upPath: string;
  /** the hedged try in progress, if any (its first try's end resolves it) */
  hedge: Hedge | undefined;
  /** the request body as the server read it (handed back with `deps.done`) */
  readonly #body: RequestBody;
  /** tries started so far */
  #attempt = 0;
  #lastFailure: TryFailure | undefined;
  /** `deps.done` was called */
  #over = false;
  /** the balancer's view of the request; `tried` becomes a Set once a try failed (most requests need none) */
  readonly ctx: { -readonly [K in keyof PickContext]: PickContext[K] };

  constructor(
    deps: ForwardDeps,
    req: IncomingMessage,
    res: ServerResponse,
    reqBody: RequestBody,
    routed: Routed,
    entry: UpstreamEntry | undefined,
    rec: RequestRecord,
  ) {
    this.#deps = deps;
    this.#req = req;
    this.#res = res;
    this.#rec = rec;
    this.#routed = routed;
    this.#entry = entry;
    this.#body = reqBody;
    this.#streamed = reqBody instanceof StreamedBody ? reqBody : null;
    this.#buffered = reqBody instanceof StreamedBody ? null : reqBody;
    const { match, service, path, query } = routed;
    this.#upPath = upstreamPath(path, match.matchedPath, match.route.strip_path, service.path) + query;
    this.ctx = {
      clientIp: routed.clientIp,
      headers: req.headers,
      path,
      query: query.slice(1),
      uriCaptures: match.uriCaptures,
      tried: NO_TRIED,
    };
  }

  get deps(): ForwardDeps {
    return this.#deps;
  }
  get entry(): UpstreamEntry | undefined {
    return this.#entry;
  }
  get rec(): RequestRecord {
    return this.#rec;
  }
  get res(): ServerResponse {
    return this.#res;
  }

  markTried(id: string): void {
    if (this.ctx.tried === NO_TRIED) this.ctx.tried = new Set([id]);
    else (this.ctx.tried as Set<string>).add(id);
  }

  /**
   * Start the tries. They run on callbacks, not an async loop: a plain try's
   * end (Attempt.settled → {@link tried}) starts the next one or ends the
   * request, so a request costs no promise of its own. `deps.done` is
   * called once, when the request is over; an exception anywhere in the
   * tries ends the request with it (a 500), never escapes into undici or
   * a timer.
   */
  run(): void {
    try {
      this.#next();
    } catch (err) {
      this.#end(true, err);
    }
  }

  /** The next try, or the answer when no target is left. */
  #next(): void {
    const attempt = ++this.#attempt;
    const { service } = this.#routed;
    const entry = this.#entry;
    let dest = pickDestination(entry, service, this.ctx);
    // a retry with every target tried: the one target of an upstream is tried again, as Kong's balancer
    // hands out its only peer again (never the same target twice while another is available)
    if (!dest && attempt > 1 && entry !== undefined && entry.balancer.availableCount() === 1)
      dest = pickDestination(entry, service, { ...this.ctx, tried: NO_TRIED });
    if (!dest) {
      // a retry finding no usable target at all (every one held out meanwhile, e.g. by passive checks): Kong's
      // balancer-phase 503 (kong-semantics §3.6); every usable one tried already: the last try's failure
      const code =
        attempt === 1 || this.#lastFailure === undefined
          ? 'GW_ERR_PROXY_NO_PEER'
          : entry !== undefined && entry.balancer.availableCount() === 0
            ? 'GW_ERR_PROXY_UNAVAILABLE'
            : failureCode(this.#lastFailure);
      const accept = code === 'GW_ERR_PROXY_NO_PEER' ? this.#req.headers.accept : this.#tryErrorAccept();
      const rec = this.#rec;
      // the first pick failing is Kong's access-phase 503 (not proxied); a retry's pick failing is its balancer
      // phase failing (proxied: the pick just failed, so the upstream latency is 0 and the proxy latency all of it)
      const headers = proxied(this.#lastFailure)
        ? proxiedErrorHeaders(rec.id, rec.started, performance.now())
        : generatedHeaders(rec.id, rec.started);
      sendProxyError(this.#res, code, rec.id, accept, headers);
      return this.#end(true);
    }
    const hedgeMs =
      entry !== undefined &&
      dest.target &&
      this.#buffered === null &&
      this.#streamed === null &&
      HEDGEABLE.has(this.#req.method ?? 'GET') &&
      entry.balancer.availableCount() > 1
        ? this.#deps.outcomes.hedgeDelay(entry.upstream.id, service.read_timeout)
        : undefined;
    if (hedgeMs === undefined) {
      this.launch(dest, undefined); // its end calls tried()
      return;
    }
    this.#hedged(dest, hedgeMs).then(
      (r) => (r.ok ? this.#end(r.status >= 500) : this.failed(dest, r.err, this.hedge!.lastStarted())),
      (err: unknown) => this.#end(true, err),
    );
  }

  /**
   * A plain (not hedged) try ended (Attempt.settled, inside undici's
   * callback). An answered try ends the request at once; a failed one is
   * looked at on the next tick, out of undici's error handling (a retry
   * dispatches again, perhaps to the same pool).
   */
  tried(attempt: Attempt, r: Settled): void {
    if (r.ok) {
      // an upstream 5xx counts as a failed request for the upstream limits
      this.#end(r.status >= 500);
      return;
    }
    process.nextTick(failedTick, this, attempt, r.err);
  }

  /** A try sent at `started` failed: retry on another target (Kong's rules, §3.5), or answer the failure. */
  failed(dest: Destination, err: unknown, started: number): void {
    try {
      this.#failed(dest, err, started);
    } catch (e) {
      this.#end(true, e);
    }
  }

  #failed(dest: Destination, err: unknown, started: number): void {
    const res = this.#res;
    const method = this.#req.method ?? 'GET';
    const failure = classify(err);
    this.#lastFailure = failure;
    if (dest.target) this.markTried(dest.target.id);
    const sent = failure !== 'connect' && failure !== 'dns';
    const replayable = this.#streamed === null || this.#streamed.replayable;
    const retry =
      failure !== 'local' &&
      this.#attempt < this.#routed.service.retries + 1 &&
      !res.headersSent &&
      replayable &&
      (!sent || !NON_IDEMPOTENT.has(method)) &&
      !res.destroyed;
    this.#deps.logger.debug(
      { requestId: this.#rec.id, attempt: this.#attempt, target: `${dest.host}:${dest.port}`, failure, retry, err: (err as Error).message },
      'try failed',
    );
    if (!retry) {
      const rec = this.#rec;
      const headers = proxied(failure) ? proxiedErrorHeaders(rec.id, rec.started, started) : generatedHeaders(rec.id, rec.started);
      sendProxyError(res, failureCode(failure), rec.id, this.#tryErrorAccept(), headers);
      return this.#end(true);
    }
    this.#next();
  }

  /** What a try's error is formatted by: `Accept`, else the request's `Content-Type` (Kong's error handler, kong/error_handlers.lua). */
  #tryErrorAccept(): string | undefined {
    const h = this.#req.headers;
    return h.accept ?? h['content-type'];
  }

  /**
   * The request is over, once: the upstream limits are told whether it
   * failed (an error answer or a 5xx), then the server (`deps.done`, with the
   * exception that ended it, if one did).
   */
  #end(failed: boolean, err?: unknown): void {
    if (this.#over) return;
    this.#over = true;
    let error = err;
    try {
      if (this.#entry) this.#deps.outcomes.requestDone(this.#entry.upstream.id, failed);
    } catch (e) {
      error ??= e;
    }
    this.#deps.done(this.#req, this.#res, this.#rec, this.#body, error);
  }

  /**
   * A try that, still unanswered after `hedgeMs`, is raced by a second one
   * to another target: the first answer wins. Most tries end before the
   * deadline: then the first try's end ({@link Attempt.settled}) clears the
   * timer and resolves the one promise made here (no timer promise, no
   * `Promise.race`, no async frame: every GET to an upstream with two or
   * more targets comes this way).
   */
  #hedged(dest: Destination, hedgeMs: number): Promise<Settled> {
    return new Promise<Settled>((resolve, reject) => {
      const h = new Hedge(dest, resolve, reject);
      this.hedge = h;
      this.launch(dest, h);
      // a try can end inside launch (undici refusing the request at once)
      if (!h.done) h.timer = setTimeout(hedgeDue, hedgeMs, this, h);
    });
  }

  /** The hedging deadline passed with the first try still running (a timer callback: see {@link hedgeDue}). */
  hedgeDue(h: Hedge): void {
    h.done = true;
    h.timer = undefined;
    const first = h.first!;
    const dest = h.dest;
    const res = this.#res;
    if (first.handle.answered || res.headersSent || res.destroyed) return h.resolve(first.handle.promise);
    // still no answer after the adaptive deadline: ask another target too
    this.markTried(dest.target!.id);
    const entry = this.#entry!;
    const other = pickDestination(entry, this.#routed.service, this.ctx);
    if (!other || !other.target) return h.resolve(first.handle.promise);
    const otherTarget = other.target;
    const second = this.launch(other, h);
    h.second = second;
    this.#deps.stats.hedged++;
    firstSuccess([first.handle.promise, second.handle.promise])
      .then((result) => {
        if (h.winner === second.handle) {
          this.#deps.stats.hedgeWins++;
          // the first target never answered within the deadline: a timeout for passive checks
          this.#deps.outcomes.onOutcome(entry.upstream.id, dest.target!.id, 0, 'timeout', undefined, performance.now() - first.started);
        }
        if (!result.ok) this.markTried(otherTarget.id);
        h.resolve(result);
      })
      .catch(h.reject);
  }

  /** Send one try to `dest`, with all its accounting (in-flight counts, passive outcome). */
  launch(dest: Destination, race: Race | undefined): Attempt {
    const { match, service, path } = this.#routed;
    const req = this.#req;
    const entry = this.#entry;
    const deps = this.#deps;
    const hostHeader = entry?.upstream.host_header ?? null;
    // a hostname target's address is connected to by IP; Host and SNI keep the target's name (Kong)
    const name = dest.target?.name ?? dest.host;
    const headers = upstreamHeaders(
      req,
      {
        host: upstreamHost(match.route.preserve_host, req.headers.host, name, dest.port, hostHeader, service.protocol),
        clientIp: this.ctx.clientIp,
        peerIp: this.#routed.peerIp,
        listenPort: deps.listenPort,
        scheme: this.#routed.scheme,
        requestPath: rawRequestPath(req, path),
        prefix: match.route.strip_path ? match.matchedPath : null,
        via: inboundVia(req.httpVersion),
        requestId: this.#rec.id,
        trusted: this.#routed.trusted,
      },
      false,
    );
    const tls = tlsFor(service.protocol, name, hostHeader, service.tls_verify);
    const pool = dest.target
      ? deps.pools.forTarget(dest.target, dest.host, dest.port, service.connect_timeout, tls)
      : deps.pools.get(dest.host, dest.port, service.connect_timeout, tls);
    const target = entry ? dest.target : null;
    this.#rec.addTarget(target ? target.address : `${dest.host}:${dest.port}`);
    // one report per try: started (in flight, trial slot) … verdict … ended
    const token = target && entry ? deps.outcomes.tryStarted(entry.upstream.id, target.id) : 0;
    const attempt = new Attempt(this, dest, target, token, race === undefined);
    if (race instanceof Hedge && race.first === undefined) race.first = attempt;
    const streamed = this.#streamed;
    // a streamed body is watched for write_timeout; a buffered one is written at once
    if (streamed !== null) attempt.watched = watchWrites(req, service.write_timeout, (err) => attempt.handle.abort(err));
    attempt.handle = dispatchTry(
      pool,
      {
        method: req.method ?? 'GET',
        path: this.#upPath,
        headers,
        body: this.#buffered ?? streamed?.take() ?? null,
        timeoutMs: service.read_timeout,
      },
      this.#res,
      attempt,
      race,
    );
    return attempt;
  }
}

/** One try's accounting: what dispatch.ts calls back when its response headers arrive and when it is over. */
class Attempt implements TryOwner {
  readonly started = performance.now();
  handle!: TryHandle;
  watched: WriteWatch | undefined;

  constructor(
    readonly ex: Exchange,
    readonly dest: Destination,
    readonly target: BalancerTarget | null,
    readonly token: number,
    /** a plain try: its end drives the exchange (a hedged try's end goes to the race) */
    readonly drives: boolean,
  ) {}

  /** Only the try that owns the response gets here (a hedge's loser is cancelled before). */
  head(status: number, upstream: IncomingHttpHeaders): (string | string[])[] {
    const ex = this.ex;
    const rec = ex.rec;
    const upstreamLatency = performance.now() - this.started;
    rec.answered = true;
    rec.upstreamMs = upstreamLatency;
    rec.gatewayMs = this.started - rec.started;
    const entry = ex.entry;
    if (this.target && entry) ex.deps.outcomes.onOutcome(entry.upstream.id, this.target.id, this.token, 'success', status, upstreamLatency);
    return downstreamHeaders(upstream, {
      via: VIA,
      server: SERVER,
      requestId: rec.id,
      upstreamLatency,
      proxyLatency: rec.gatewayMs,
      setCookie: this.dest.setCookie,
    });
  }

  /** The try is over, once: its accounting, then the exchange goes on (a plain try) or the race learns it (a hedged one). */
  settled(r: Settled): void {
    this.watched?.stop();
    // a hedged first try that ended before its deadline (the awaiting exchange resumes after this accounting)
    const h = this.ex.hedge;
    if (h !== undefined && h.first === this && !h.done) h.firstEnded(r);
    try {
      this.#account(r);
    } finally {
      if (this.drives) this.ex.tried(this, r);
    }
  }

  /** Passive health: the try's verdict (a failure; success was told with the headers) and its end. */
  #account(r: Settled): void {
    const target = this.target;
    const entry = this.ex.entry;
    if (!target || !entry) return;
    const outcomes = this.ex.deps.outcomes;
    // a lost hedge race is accounted by the race; a client that went away is not the target's failure
    if (!r.ok && !(r.err instanceof HedgeLostError) && !clientGone(r.err, this.ex.res)) {
      const f = classify(r.err);
      if (f !== 'local') outcomes.onOutcome(entry.upstream.id, target.id, this.token, f === 'timeout' ? 'timeout' : 'tcp_failure');
    }
    outcomes.tryEnded(entry.upstream.id, target.id, this.token, performance.now() - this.started, r.ok);
  }
}

/**
 * Whether an error answered after a try that failed this way is a proxied
 * one (Kong's KONG_PROXIED, set once the access phase's balancer pick and
 * name lookup succeeded): any failure but a name that does not resolve,
 * which is Kong's access-phase 503 `name resolution failed`. None (the
 * first pick found no target): not proxied.
 */
function proxied(failure: TryFailure | undefined): boolean {
  return failure !== undefined && failure !== 'dns';
}

/** A failed plain try, looked at on the next tick ({@link Exchange.tried}). */
function failedTick(ex: Exchange, attempt: Attempt, err: unknown): void {
  ex.failed(attempt.dest, err, attempt.started);
}

/**
 * A hedged try (Exchange's `#hedged`): the race its tries share, the first
 * try, the deadline timer, and the promise the try loop awaits.
 */
class Hedge implements Race {
  winner: TryHandle | null = null;
  readonly handles: TryHandle[] = [];
  first: Attempt | undefined;
  /** the try raced against the first one after the deadline, if any (`declare`: set on that rare path only, no field per hedge) */
  declare second: Attempt | undefined;
  timer: NodeJS.Timeout | undefined;
  /** resolved by the first try's end, or the deadline passed (the race decides) */
  done = false;

  constructor(
    readonly dest: Destination,
    readonly resolve: (r: Settled | Promise<Settled>) => void,
    readonly reject: (err: unknown) => void,
  ) {}

  /** When the last of its tries was sent (both failed, or the first did before the deadline). */
  lastStarted(): number {
    return (this.second ?? this.first!).started;
  }

  /** The first try ended before the deadline: its result is the hedged try's. */
  firstEnded(r: Settled): void {
    this.done = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.resolve(r);
  }
}

/** The deadline timer of a {@link Hedge}: an exception here would stop the gateway, so it fails the request instead. */
function hedgeDue(ex: Exchange, h: Hedge): void {
  try {
    ex.hedgeDue(h);
  } catch (err) {
    h.reject(err);
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
