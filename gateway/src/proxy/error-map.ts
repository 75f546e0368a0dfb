/**
 * The one place that turns proxy failures into Kong's statuses and bodies
 * (kong-semantics §3.6).
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import { errorCatalogue, type GwErrorCode } from '../errors.js';
import { GW_VERSION } from '../version.js';

/** Kong's `Server` token (kong/meta.lua `_SERVER_TOKENS` is `kong/<version>`): `gw/<version>` */
export const SERVER = `gw/${GW_VERSION}`;
/** `Via` on responses, as Kong: the upstream HTTP version (1.1) and the server token */
export const VIA = `1.1 ${SERVER}`;

/**
 * The headers of an answer gw makes itself without having proxied the
 * request: no route, no service, the https-only 426 and its redirects, no
 * peer on the first pick, upstream limits, the client refusals (400, 408,
 * 431) and an internal 500. Kong (kong/runloop/handler.lua header_filter,
 * the `not ctx.KONG_PROXIED` branch; kong/init.lua sets KONG_PROXIED only
 * after the access phase's balancer pick succeeded) sends
 * `X-Kong-Response-Latency` (ms since the request started), `Server` (added
 * by {@link sendProxyError}) and `X-Kong-Request-Id`; no `Via` and no
 * upstream or proxy latency. `started`: the request's `performance.now()`.
 */
export function generatedHeaders(requestId: string, started: number): Record<string, string> {
  return {
    'x-kong-response-latency': ms(performance.now() - started),
    'x-gw-request-id': requestId,
    'x-kong-request-id': requestId,
  };
}

/**
 * The headers of an error gw answers after the request was proxied (a try
 * reached the balancer's pick and was sent or connected: 502, 504, 503 on a
 * retry). Kong answers these from its error handler (kong/error_handlers.lua,
 * nginx's `error_page`) with KONG_PROXIED still set, so its header_filter
 * adds what a proxied response gets: `X-Kong-Upstream-Latency` (ms from the
 * last try's balancer pick to the answer, KONG_WAITING_TIME),
 * `X-Kong-Proxy-Latency` (ms from the request's start to that pick,
 * KONG_PROXY_LATENCY), `Via`, `Server` (none came from the upstream) and
 * `X-Kong-Request-Id`; no `X-Kong-Response-Latency`. `tryStarted`: when the
 * last try was picked and sent.
 */
export function proxiedErrorHeaders(requestId: string, started: number, tryStarted: number): Record<string, string> {
  return {
    'x-kong-upstream-latency': ms(performance.now() - tryStarted),
    'x-kong-proxy-latency': ms(tryStarted - started),
    via: VIA,
    'x-gw-request-id': requestId,
    'x-kong-request-id': requestId,
  };
}

/** A latency header's value: whole milliseconds, as Kong's (differences of millisecond timestamps). */
export const ms = (t: number): string => String(Math.max(0, Math.round(t)));

export type ProxyErrorCode = Extract<GwErrorCode, `GW_ERR_PROXY_${string}`>;

/** Classify an undici/socket error of one try. */
/**
 * `local`: undici refused the request before sending it (a header or value it does not support):
 * no target is to blame and another would refuse it too, so it is neither counted nor retried.
 */
export type TryFailure = 'connect' | 'timeout' | 'reset' | 'dns' | 'protocol' | 'local';

export function classify(err: unknown): TryFailure {
  const code = (err as { code?: string }).code ?? '';
  switch (code) {
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return 'connect';
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return 'timeout';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'dns';
    case 'HPE_INVALID_CONSTANT':
    case 'UND_ERR_INFO':
      return 'protocol';
    case 'UND_ERR_NOT_SUPPORTED':
    case 'UND_ERR_INVALID_ARG':
      return 'local';
    default:
      return 'reset';
  }
}

export function failureCode(f: TryFailure): ProxyErrorCode {
  switch (f) {
    case 'timeout':
      return 'GW_ERR_PROXY_TIMEOUT';
    case 'dns':
      return 'GW_ERR_PROXY_NAME_RESOLUTION';
    default:
      return 'GW_ERR_PROXY_BAD_RESPONSE';
  }
}

/** Set on a response the gateway answered with an error (the access log's `error`). */
export const kProxyError = Symbol('gw.proxyError');
type Marked = ServerResponse & { [kProxyError]?: ProxyErrorCode };

/** The code of the error the gateway answered `res` with, if it did. */
export function proxyErrorOf(res: ServerResponse): ProxyErrorCode | undefined {
  return (res as Marked)[kProxyError];
}

/** The formats of an error body, by the media type Kong maps them from (kong/tools/http.lua MIME_TYPES). */
type ErrorFormat = 'json' | 'html' | 'xml' | 'plain';
const FORMAT_OF: Record<string, ErrorFormat> = {
  'text/html': 'html',
  'application/json': 'json',
  'text/plain': 'plain',
  'application/xml': 'xml',
  'text/*': 'plain',
  'application/*': 'json',
};
const CONTENT_TYPE: Record<ErrorFormat, string> = {
  json: 'application/json; charset=utf-8',
  html: 'text/html; charset=utf-8',
  xml: 'application/xml; charset=utf-8',
  plain: 'text/plain; charset=utf-8',
};
/** One `Accept` entry: a media range, then parameters, of which `q` (kong/tools/http.lua ACCEPT_PATTERN). */
const ACCEPT_ENTRY =
  /^((?:[a-z0-9][a-z0-9\-!#$&^_+.]+|\*)\/(?:[a-z0-9][a-z0-9\-!#$&^_+.]+|\*))(?:\s*;\s*q=(1(?:\.0{0,3})?|0(?:\.\d{0,3})?)|\s*;\s*[a-z0-9][a-z0-9\-!#$&^_+.]+(?:=[^;]*)?)*/i;

/**
 * The error format an `Accept` header asks for, as Kong's get_response_type
 * picks it: the entry with the highest q (1 when absent; the first of equal
 * ones), mapped by get_mime_type (`text/*` is plain text, `application/*`
 * and any type Kong has no template for are JSON). No header: JSON.
 */
export function errorFormat(accept: string | undefined): ErrorFormat {
  if (accept === undefined || accept === '' || accept === '*/*') return 'json';
  let best = 0;
  let format: ErrorFormat = 'json';
  for (const entry of accept.split(',')) {
    const m = ACCEPT_ENTRY.exec(entry.trim());
    if (m === null) continue;
    const q = m[2] === undefined ? 1 : Number(m[2]);
    if (q > best) {
      best = q;
      format = FORMAT_OF[m[1]!] ?? 'json';
    }
  }
  return format;
}

/** Kong's error templates (kong/tools/http.lua ERROR_TEMPLATES), byte for byte. */
function errorBody(format: ErrorFormat, message: string, requestId: string): string {
  switch (format) {
    case 'html':
      return `<!doctype html>\n<html>\n  <head>\n    <meta charset="utf-8">\n    <title>Error</title>\n  </head>\n  <body>\n    <h1>Error</h1>\n    <p>${message}.</p>\n    <p>request_id: ${requestId}</p>\n  </body>\n</html>\n`;
    case 'xml':
      return `<?xml version="1.0" encoding="UTF-8"?>\n<error>\n  <message>${message}</message>\n  <requestid>${requestId}</requestid>\n</error>\n`;
    case 'plain':
      return `${message}\nrequest_id: ${requestId}\n`;
    case 'json':
      return `{\n  "message":${JSON.stringify(message)},\n  "request_id":"${requestId}"\n}`;
  }
}

/**
 * A whole error response as bytes for a socket (a request node's parser
 * refused, a refused upgrade: no ServerResponse to answer with): the status
 * line, Kong's JSON template (DESIGN's default format) and `headers`
 * ({@link generatedHeaders} or {@link proxiedErrorHeaders}); the connection
 * is closed after it.
 */
export function rawProxyError(status: number, message: string, requestId: string, headers: Record<string, string>): string {
  const body = errorBody('json', message, requestId);
  let head = '';
  for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nserver: ${SERVER}\r\ncontent-type: ${CONTENT_TYPE.json}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${head}connection: close\r\n\r\n${body}`;
}

/**
 * Send Kong's error response in the format `accept` asks for ({@link errorFormat}; the callers pass
 * `Accept`, and for errors of a try, as Kong's error handler, the request's `Content-Type` when there
 * is no `Accept`).
 */
export function sendProxyError(
  res: ServerResponse,
  code: ProxyErrorCode,
  requestId: string,
  accept: string | undefined,
  extraHeaders?: Record<string, string | string[]>,
  args: readonly string[] = [],
): void {
  (res as Marked)[kProxyError] = code;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { status } = errorCatalogue[code];
  let i = 0;
  const message = errorCatalogue[code].message.replace(/%s/g, () => args[i++] ?? '');
  const format = errorFormat(accept);
  const type = CONTENT_TYPE[format];
  const body = errorBody(format, message, requestId);
  // Kong's `Server` token on every answer gw makes (none came from an upstream); the caller adds the rest:
  // generatedHeaders() or proxiedErrorHeaders() (kong/runloop/handler.lua header_filter)
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), server: SERVER, ...extraHeaders });
  res.end(body);
}
