/** Target schema and rules (Kong `targets.lua`, `kong/db/dao/targets.lua`). */
import { z } from 'zod';
import { floatTimestamp, foreignRef, int, nullable, str, tags, uuid, withDefault } from './fields.js';
import { normalizeTarget } from './hosts.js';
import type { EntitySpec } from './spec.js';

/** Kong's DAO words (kong/db/dao/targets.lua `format_target`), which the Admin API answers with. */
export const INVALID_TARGET = 'Invalid target; not a valid hostname or ip address';

const targetField = () =>
  str().transform((t, ctx) => {
    const n = normalizeTarget(t);
    if (n === null) {
      ctx.addIssue({ code: 'custom', message: INVALID_TARGET });
      return z.NEVER;
    }
    return n;
  });

const kongShape = {
  id: uuid().optional(),
  created_at: floatTimestamp(),
  updated_at: floatTimestamp(),
  upstream: foreignRef(),
  target: targetField(),
  weight: withDefault(int(0, 65535), 100),
  tags: tags(),
};

export const targetKongSchema = z.object(kongShape, { invalid_type_error: 'expected a record' }).strict();

/** gw mode: adds the lease `ttl` (seconds, null = never expires). */
export const targetSchema = z
  .object(
    {
      ...kongShape,
      ttl: nullable(int(1, 86400)),
    },
    { invalid_type_error: 'expected a record' },
  )
  .strict();

export const targetSpec: EntitySpec = {
  schema: (kongOnly) => (kongOnly ? targetKongSchema : targetSchema),
  gwFields: ['ttl'],
  floatTimestamps: true,
};
