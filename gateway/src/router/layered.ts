/**
 * Route writes without recompiling the whole router: a compiled base plus
 * a small compiled overlay of the routes written since (added or changed),
 * and the ids the base must skip (changed or deleted since it was
 * compiled). A request is matched in both and the candidate with Kong's
 * higher priority wins, so the answer is the one a full compile would give
 * (the priority key is a total order: it ends with created_at and id).
 *
 * A write costs a compile of the overlay only; when the overlay outgrows
 * `maxOverlay(base)` (√(2·base), at least 64 routes) the next update
 * compiles everything into a new base. With k the overlay limit, a write
 * costs about k/2 route compiles for the overlay plus N/k amortised for the
 * base; k = √(2N) makes that √(2N) (100 at 5,000 routes instead of 5,000),
 * and the router's garbage per write shrinks with it. The runtime also compacts after a quiet
 * moment, so a steady state is a single compiled router.
 */
import type { Route, Service } from '../entities/types.js';
import { compare, compileRouter, CompiledRouter, toMatch, type Found, type RouteMatch, type RouteRequest, type Router } from './router.js';

const MIN_OVERLAY = 64;

/** The overlay size beyond which an update compiles a new base. */
export function maxOverlay(baseRoutes: number): number {
  return Math.max(MIN_OVERLAY, Math.ceil(Math.sqrt(2 * baseRoutes)));
}

export class LayeredRouter implements Router {
  constructor(
    readonly base: CompiledRouter,
    /** the current version of every route written since the base (id → route) */
    readonly written: ReadonlyMap<string, Route>,
    readonly overlay: CompiledRouter,
    /** base routes replaced or deleted since the base was compiled */
    readonly shadowed: ReadonlySet<string>,
    readonly size: number,
  ) {}

  match(req: RouteRequest): RouteMatch | null {
    const a = this.base.find(req, this.shadowed);
    const b = this.overlay.find(req, null);
    const f: Found | null = a && b ? (compare(a.cand.key, b.cand.key) <= 0 ? a : b) : (a ?? b);
    return f ? toMatch(f) : null;
  }
}

/**
 * The router after `changed` route ids were written (put or deleted):
 * `routeOf(id)` gives a route's current version (undefined: deleted),
 * `all()` every route for a full compile. `services` must be the map the
 * previous router was compiled with (a service change needs a full compile).
 */
export function updateRouter(
  prev: Router,
  changed: Iterable<string>,
  routeOf: (id: string) => Route | undefined,
  all: () => readonly Route[],
  services: ReadonlyMap<string, Service>,
): Router {
  const base = prev instanceof LayeredRouter ? prev.base : prev instanceof CompiledRouter ? prev : undefined;
  if (!base) return compileRouter(all(), services);
  const written = new Map(prev instanceof LayeredRouter ? prev.written : undefined);
  const shadowed = new Set(prev instanceof LayeredRouter ? prev.shadowed : undefined);
  for (const id of changed) {
    const r = routeOf(id);
    if (r) written.set(id, r);
    else written.delete(id);
    if (base.perRoute.has(id)) shadowed.add(id);
  }
  if (written.size > maxOverlay(base.perRoute.size)) return compileRouter(all(), services);
  if (written.size === 0 && shadowed.size === 0) return base;
  const overlay = compileRouter([...written.values()], services);
  let size = base.size + overlay.size;
  for (const id of shadowed) size -= base.perRoute.get(id) ?? 0;
  return new LayeredRouter(base, written, overlay, shadowed, size);
}

/** Whether `r` carries writes not yet compiled into one router (the runtime compacts it when quiet). */
export function isLayered(r: Router): boolean {
  return r instanceof LayeredRouter;
}
