/**
 * The one place that turns proxy failures into Kong's statuses and bodies
 * (kong-semantics §3.6).
 */
import type { ServerResponse } from 'node:http';
import { errorCatalogue, type GwErrorCode } from '../errors.js';
import { GW_VERSION } from '../version.js';

/** Kong's `Server` token (kong/meta.lua `_SERVER_TOKENS` is `kong/<version>`): `gw/<version>` */
export const SERVER = `gw/${GW_VERSION}`;

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

/** Send Kong's error response: JSON unless `Accept` asks for html, xml or plain text. */
export function sendProxyError(
  res: ServerResponse,
  code: ProxyErrorCode,
  requestId: string,
  accept: string | undefined,
  extraHeaders?: Record<string, string>,
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
  let type = 'application/json; charset=utf-8';
  let body: string;
  const a = accept ?? '';
  if (a.includes('text/html')) {
    type = 'text/html; charset=utf-8';
    body = `<!doctype html>\n<html>\n<head><title>Error</title></head>\n<body>\n<h1>Error</h1>\n<p>${message}.</p>\n<p>request_id: ${requestId}</p>\n</body>\n</html>\n`;
  } else if (a.includes('application/xml') || a.includes('text/xml')) {
    type = 'application/xml; charset=utf-8';
    body = `<?xml version="1.0" encoding="UTF-8"?>\n<error>\n  <message>${message}</message>\n  <requestid>${requestId}</requestid>\n</error>\n`;
  } else if (a.includes('text/plain')) {
    type = 'text/plain; charset=utf-8';
    body = `${message}\nrequest_id: ${requestId}\n`;
  } else {
    body = JSON.stringify({ message, request_id: requestId });
  }
  // gateway-generated: Kong's `Server` token and no `Via` unless the caller adds one (kong/runloop/handler.lua header_filter)
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), server: SERVER, ...extraHeaders });
  res.end(body);
}
