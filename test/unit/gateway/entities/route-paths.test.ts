import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  compileRoutePathRegex,
  escapePath,
  kongNormalize,
  normalizeRoutePath,
  pcreToJs,
  routePathError,
} from '../../../../gateway/src/entities/route-paths.js';
import { bad, ok } from './helpers.js';

/** A Lua string literal's bytes as gw holds them (one character per byte). */
const bytes = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

// Kong spec/01-unit/18-tools_uri_spec.lua, describe("normalize()") and describe("escape()"): every `it`, every assertion
const normalizeSpec: [string, [string, string, boolean?][]][] = [
  [
    'no normalization necessary',
    [
      ['', ''],
      ['/', '/'],
      ['/a', '/a'],
      ['/a/', '/a/'],
      ['/a/b/c', '/a/b/c'],
      ['/a/b/c/', '/a/b/c/'],
    ],
  ],
  [
    'no normalization necessary (reserved characters)',
    [
      ['/a%2Fb%2Fc/', '/a%2Fb%2Fc/'],
      ['/%20%21%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%5B%5D', '/ %21%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%5B%5D'],
    ],
  ],
  [
    'converting percent-encoded triplets to uppercase',
    [
      ['/a%2fb%2fc/', '/a%2Fb%2Fc/'],
      ['/f%6f%6f', '/foo'],
    ],
  ],
  [
    'decoding percent-encoded triplets of unreserved characters',
    [
      ['/%6B%6f%6e%67', '/kong'],
      ['/%2E', '/'],
    ],
  ],
  [
    'remove dot segments',
    [
      ['//', '//', false],
      ['/./', '/', false],
      ['/.', '/', false],
      ['/..', '/', false],
      ['/../', '/', false],
      ['/////', '/////', false],
      ['/./.././../', '/', false],
      ['/a/b/c/./../../g', '/a/g', false],
      ['mid/content=5/../6', 'mid/6', false],
    ],
  ],
  [
    'merge_slashes',
    [
      ['//', '/'],
      ['/////', '/'],
      ['/a//b//', '/a/b/'],
    ],
  ],
  ['decodes non-ASCII characters that are unreserved, issue #2366', [['/endel%C3%B8st', bytes('/endeløst'), false]]],
  [
    'does normalize complex uri that has characters outside of normal uri charset',
    [['/%C3%A4/a/%2e./a%2E//a/%2e/./a/../a/%2e%2E/%5f%99%af%2f%2F', `${bytes('/ä')}/a./a/_\x99\xaf%2F%2F`]],
  ],
];
for (const [name, cases] of normalizeSpec) {
  test(`18-tools_uri_spec normalize() "${name}"`, () => {
    for (const [input, want, merge = true] of cases) assert.equal(kongNormalize(input, merge), want, JSON.stringify(input));
  });
}

test('18-tools_uri_spec escape() "do not escape reserved or unreserved characters, plus %"', () => {
  const s = "/!#$%&'()*+,/:;=?@[]ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~";
  assert.equal(escapePath(s), s);
});
test('18-tools_uri_spec escape() "escape spaces"', () => {
  assert.equal(escapePath('/a b/c d'), '/a%20b/c%20d');
});
test('18-tools_uri_spec escape() "escape utf-8 characters"', () => {
  assert.equal(escapePath(bytes('/a😀')), '/a%F0%9F%98%80');
  assert.equal(escapePath(bytes('/endeløst')), '/endel%C3%B8st');
});

// Kong spec/01-unit/01-db/01-schema/06-routes_spec.lua, describe("paths attribute")
test('06-routes_spec paths "must start with /"', () => {
  assert.equal(routePathError('foo'), 'should start with: / (fixed path) or ~/ (regex path)');
});
test('06-routes_spec paths "must not have empty segments (/foo//bar)"', () => {
  for (const p of ['/foo//bar', '/foo/bar//', '//foo/bar']) assert.equal(routePathError(p), 'must not have empty segments');
});
test('06-routes_spec paths "must dry-run values that are considered regexes"', () => {
  assert.match(String(routePathError('~/users/(foo/profile')), /^invalid regex: '\/users\/\(foo\/profile' \(PCRE returned: .+\)$/);
});
test('06-routes_spec paths "rejects badly percent-encoded values"', () => {
  const invalid = ['/some%2words', '/some%0Xwords', '/some%2Gwords', '/some%20words%', '/some%20words%a', '/some%20words%ax'];
  const errstr = ['%2w', '%0X', '%2G', '%', '%a', '%ax'];
  invalid.forEach((p, i) => assert.equal(routePathError(p), `invalid url-encoded value: '${errstr[i]}'`, p));
  // through the entity: the route is refused naming the field
  assert.match(bad('routes', { paths: ['/some%2words'] }).message, /paths\.[01]: invalid url-encoded value: '%2w'/);
});
test('06-routes_spec paths "accepts an apex \'/\'", "accepts unreserved characters from RFC 3986", "accepts trailing slash"', () => {
  for (const p of ['/', '/abcd~user~2', '/ovo/']) {
    assert.equal(routePathError(p), null, p);
    assert.deepEqual(ok('routes', { paths: [p] }).paths, [p]);
  }
});
test('06-routes_spec "errors for not-normalized prefix path" (the cases its table means: its ipairs loop never runs them)', () => {
  // typedefs.lua validate_path_with_regexes: normalize(path, true) must give the path back
  assert.equal(routePathError('/%c3%A4'), "non-normalized path, consider use '/ä' instead");
  assert.equal(routePathError('/%20'), "non-normalized path, consider use '/ ' instead");
  assert.equal(routePathError('/%25'), null);
  assert.equal(normalizeRoutePath('/a/%2e%2e/b'), '/b');
});
test('typedefs.lua: the percent check applies to regex paths too; a regex is not normalised', () => {
  assert.equal(routePathError('~/a%2'), "invalid url-encoded value: '%2'");
  assert.equal(routePathError('~/a/../b'), null);
});

// Kong 3 regex syntax (PCRE, and the Rust regex of the ATC router: kong/router/transform.lua turns ?< into ?P<)
test('PCRE named groups (?P<name>…) and (?<name>…) both work, with their captures', () => {
  for (const p of ['~/status/(?P<foo>re)', '~/status/(?<foo>re)']) {
    const m = compileRoutePathRegex(p).exec('/status/re/x');
    assert.equal(m?.[0], '/status/re');
    assert.equal(m?.groups?.foo, 're');
  }
});
test('PCRE syntax JavaScript lacks is translated: (?P=name), \\A \\z \\Z, POSIX classes, a leading (?i)', () => {
  assert.deepEqual(pcreToJs('(?P<a>x)(?P=a)'), { source: '(?<a>x)\\k<a>', flags: '' });
  assert.ok(compileRoutePathRegex('~/(?P<a>x)-(?P=a)$').test('/x-x'));
  assert.ok(!compileRoutePathRegex('~/(?P<a>x)-(?P=a)$').test('/x-y'));
  assert.ok(compileRoutePathRegex('~\\A/v[[:digit:]]+/[[:alpha:]_]+\\z').test('/v12/users_x'));
  assert.ok(!compileRoutePathRegex('~\\A/v[[:digit:]]+/[[:alpha:]_]+\\z').test('/v12/users/x'));
  assert.ok(compileRoutePathRegex('~/(?i)users').test('/USERS'));
  assert.equal(pcreToJs('/(?i)users').flags, 'i');
  // a class with a literal ']' first, and escapes, are left alone
  assert.equal(pcreToJs('/[]a][^]b]\\[\\(?P<x>').source, '/[\\]a][^\\]b]\\[\\(?P<x>');
  assert.equal(pcreToJs('/\\p{L}+').flags, 'u');
});
test('a regex that stays invalid names the engine reason', () => {
  assert.match(String(routePathError('~/(?>atomic)')), /^invalid regex: '\/\(\?>atomic\)' \(PCRE returned: .+\)$/);
});
