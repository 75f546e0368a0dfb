import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizePath } from '../../../../gateway/src/proxy/uri.js';

// the path gw routes and forwards: Kong's kong/tools/uri.lua normalize(uri, true) (merge_slashes: what the router uses),
// then escape() as Kong does before forwarding (kong/runloop/handler.lua); Kong's own uri spec is in
// test/unit/gateway/entities/route-paths.test.ts
const table: [string, string][] = [
  ['', ''],
  ['/', '/'],
  ['/a', '/a'],
  ['/a/', '/a/'],
  ['/a/b/c', '/a/b/c'],
  ['/a%2Fb%2Fc/', '/a%2Fb%2Fc/'],
  ['/%21%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%5B%5D', '/%21%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%5B%5D'],
  ['/a%2fb%2fc/', '/a%2Fb%2Fc/'],
  ['/f%6f%6f', '/foo'],
  ['/%6B%6f%6e%67', '/kong'],
  ['/%2E', '/'],
  ['/./', '/'],
  ['/.', '/'],
  ['/..', '/'],
  ['/../', '/'],
  ['/./.././../', '/'],
  ['/a/b/c/./../../g', '/a/g'],
  ['mid/content=5/../6', 'mid/6'],
  ['//', '/'],
  ['/////', '/'],
  ['/a//b//', '/a/b/'],
  ['/endel%C3%B8st', '/endel%C3%B8st'],
  // the cases
  ['/../../etc/passwd', '/etc/passwd'],
  ['/%2e%2e/%2e%2e/etc/passwd', '/etc/passwd'],
  ['/bad/../x', '/x'],
  ['/a/%2e./b', '/b'],
  ['/a/b/..', '/a/'],
  ['/a/.hidden/..x', '/a/.hidden/..x'],
  // decoded for matching, escaped again for forwarding: the same bytes, in one spelling
  ['/cat%20and%20dog', '/cat%20and%20dog'],
  ['/%c3%a4', '/%C3%A4'],
  ['/a"b|c', '/a%22b%7Cc'],
  ['/%25', '/%25'],
];

for (const [input, want] of table) {
  test(`normalize ${JSON.stringify(input)} → ${JSON.stringify(want)}`, () => {
    assert.equal(normalizePath(input), want);
  });
}

test('a path needing no change is returned as the same string', () => {
  const p = '/api/v1/users';
  assert.equal(normalizePath(p), p);
});
