/**
 * Kong's rendering of an error table on one line: Penlight's
 * `pretty.write(t, "")` (lua/pl/pretty.lua), which `kong/db/errors.lua`
 * `declarative_config` puts after `declarative config is invalid: `.
 *
 * A JS array is a Lua sequence (index i is Lua's i + 1; null is a hole): the
 * run before the first hole is written positionally, later entries as
 * `[n]=`. Object keys follow, sorted; keys that are not Lua identifiers are
 * written `["key"]=`. Strings are quoted as `pl.stringx.quote_string` does.
 */

const LUA_KEYWORDS = new Set([
  'and',
  'break',
  'do',
  'else',
  'elseif',
  'end',
  'false',
  'for',
  'function',
  'goto',
  'if',
  'in',
  'local',
  'nil',
  'not',
  'or',
  'repeat',
  'return',
  'then',
  'true',
  'until',
  'while',
]);

const isIdentifier = (s: string): boolean => /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) && !LUA_KEYWORDS.has(s);

/** The most `=` of any long-bracket open or close (`[[`, `]=]`...) in `s`, or undefined (stringx `has_lquote`). */
function longQuoteLevel(s: string): number | undefined {
  const re = /([[\]])(=*)\1/g;
  let level: number | undefined;
  let from = 0;
  for (;;) {
    re.lastIndex = from;
    const m = re.exec(s);
    if (!m) return level;
    level = Math.max(level ?? 0, m[2]!.length);
    // Lua's s:find(pat, finish) restarts at the last character of the match
    from = m.index + m[0].length - 1;
  }
}

/** `pl.stringx.quote_string`: a long bracket for text with newlines or bracket runs, else Lua's `%q`. */
export function luaQuote(s: string): string {
  const level = longQuoteLevel(`${s}]`);
  if ((s.includes('\n') || level !== undefined) && !s.includes('\r')) {
    const eq = '='.repeat((level ?? -1) + 1);
    return `[${eq}[${s.startsWith('\n') ? `\n${s}` : s}]${eq}]`;
  }
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const code = c.charCodeAt(0);
    if (c === '"' || c === '\\') out += `\\${c}`;
    else if (c === '\n') out += '\\\n';
    else if (c === '\r') out += '\\r';
    else if (code < 32 || code === 127) {
      const next = s.charCodeAt(i + 1);
      out += next >= 48 && next <= 57 ? `\\${String(code).padStart(3, '0')}` : `\\${code}`;
    } else out += c;
  }
  return `${out}"`;
}

function scalar(v: unknown): string {
  if (typeof v === 'string') return luaQuote(v);
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'NaN';
    if (!Number.isFinite(v)) return v > 0 ? 'Inf' : '-Inf';
    return String(v);
  }
  // ngx.null is a userdata: `"userdata: NULL"` (quote_if_necessary quotes what has a space)
  if (v === null) return '"userdata: NULL"';
  return typeof v === 'boolean' ? String(v) : 'nil';
}

/** `pretty.write(value, "")`. */
export function luaPretty(v: unknown): string {
  if (typeof v !== 'object' || v === null) return scalar(v);
  const parts: string[] = [];
  if (Array.isArray(v)) {
    let i = 0;
    while (i < v.length && v[i] !== null && v[i] !== undefined) parts.push(luaPretty(v[i++]));
    for (; i < v.length; i++) if (v[i] !== null && v[i] !== undefined) parts.push(`[${i + 1}]=${luaPretty(v[i])}`);
    return `{${parts.join(',')}}`;
  }
  const keys = Object.keys(v).sort();
  for (const k of keys) {
    const val = (v as Record<string, unknown>)[k];
    if (val === undefined) continue;
    const q = luaQuote(k);
    // pretty.lua `index`: a long-bracket key is padded, `[ [[a]] ]`
    const key = isIdentifier(k) ? k : q.startsWith('[') ? `[ ${q} ]` : `[${q}]`;
    parts.push(`${key}=${luaPretty(val)}`);
  }
  return `{${parts.join(',')}}`;
}
