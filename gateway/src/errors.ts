/**
 * The gateway's error catalogue. Every error gw raises on purpose has a stable
 * `GW_ERR_<AREA>_<WHAT>` code; callers branch on `code`, never on message text.
 * `test/unit/gateway/errors.test.ts` checks this table against `docs/errors.md`.
 */

export interface ErrorSpec {
  /** HTTP status when the error reaches a client, or the CLI exit code area */
  readonly status: number;
  /** message template; `%s` are filled in order */
  readonly message: string;
}

export const errorCatalogue = {
  // configuration and CLI
  GW_ERR_CONFIG_INVALID: { status: 500, message: 'invalid setting: %s' },
  GW_ERR_CONFIG_ADMIN_UNPROTECTED: {
    status: 500,
    message: 'refusing to listen for admin on non-loopback address %s without --admin-token (GW_ADMIN_TOKEN)',
  },
  GW_ERR_CONFIG_FILE: { status: 500, message: 'cannot load declarative config %s: %s' },
  GW_ERR_CONFIG_UNSUPPORTED: { status: 500, message: 'declarative config %s uses what gw does not implement: %s' },
  /** a listener could not bind: the setting (flag or env variable), its HOST:PORT, the reason */
  GW_ERR_LISTEN_FAILED: { status: 500, message: '%s %s: cannot listen (%s)' },
  // store
  GW_ERR_STORE_UNIQUE: { status: 409, message: 'UNIQUE violation detected on %s' },
  GW_ERR_STORE_FOREIGN_KEY: { status: 400, message: '%s' },
  GW_ERR_STORE_PRIMARY_KEY: { status: 400, message: 'primary key violation on key %s' },
  /** the file, the reason, the data directory */
  GW_ERR_STORE_CORRUPT: {
    status: 500,
    message: 'store file %s is unreadable: %s; restore the data directory %s from a backup, or move it away to start with an empty store',
  },
  GW_ERR_STORE_UNAVAILABLE: { status: 503, message: 'the store is unavailable: %s' },
  GW_ERR_STORE_CONFLICT: { status: 409, message: 'conflicting write to %s: %s' },
  GW_ERR_STORE_DB_UNAVAILABLE: { status: 503, message: 'database unavailable: %s' },
  GW_ERR_STORE_SCHEMA: { status: 500, message: 'database schema: %s' },
  // admin API
  GW_ERR_ADMIN_UNAUTHORIZED: { status: 401, message: 'Unauthorized' },
  GW_ERR_ADMIN_FORBIDDEN: { status: 403, message: 'Forbidden' },
  // proxy (messages are Kong's, verbatim)
  GW_ERR_PROXY_NO_ROUTE: { status: 404, message: 'no Route matched with those values' },
  GW_ERR_PROXY_NO_SERVICE: { status: 503, message: 'no Service found with those values' },
  GW_ERR_PROXY_NO_PEER: { status: 503, message: 'failure to get a peer from the ring-balancer' },
  GW_ERR_PROXY_UNAVAILABLE: { status: 503, message: 'The upstream server is currently unavailable' },
  GW_ERR_PROXY_NAME_RESOLUTION: { status: 503, message: 'name resolution failed' },
  GW_ERR_PROXY_BAD_RESPONSE: { status: 502, message: 'An invalid response was received from the upstream server' },
  GW_ERR_PROXY_TIMEOUT: { status: 504, message: 'The upstream server is timing out' },
  GW_ERR_PROXY_INTERNAL: { status: 500, message: 'An unexpected error occurred' },
  GW_ERR_PROXY_UPSTREAM_LIMIT: { status: 503, message: 'upstream %s is over its limits, retry later' },
  GW_ERR_PROXY_HTTPS_REQUIRED: { status: 426, message: 'Please use HTTPS protocol' },
  GW_ERR_PROXY_BAD_HOST: { status: 400, message: 'Bad request: invalid Host header (%s)' },
  GW_ERR_PROXY_HEADERS_TOO_MANY: { status: 431, message: 'Request header fields too large: more than %s header fields' },
  GW_ERR_PROXY_URI_TOO_LONG: { status: 414, message: 'URI too long' },
  GW_ERR_PROXY_HEADER_TOO_LARGE: { status: 400, message: 'Request header or cookie too large' },
  GW_ERR_PROXY_METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed' },
  GW_ERR_PROXY_BODY_TIMEOUT: { status: 408, message: 'Request timeout: no request body data for %s ms (client_body_timeout)' },
} as const satisfies Record<string, ErrorSpec>;

export type GwErrorCode = keyof typeof errorCatalogue;

const kGwError = Symbol.for('gw.error');

/** An error with a stable code from {@link errorCatalogue}. */
export class GwError extends Error {
  readonly code: GwErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  readonly [kGwError] = true;

  constructor(code: GwErrorCode, args: readonly (string | number)[] = [], details?: Record<string, unknown>) {
    super(formatMessage(errorCatalogue[code].message, args));
    this.name = 'GwError';
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.details = details;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kGwError] === true;
  }
}

export function isGwError(value: unknown): value is GwError {
  return value instanceof GwError;
}

function formatMessage(template: string, args: readonly (string | number)[]): string {
  let i = 0;
  return template.replace(/%s/g, () => (i < args.length ? String(args[i++]) : '%s'));
}
