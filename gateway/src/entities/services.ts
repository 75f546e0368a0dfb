/** Service schema and rules (Kong `kong/db/schema/entities/services.lua`). */
import { z } from 'zod';
import { bool, foreignId, host, int, nullable, oneOf, path, set, timestamp, tags, utf8Name, uuid, withDefault } from './fields.js';
import type { ErrorBag } from './kong-errors.js';
import type { EntitySpec, Obj } from './spec.js';

export const PROTOCOLS = ['grpc', 'grpcs', 'http', 'https', 'tcp', 'tls', 'tls_passthrough', 'udp'] as const;
const TIMEOUT_MAX = 2 ** 31 - 2;

export const serviceSchema = z
  .object(
    {
      id: uuid().optional(),
      created_at: timestamp(),
      updated_at: timestamp(),
      name: nullable(utf8Name()),
      retries: withDefault(int(0, 32767), 5),
      protocol: withDefault(oneOf([...PROTOCOLS]), 'http'),
      host: host(),
      port: withDefault(int(0, 65535), 80),
      path: nullable(path()),
      connect_timeout: withDefault(int(1, TIMEOUT_MAX), 60000),
      write_timeout: withDefault(int(1, TIMEOUT_MAX), 60000),
      read_timeout: withDefault(int(1, TIMEOUT_MAX), 60000),
      tags: tags(),
      client_certificate: nullable(foreignId()),
      tls_verify: nullable(bool()),
      tls_verify_depth: nullable(int(0, 64)),
      ca_certificates: nullable(set(uuid())),
      enabled: withDefault(bool(), true),
    },
    { invalid_type_error: 'expected a record' },
  )
  .strict();

// scheme, userinfo (dropped, as socket.url's parse splits it off), host, port, path
const URL_RE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(?:[^/?#@]*@)?(\[[^\]]*\]|[^/?#:]*)(?::([^/?#]*))?([^?#]*)/;

/**
 * Kong's `url` shorthand: protocol = scheme, else 443 → https, else http;
 * port = explicit, else 443 for https, else 80; path = URL path or null.
 * Unparseable text becomes the path (Kong's socket.url does the same), so
 * `"invalid url"` fails with "host: required field missing; path: should start with: /".
 */
export function expandServiceUrl(url: string): Obj {
  const m = URL_RE.exec(url);
  if (m === null) return { protocol: 'http', host: null, port: 80, path: url === '' ? null : url };
  const scheme = (m[1] as string).toLowerCase();
  const rawPort = m[3];
  const port: unknown = rawPort === undefined || rawPort === '' ? undefined : /^\d+$/.test(rawPort) ? Number(rawPort) : rawPort;
  const hostText = m[2] as string;
  return {
    protocol: scheme,
    host: hostText === '' ? null : hostText,
    port: port ?? (scheme === 'https' ? 443 : 80),
    path: m[4] === undefined || m[4] === '' ? null : m[4],
  };
}

function shorthand(input: Obj, bag: ErrorBag): void {
  if (!('url' in input)) return;
  const url = input.url;
  delete input.url;
  if (url === null) return;
  if (typeof url !== 'string') {
    bag.add(['url'], 'expected a string');
    return;
  }
  Object.assign(input, expandServiceUrl(url));
}

const NO_PATH = new Set(['tcp', 'tls', 'tls_passthrough', 'udp', 'grpc', 'grpcs']);
const TLS = new Set(['https', 'tls']);

function check(v: Obj, _input: Obj, bag: ErrorBag): void {
  const protocol = v.protocol as string;
  if (NO_PATH.has(protocol) && v.path !== null) {
    bag.entity("failed conditional validation given value of field 'protocol'");
    bag.add(['path'], 'value must be null');
  }
  if (!TLS.has(protocol)) {
    for (const f of ['client_certificate', 'tls_verify', 'tls_verify_depth', 'ca_certificates']) {
      if (v[f] !== null) {
        bag.entity("failed conditional validation given value of field 'protocol'");
        bag.add([f], 'value must be null');
      }
    }
  }
}

export const serviceSpec: EntitySpec = {
  schema: () => serviceSchema,
  gwFields: [],
  floatTimestamps: false,
  shorthand,
  check,
};
