/**
 * Paths as Kong handles them: `normalize` and `escape` of kong/tools/uri.lua,
 * the route path rules (`typedefs.router_path`: `validate_path_with_regexes`
 * in kong/db/schema/typedefs.lua) and the translation of Kong's regex paths
 * to JavaScript regular expressions. Kong works on bytes: a decoded escape
 * becomes one character of code 0–255 (`%C3%A4` is two characters), and
 * `escape` writes each unsafe character back as `%XX`; a route path (a JS
 * string) is taken as its UTF-8 bytes.
 */

// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;

/** A JS string as the bytes Kong sees (its UTF-8, one character per byte), and back. */
const toBytes = (s: string): string => (NON_ASCII.test(s) ? Buffer.from(s, 'utf8').toString('latin1') : s);
const fromBytes = (s: string): string => (NON_ASCII.test(s) ? Buffer.from(s, 'latin1').toString('utf8') : s);

/** RFC 3986 reserved characters: their escapes are kept (upper-cased), all others are decoded (kong/tools/uri.lua RESERVED_CHARS). */
const RESERVED = new Uint8Array(256);
for (const c of "!*'();:@&=+$,/?%#[]") RESERVED[c.charCodeAt(0)] = 1;

/** What `escape` leaves as is (Kong's ESCAPE_PATTERN, case-insensitive): reserved, unreserved and `%`. */
const SAFE = new Uint8Array(256);
for (const c of "!#$&'()*+,/:;=?@[]-_.~%") SAFE[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) SAFE[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) SAFE[c] = SAFE[c + 32] = 1;

const HEX = /%([0-9A-Fa-f]{2})/g;
const HEX_DIGITS = '0123456789ABCDEF';

function decodeEscape(m: string, hex: string): string {
  const n = parseInt(hex, 16);
  return RESERVED[n] ? m.toUpperCase() : String.fromCharCode(n);
}

/**
 * Kong's `escape`: every character outside the safe set (reserved,
 * unreserved, `%`) as `%XX`. Characters are bytes (code < 256); the input
 * is returned as is when nothing needs escaping.
 */
export function escapePath(uri: string): string {
  let i = 0;
  const n = uri.length;
  while (i < n && SAFE[uri.charCodeAt(i)] === 1) i++;
  if (i === n) return uri;
  let out = uri.slice(0, i);
  for (; i < n; i++) {
    const c = uri.charCodeAt(i);
    if (SAFE[c] === 1) out += uri[i];
    else out += `%${HEX_DIGITS[(c >> 4) & 15]}${HEX_DIGITS[c & 15]}`;
  }
  return out;
}

/**
 * Kong's `normalize(uri, merge_slashes)`: escapes decoded except those of
 * reserved characters (`%2e` → `.`, `%20` → space, `%2f` → `%2F`), dot
 * segments removed (RFC 3986 §5.2.4; `..` above the root stays at the root)
 * and, with `mergeSlashes` (what the router uses), `//` merged. Returns the
 * input itself when there is nothing to do.
 */
export function kongNormalize(path: string, mergeSlashes = true): string {
  if (path === '' || path === '/') return path;
  let uri = path;
  if (uri.includes('%')) uri = uri.replace(HEX, decodeEscape);
  if (!uri.includes('.') && (!mergeSlashes || !uri.includes('//'))) return uri;
  const out: string[] = [];
  let i = 0;
  const n = uri.length;
  const DOT = 0x2e;
  const SLASH = 0x2f;
  // the input buffer is uri.slice(i); each step consumes a prefix of it (RFC 3986 §5.2.4, 2A-2E)
  while (i < n) {
    const rest = n - i;
    const c1 = uri.charCodeAt(i);
    const c2 = rest > 1 ? uri.charCodeAt(i + 1) : -1;
    const c3 = rest > 2 ? uri.charCodeAt(i + 2) : -1;
    const c4 = rest > 3 ? uri.charCodeAt(i + 3) : -1;
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
    } else if (mergeSlashes && c1 === SLASH && c2 === SLASH) {
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

/**
 * The path gw routes on and forwards: Kong's `normalize(path, true)` then
 * `escape` (Kong matches the decoded path and escapes it when forwarding;
 * escaping is a per-character mapping, so matching the escaped form against
 * escaped route paths gives the same answers). `/h%65llo` → `/hello`,
 * `/a/../b` → `/b`, `/cat%20dog` stays `/cat%20dog`, `/a%2fb` → `/a%2Fb`,
 * `/x"y` → `/x%22y`. Paths needing no change are returned untouched.
 */
export function normalizePath(path: string): string {
  const n = path.length;
  let i = 0;
  for (; i < n; i++) {
    const c = path.charCodeAt(i);
    // '%' and '.' need work, and '/' when another follows; anything outside the safe set needs escaping
    if (c === 0x25 || c === 0x2e || SAFE[c] !== 1 || (c === 0x2f && path.charCodeAt(i + 1) === 0x2f)) break;
  }
  if (i === n) return path;
  return escapePath(kongNormalize(path));
}

/** The key a route prefix path is matched by: its UTF-8 bytes through {@link normalizePath} (`/ä` → `/%C3%A4`, `/a b` → `/a%20b`). */
export function routePathKey(p: string): string {
  return normalizePath(toBytes(p));
}

/**
 * Kong's `normalize(path, true)` of a route path (kong/tools/uri.lua): escapes
 * decoded except those of reserved characters (`%c3%A4` → `ä`, `%20` → space,
 * `%2f` → `%2F`), dot segments removed, `//` merged.
 */
export function normalizeRoutePath(p: string): string {
  return fromBytes(kongNormalize(toBytes(p)));
}

const POSIX_CLASSES: Record<string, string> = {
  alpha: 'A-Za-z',
  digit: '0-9',
  alnum: 'A-Za-z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  xdigit: '0-9A-Fa-f',
  word: '\\w',
  space: '\\s',
  blank: ' \\t',
  punct: '!-\\/:-@\\[-`{-~',
  cntrl: '\\x00-\\x1f\\x7f',
  print: '\\x20-\\x7e',
  graph: '\\x21-\\x7e',
  ascii: '\\x00-\\x7f',
};

/**
 * Kong 3's regex syntax (PCRE, and the Rust `regex` crate of its ATC
 * router) written as a JavaScript regular expression: named groups
 * `(?P<name>…)` → `(?<name>…)`, backreferences `(?P=name)` → `\k<name>`,
 * `\A` / `\z` / `\Z` anchors, POSIX classes (`[[:digit:]]`), and a global
 * `(?i)` / `(?s)` / `(?m)` (before any letter of the pattern) as flags;
 * `\p{…}` classes turn on the `u` flag. Anything else JavaScript does not
 * know is left as is, so compiling it fails with the engine's reason.
 */
export function pcreToJs(re: string): { source: string; flags: string } {
  let out = '';
  let flags = '';
  let inClass = false;
  let depth = 0;
  let sawLetter = false;
  let unicode = false;
  const n = re.length;
  for (let i = 0; i < n; i++) {
    const c = re[i]!;
    if (c === '\\') {
      const d = re[i + 1];
      if (d === undefined) {
        out += c;
        continue;
      }
      if (!inClass && d === 'A') out += '^';
      else if (!inClass && d === 'z') out += '$';
      else if (!inClass && d === 'Z') out += '(?=\\n?$)';
      else {
        if (d === 'p' || d === 'P') unicode = true;
        out += c + d;
      }
      i++;
      continue;
    }
    if (inClass) {
      if (c === '[' && re[i + 1] === ':') {
        const end = re.indexOf(':]', i + 2);
        const name = end === -1 ? undefined : re.slice(i + 2, end);
        const cls = name === undefined ? undefined : POSIX_CLASSES[name];
        if (cls !== undefined) {
          out += cls;
          i = end + 1;
          continue;
        }
      }
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      // a ']' (or '^]') right after the opening bracket is a literal
      if (re[i + 1] === '^') out += re[++i];
      if (re[i + 1] === ']') out += `\\${re[++i]}`;
      continue;
    }
    if (c === '(' && re[i + 1] === '?') {
      if (re[i + 2] === 'P' && re[i + 3] === '<') {
        out += '(?<';
        i += 3;
        depth++;
        continue;
      }
      const backref = /^\(\?P=([A-Za-z_][A-Za-z0-9_]*)\)/.exec(re.slice(i));
      if (backref) {
        out += `\\k<${backref[1]}>`;
        i += backref[0].length - 1;
        continue;
      }
      const global = /^\(\?([ism]+)\)/.exec(re.slice(i));
      if (global && depth === 0 && !sawLetter) {
        for (const f of global[1]!) if (!flags.includes(f)) flags += f;
        i += global[0].length - 1;
        continue;
      }
    }
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (/[A-Za-z]/.test(c)) sawLetter = true;
    out += c;
  }
  if (unicode) flags += 'u';
  return { source: out, flags };
}

/** The matcher of a regex route path (`~…`): Kong's regex, anchored at the start as Kong anchors it (`^` in kong/router/transform.lua). */
export function compileRoutePathRegex(path: string): RegExp {
  const { source, flags } = pcreToJs(path.startsWith('~') ? path.slice(1) : path);
  return new RegExp(`^(?:${source})`, flags);
}

/**
 * Kong's message for an invalid route path, or null. As Kong: a `%` that
 * does not start a `%XX` escape is "invalid url-encoded value" (regex paths
 * too), a prefix path must be in normalised form, a regex path must compile
 * (see {@link pcreToJs} for the syntax accepted).
 */
export function routePathError(p: string): string | null {
  if (!p.startsWith('/') && !p.startsWith('~/')) return 'should start with: / (fixed path) or ~/ (regex path)';
  if (p.includes('//')) return 'must not have empty segments';
  if (p.includes('%')) {
    const raw = p.replace(/%[0-9A-Fa-f]{2}/g, '___');
    const at = raw.indexOf('%');
    if (at !== -1) return `invalid url-encoded value: '${raw.slice(at, at + 3)}'`;
  }
  if (p.startsWith('~')) {
    const re = p.slice(1);
    try {
      compileRoutePathRegex(p);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      return `invalid regex: '${re}' (PCRE returned: ${reason}; gw compiles route regexes as JavaScript regular expressions)`;
    }
    return null;
  }
  const normalized = normalizeRoutePath(p);
  if (normalized !== p) return `non-normalized path, consider use '${normalized}' instead`;
  return null;
}
