/** Shared helpers for the entity tests. */
import assert from 'node:assert/strict';
import { parseEntity } from '../../../../gateway/src/entities/index.js';
import type { EntityKind, ParseOptions, SchemaViolation } from '../../../../gateway/src/entities/index.js';

export const NOW = 1_700_000_000.1234;
export const UUID = '6f1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b';

/** Parse and expect success; returns the value as a plain record. */
export function ok<K extends EntityKind>(kind: K, input: unknown, opts: Partial<ParseOptions<K>> = {}): Record<string, unknown> {
  const r = parseEntity(kind, input, { mode: 'create', now: NOW, ...opts });
  if (!r.ok) assert.fail(`expected ${kind} to parse, got: ${r.error.message}`);
  return r.value as unknown as Record<string, unknown>;
}

/** Parse and expect a schema violation. */
export function bad<K extends EntityKind>(kind: K, input: unknown, opts: Partial<ParseOptions<K>> = {}): SchemaViolation {
  const r = parseEntity(kind, input, { mode: 'create', now: NOW, ...opts });
  if (r.ok) assert.fail(`expected ${kind} to be refused, got: ${JSON.stringify(r.value)}`);
  assert.equal(r.error.code, 2);
  assert.equal(r.error.name, 'schema violation');
  return r.error;
}

/** The value without its random id. */
export function withoutId(v: Record<string, unknown>): Record<string, unknown> {
  const { id, ...rest } = v;
  assert.match(String(id), /^[0-9a-f-]{36}$/);
  return rest;
}
