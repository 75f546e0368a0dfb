import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizePath } from '../../../../gateway/src/proxy/uri.js';

// Kong's spec for kong/tools/uri.lua normalize(uri, true) (merge_slashes: what the router uses)
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
