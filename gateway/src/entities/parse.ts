// Placeholder so the contract compiles; replaced by the entities implementation.
import type { EntityKind } from './types.js';
import type { ParseOptions, ParseResult } from './index.js';

export function parseEntity<K extends EntityKind>(kind: K, input: unknown, opts: ParseOptions<K>): ParseResult<K> {
  void kind; void input; void opts;
  throw new Error('not implemented');
}

/** Normalise a target string (`host[:port]`, default port 8000) or return null when invalid. */
export function normalizeTarget(target: string): string | null {
  void target;
  throw new Error('not implemented');
}
