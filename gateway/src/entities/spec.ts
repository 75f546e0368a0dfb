/** What parse.ts needs to know about one entity kind. */
import type { z } from 'zod';
import type { ErrorBag } from './kong-errors.js';

export type Obj = Record<string, unknown>;

export interface EntitySpec {
  /** the zod schema; `kongOnly` drops the gw extension fields (they become unknown fields) */
  schema(kongOnly: boolean): z.ZodTypeAny;
  /** gw extension fields, stripped from `existing` in Kong-only mode */
  readonly gwFields: readonly string[];
  /** targets stamp float seconds (ms precision); the others integer seconds */
  readonly floatTimestamps: boolean;
  /** rewrite write-only shorthand fields of the raw input before merging (services `url`) */
  shorthand?(input: Obj, bag: ErrorBag): void;
  /** cross-field checks and side effects on the parsed value; `input` is the raw request body */
  check?(value: Obj, input: Obj, bag: ErrorBag): void;
}
