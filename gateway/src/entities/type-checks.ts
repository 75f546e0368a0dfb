/**
 * Compile-time proof that the zod schemas produce the shapes declared in
 * types.ts (the admin and runtime import types from there). `id`,
 * `created_at` and `updated_at` are stamped by parse.ts, foreign keys are
 * returned unresolved, and routes' `strip_path` is completed after parsing.
 */
import type { z } from 'zod';
import type { Route, Service, Target, Upstream } from './types.js';
import type { routeSchema } from './routes.js';
import type { serviceSchema } from './services.js';
import type { targetSchema } from './targets.js';
import type { upstreamSchema } from './upstreams.js';

type Stamped = 'id' | 'created_at' | 'updated_at';
type Assert<T extends true> = T;
type Matches<Out, Want> = Out extends Want ? true : false;

export type ServiceOutputMatches = Assert<Matches<Omit<z.output<typeof serviceSchema>, Stamped>, Omit<Service, Stamped>>>;
export type RouteOutputMatches = Assert<
  Matches<Omit<z.output<typeof routeSchema>, Stamped | 'service' | 'strip_path'>, Omit<Route, Stamped | 'service' | 'strip_path'>>
>;
export type UpstreamOutputMatches = Assert<Matches<Omit<z.output<typeof upstreamSchema>, Stamped>, Omit<Upstream, Stamped>>>;
export type TargetOutputMatches = Assert<
  Matches<Omit<z.output<typeof targetSchema>, Stamped | 'upstream'>, Omit<Target, Stamped | 'upstream'>>
>;
