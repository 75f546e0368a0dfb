/**
 * Route `headers` as Kong's `traditional_compatible` router reads them
 * (kong/router/transform.lua, kong/router/fields.lua): how a route's header
 * name finds the request header, and the `~*` values that are regexes.
 */
import { pcreToJs } from './route-paths.js';

/** A route header value starting with this is a regex (transform.lua: `~*` then the regex). */
export const HEADER_REGEX_PREFIX = '~*';

export function isHeaderRegex(value: string): boolean {
  return value.startsWith(HEADER_REGEX_PREFIX);
}

/** Lua's `string.lower`: ASCII letters only. */
function asciiLower(s: string): string {
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s;
}

/**
 * The request header names a route header name is looked up by, in order
 * (node lower-cases request header names). Kong's field is
 * `http.headers.<name lower-cased, '-' as '_'>`, read from
 * `ngx.req.get_headers()`, whose `__index` retries a missing key with `_`
 * as `-`: a route header `X-Under` or `x_under` reads a request header
 * `x_under` if there is one, else `x-under`. The second name is null when
 * the name has neither `-` nor `_`.
 */
export function headerLookupNames(name: string): [string, string | null] {
  const underscored = asciiLower(name).replaceAll('-', '_');
  const dashed = underscored.replaceAll('_', '-');
  return [underscored, dashed === underscored ? null : dashed];
}

/**
 * The matcher of a `~*` route header value, to be tested against the
 * lower-cased request header value. As Kong (transform.lua
 * `any(lower(http.headers.x)) ~ "<re>"` with the value lower-cased): the
 * regex itself is lower-cased (ASCII letters, so `\D` becomes `\d`, as in
 * Kong) and searched anywhere in the value (not anchored); its syntax is
 * translated as route path regexes are ({@link pcreToJs}).
 * @throws SyntaxError when JavaScript cannot compile it
 */
export function compileRouteHeaderRegex(value: string): RegExp {
  const { source, flags } = pcreToJs(asciiLower(value.slice(HEADER_REGEX_PREFIX.length)));
  return new RegExp(source, flags);
}

/**
 * Kong's refusal of a route whose header regex does not compile (routes.lua
 * `validate_route`: the route's router expression must parse), or null. Kong
 * reports the ATC parser's error after "Router Expression failed
 * validation: "; gw keeps that prefix and gives the JavaScript engine's reason.
 */
export function routeHeaderRegexError(name: string, value: string): string | null {
  if (!isHeaderRegex(value)) return null;
  try {
    compileRouteHeaderRegex(value);
    return null;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const re = asciiLower(value.slice(HEADER_REGEX_PREFIX.length));
    return `Router Expression failed validation: regex parse error in headers.${name}: '${re}' (${reason}; gw compiles route regexes as JavaScript regular expressions)`;
  }
}
