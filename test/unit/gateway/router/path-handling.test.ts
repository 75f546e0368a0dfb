import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEntity } from '../../../../gateway/src/entities/index.js';
import type { Route, Service } from '../../../../gateway/src/entities/types.js';
import { normalizePath, upstreamPath } from '../../../../gateway/src/proxy/uri.js';
import { compileRouter } from '../../../../gateway/src/router/router.js';
import { expandedPathHandlingCases, makeARegex, PATH_HANDLING_ROWS } from '../../../helpers/kong-path-handling.js';

// Kong spec/02-integration/05-proxy/02-router_spec.lua, describe("slash handling"): "(plain)" and "(regex)",
// over every row of spec/fixtures/router_path_handling_tests.lua, as the traditional_compatible flavor runs them (v0 only).
// Here: the compiled router, the normalisation and the upstream path function; the same cases go through a running
// gateway in test/integration/proxy-path-handling.test.ts.

const svc = (path: string): Service => {
  const r = parseEntity('services', { host: 'upstream.test', path }, { mode: 'create', now: 1 });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  return r.value as unknown as Service;
};
const route = (service: Service, fields: Record<string, unknown>): Route => {
  const r = parseEntity('routes', fields, { mode: 'create', now: 2 });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  return { ...(r.value as unknown as Route), service: { id: service.id } };
};

/** The upstream path gw sends for `requestPath` with one route and its service, or null when nothing matches. */
function forwarded(servicePath: string, routeFields: Record<string, unknown>, requestPath: string): string | null {
  const s = svc(servicePath);
  const host = 'localbin.test';
  const router = compileRouter([route(s, { hosts: [host], ...routeFields })], new Map([[s.id, s]]));
  const path = normalizePath(requestPath);
  const m = router.match({ method: 'GET', host, path, headers: {}, port: 8000 });
  if (!m) return null;
  return upstreamPath(path, m.matchedPath, m.route.strip_path, m.service!.path);
}

const cases = expandedPathHandlingCases().filter((c) => c.pathHandling === 'v0');

test('the table has all 113 rows of router_path_handling_tests.lua', () => {
  assert.equal(PATH_HANDLING_ROWS.length, 113);
});

for (const c of cases) {
  const strip = c.strip ? 'on' : 'off';
  const what = c.routePath === null ? 'host localbin' : `uri ${c.routePath}`;
  test(`router_spec slash handling (plain) ${c.label} ${c.servicePath} with ${what}, strip = ${strip}, v0 when requesting ${c.requestPath}`, () => {
    const fields = { strip_path: c.strip, path_handling: 'v0', ...(c.routePath === null ? {} : { paths: [c.routePath] }) };
    assert.equal(forwarded(c.servicePath, fields, c.requestPath), c.expected);
  });
}

for (const c of cases) {
  if (c.routePath === null) continue; // Kong: "skip if hostbased match"
  const strip = c.strip ? 'on' : 'off';
  const re = makeARegex(c.routePath);
  test(`router_spec slash handling (regex) ${c.label} ${c.servicePath} with uri ${re}, strip = ${strip}, v0 when requesting ${c.requestPath}`, () => {
    assert.equal(forwarded(c.servicePath, { strip_path: c.strip, path_handling: 'v0', paths: [re] }, c.requestPath), c.expected);
  });
}
