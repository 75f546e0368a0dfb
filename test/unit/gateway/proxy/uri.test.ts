import assert from 'node:assert/strict';
import { test } from 'node:test';
import { upstreamPath } from '../../../../gateway/src/proxy/uri.js';

// kong-semantics §3.2 (path_handling v0): [service.path, route path, strip_path, request path, upstream path]
const table: [string | null, string, boolean, string, string][] = [
  [null, '/api', true, '/api/users', '/users'],
  [null, '/api', true, '/api', '/'],
  [null, '/api', false, '/api/users', '/api/users'],
  ['/svc', '/api', true, '/api/users', '/svc/users'],
  ['/svc', '/api', true, '/api', '/svc'],
  ['/svc', '/api', true, '/api/', '/svc/'],
  ['/svc', '/api', true, '/apix', '/svc/x'],
  ['/svc', '/api', false, '/api/users', '/svc/api/users'],
  ['/svc', '/', false, '/', '/svc'],
  ['/svc/', '/api', true, '/api/users', '/svc/users'],
  ['/svc/', '/api', true, '/api', '/svc'],
  ['/svc/', '/api', true, '/api/', '/svc/'],
  ['/svc/', '/api', false, '/api/users', '/svc/api/users'],
  ['/', '/api', true, '/api', '/'],
];

for (const [servicePath, routePath, strip, reqPath, want] of table) {
  test(`upstream path: service ${servicePath} route ${routePath} strip=${strip} ${reqPath} → ${want}`, () => {
    assert.equal(upstreamPath(reqPath, routePath, strip, servicePath), want);
  });
}
