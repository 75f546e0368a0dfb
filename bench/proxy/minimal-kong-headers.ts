/**
 * The minimal proxy (`MINIMAL`: the path of minimal-undici-proxy.mjs, its
 * code unchanged) plus the headers Kong's semantics make gw add, with the
 * same kind of values: to the upstream Host, X-Forwarded-For/-Proto/-Host/
 * -Port/-Path, X-Real-IP, X-Kong-Request-Id and Via; to the client Via,
 * Server (when the upstream sent none), X-Gw-Request-Id, X-Kong-Request-Id,
 * X-Kong-Upstream-Latency and X-Kong-Proxy-Latency. Row
 * `minimal-kong-headers` of bench:proxy: what those headers cost the floor
 * proxy itself, so the part of gw's ratio that is its own code can be told
 * from the part any Kong-compatible Node proxy pays (node and undici
 * validate every header and concatenate it into the head).
 *
 * The headers are added by wrapping the floor proxy's three calls
 * (http.createServer's handler, Pool#dispatch, ServerResponse#writeHead):
 * one function call each on top of the header work.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';

interface Dispatchable {
  dispatch: (this: Dispatchable, opts: { headers: string[]; path: string }, handler: unknown) => boolean;
}
const { Pool } = (await import(pathToFileURL(process.env.UNDICI!).href)) as { Pool: { prototype: Dispatchable } };

/** gw's own Via and Server values (proxy/forward.ts, error-map.ts) */
const SERVER = 'gw/0.1.0';
const VIA = `1.1 ${SERVER}`;
const port = process.env.PORT ?? '18093';
/** One request's id and times. */
interface State {
  req: IncomingMessage;
  id: string;
  started: number;
  sent: number;
}
/** the request being handled: set by the server's handler, read by dispatch (which the handler calls synchronously) */
let current: State | undefined;
/** the same state on the response, for writeHead */
const kState = Symbol('state');
type WithState = http.ServerResponse & { [kState]?: State };

const createServer = http.createServer.bind(http) as (handler: http.RequestListener) => http.Server;
(http as { createServer: unknown }).createServer = (handler: http.RequestListener): http.Server =>
  createServer((req, res) => {
    const s: State = { req, id: randomUUID(), started: performance.now(), sent: 0 };
    current = s;
    (res as WithState)[kState] = s;
    handler(req, res);
    current = undefined;
  });

const dispatch = Pool.prototype.dispatch;
Pool.prototype.dispatch = function (this: Dispatchable, opts, handler) {
  const s = current;
  if (s !== undefined) {
    const { req } = s;
    const h: IncomingHttpHeaders = req.headers;
    const ip = req.socket.remoteAddress ?? '';
    const q = opts.path.indexOf('?');
    opts.headers.push(
      'x-forwarded-for',
      h['x-forwarded-for'] ? `${String(h['x-forwarded-for'])}, ${ip}` : ip,
      'x-forwarded-proto',
      'http',
      'x-forwarded-host',
      (h.host ?? '').replace(/:\d+$/, ''),
      'x-forwarded-port',
      port,
      'x-forwarded-path',
      q === -1 ? opts.path : opts.path.slice(0, q),
      'x-real-ip',
      ip,
      'x-kong-request-id',
      s.id,
      'via',
      h.via ? `${h.via}, ${VIA}` : VIA,
    );
    s.sent = performance.now();
  }
  return dispatch.call(this, opts, handler);
};

type WriteHead = (this: http.ServerResponse, status: number, message?: string, headers?: OutgoingHttpHeaders) => http.ServerResponse;
const proto = http.ServerResponse.prototype as unknown as { writeHead: WriteHead };
const writeHead = proto.writeHead;
proto.writeHead = function (this: http.ServerResponse, status, message, headers) {
  const s = (this as WithState)[kState];
  if (s !== undefined && headers !== undefined) {
    headers.via = headers.via ? `${String(headers.via)}, ${VIA}` : VIA;
    headers.server ??= SERVER;
    headers['x-gw-request-id'] = s.id;
    headers['x-kong-request-id'] = s.id;
    headers['x-kong-upstream-latency'] = String(Math.round(performance.now() - s.sent));
    headers['x-kong-proxy-latency'] = String(Math.round(s.sent - s.started));
  }
  return writeHead.call(this, status, message, headers);
};

await import(pathToFileURL(process.env.MINIMAL!).href);
