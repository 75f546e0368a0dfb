/** Screening and copying of untrusted input (JSON bodies, form fields, stored entities). */
import { MAX_ARRAY, MAX_TEXT } from './fields.js';
import type { ErrorBag } from './kong-errors.js';
import type { Obj } from './spec.js';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_DEPTH = 16;

/** A plain data object (not an array, not a class instance). */
export function isPlainRecord(v: unknown): v is Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Report keys that could reach a prototype (`__proto__`, `constructor`,
 * `prototype`) as unknown fields, nesting deeper than any entity has, and
 * arrays or records over {@link MAX_ARRAY} entries, before zod sees them
 * (zod would still visit every element of an over-long array).
 */
export function scanHostile(v: unknown, path: (string | number)[], bag: ErrorBag, depth = 0): void {
  if (depth > MAX_DEPTH) {
    bag.add(path, 'nesting too deep');
    return;
  }
  if (Array.isArray(v)) {
    if (v.length > MAX_ARRAY) bag.add(path, `length must be at most ${MAX_ARRAY}`);
    else for (let i = 0; i < v.length; i++) scanHostile(v[i], [...path, i], bag, depth + 1);
    return;
  }
  if (typeof v === 'string' && v.length > MAX_TEXT) bag.add(path, `length must be at most ${MAX_TEXT}`);
  if (typeof v !== 'object' || v === null) return;
  const keys = Object.keys(v);
  if (keys.length > MAX_ARRAY) {
    if (path.length === 0) bag.entity(`too many fields (at most ${MAX_ARRAY})`);
    else bag.add(path, `too many fields (at most ${MAX_ARRAY})`);
    return;
  }
  for (const key of keys) {
    if (FORBIDDEN_KEYS.has(key)) bag.add([...path, key], 'unknown field');
    else scanHostile((v as Obj)[key], [...path, key], bag, depth + 1);
  }
}

/** Deep copy of JSON-like data into fresh plain objects (own enumerable keys only). */
export function toPlain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toPlain);
  if (typeof v !== 'object' || v === null) return v;
  const out: Obj = {};
  for (const key of Object.keys(v)) {
    if (FORBIDDEN_KEYS.has(key)) continue;
    out[key] = toPlain((v as Obj)[key]);
  }
  return out;
}

// Maps and foreign keys are replaced whole on PATCH, like Kong; other records merge.
const REPLACED_RECORDS = new Set(['headers', 'service', 'upstream', 'client_certificate']);

/** PATCH semantics: nested records merged deeply, arrays and maps replaced, null kept (clears). */
export function mergeForUpdate(base: Obj, patch: Obj): Obj {
  const out: Obj = { ...base };
  for (const key of Object.keys(patch)) {
    const a = out[key];
    const b = patch[key];
    out[key] = !REPLACED_RECORDS.has(key) && isPlainRecord(a) && isPlainRecord(b) ? mergeForUpdate(a, b) : b;
  }
  return out;
}
