/**
 * Requests node's HTTP parser refuses before fastify sees them, answered as
 * Kong (nginx) answers them:
 *
 * - raw UTF-8 bytes in the path (`GET /routes/円` sent unescaped; nginx
 *   accepts them, llhttp does not): the request is replayed through the
 *   admin app with those bytes percent-encoded, so `/routes/円` finds the
 *   route named `円` (Kong's 09-routes_routes_spec "retrieves by utf-8 name");
 * - an unknown method token (`FOO /routes`): Kong's 405 "Method not allowed".
 *
 * Anything else keeps fastify's answers (400, 408, 431). The connection is
 * closed after such an answer.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

interface ParserError extends Error {
  code?: string;
  rawPacket?: Buffer;
}

const HEAD_END = Buffer.from('\r\n\r\n');
/** replayed requests are small ones: a head and, at most, a body that arrived with it */
const MAX_REPLAY = 64 * 1024;

function respond(socket: Socket, status: number, headers: Record<string, string | string[] | number | undefined>, body: string): void {
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`];
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || /^(connection|content-length|transfer-encoding|keep-alive)$/i.test(k)) continue;
    for (const one of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${String(one)}`);
  }
  lines.push(`content-length: ${Buffer.byteLength(body)}`, 'connection: close');
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/** The request in `raw` with its path's bytes ≥ 0x80 percent-encoded, or undefined when it is not such a request. */
export function replayable(raw: Buffer): { method: string; url: string; headers: Record<string, string>; body: Buffer } | undefined {
  if (raw.length > MAX_REPLAY) return undefined;
  const end = raw.indexOf(HEAD_END);
  if (end < 0) return undefined;
  const lines = raw.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(lines[0] ?? '');
  if (!m) return undefined;
  const target = Buffer.from(m[2] as string, 'latin1');
  let url = '';
  for (const b of target) url += b >= 0x80 ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b);
  if (url === m[2] || [...url].some((c) => c <= ' ' || c === '\x7F')) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon).trim().toLowerCase();
    headers[name] = Buffer.from(line.slice(colon + 1).trim(), 'latin1').toString('utf8');
  }
  if (headers['transfer-encoding'] !== undefined) return undefined;
  const body = raw.subarray(end + HEAD_END.length);
  const length = Number(headers['content-length'] ?? 0);
  if (!Number.isInteger(length) || length !== body.length) return undefined;
  return { method: m[1] as string, url, headers, body };
}

/** The admin server's `clientError` listener; `fallback` answers everything else (fastify's own handler). */
export function adminClientErrors(app: FastifyInstance, fallback: (err: Error, socket: Socket) => void) {
  return (err: ParserError, socket: Socket): void => {
    if (socket.destroyed || err.code === 'ECONNRESET') return;
    if (err.code === 'HPE_INVALID_METHOD') {
      respond(socket, 405, { 'content-type': 'application/json; charset=utf-8' }, JSON.stringify({ message: 'Method not allowed' }));
      return;
    }
    const r = err.code === 'HPE_INVALID_URL' && err.rawPacket ? replayable(err.rawPacket) : undefined;
    if (!r) return fallback(err, socket);
    app
      .inject({
        method: r.method as 'GET',
        url: r.url,
        headers: r.headers,
        payload: r.body.length > 0 ? r.body : undefined,
        remoteAddress: socket.remoteAddress,
      })
      .then((res) => respond(socket, res.statusCode, res.headers, res.body))
      .catch(() => socket.destroy());
  };
}
