/** Upstream schema and rules (Kong `upstreams.lua`). */
import { z } from 'zod';
import type { EntitySpec } from './spec.js';

export const upstreamSpec: EntitySpec = {
  schema: () => z.never({ errorMap: () => ({ message: 'upstreams are not implemented yet' }) }),
  gwFields: ['gw'],
  floatTimestamps: false,
};
