/**
 * Kong's schema-violation error body (`kong/db/errors.lua`, code 2) built from
 * field paths, and the translation of zod issues into Kong's message words.
 */
import type { ZodIssue } from 'zod';
import type { SchemaViolation } from './index.js';

/** One field error: a path (object keys and array indexes) and Kong's message. */
export type FieldError = readonly [path: readonly (string | number)[], message: string];

/** Collects field errors, keeping the first message per path (Kong reports one per field). */
export class ErrorBag {
  readonly #fields = new Map<string, FieldError>();
  readonly #entity: string[] = [];

  add(path: readonly (string | number)[], message: string): void {
    const key = path.join('.');
    if (!this.#fields.has(key)) this.#fields.set(key, [path, message]);
  }

  entity(message: string): void {
    if (!this.#entity.includes(message)) this.#entity.push(message);
  }

  get empty(): boolean {
    return this.#fields.size === 0 && this.#entity.length === 0;
  }

  toViolation(): SchemaViolation {
    return buildViolation([...this.#fields.values()], this.#entity);
  }
}

/** Translate zod issues into `bag`, using Kong's words. */
export function addZodIssues(bag: ErrorBag, issues: readonly ZodIssue[]): void {
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) bag.add([...issue.path, key], 'unknown field');
    } else if (issue.code === 'invalid_type' && (issue.received === 'undefined' || issue.received === 'null')) {
      bag.add(issue.path, 'required field missing');
    } else if (issue.code === 'too_big' && issue.type === 'array') {
      bag.add(issue.path, `length must be at most ${String(issue.maximum)}`);
    } else if (issue.code === 'too_small' && issue.type === 'array') {
      bag.add(issue.path, `length must be at least ${String(issue.minimum)}`);
    } else {
      bag.add(issue.path, issue.message);
    }
  }
}

/**
 * Kong's error body from flat field errors (`{"hosts.1": "invalid value: x"}`,
 * dotted paths, numeric segments are array indexes) and entity-level errors.
 */
export function formatSchemaViolation(fields: Record<string, string>, entityErrors: string[] = []): SchemaViolation {
  const list: FieldError[] = Object.keys(fields).map((k) => [
    k.split('.').map((seg) => (/^\d+$/.test(seg) ? Number(seg) : seg)),
    fields[k] as string,
  ]);
  return buildViolation(list, entityErrors);
}

function buildViolation(list: readonly FieldError[], entityErrors: readonly string[]): SchemaViolation {
  const fields: Record<string, unknown> = {};
  if (entityErrors.length > 0) fields['@entity'] = [...entityErrors];
  const sorted = [...list].sort((a, b) => compare(a[0].join('.'), b[0].join('.')));
  for (const [path, message] of sorted) setPath(fields, path, message);
  // Kong's messages count array elements from 1 (Lua): `protocols.1:` is the first protocol
  const parts = [
    ...entityErrors,
    ...sorted.map(([path, message]) => `${path.map((s) => (typeof s === 'number' ? s + 1 : s)).join('.')}: ${message}`),
  ];
  const n = parts.length;
  const message = n === 1 ? `schema violation (${parts[0]})` : `${n} schema violations (${parts.join('; ')})`;
  return { code: 2, name: 'schema violation', message, fields };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Write `message` at `path`, creating records and (for numeric segments) arrays padded with null. */
function setPath(root: Record<string, unknown>, path: readonly (string | number)[], message: string): void {
  if (path.length === 0) return;
  let node: Record<string, unknown> | unknown[] = root;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i] as string | number;
    const last = i === path.length - 1;
    const container = node as Record<string | number, unknown>;
    if (Array.isArray(node) && typeof seg === 'number') {
      while (node.length < seg) node.push(null);
    }
    if (last) {
      define(container, seg, message);
      return;
    }
    let next = container[seg];
    if (typeof next !== 'object' || next === null) {
      next = typeof path[i + 1] === 'number' ? [] : {};
      define(container, seg, next);
    }
    node = next as Record<string, unknown> | unknown[];
  }
}

/** defineProperty, so that a key such as `__proto__` stays an own data property. */
function define(target: Record<string | number, unknown>, key: string | number, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
