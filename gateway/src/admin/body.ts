/**
 * Admin request bodies, as Kong reads them: only POST, PUT and PATCH have
 * one (other methods' bodies are ignored); it is JSON (an object),
 * `application/x-www-form-urlencoded` or `multipart/form-data` (simple
 * fields); anything else is 415 and a JSON body that is not an object is
 * 400, so a write never falls back to "no body" and resets an entity to its
 * defaults (issue 12, point 8).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { kFormBody } from './resource.js';

const WRITES: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH']);

/** POST, PUT and PATCH: the methods that carry a body (Kong's `NEEDS_BODY`). */
export const isWrite = (method: string): boolean => WRITES.has(method);

export function unsupportedMediaType(type: string | undefined): string {
  return `Unsupported Media Type${type ? ` '${type.split(';')[0]!.trim()}'` : ' (no Content-Type)'}: send application/json, application/x-www-form-urlencoded or multipart/form-data`;
}

type Flat = Record<string, string | string[]>;

/** Kong's Admin API reads at most this many query and url-encoded body arguments (kong/api/arguments.lua `max_uri_args`/`max_post_args`). */
export const MAX_ARGS = 1000;

/** `k=v&k2=v2…` holds more than {@link MAX_ARGS} arguments (empty pieces, as in `a=1&&b=2`, are not arguments). */
export function tooManyArgs(text: string): boolean {
  let n = 0;
  let from = 0;
  for (;;) {
    const amp = text.indexOf('&', from);
    const end = amp === -1 ? text.length : amp;
    if (end > from && ++n > MAX_ARGS) return true;
    if (amp === -1) return false;
    from = amp + 1;
  }
}

/** Kong's answer to more than {@link MAX_ARGS} arguments: `400 {"message":"Too many arguments"}`. */
export const tooManyArgsError = (): Error => clientError(400, 'Too many arguments');

function clientError(status: number, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { statusCode: status }, extra);
}

function jsonError(message = 'Cannot parse JSON body'): Error {
  return clientError(400, message, { gwJson: true });
}

const typeOf = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;

function add(flat: Flat, k: string, v: string): void {
  const prev = flat[k];
  flat[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
}

/**
 * `multipart/form-data` with simple fields (Kong's `curl -F name=value`).
 * Every part needs `Content-Disposition: form-data; name="..."`; a part with
 * a file name is read as its text. Returns undefined when the body is not
 * well-formed multipart for `boundary`.
 */
export function parseMultipart(body: string, boundary: string): Flat | undefined {
  const flat = Object.create(null) as Flat;
  const delimiter = `--${boundary}`;
  const start = body.indexOf(delimiter);
  if (start < 0) return body.trim() === '' ? flat : undefined;
  const parts = body.slice(start + delimiter.length).split(`\r\n${delimiter}`);
  for (let i = 0; i < parts.length; i++) {
    let part = parts[i]!;
    if (part.startsWith('--')) return flat; // closing delimiter
    if (!part.startsWith('\r\n')) return undefined;
    part = part.slice(2);
    const end = part.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const headers = part.slice(0, end).split('\r\n');
    const disposition = headers.find((h) => /^content-disposition\s*:/i.test(h));
    const name = disposition && /;\s*name="([^"]*)"/i.exec(disposition)?.[1];
    if (!name) return undefined;
    add(flat, name, part.slice(end + 4));
  }
  return undefined; // no closing delimiter
}

/** Content-type parsers for the admin server (replaces fastify's defaults). */
export function registerBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  const writes = (req: FastifyRequest) => isWrite(req.method);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (!writes(req)) return done(null, undefined);
    const text = (body as string).trim();
    if (text === '') return done(null, undefined);
    let value: unknown;
    try {
      // JSON.parse makes `__proto__` an own key (no pollution); the entity
      // parser refuses such keys with a schema violation.
      value = JSON.parse(text);
    } catch {
      return done(jsonError(), undefined);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return done(jsonError(`Cannot parse JSON body: expected a JSON object, got ${typeOf(value)}`), undefined);
    }
    done(null, value);
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (req, body, done) => {
    if (!writes(req)) return done(null, undefined);
    if (tooManyArgs(body as string)) return done(tooManyArgsError(), undefined);
    const flat = Object.create(null) as Flat;
    for (const [k, v] of new URLSearchParams(body as string)) add(flat, k, v);
    done(null, { [kFormBody]: flat });
  });
  app.addContentTypeParser('multipart/form-data', { parseAs: 'string' }, (req, body, done) => {
    if (!writes(req)) return done(null, undefined);
    const boundary = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(req.headers['content-type'] ?? '');
    const b = boundary?.[1] ?? boundary?.[2];
    if (!b) return done(clientError(400, 'multipart/form-data needs a boundary parameter'), undefined);
    const flat = parseMultipart(body as string, b);
    if (!flat) return done(clientError(400, 'Cannot parse multipart/form-data body'), undefined);
    done(null, { [kFormBody]: flat });
  });
  // POST /config takes a raw declarative document of any other type (Kong: kong.request.get_raw_body), YAML included
  app.addContentTypeParser(
    ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/plain'],
    { parseAs: 'string' },
    (req, body, done) => {
      if (!writes(req)) return done(null, undefined);
      if (req.url.split('?')[0] !== '/config') return done(clientError(415, unsupportedMediaType(req.headers['content-type'])), undefined);
      done(null, body as string);
    },
  );
  // other types: a write has no usable body (Kong's 415); other methods ignore bodies, as Kong
  app.addContentTypeParser('*', (req, _payload, done) => {
    if (!writes(req)) return done(null, undefined);
    done(clientError(415, unsupportedMediaType(req.headers['content-type'])), undefined);
  });
}
