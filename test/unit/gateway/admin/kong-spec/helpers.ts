// Shared harness for the Admin API cases translated from Kong's own specs
// (Kong/kong spec/02-integration/04-admin_api/*): a real admin server over a
// memory store, called in-process, and `forEachContentType`, Kong's
// `it_content_types` (JSON, form-urlencoded and multipart bodies).
import { createAdminServer } from '../../../../../gateway/src/admin/server.js';
import { silentLogger } from '../../../../../gateway/src/observability/log.js';
import { MemoryStore } from '../../../../../gateway/src/store/memory.js';

export interface Res {
  status: number;
  body: Record<string, unknown>;
  raw: string;
  headers: Record<string, unknown>;
}

export type ContentType = 'application/json' | 'application/x-www-form-urlencoded' | 'multipart/form-data';
export const CONTENT_TYPES: readonly ContentType[] = ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'];

/** Flatten a body into Kong's form keys: `a.b=`, `a[1]=` for arrays (as Kong's test client encodes). */
export function formFields(body: Record<string, unknown>, prefix = ''): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(body)) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    if (v === undefined) continue;
    if (Array.isArray(v)) v.forEach((x, i) => out.push([`${key}[${i + 1}]`, String(x as string | number | boolean)]));
    else if (v !== null && typeof v === 'object') out.push(...formFields(v as Record<string, unknown>, key));
    else out.push([key, v === null ? '' : String(v as string | number | boolean)]);
  }
  return out;
}

export function encode(body: Record<string, unknown>, type: ContentType): { payload: string; headers: Record<string, string> } {
  if (type === 'application/json') return { payload: JSON.stringify(body), headers: { 'content-type': type } };
  const fields = formFields(body);
  if (type === 'application/x-www-form-urlencoded')
    return { payload: new URLSearchParams(fields).toString(), headers: { 'content-type': type } };
  const b = 'gwkongspecboundary';
  const payload = fields.map(([k, v]) => `--${b}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join('') + `--${b}--\r\n`;
  return { payload, headers: { 'content-type': `multipart/form-data; boundary=${b}` } };
}

export async function admin(opts: { kongOnly?: boolean; store?: MemoryStore } = {}) {
  const store = opts.store ?? new MemoryStore();
  const app = await createAdminServer({
    store,
    logger: silentLogger(),
    isReady: () => true,
    nodeId: '00000000-0000-4000-8000-000000000000',
    kongOnly: opts.kongOnly,
  });
  const call = async (method: string, url: string, payload?: unknown, headers: Record<string, string> = {}): Promise<Res> => {
    const body = payload === undefined || typeof payload === 'string' ? payload : JSON.stringify(payload);
    const h = payload !== undefined && typeof payload !== 'string' ? { 'content-type': 'application/json', ...headers } : headers;
    const r = await app.inject({ method: method as 'GET', url, payload: body as string, headers: h });
    let parsed: Record<string, unknown> = {};
    try {
      parsed = r.body ? (JSON.parse(r.body) as Record<string, unknown>) : {};
    } catch {
      parsed = {};
    }
    return { status: r.statusCode, body: parsed, raw: r.body, headers: r.headers };
  };
  /** A write with the body encoded as `type`. */
  const send = (method: string, url: string, body: Record<string, unknown>, type: ContentType): Promise<Res> => {
    const e = encode(body, type);
    return call(method, url, e.payload, e.headers);
  };
  return { app, store, call, send };
}
