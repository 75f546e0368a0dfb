/**
 * Route `headers` as Kong's `traditional_compatible` router reads them
 * (kong/router/transform.lua, kong/router/fields.lua): how a route's header
 * name finds the request header.
 */

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
