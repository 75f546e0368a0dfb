/** Route schema and rules (Kong `routes.lua`, `routes_subschemas.lua`). */
import { z } from 'zod';
import type { EntitySpec } from './spec.js';

export const routeSpec: EntitySpec = {
  schema: () => z.never({ errorMap: () => ({ message: 'routes are not implemented yet' }) }),
  gwFields: [],
  floatTimestamps: false,
};
