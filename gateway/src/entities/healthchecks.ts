/**
 * Upstream `healthchecks` tree (Kong `upstreams.lua`). Defaults are Kong's,
 * field for field; 0 means "disabled" for intervals and counters.
 */
import { z } from 'zod';
import type { Healthchecks } from './types.js';
import { array, bool, headersMap, int, nullable, num, oneOf, path, record, sni, withDefault } from './fields.js';

/** Kong's default healthchecks, exactly as returned by the Admin API. */
export const HEALTHCHECK_DEFAULTS: Readonly<Healthchecks> = deepFreeze({
  active: {
    type: 'http',
    timeout: 1,
    concurrency: 10,
    http_path: '/',
    https_sni: null,
    https_verify_certificate: true,
    headers: null,
    healthy: { interval: 0, http_statuses: [200, 302], successes: 0 },
    unhealthy: { interval: 0, http_statuses: [429, 404, 500, 501, 502, 503, 504, 505], tcp_failures: 0, timeouts: 0, http_failures: 0 },
  },
  passive: {
    type: 'http',
    healthy: {
      http_statuses: [200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308],
      successes: 0,
    },
    unhealthy: { http_statuses: [429, 500, 503], tcp_failures: 0, timeouts: 0, http_failures: 0 },
  },
  threshold: 0,
});

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}

const D = HEALTHCHECK_DEFAULTS;
const CHECK_TYPES = ['tcp', 'http', 'https', 'grpc', 'grpcs'] as const;
const seconds = () => num(0, 65535);
const counter = () => int(0, 255);
const statuses = (def: readonly number[]) => withDefault(array(int(100, 999)), [...def]);

const activeSchema = record({
  type: withDefault(oneOf([...CHECK_TYPES]), D.active.type),
  timeout: withDefault(seconds(), D.active.timeout),
  concurrency: withDefault(int(1, 2 ** 31), D.active.concurrency),
  http_path: withDefault(path(), D.active.http_path),
  https_sni: nullable(sni()),
  https_verify_certificate: withDefault(bool(), D.active.https_verify_certificate),
  headers: nullable(headersMap()),
  healthy: withDefault(
    record({
      interval: withDefault(seconds(), D.active.healthy.interval),
      http_statuses: statuses(D.active.healthy.http_statuses),
      successes: withDefault(counter(), D.active.healthy.successes),
    }),
    {},
  ),
  unhealthy: withDefault(
    record({
      interval: withDefault(seconds(), D.active.unhealthy.interval),
      http_statuses: statuses(D.active.unhealthy.http_statuses),
      tcp_failures: withDefault(counter(), D.active.unhealthy.tcp_failures),
      timeouts: withDefault(counter(), D.active.unhealthy.timeouts),
      http_failures: withDefault(counter(), D.active.unhealthy.http_failures),
    }),
    {},
  ),
});

const passiveSchema = record({
  type: withDefault(oneOf([...CHECK_TYPES]), D.passive.type),
  healthy: withDefault(
    record({
      http_statuses: statuses(D.passive.healthy.http_statuses),
      successes: withDefault(counter(), D.passive.healthy.successes),
    }),
    {},
  ),
  unhealthy: withDefault(
    record({
      http_statuses: statuses(D.passive.unhealthy.http_statuses),
      tcp_failures: withDefault(counter(), D.passive.unhealthy.tcp_failures),
      timeouts: withDefault(counter(), D.passive.unhealthy.timeouts),
      http_failures: withDefault(counter(), D.passive.unhealthy.http_failures),
    }),
    {},
  ),
});

/** The `healthchecks` field: absent or null → all defaults; partial records are completed. */
export const healthchecksSchema = withDefault(
  record({
    active: withDefault(activeSchema, {}),
    passive: withDefault(passiveSchema, {}),
    threshold: withDefault(num(0, 100), D.threshold),
  }),
  {},
);

type Assert<T extends true> = T;
// Compile-time check: the schema's output is a Healthchecks.
export type HealthchecksSchemaMatches = Assert<z.output<typeof healthchecksSchema> extends Healthchecks ? true : false>;
