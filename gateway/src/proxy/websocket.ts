/**
 * Upgrade requests (WebSocket and others): route and pick like any request,
 * then a raw TCP tunnel both ways once the upstream accepts.
 */
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { errorCatalogue } from '../errors.js';
import type { ForwardDeps } from './forward.js';
import { inboundVia, nextRequestId, pickDestination, route, SERVER } from './forward.js';
import { generatedHeaders, proxiedErrorHeaders } from './error-map.js';
import { upstreamHeaders, upstreamHost } from './headers.js';
import { rawRequestPath, upstreamPath } from './uri.js';

function reject(
  socket: Duplex,
  code: 'GW_ERR_PROXY_NO_ROUTE' | 'GW_ERR_PROXY_NO_SERVICE' | 'GW_ERR_PROXY_NO_PEER' | 'GW_ERR_PROXY_BAD_RESPONSE',
  extra: Record<string, string>,
): void {
  const { status, message } = errorCatalogue[code];
  const requestId = extra['x-gw-request-id']!;
  const body = JSON.stringify({ message, request_id: requestId });
  let lines = '';
  for (const name in extra) lines += `${name}: ${extra[name]}\r\n`;
  socket.end(
    `HTTP/1.1 ${status} ${message}\r\nserver: ${SERVER}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${lines}connection: close\r\n\r\n${body}`,
  );
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
  const finish = () => {
    if (done) return;
    done = true;
    if (dest.target && entry) deps.outcomes.tryEnded(entry.upstream.id, dest.target.id, token, 0, true);
    upstream.destroy();
    socket.destroy();
  };
  upstream.once('timeout', () => {
    // proxied (a peer was picked): Kong's error handler answers with the proxied headers
    if (!upstream.readyState.startsWith('open'))
      reject(socket, 'GW_ERR_PROXY_BAD_RESPONSE', proxiedErrorHeaders(requestId, started, tryStarted));
    finish();
  });
  upstream.once('connect', () => {
    upstream.setTimeout(0);
    let head_ = `${req.method} ${upPath} HTTP/1.1\r\n`;
    for (let i = 0; i < headers.length; i += 2) head_ += `${headers[i]}: ${headers[i + 1]}\r\n`;
    upstream.write(`${head_}\r\n`);
    if (head.length > 0) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  upstream.on('error', () => {
    if (upstream.bytesRead === 0 && socket.writable)
      reject(socket, 'GW_ERR_PROXY_BAD_RESPONSE', proxiedErrorHeaders(requestId, started, tryStarted));
    finish();
  });
  upstream.on('close', finish);
  socket.on('close', finish);
}
