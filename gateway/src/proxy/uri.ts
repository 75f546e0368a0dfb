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

const HEX = /%([0-9A-Fa-f]{2})/g;

function decodeUnreserved(m: string, hex: string): string {
  const n = parseInt(hex, 16);
  // RFC 3986 §2.3 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~"
  if (
    (n >= 0x41 && n <= 0x5a) ||
    (n >= 0x61 && n <= 0x7a) ||
    (n >= 0x30 && n <= 0x39) ||
    n === 0x2d ||
    n === 0x2e ||
    n === 0x5f ||
    n === 0x7e
  )
    return String.fromCharCode(n);
  return m.toUpperCase();
}

/**
 * Kong's `normalize(path, true)` (kong/tools/uri.lua), applied before routing
 * and forwarded as is: percent-escapes of unreserved characters are decoded
 * and the others upper-cased (so `%2e%2e` is `..`, `%2F` stays), dot segments
 * are removed per RFC 3986 §5.2.4 (`..` above the root stays at the root)
 * and `//` is merged. Paths without `%`, `.` or `//` are returned untouched.
 */
export function normalizePath(path: string): string {
  if (path === '' || path === '/') return path;
  let uri = path;
  if (uri.includes('%')) uri = uri.replace(HEX, decodeUnreserved);
  if (!uri.includes('.') && !uri.includes('//')) return uri;
  const out: string[] = [];
  let i = 0;
  const n = uri.length;
  // the input buffer is uri.slice(i); each step consumes a prefix of it (RFC 3986 §5.2.4, 2A-2E)
  while (i < n) {
    const rest = n - i;
    const c1 = uri.charCodeAt(i);
    const c2 = rest > 1 ? uri.charCodeAt(i + 1) : -1;
    const c3 = rest > 2 ? uri.charCodeAt(i + 2) : -1;
    const c4 = rest > 3 ? uri.charCodeAt(i + 3) : -1;
    const DOT = 0x2e;
    const SLASH = 0x2f;
    if (rest === 2 && c1 === SLASH && c2 === DOT) {
      // "/." at the end → "/"
      out.push('/');
      break;
    } else if (rest === 3 && c1 === SLASH && c2 === DOT && c3 === DOT) {
      // "/.." at the end → "/" replacing the last segment
      out.pop();
      out.push('/');
      break;
    } else if ((rest === 1 && c1 === DOT) || (rest === 2 && c1 === DOT && c2 === DOT)) {
      break;
    } else if (c1 === DOT && c2 === DOT && c3 === SLASH) {
      i += 3;
    } else if (c1 === DOT && c2 === SLASH) {
      i += 2;
    } else if (c1 === SLASH && c2 === DOT && c3 === SLASH) {
      i += 2;
    } else if (c1 === SLASH && c2 === DOT && c3 === DOT && c4 === SLASH) {
      i += 3;
      out.pop();
    } else if (c1 === SLASH && c2 === SLASH) {
      i += 1;
    } else {
      const j = uri.indexOf('/', i + 1);
      const end = j === -1 ? n : j;
      out.push(uri.slice(i, end));
      i = end;
    }
  }
  return out.join('');
}
