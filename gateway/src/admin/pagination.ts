/**
 * Kong's pagination (`size`, opaque `offset`, `next`) and tag filters over an
 * in-memory list.
 */
import { invalidOffset, invalidOptions, invalidSize } from './kong-errors.js';

export interface PageQuery {
  size?: string;
  offset?: string;
  tags?: string;
}

export interface Page<T> {
  data: T[];
  offset?: string;
  next: string | null;
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Parse `tags=a,b` (all of) or `tags=a/b` (any of) into a predicate. */
export function tagFilter(tags: string | undefined): ((t: string[] | null) => boolean) | undefined {
  if (tags === undefined) return undefined;
  if (tags === '') throw invalidOptions('tags', 'cannot be null');
  const hasAnd = tags.includes(',');
  const hasOr = tags.includes('/');
  if (hasAnd && hasOr) throw invalidOptions('tags', 'invalid filter syntax');
  const wanted = tags.split(hasOr ? '/' : ',');
  if (wanted.some((w) => w === '')) throw invalidOptions('tags', 'cannot be null');
  // bytes that are not UTF-8 (`?tags=%FF`, decoded to U+FFFD): Kong's 14-tags_spec "invalid filter syntax"
  // (the query parser leaves an undecodable escape such as %FF as it was)
  if (wanted.some((w) => w.includes('\uFFFD') || /%[89A-Fa-f][0-9A-Fa-f]/.test(w))) throw invalidOptions('tags', 'invalid filter syntax');
  return hasOr ? (t) => t !== null && wanted.some((w) => t.includes(w)) : (t) => t !== null && wanted.every((w) => t.includes(w));
}

/**
 * How `next` is built: Kong's top-level collections carry `&tags=` then
 * `&size=` (`kong/api/endpoints.lua` get_collection_endpoint); nested
 * collections, `/targets/all` and `/health` carry the offset only.
 */
export type NextStyle = 'collection' | 'nested';

/**
 * What `offset` is: Kong's DAO cursor (opaque base64, every list but two),
 * or the plain index `"3"` of `/upstreams/{u}/targets` and
 * `/upstreams/{u}/health`, which Kong pages in Lua over the whole list
 * (`kong/db/dao/targets.lua` page_for_upstream: `next_offset = tostring(size + offset)`).
 */
export type OffsetStyle = 'cursor' | 'index';

const LUA_SPACE = /^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g;
const LUA_DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const LUA_HEX = /^([+-]?)0[xX]([0-9a-fA-F]+)$/;

/**
 * Lua's `tonumber()` of a string, which Kong reads `size` with
 * (`kong/api/endpoints.lua` get_page_size): surrounding whitespace is
 * ignored, decimals with exponents (`1e1` is 10) and `0x` hex integers are
 * numbers; anything else (`abc`, `inf`, ``) is not (undefined).
 */
export function luaNumber(text: string): number | undefined {
  const t = text.replace(LUA_SPACE, '');
  if (LUA_DECIMAL.test(t)) return Number(t);
  const hex = LUA_HEX.exec(t);
  if (hex) return (hex[1] === '-' ? -1 : 1) * parseInt(hex[2]!, 16);
  return undefined;
}

/** One page of `items` per Kong's rules; `basePath` builds `next`. */
export function paginate<T>(
  items: readonly T[],
  q: PageQuery,
  basePath: string,
  style: NextStyle = 'collection',
  offsets: OffsetStyle = 'cursor',
): Page<T> {
  let size = 100;
  if (q.size !== undefined) {
    const n = luaNumber(q.size);
    if (n === undefined) throw invalidSize('size must be a number');
    // the two index-paged lists take at most 1000 instead of refusing more (targets.lua page_for_upstream: `min(size, max_page_size)`)
    size = offsets === 'index' ? Math.min(n, 1000) : n;
    if (!Number.isInteger(size) || size < 1 || size > 1000) throw invalidSize('size must be an integer between 1 and 1000');
  }
  let start = 0;
  if (q.offset !== undefined) {
    const o = q.offset;
    if (offsets === 'index') {
      if (!/^\d{1,9}$/.test(o)) throw invalidOffset(o, 'expected a number');
      start = Number(o);
    } else {
      if (o === '' || !BASE64_RE.test(o)) throw invalidOffset(o);
      const decoded = Buffer.from(o, 'base64').toString('utf8');
      if (!/^\d+$/.test(decoded)) throw invalidOffset(o);
      start = Number(decoded);
    }
  }
  const data = items.slice(start, start + size);
  const nextIndex = start + size;
  if (nextIndex >= items.length) return { data, next: null };
  const offset = offsets === 'index' ? String(nextIndex) : Buffer.from(String(nextIndex)).toString('base64');
  let next = `${basePath}?offset=${encodeURIComponent(offset)}`;
  if (style === 'collection') {
    if (q.tags !== undefined) next += `&tags=${encodeURIComponent(q.tags)}`;
    if (q.size !== undefined) next += `&size=${q.size}`;
  }
  return { data, offset, next };
}
