/**
 * Upstream request URI per Kong's path_handling v0 (kong/router/utils.lua).
 */

/**
 * @param reqPath request path without query
 * @param matched the route path that matched (prefix), or null
 * @param strip route.strip_path
 * @param servicePath service.path (null ⇒ "/")
 */
export function upstreamPath(reqPath: string, matched: string | null, strip: boolean, servicePath: string | null): string {
  const base = servicePath ?? '/';
  if (strip && matched !== null && matched.length > 0) {
    const postfix = reqPath.slice(matched.length);
    if (base.endsWith('/')) {
      if (postfix === '') return base === '/' || reqPath.endsWith('/') ? base : base.slice(0, -1);
      return postfix.startsWith('/') ? base + postfix.slice(1) : base + postfix;
    }
    if (postfix === '') return reqPath.endsWith('/') ? `${base}/` : base;
    return postfix.startsWith('/') ? base + postfix : `${base}/${postfix}`;
  }
  if (base.endsWith('/')) return base + reqPath.slice(1);
  return reqPath === '/' ? base : base + reqPath;
}
