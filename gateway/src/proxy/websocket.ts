/**
 * Upgrade requests (WebSocket and others): route and pick like any request,
 * then a raw TCP tunnel both ways once the upstream accepts.
 */
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { errorCatalogue } from '../errors.js';
import type { ForwardDeps } from './forward.js';
import { inboundVia, nextRequestId, pickDestination, route, SERVER, VIA } from './forward.js';
import { generatedHeaders, ms, proxiedErrorHeaders, rawProxyError } from './error-map.js';
import { upstreamHeaders, upstreamHost } from './headers.js';
import { rawRequestPath, upstreamPath } from './uri.js';

/** An upstream response head longer than this (with no end in sight) is not relayed: 502. */
const MAX_RESPONSE_HEAD = 64 * 1024;

/** Hop-by-hop response headers nginx does not pass on from the upstream (it writes its own `Connection`). */
const HOP_BY_HOP_RESPONSE = new Set(['connection', 'keep-alive', 'transfer-encoding']);

/** Refuse an upgrade on its socket with Kong's status, body and `headers` (the same answer as a plain request's: error-map.ts). */
function reject(
  socket: Duplex,
  code: 'GW_ERR_PROXY_NO_ROUTE' | 'GW_ERR_PROXY_NO_SERVICE' | 'GW_ERR_PROXY_NO_PEER' | 'GW_ERR_PROXY_BAD_RESPONSE',
  headers: Record<string, string>,
): void {
  const { status, message } = errorCatalogue[code];
  socket.end(rawProxyError(status, message, headers['x-gw-request-id']!, headers));
}

/**
 * The upstream's response head (without its final blank line) as the client
 * gets it: what Kong's header_filter adds to a proxied response
 * (kong/runloop/handler.lua), as for any proxied answer: `Via` appended to
 * the upstream's (Kong's 09-websockets_spec "returns correct headers on
 * handshake with Kong": `Via: 1.1 kong/…` on the 101), `Server` when the
 * upstream sent none, the latencies and the request ids. For a 101, as
 * nginx, `Connection: upgrade` instead of the upstream's `Connection` and
 * `Keep-Alive`.
 */
export function upgradeResponseHead(raw: string, requestId: string, upstreamLatency: number, proxyLatency: number): string {
  const lines = raw.split('\r\n');
  const statusLine = lines[0]!;
  const switching = / 101(?: |$)/.test(statusLine);
  let out = `${statusLine}\r\n`;
  let via: string | undefined;
  let server = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    const name = (colon === -1 ? line : line.slice(0, colon)).trim().toLowerCase();
    if (name === 'via') {
      const v = line.slice(colon + 1).trim();
      via = via === undefined ? v : `${via}, ${v}`;
      continue;
    }
    if (switching && HOP_BY_HOP_RESPONSE.has(name)) continue;
    if (name === 'server') server = true;
    out += `${line}\r\n`;
  }
  if (switching) out += 'Connection: upgrade\r\n';
  if (!server) out += `Server: ${SERVER}\r\n`;
  out += `Via: ${via === undefined ? VIA : `${via}, ${VIA}`}\r\n`;
  out += `X-Kong-Upstream-Latency: ${ms(upstreamLatency)}\r\nX-Kong-Proxy-Latency: ${ms(proxyLatency)}\r\n`;
  out += `x-gw-request-id: ${requestId}\r\nX-Kong-Request-Id: ${requestId}\r\n`;
  return out;
}

/** `started`: when the upgrade request's head was read (`performance.now()`). */
export function proxyUpgrade(deps: ForwardDeps, req: IncomingMessage, socket: Duplex, head: Buffer, started: number): void {
  const requestId = nextRequestId();
  socket.on('error', () => socket.destroy());
  const routed = route(deps, req, null, { id: requestId, started });
  if (!routed) {
    const m = deps.runtime.snapshot.router.match({
      method: req.method ?? 'GET',
      host: req.headers.host,
      path: (req.url ?? '/').split('?')[0]!,
      headers: req.headers,
      port: deps.listenPort,
    });
    return reject(socket, m ? 'GW_ERR_PROXY_NO_SERVICE' : 'GW_ERR_PROXY_NO_ROUTE', generatedHeaders(requestId, started));
  }
  const { match, service, path, query } = routed;
  const entry = deps.runtime.snapshot.upstreams.get(service.host);
  const dest = pickDestination(entry, service, {
    clientIp: routed.clientIp,
    headers: req.headers,
    path,
    query: query.slice(1),
    uriCaptures: match.uriCaptures,
    tried: new Set(),
  });
  if (!dest) return reject(socket, 'GW_ERR_PROXY_NO_PEER', generatedHeaders(requestId, started));
  const host = upstreamHost(
    match.route.preserve_host,
    req.headers.host,
    dest.target?.name ?? dest.host,
    dest.port,
    entry?.upstream.host_header ?? null,
    service.protocol,
  );
  const headers = upstreamHeaders(
    req,
    {
      host,
      clientIp: routed.clientIp,
      peerIp: routed.peerIp,
      listenPort: deps.listenPort,
      scheme: routed.scheme,
      requestPath: rawRequestPath(req, path),
      prefix: match.route.strip_path ? match.matchedPath : null,
      via: inboundVia(req.httpVersion),
      requestId,
      trusted: routed.trusted,
    },
    true,
  );
  const upPath = upstreamPath(path, match.matchedPath, match.route.strip_path, service.path) + query;
  const tryStarted = performance.now();
  const upstream: Socket = connect({ host: dest.host, port: dest.port, timeout: service.connect_timeout });
  // in flight (drains wait for it) but long-lived: not watched by the stall guard
  const token = dest.target && entry ? deps.outcomes.tryStarted(entry.upstream.id, dest.target.id, true) : 0;
  let done = false;
  /** the upstream's response head went to the client (from then on, bytes are relayed as they come) */
  let relaying = false;
  const finish = () => {
    if (done) return;
    done = true;
    if (dest.target && entry) deps.outcomes.tryEnded(entry.upstream.id, dest.target.id, token, 0, true);
    upstream.destroy();
    socket.destroy();
  };
  // proxied (a peer was picked): Kong's error handler answers with the proxied headers
  const badResponse = () => {
    if (!relaying && socket.writable) reject(socket, 'GW_ERR_PROXY_BAD_RESPONSE', proxiedErrorHeaders(requestId, started, tryStarted));
  };
  upstream.once('timeout', () => {
    if (!upstream.readyState.startsWith('open')) badResponse();
    finish();
  });
  upstream.once('connect', () => {
    upstream.setTimeout(0);
    let head_ = `${req.method} ${upPath} HTTP/1.1\r\n`;
    for (let i = 0; i < headers.length; i += 2) head_ += `${headers[i]}: ${headers[i + 1]}\r\n`;
    upstream.write(`${head_}\r\n`);
    if (head.length > 0) upstream.write(head);
    socket.pipe(upstream);
    // the response head is read whole and rewritten (Via, Server, latencies, ids), then the tunnel relays as is
    let pending: Buffer | null = null;
    const onHead = (chunk: Buffer): void => {
      const buf: Buffer = pending === null ? chunk : Buffer.concat([pending, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) {
        pending = buf;
        if (buf.length > MAX_RESPONSE_HEAD) {
          badResponse();
          finish();
        }
        return;
      }
      upstream.off('data', onHead);
      relaying = true;
      const now = performance.now();
      socket.write(`${upgradeResponseHead(buf.toString('latin1', 0, end), requestId, now - tryStarted, tryStarted - started)}\r\n`);
      if (end + 4 < buf.length) socket.write(buf.subarray(end + 4));
      upstream.pipe(socket);
    };
    upstream.on('data', onHead);
  });
  upstream.on('error', () => {
    badResponse();
    finish();
  });
  // closed before a whole response head: nothing usable came
  upstream.on('close', () => {
    badResponse();
    finish();
  });
  socket.on('close', finish);
}
