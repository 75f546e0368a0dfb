/** Route path rules (Kong `typedefs.router_path`, `kong/tools/uri.lua` normalize). */

const UNRESERVED_RE = /^[A-Za-z0-9\-._~]$/;

/** Kong's path normalisation: decode unreserved %XX, upper-case the rest, remove dot segments. */
export function normalizeRoutePath(p: string): string {
  const decoded = p.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED_RE.test(c) ? c : `%${hex.toUpperCase()}`;
  });
  return removeDotSegments(decoded);
}

/** RFC 3986 §5.2.4. */
function removeDotSegments(input: string): string {
  let rest = input;
  const out: string[] = [];
  while (rest.length > 0) {
    if (rest.startsWith('../')) rest = rest.slice(3);
    else if (rest.startsWith('./')) rest = rest.slice(2);
    else if (rest.startsWith('/./')) rest = rest.slice(2);
    else if (rest === '/.') rest = '/';
    else if (rest.startsWith('/../')) {
      rest = rest.slice(3);
      out.pop();
    } else if (rest === '/..') {
      rest = '/';
      out.pop();
    } else if (rest === '.' || rest === '..') rest = '';
    else {
      const next = rest.indexOf('/', 1);
      const seg = next < 0 ? rest : rest.slice(0, next);
      out.push(seg);
      rest = next < 0 ? '' : rest.slice(next);
    }
  }
  return out.join('');
}

/**
 * Kong's message for an invalid route path, or null. Regex paths (`~…`) must
 * compile; they are compiled with JS RegExp, so PCRE-only syntax such as
 * `(?i)` or `(?P<n>…)` is refused with the engine's reason.
 */
export function routePathError(p: string): string | null {
  if (p.startsWith('~')) {
    const re = p.slice(1);
    try {
      new RegExp(re);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      return `invalid regex: '${re}' (PCRE returned: ${reason}; gw compiles route regexes as JavaScript regular expressions)`;
    }
    return null;
  }
  if (!p.startsWith('/')) return 'should start with: / (fixed path) or ~/ (regex path)';
  if (p.includes('//')) return 'must not have empty segments';
  const normalized = normalizeRoutePath(p);
  if (normalized !== p) return `non-normalized path, consider use '${normalized}' instead`;
  return null;
}
