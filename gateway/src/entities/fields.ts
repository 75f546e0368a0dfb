/**
 * Reusable zod field types with Kong's messages (Kong's `typedefs.lua`).
 *
 * Size limits (Kong has none; they keep hostile input cheap):
 * - every array (tags, paths, hosts, methods, statuses, ...) holds at most {@link MAX_ARRAY} elements;
 * - names, hosts, tags, header names and other identifiers are at most {@link MAX_NAME} characters;
 * - free text (paths, regexes, header values) is at most {@link MAX_TEXT} characters.
 */
import { z } from 'zod';
import { normalizeIp, parseHostPort } from './hosts.js';

export const MAX_ARRAY = 1000;
export const MAX_NAME = 1024;
export const MAX_TEXT = 64 * 1024;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `s` is a UUID (any version, either case), as Kong's `is_uuid`. */
export function isUuid(s: unknown): s is string {
  return typeof s === 'string' && UUID_RE.test(s);
}

/** Kong's range message. */
export function between(min: number, max: number): string {
  return `value should be between ${min} and ${max}`;
}

/** A string of at most `max` characters. */
export const str = (max: number = MAX_NAME) =>
  z.string({ invalid_type_error: 'expected a string' }).max(max, `length must be at most ${max}`);

/** A non-empty string (Kong: "length must be at least 1"). */
export const nonEmptyStr = (max: number = MAX_NAME) => str(max).min(1, 'length must be at least 1');

/** An integer in [min, max] (Kong: "expected an integer", "value should be between X and Y"). */
export const int = (min: number, max: number) =>
  z
    .number({ invalid_type_error: 'expected an integer' })
    .int('expected an integer')
    .min(min, between(min, max))
    .max(max, between(min, max));

/** A finite number in [min, max]. */
export const num = (min: number, max: number) =>
  z.number({ invalid_type_error: 'expected a number' }).finite('expected a number').min(min, between(min, max)).max(max, between(min, max));

/** A boolean. */
export const bool = () => z.boolean({ invalid_type_error: 'expected a boolean' });

/** One of fixed strings (Kong: "expected one of: a, b"). */
export const oneOf = <U extends string, T extends Readonly<[U, ...U[]]>>(values: T) =>
  z.enum(values, { errorMap: () => ({ message: `expected one of: ${values.join(', ')}` }) });

/** Kong's `set`: an array of at most {@link MAX_ARRAY} elements ("expected a set"). */
export const set = <T extends z.ZodTypeAny>(element: T, opts: { min?: number } = {}) => {
  let a = z.array(element, { invalid_type_error: 'expected a set' }).max(MAX_ARRAY);
  if (opts.min !== undefined) a = a.min(opts.min);
  // a set keeps each element once, first occurrence first (Kong's make_set, kong/db/schema/init.lua)
  return a.transform((xs) => (xs.length < 2 ? xs : [...new Set(xs)]));
};

/** Kong's `array`: at most {@link MAX_ARRAY} elements ("expected an array"). */
export const array = <T extends z.ZodTypeAny>(element: T) => z.array(element, { invalid_type_error: 'expected an array' }).max(MAX_ARRAY);

/** Kong's `record`: a strict object, other keys are "unknown field". */
export const record = <S extends z.ZodRawShape>(shape: S) => z.object(shape, { invalid_type_error: 'expected a record' }).strict();

/** An optional field: absent → null. */
export const nullable = <T extends z.ZodTypeAny>(schema: T) => schema.nullable().default(null);

/**
 * A field with a default: absent → default. JSON `null` also means the default,
 * so PATCH `{"retries": null}` resets a field instead of storing a null where
 * the type has none.
 */
export const withDefault = <T extends z.ZodTypeAny>(schema: T, value: z.input<T>) =>
  z.preprocess((v) => (v === null ? undefined : v), schema.default(value)) as unknown as z.ZodDefault<T>;

/** A UUID string ("expected a valid UUID"). */
export const uuid = () => z.string({ invalid_type_error: 'expected a string' }).refine(isUuid, 'expected a valid UUID');

// Kong's validate_tag (typedefs.lua): space and printable ASCII except ',' and '/', plus any non-ASCII UTF-8
const TAG_RE = /^[\x20-\x2B\x2D\x2E\x30-\x7E\u{80}-\u{10FFFF}]+$/u;
/** Kong's `tags`: a nullable set of tag strings. */
export const tags = () =>
  nullable(
    set(
      str().refine(
        (t) => TAG_RE.test(t),
        (t) => ({
          message: `invalid tag '${t}': expected printable ascii (except \`,\` and \`/\`) or valid utf-8 sequences`,
        }),
      ),
    ),
  );

// Kong's utf8_name: ASCII limited to alphanumerics and ".-_~"; any non-ASCII UTF-8 is fine.
const NAME_RE = /^[A-Za-z0-9.\-_~\u{80}-\u{10FFFF}]+$/u;
/** Kong's `utf8_name` (service and route names). */
export const utf8Name = () =>
  nonEmptyStr().refine(
    (n) => NAME_RE.test(n),
    (n) => ({
      message: `invalid value '${n}': the only accepted ascii characters are alphanumerics or ., -, _, and ~`,
    }),
  );

/** Kong's `typedefs.host`: hostname or IP, no port. */
export const host = () =>
  nonEmptyStr().superRefine((h, ctx) => {
    const p = parseHostPort(h);
    if (p === 'bad-port' || (p !== null && p.port !== undefined)) ctx.addIssue({ code: 'custom', message: 'must not have a port' });
    else if (p === null) ctx.addIssue({ code: 'custom', message: `invalid value: ${h}` });
  });

/** Kong's `typedefs.host_with_optional_port`: normalize_ip's own message ("invalid hostname: X", "invalid port number"). */
export const hostWithOptionalPort = () =>
  nonEmptyStr().superRefine((h, ctx) => {
    const r = normalizeIp(h);
    if ('error' in r) ctx.addIssue({ code: 'custom', message: r.error });
  });

/** Kong's `typedefs.sni`: a hostname, not an IP, no port. */
export const sni = () =>
  nonEmptyStr().superRefine((h, ctx) => {
    const p = parseHostPort(h);
    if (p === null || p === 'bad-port') ctx.addIssue({ code: 'custom', message: `invalid value: ${h}` });
    else if (p.type !== 'name') ctx.addIssue({ code: 'custom', message: 'must not be an IP' });
    else if (p.port !== undefined) ctx.addIssue({ code: 'custom', message: 'must not have a port' });
  });

const HEADER_NAME_RE = /^[A-Za-z0-9_-]+$/;
export const headerName = () =>
  nonEmptyStr().refine(
    (n) => HEADER_NAME_RE.test(n),
    (n) => ({
      message: `bad header name '${n}', allowed characters are A-Z, a-z, 0-9, '_', and '-'`,
    }),
  );

/** Kong's `typedefs.path` (services, cookie path, health-check path). */
export const path = () =>
  str(MAX_TEXT).superRefine((p, ctx) => {
    const err = pathError(p);
    if (err !== null) ctx.addIssue({ code: 'custom', message: err });
  });

const RFC3986_PATH_RE = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/;
/** Kong's message for an invalid `typedefs.path`, or null. */
export function pathError(p: string): string | null {
  if (!p.startsWith('/')) return 'should start with: /';
  if (p.includes('//')) return 'must not have empty segments';
  if (!RFC3986_PATH_RE.test(p)) return `invalid path: '${p}' (characters outside of the reserved list of RFC 3986 found)`;
  return null;
}

/** A header map as Kong stores it: name → array of strings. */
export const headersMap = () =>
  z
    .record(headerName(), array(str(MAX_TEXT)), { invalid_type_error: 'expected a map' })
    .refine((m) => Object.keys(m).length <= MAX_ARRAY, `length must be at most ${MAX_ARRAY}`);

/** A foreign key as stored: `{id}` with a UUID. */
export const foreignId = () =>
  record({ id: z.unknown() })
    .superRefine((v, ctx) => {
      if (v.id === undefined || v.id === null) ctx.addIssue({ code: 'custom', path: ['id'], message: 'missing primary key' });
      else if (!isUuid(v.id)) ctx.addIssue({ code: 'custom', path: ['id'], message: 'expected a valid UUID' });
    })
    .transform((v) => ({ id: v.id as string }));

/**
 * An input foreign key: `{id}` (a UUID) or `{name}`, resolved later by the
 * admin. As Kong's foreign field (`kong/db/schema/init.lua`): with a valid
 * `id` every other field is ignored (a client may send the whole service
 * object); without one, the fields given are validated against the foreign
 * entity's schema (`others`) and their errors reported (`service.protocol:
 * expected one of: ...`), else "missing primary key". An empty `name` (form
 * `service.name=`) is no name.
 */
export const foreignRef = (others?: z.ZodTypeAny) =>
  z
    .record(z.unknown(), { invalid_type_error: 'expected a record' })
    .superRefine((v, ctx) => {
      const name = v.name === '' ? undefined : v.name;
      if (v.id !== undefined && v.id !== null && isUuid(v.id)) return;
      if ((v.id === undefined || v.id === null) && typeof name === 'string' && name.length <= MAX_NAME) return;
      if (others !== undefined) {
        const r = others.safeParse(v);
        if (!r.success) {
          for (const issue of r.error.issues) ctx.addIssue(issue);
          return;
        }
      }
      if (v.id !== undefined && v.id !== null) ctx.addIssue({ code: 'custom', path: ['id'], message: 'expected a valid UUID' });
      else if (name !== undefined && name !== null) ctx.addIssue({ code: 'custom', path: ['name'], message: 'expected a string' });
      else ctx.addIssue({ code: 'custom', path: ['id'], message: 'missing primary key' });
    })
    .transform((v): { id: string } | { name: string } =>
      v.id !== undefined && v.id !== null ? { id: v.id as string } : { name: v.name as string },
    );

/** Unix seconds as given in input (Kong accepts them on create); targets use float seconds. */
export const timestamp = () =>
  z
    .number({ invalid_type_error: 'expected an integer' })
    .int('expected an integer')
    .min(0, between(0, 2 ** 53))
    .optional();
export const floatTimestamp = () => num(0, 2 ** 53).optional();
