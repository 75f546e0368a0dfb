/**
 * A router updated by route writes (router/layered.ts: a base plus an
 * overlay of written routes) answers every request exactly as a router
 * compiled from scratch over the same routes: random sequences of route
 * puts, changes and deletes (hosts, methods, prefix and regex paths,
 * headers, regex_priority, routes without a service), random requests.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseEntity } from '../../../../gateway/src/entities/index.js';
import type { Route, Service } from '../../../../gateway/src/entities/types.js';
import { compileRouter, type RouteRequest, type Router } from '../../../../gateway/src/router/router.js';
import { LayeredRouter, maxOverlay, updateRouter } from '../../../../gateway/src/router/layered.js';

const service = (name: string): Service => {
  const r = parseEntity('services', { name, host: `${name}.test` }, { mode: 'create', now: 1 });
  assert.ok(r.ok);
  return r.value as unknown as Service;
};
const s1 = service('one');
const s2 = service('two');
const services = new Map([
  [s1.id, s1],
  [s2.id, s2],
]);

const PATHS = ['/', '/a', '/a/b', '/ab', '/b', '~/a/\\d+', '~/b/(?<x>[a-z]+)$'];
const HOSTS = ['x.test', 'y.test', '*.test'];
const routeArb = fc.record({
  slot: fc.integer({ min: 0, max: 11 }),
  paths: fc.option(fc.uniqueArray(fc.constantFrom(...PATHS), { minLength: 1, maxLength: 2 }), { nil: undefined }),
  hosts: fc.option(fc.uniqueArray(fc.constantFrom(...HOSTS), { minLength: 1, maxLength: 2 }), { nil: undefined }),
  methods: fc.option(fc.uniqueArray(fc.constantFrom('GET', 'POST'), { minLength: 1, maxLength: 2 }), { nil: undefined }),
  header: fc.boolean(),
  regexPriority: fc.integer({ min: 0, max: 2 }),
  service: fc.constantFrom<Service | null>(s1, s2, null),
});
type RouteSpec = typeof routeArb extends fc.Arbitrary<infer T> ? T : never;
const opArb = fc.oneof(
  { weight: 3, arbitrary: routeArb.map((spec) => ({ put: spec })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 11 }).map((slot) => ({ del: slot })) },
);
const reqArb = fc.record({
  method: fc.constantFrom('GET', 'POST'),
  host: fc.constantFrom('x.test', 'y.test', 'z.test', 'other.example', undefined),
  path: fc.constantFrom('/', '/a', '/a/b', '/a/12', '/ab/c', '/b', '/b/cd', '/c'),
  header: fc.boolean(),
});

let clock = 1000;
function build(spec: RouteSpec): Route {
  const id = `00000000-0000-4000-8000-${String(spec.slot).padStart(12, '0')}`;
  const fields: Record<string, unknown> = { id, name: `r${spec.slot}`, regex_priority: spec.regexPriority };
  if (spec.paths) fields.paths = spec.paths;
  if (spec.hosts) fields.hosts = spec.hosts;
  if (spec.methods) fields.methods = spec.methods;
  if (spec.header) fields.headers = { 'x-v': ['1'] };
  if (!spec.paths && !spec.hosts && !spec.methods && !spec.header) fields.paths = ['/'];
  const r = parseEntity('routes', fields, { mode: 'create', now: clock++ });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  return { ...(r.value as unknown as Route), service: spec.service ? { id: spec.service.id } : null };
}

const answer = (router: Router, q: RouteRequest) => {
  const m = router.match(q);
  return m && { route: m.route.id, service: m.service?.id ?? null, path: m.matchedPath, captures: m.uriCaptures };
};

test('a router updated write by write answers as a full compile over the same routes (property)', () => {
  fc.assert(
    fc.property(
      fc.array(routeArb, { maxLength: 8 }),
      fc.array(fc.array(opArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 8 }),
      fc.array(reqArb, { minLength: 1, maxLength: 12 }),
      (initial, batches, requests) => {
        const table = new Map<string, Route>();
        for (const spec of initial) {
          const r = build(spec);
          table.set(r.id, r);
        }
        let router: Router = compileRouter([...table.values()], services);
        for (const batch of batches) {
          const changed = new Set<string>();
          for (const op of batch) {
            if ('put' in op) {
              const r = build(op.put);
              table.set(r.id, r);
              changed.add(r.id);
            } else {
              const id = `00000000-0000-4000-8000-${String(op.del).padStart(12, '0')}`;
              table.delete(id);
              changed.add(id);
            }
          }
          router = updateRouter(
            router,
            changed,
            (id) => table.get(id),
            () => [...table.values()],
            services,
          );
          const full = compileRouter([...table.values()], services);
          assert.equal(router.size, full.size, 'size');
          for (const q of requests) {
            const request: RouteRequest = {
              method: q.method,
              host: q.host,
              path: q.path,
              headers: q.header ? { 'x-v': '1' } : {},
              port: 8000,
            };
            assert.deepEqual(answer(router, request), answer(full, request), `${q.method} ${q.host ?? '-'} ${q.path}`);
          }
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('route writes go to an overlay until it outgrows √(2 × base routes) (at least 64), then the next write compiles one router', () => {
  const routes: Route[] = [];
  for (let i = 0; i < 5000; i++) routes.push(build({ slot: i, paths: [`/r${i}`], service: s1 } as unknown as RouteSpec));
  const byId = new Map(routes.map((r) => [r.id, r]));
  let router: Router = compileRouter(routes, services);
  const limit = maxOverlay(5000);
  assert.equal(limit, 100);
  assert.equal(maxOverlay(100), 64);
  for (let i = 0; i < limit; i++) {
    const r = { ...byId.get(routes[i]!.id)!, paths: [`/changed${i}`] };
    byId.set(r.id, r);
    router = updateRouter(
      router,
      [r.id],
      (id) => byId.get(id),
      () => [...byId.values()],
      services,
    );
    assert.ok(router instanceof LayeredRouter, `write ${i} is layered`);
    assert.equal(router.match({ method: 'GET', host: undefined, path: `/changed${i}`, headers: {}, port: 80 })?.route.id, r.id);
    assert.equal(router.match({ method: 'GET', host: undefined, path: `/r${i}`, headers: {}, port: 80 }), null, 'the old path is gone');
  }
  const last = { ...byId.get(routes[limit]!.id)!, paths: ['/last'] };
  byId.set(last.id, last);
  router = updateRouter(
    router,
    [last.id],
    (id) => byId.get(id),
    () => [...byId.values()],
    services,
  );
  assert.ok(!(router instanceof LayeredRouter), 'compiled into one router');
  assert.equal(router.size, 5000);
  assert.equal(router.match({ method: 'GET', host: undefined, path: '/last', headers: {}, port: 80 })?.route.id, last.id);
});
