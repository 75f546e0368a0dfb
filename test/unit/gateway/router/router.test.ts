import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseEntity } from '../../../../gateway/src/entities/index.js';
import type { Route, Service } from '../../../../gateway/src/entities/types.js';
import { normalizePath } from '../../../../gateway/src/proxy/uri.js';
import { compileRouter, type RouteRequest } from '../../../../gateway/src/router/router.js';

const svc = (name: string, enabled = true): Service => {
  const r = parseEntity('services', { name, host: `${name}.test`, enabled }, { mode: 'create', now: 1 });
  assert.ok(r.ok);
  return r.value as unknown as Service;
};
let clock = 1000;
const route = (name: string, service: Service | null, fields: Record<string, unknown>): Route => {
  const r = parseEntity('routes', { name, ...fields }, { mode: 'create', now: clock++ });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  return { ...(r.value as unknown as Route), service: service ? { id: service.id } : null };
};
const req = (path: string, extra: Partial<RouteRequest> = {}): RouteRequest => ({
  method: 'GET',
  host: 'any.test',
  path,
  headers: {},
  port: 8000,
  ...extra,
});

const s = svc('s');
const services = new Map([[s.id, s]]);

const cases: { name: string; routes: Route[]; request: RouteRequest; want: string | null }[] = [
  {
    name: 'the longer prefix wins',
    routes: [route('short', s, { paths: ['/a'] }), route('long', s, { paths: ['/a/b'] })],
    request: req('/a/b/c'),
    want: 'long',
  },
  { name: 'prefixes have no segment boundary', routes: [route('foo', s, { paths: ['/foo'] })], request: req('/foobar'), want: 'foo' },
  { name: 'prefixes are case-sensitive', routes: [route('foo', s, { paths: ['/foo'] })], request: req('/FOO'), want: null },
  {
    name: 'a regex path beats a prefix path',
    routes: [route('prefix', s, { paths: ['/items/long/prefix'] }), route('rx', s, { paths: ['~/items/\\w+'] })],
    request: req('/items/long/prefix'),
    want: 'rx',
  },
  {
    name: 'higher regex_priority wins among regexes',
    routes: [route('low', s, { paths: ['~/r/.*'] }), route('high', s, { paths: ['~/r/x'], regex_priority: 5 })],
    request: req('/r/x'),
    want: 'high',
  },
  { name: 'regexes are anchored at the start', routes: [route('rx', s, { paths: ['~/end$'] })], request: req('/x/end'), want: null },
  {
    name: 'host + path beats path only',
    routes: [route('path', s, { paths: ['/h/longer/path'] }), route('host', s, { paths: ['/h'], hosts: ['api.test'] })],
    request: req('/h/longer/path', { host: 'api.test' }),
    want: 'host',
  },
  {
    name: 'a plain host beats a wildcard host',
    routes: [route('wild', s, { hosts: ['*.example.test'] }), route('plain', s, { hosts: ['api.example.test'] })],
    request: req('/', { host: 'api.example.test' }),
    want: 'plain',
  },
  {
    name: 'leftmost and rightmost wildcards match',
    routes: [route('left', s, { hosts: ['*.left.test'] }), route('right', s, { hosts: ['right.*'] })],
    request: req('/', { host: 'right.io' }),
    want: 'right',
  },
  {
    name: 'the Host port is ignored unless the route names one',
    routes: [route('h', s, { hosts: ['api.test'] })],
    request: req('/', { host: 'api.test:8443' }),
    want: 'h',
  },
  {
    name: 'a host entry with a port needs the listen port',
    routes: [route('h', s, { hosts: ['api.test:9000'] })],
    request: req('/', { host: 'api.test' }),
    want: null,
  },
  {
    name: 'hosts match case-insensitively',
    routes: [route('h', s, { hosts: ['a.example'] })],
    request: req('/', { host: 'A.Example' }),
    want: 'h',
  },
  {
    name: 'one trailing dot of the Host is ignored',
    routes: [route('h', s, { hosts: ['a.example'] })],
    request: req('/', { host: 'A.Example.:8000' }),
    want: 'h',
  },
  {
    name: 'a route host with capitals or a trailing dot matches its lower-case form',
    routes: [route('h', s, { hosts: ['API.Example.'] })],
    request: req('/', { host: 'api.example' }),
    want: 'h',
  },
  {
    name: 'wildcards match case-insensitively too',
    routes: [route('w', s, { hosts: ['*.Example.test'] })],
    request: req('/', { host: 'X.EXAMPLE.TEST.' }),
    want: 'w',
  },
  {
    name: 'two trailing dots are not one host',
    routes: [route('h', s, { hosts: ['a.example'] })],
    request: req('/', { host: 'a.example..' }),
    want: null,
  },
  {
    name: 'methods restrict',
    routes: [route('post', s, { paths: ['/m'], methods: ['POST'] }), route('any', s, { paths: ['/'] })],
    request: req('/m'),
    want: 'any',
  },
  {
    name: 'more attribute kinds win',
    routes: [route('path', s, { paths: ['/x/long/er'] }), route('pm', s, { paths: ['/x'], methods: ['GET'] })],
    request: req('/x/long/er'),
    want: 'pm',
  },
  {
    name: 'header values match case-insensitively',
    routes: [route('hd', s, { headers: { 'X-Version': ['V2'] } })],
    request: req('/', { headers: { 'x-version': 'v2' } }),
    want: 'hd',
  },
  {
    name: 'more headers win',
    routes: [route('one', s, { headers: { a: ['1'] } }), route('two', s, { headers: { a: ['1'], b: ['2'] } })],
    request: req('/', { headers: { a: '1', b: '2' } }),
    want: 'two',
  },
  {
    name: 'each path of a route is its own candidate',
    routes: [route('multi', s, { paths: ['/one', '/two/deep'] }), route('mid', s, { paths: ['/two'] })],
    request: req('/two/deep/x'),
    want: 'multi',
  },
  {
    name: 'equal priority: the older route wins',
    routes: [route('older', s, { paths: ['/same'] }), route('newer', s, { paths: ['/same'] })],
    request: req('/same'),
    want: 'older',
  },
  // kong/router/transform.lua get_priority (traditional_compatible): PLAIN_HOST_ONLY_BIT is set only for a route that has hosts
  {
    name: 'transform.lua: a route with plain hosts outranks a path-only route (same number of attribute kinds)',
    routes: [route('path', s, { paths: ['/x/long/path'] }), route('host', s, { hosts: ['api.test'] })],
    request: req('/x/long/path', { host: 'api.test' }),
    want: 'host',
  },
  {
    name: 'transform.lua: a route with plain hosts outranks a method-only route',
    routes: [route('method', s, { methods: ['GET'] }), route('host', s, { hosts: ['api.test'] })],
    request: req('/', { host: 'api.test' }),
    want: 'host',
  },
  {
    name: 'transform.lua: a wildcard-host route has no plain-hosts bit, so a path-only route with a longer prefix wins',
    routes: [route('wild', s, { hosts: ['*.test'] }), route('path', s, { paths: ['/x'] })],
    request: req('/x', { host: 'api.test' }),
    want: 'path',
  },
  {
    name: 'transform.lua: a mix of plain and wildcard hosts has no plain-hosts bit',
    routes: [route('mixed', s, { hosts: ['api.test', '*.other'] }), route('path', s, { paths: ['/x'] })],
    request: req('/x', { host: 'api.test' }),
    want: 'path',
  },
  {
    name: 'transform.lua: the header count outranks a regex path',
    routes: [route('rx', s, { paths: ['~/h/.*'], regex_priority: 9 }), route('hd', s, { paths: ['/h'], headers: { a: ['1'] } })],
    request: req('/h/x', { headers: { a: '1' } }),
    want: 'hd',
  },
  {
    name: 'transform.lua: more attribute kinds outrank plain hosts',
    routes: [route('host', s, { hosts: ['api.test'] }), route('pm', s, { paths: ['/p'], methods: ['GET'] })],
    request: req('/p', { host: 'api.test' }),
    want: 'pm',
  },
  {
    name: "router_spec preserve_host: hosts ['preserved.com', 'preserved.com:123'] match Host preserved.com:123 on another listen port",
    routes: [route('h', s, { hosts: ['preserved.com', 'preserved.com:123'] })],
    request: req('/', { host: 'preserved.com:123' }),
    want: 'h',
  },
  {
    name: 'a hosts entry with a port matches on that listen port',
    routes: [route('h', s, { hosts: ['api.test:9000'] })],
    request: req('/', { host: 'api.test', port: 9000 }),
    want: 'h',
  },
  {
    name: "fields.lua net.dst.port: a Host header's own port is the one a hosts entry with a port is compared with",
    routes: [route('h', s, { hosts: ['api.test:9000'] })],
    request: req('/', { host: 'api.test:9000', port: 8000 }),
    want: 'h',
  },
  {
    name: "fields.lua net.dst.port: a Host header's port that differs does not match, whatever the listen port",
    routes: [route('h', s, { hosts: ['api.test:9000'] })],
    request: req('/', { host: 'api.test:9001', port: 9000 }),
    want: null,
  },
  {
    name: 'a wildcard hosts entry with a port needs that port',
    routes: [route('w', s, { hosts: ['*.api.test:9000'] })],
    request: req('/', { host: 'x.api.test' }),
    want: null,
  },
  {
    name: 'a wildcard hosts entry with a port matches a Host with that port',
    routes: [route('w', s, { hosts: ['*.api.test:9000'] })],
    request: req('/', { host: 'x.api.test:9000' }),
    want: 'w',
  },
  {
    name: 'a prefix path written with raw UTF-8 matches the percent-encoded request (Kong matches the decoded path)',
    routes: [route('u', s, { paths: ['/ä'] })],
    request: req(normalizePath('/%c3%a4/x')),
    want: 'u',
  },
  {
    name: 'a prefix path with a space matches the request sending %20',
    routes: [route('sp', s, { paths: ['/cat dog'] })],
    request: req(normalizePath('/cat%20dog')),
    want: 'sp',
  },
  {
    name: 'stream-only routes are not HTTP routes',
    routes: [route('tcp', s, { protocols: ['tcp'], destinations: [{ port: 9 }] })],
    request: req('/'),
    want: null,
  },
];

for (const c of cases) {
  test(`router: ${c.name}`, () => {
    const m = compileRouter(c.routes, services).match(c.request);
    assert.equal(m?.route.name ?? null, c.want);
  });
}

test('router: a route without a service matches with service null; a disabled service is not routed', () => {
  const off = svc('off', false);
  const r = compileRouter([route('orphan', null, { paths: ['/o'] }), route('dis', off, { paths: ['/d'] })], new Map([[off.id, off]]));
  const m = r.match(req('/o'));
  assert.equal(m?.route.name, 'orphan');
  assert.equal(m?.service, null);
  assert.equal(r.match(req('/d')), null);
});

test('router: regex captures are exposed by index and name; matchedPath is the matched prefix', () => {
  const r = compileRouter([route('rx', s, { paths: ['~/users/(?<id>\\d+)'] })], services);
  const m = r.match(req('/users/42/orders'));
  assert.equal(m?.uriCaptures?.id, '42');
  assert.equal(m?.uriCaptures?.['1'], '42');
  assert.equal(m?.matchedPath, '/users/42');
});

test('router_spec "depends on the regex_priority field": (?P<foo>re) is a PCRE named group; captures as Kong exposes them (0, numbered, named)', () => {
  const r = compileRouter(
    [route('regex_1', s, { paths: ['~/status/(?P<foo>re)'] }), route('regex_2', s, { paths: ['~/status/(re)'], regex_priority: 4 })],
    services,
  );
  assert.equal(r.match(req('/status/re'))?.route.name, 'regex_2');
  const only = compileRouter([route('regex_1', s, { paths: ['~/status/(?P<foo>re)'] })], services).match(req('/status/re'));
  assert.deepEqual(only?.uriCaptures, { '0': '/status/re', '1': 're', foo: 're' });
});

test('router: no uri captures for a regex without groups (kong/router/atc.lua has_capture)', () => {
  const m = compileRouter([route('rx', s, { paths: ['~/plain/\\d+'] })], services).match(req('/plain/1'));
  assert.equal(m?.route.name, 'rx');
  assert.equal(m?.uriCaptures, undefined);
});

// Kong spec/01-unit/08-router_spec.lua describe("select()"): its use_case (the routes a test needs) and the host cases
describe('08-router_spec select() [host]', () => {
  const uc = [
    route('uc1', s, { hosts: ['domain-1.org', 'domain-2.org'] }),
    route('uc2', s, { methods: ['TRACE'] }),
    route('uc3', s, { paths: ['/my-route'] }),
    route('uc4', s, { paths: ['/route-4'], hosts: ['domain-1.org', 'domain-2.org'] }),
    route('uc5', s, { hosts: ['domain-1.org', 'domain-2.org'], methods: ['POST', 'PUT', 'PATCH'] }),
    route('uc6', s, { methods: ['POST', 'PUT', 'PATCH'], paths: ['/route-6'] }),
    route('uc7', s, {
      hosts: ['domain-with-uri-1.org', 'domain-with-uri-2.org'],
      methods: ['POST', 'PUT', 'PATCH'],
      paths: ['/my-route-uri'],
    }),
    route('uc8', null, { paths: ['/serviceless'] }),
    route('uc9', s, { headers: { location: ['my-location-1', 'my-location-2'] } }),
    route('uc10', s, { headers: { location: ['my-location-1'], version: ['v1', 'v2'] } }),
    route('uc11', s, { headers: { location: ['my-location-1', 'my-location-2'] }, paths: ['/headers-uri'] }),
    route('uc12', s, {
      hosts: ['domain-with-headers-1.org', 'domain-with-headers-2.org'],
      headers: { location: ['my-location-1', 'my-location-2'] },
      methods: ['POST', 'PUT', 'PATCH'],
      paths: ['/headers-host-uri-method'],
    }),
    route('uc13', s, { hosts: ['domain-1.org:321', 'domain-2.org'] }),
    route('uc14', s, { hosts: ['domain-3.org:321'] }),
    route('uc15', s, { headers: { user_agent: ['~*windows|linux|os\\s+x\\s*[\\d\\._]+|solaris|bsd'] } }),
  ];
  const router = compileRouter(uc, services);
  const sel = (method: string, path: string, host: string, headers: Record<string, string> = {}) =>
    router.match({ method, path, host, headers, port: 8000 })?.route.name ?? null;
  test('08-router_spec "[host]"', () => assert.equal(sel('GET', '/', 'domain-1.org'), 'uc1'));
  test('08-router_spec "[host] ignores default port"', () => assert.equal(sel('GET', '/', 'domain-1.org:80'), 'uc1'));
  test('08-router_spec "[host] weird port matches no-port route" (it_trad_only in Kong; gw passes)', () =>
    assert.equal(sel('GET', '/', 'domain-1.org:123'), 'uc1'));
  test('08-router_spec "[host] matches specific port"', () => assert.equal(sel('GET', '/', 'domain-1.org:321'), 'uc13'));
  test('08-router_spec "[host] matches specific port on port-only route"', () => assert.equal(sel('GET', '/', 'domain-3.org:321'), 'uc14'));
  test('08-router_spec "[host] fails just because of port on port-only route"', () =>
    assert.equal(sel('GET', '/', 'domain-3.org:123'), null));
  test('08-router_spec "[uri]"', () => assert.equal(sel('GET', '/my-route', 'domain.org'), 'uc3'));
  test('08-router_spec "[method]"', () => assert.equal(sel('TRACE', '/', 'domain.org'), 'uc2'));
  test('08-router_spec "[host + uri]"', () => assert.equal(sel('GET', '/route-4', 'domain-1.org'), 'uc4'));
  test('08-router_spec "[host + method]"', () => assert.equal(sel('POST', '/', 'domain-1.org'), 'uc5'));
  test('08-router_spec "[uri + method]"', () => assert.equal(sel('PUT', '/route-6', 'domain.org'), 'uc6'));
  test('08-router_spec "[host + uri + method]"', () => assert.equal(sel('PUT', '/my-route-uri', 'domain-with-uri-2.org'), 'uc7'));
  test('08-router_spec "single [headers] value" and "multiple [headers] values"', () => {
    assert.equal(sel('GET', '/', 'domain.org', { location: 'my-location-1' }), 'uc9');
    // use case 15: a `~*` regex, searched in the lower-cased value; Kong's spec passes the header as user_agent
    // (its mock get_headers), a client sends User-Agent
    const ua = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/83.0.4103.116 Safari/537.36';
    assert.equal(sel('GET', '/', 'domain.org', { user_agent: ua }), 'uc15');
    assert.equal(sel('GET', '/', 'domain.org', { 'user-agent': ua }), 'uc15');
    assert.equal(sel('GET', '/', 'domain.org', { 'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)' }), 'uc15');
    assert.equal(sel('GET', '/', 'domain.org', { 'user-agent': 'curl/8.5.0' }), null);
    assert.equal(sel('GET', '/', 'domain.org', { location: 'my-location-1', version: 'v2' }), 'uc10');
    // "multiple [headers] values": the header sent twice; node joins it ("my-location-3, my-location-2"),
    // Kong tests each value: the distinct view of the message decides
    const twice = { location: 'my-location-3, my-location-2' };
    const distinct = { headersDistinct: { location: ['my-location-3', 'my-location-2'] } };
    assert.equal(router.match({ method: 'GET', path: '/', host: 'domain.org', headers: twice, distinct, port: 8000 })?.route.name, 'uc9');
    assert.equal(sel('GET', '/', 'domain.org', twice), null, 'one value that is neither');
  });
  test('08-router_spec "[headers + uri]"', () =>
    assert.equal(sel('GET', '/headers-uri', 'domain.org', { location: 'my-location-2' }), 'uc11'));
  test('08-router_spec "[host + headers + uri + method]"', () =>
    assert.equal(sel('PUT', '/headers-host-uri-method', 'domain-with-headers-1.org', { location: 'my-location-2' }), 'uc12'));
  test('08-router_spec "[serviceless]"', () => {
    const m = router.match({ method: 'GET', path: '/serviceless', host: 'domain.org', headers: {}, port: 8000 });
    assert.deepEqual([m?.route.name, m?.service], ['uc8', null]);
  });
});

describe('08-router_spec select() [wildcard host]', () => {
  const base = () => [route('w1', s, { hosts: ['*.route.com'] }), route('w2', s, { hosts: ['route.*'] })];
  const sel = (routes: Route[], host: string, path = '/') =>
    compileRouter(routes, services).match({ method: 'GET', path, host, headers: {}, port: 8000 })?.route.name ?? null;
  test('08-router_spec "matches leftmost wildcards" and "matches rightmost wildcards"', () => {
    assert.equal(sel(base(), 'foo.route.com'), 'w1');
    assert.equal(sel(base(), 'route.org'), 'w2');
  });
  test('08-router_spec "matches any port in request"', () => {
    assert.equal(sel(base(), 'route.org:123'), 'w2');
    assert.equal(sel(base(), 'foo.route.com:123'), 'w1');
  });
  test('08-router_spec "matches port-specific routes"', () => {
    const routes = [...base(), route('w3', s, { hosts: ['*.route.net:123'] }), route('w4', s, { hosts: ['route.*:123'] })];
    assert.equal(sel(routes, 'foo.route.net:123'), 'w3');
    assert.equal(sel(routes, 'foo.route.net:456'), null);
    assert.equal(sel(routes, 'route.org:123'), 'w4');
  });
  test('08-router_spec "prefers port-specific even for http default port" and "... https default port" (requests with a port)', () => {
    for (const port of [80, 443]) {
      const routes = [...base(), route('w3', s, { hosts: [`route.*:${port}`] })];
      assert.equal(sel(routes, 'route.org:123'), 'w2');
      assert.equal(sel(routes, `route.org:${port}`), 'w3');
    }
  });
  test('08-router_spec "does not take precedence over a plain host"', () => {
    const routes = [route('p1', s, { hosts: ['plain.route.com'] }), ...base(), route('p4', s, { hosts: ['route.com'] })];
    assert.equal(sel(routes, 'route.com'), 'p4');
    assert.equal(sel(routes, 'route.org'), 'w2');
    assert.equal(sel(routes, 'plain.route.com'), 'p1');
    assert.equal(sel(routes, 'foo.route.com'), 'w1');
  });
  test('08-router_spec "matches [wildcard host + path] even if a similar [plain host] exists" and the reverse', () => {
    const routes = [
      route('a', s, { hosts: ['*.route.com'], paths: ['/path1'] }),
      route('b', s, { hosts: ['plain.route.com'], paths: ['/path2'] }),
    ];
    assert.equal(sel(routes, 'plain.route.com', '/path1'), 'a');
    assert.equal(sel(routes, 'plain.route.com', '/path2'), 'b');
  });
  test('08-router_spec "submatch_weight [wildcard host port] > [wildcard host]"', () => {
    const routes = [route('a', s, { hosts: ['route.*'] }), route('b', s, { hosts: ['route.*:80', 'route.com.*'] })];
    assert.equal(sel(routes, 'route.org:80'), 'b');
  });
});

// Kong spec/01-unit/08-router_spec.lua describe("[uri prefix]") and describe("[uri regex]")
describe('08-router_spec select() [uri prefix] and [uri regex]', () => {
  const sel = (routes: Route[], method: string, path: string, host: string) => {
    const m = compileRouter(routes, services).match({ method, path, host, headers: {}, port: 8000 });
    return m ? `${m.route.name} ${m.matchedPath}` : null;
  };
  test('08-router_spec "does not supersede another route with a longer [uri]"', () => {
    const routes = [route('a', s, { paths: ['/my-route/hello'] }), route('b', s, { paths: ['/my-route'] })];
    assert.equal(sel(routes, 'GET', '/my-route/hello', 'domain.org'), 'a /my-route/hello');
    assert.equal(sel(routes, 'GET', '/my-route/hello/world', 'domain.org'), 'a /my-route/hello');
    assert.equal(sel(routes, 'GET', '/my-route', 'domain.org'), 'b /my-route');
    assert.equal(sel(routes, 'GET', '/my-route/world', 'domain.org'), 'b /my-route');
  });
  for (const [what, extra] of [
    ['[methods]', { methods: ['POST', 'PUT', 'GET'] }],
    ['[hosts]', { hosts: ['domain.org'] }],
  ] as const) {
    test(`08-router_spec "does not supersede another route with a longer [uri] while ${what} are also defined"`, () => {
      const routes = [route('a', s, { ...extra, paths: ['/my-route'] }), route('b', s, { ...extra, paths: ['/my-route/hello'] })];
      assert.equal(sel(routes, 'GET', '/my-route/hello', 'domain.org'), 'b /my-route/hello');
      assert.equal(sel(routes, 'GET', '/my-route/hello/world', 'domain.org'), 'b /my-route/hello');
      assert.equal(sel(routes, 'GET', '/my-route', 'domain.org'), 'a /my-route');
      assert.equal(sel(routes, 'GET', '/my-route/world', 'domain.org'), 'a /my-route');
    });
  }
  test('08-router_spec "does not supersede another route with a longer [uri] when a better [uri] match exists for another [host]"', () => {
    const routes = [
      route('a', s, { hosts: ['example.com'], paths: ['/my-route'] }),
      route('b', s, { hosts: ['example.com'], paths: ['/my-route/hello'] }),
      route('c', s, { hosts: ['example.net'], paths: ['/my-route/hello/world'] }),
    ];
    assert.equal(sel(routes, 'GET', '/my-route/hello/world', 'example.com'), 'b /my-route/hello');
    assert.equal(sel(routes, 'GET', '/my-route/hello/world/and/goodnight', 'example.com'), 'b /my-route/hello');
  });
  test('08-router_spec "only matches [uri prefix] as a prefix (anchored mode)"', () => {
    const routes = [route('a', s, { paths: ['/something/my-route'] }), route('b', s, { hosts: ['example.com'], paths: ['/my-route'] })];
    assert.equal(sel(routes, 'GET', '/something/my-route', 'example.com'), 'a /something/my-route');
  });
  test('08-router_spec "matches with [uri regex]"', () => {
    assert.equal(
      sel([route('a', s, { paths: ['~/users/\\d+/profile'] })], 'GET', '/users/123/profile', 'domain.org'),
      'a /users/123/profile',
    );
  });
  test('08-router_spec "matches the right route when several ones have a [uri regex]"', () => {
    const routes = [
      route('a', s, { paths: ['~/route/persons/\\d{3}'] }),
      route('b', s, { paths: ['~/route/persons/\\d{3}/following'] }),
      route('c', s, { paths: ['~/route/persons/\\d{3}/[a-z]+'] }),
    ];
    assert.equal(sel(routes, 'GET', '/route/persons/456', 'domain.org'), 'a /route/persons/456');
  });
  test('08-router_spec "matches a [uri regex] even if a [prefix uri] got a match"', () => {
    const routes = [route('a', s, { paths: ['/route/persons'] }), route('b', s, { paths: ['~/route/persons/\\d+/profile'] })];
    assert.equal(sel(routes, 'GET', '/route/persons/123/profile', 'domain.org'), 'b /route/persons/123/profile');
  });
  test('08-router_spec "matches a [uri regex] even if a [uri] got an exact match"', () => {
    const routes = [route('a', s, { paths: ['/route/fixture'] }), route('b', s, { paths: ['~/route/(fixture)'] })];
    assert.equal(sel(routes, 'GET', '/route/fixture', 'domain.org'), 'b /route/fixture');
  });
  test('08-router_spec "matches a [uri regex + host] even if a [prefix uri] got a match"', () => {
    const routes = [
      route('a', s, { hosts: ['route.com'], paths: ['/pat'] }),
      route('b', s, { hosts: ['route.com'], paths: ['/path'], methods: ['POST'] }),
      route('c', s, { hosts: ['route.com'], paths: ['~/(path)'] }),
    ];
    assert.equal(sel(routes, 'GET', '/path', 'route.com'), 'c /path');
  });
  test('08-router_spec "matches from the beginning of the request URI [uri regex]"', () => {
    const routes = [route('a', s, { paths: ['~/prefix/[0-9]+'] })];
    assert.equal(sel(routes, 'GET', '/prefix/123', 'domain.org'), 'a /prefix/123');
    assert.equal(sel(routes, 'GET', '/extra/prefix/123', 'domain.org'), null);
  });
});

// Kong spec/01-unit/08-router_spec.lua describe("edge-cases"): priorities between route kinds
describe('08-router_spec select() edge-cases', () => {
  const sel = (routes: Route[], method: string, path: string, host: string) =>
    compileRouter(routes, services).match({ method, path, host, headers: {}, port: 8000 })?.route.name ?? null;
  test('08-router_spec "[host] and [uri] have higher priority than [method]"', () => {
    const routes = [
      route('e1', s, { hosts: ['domain-1.org', 'domain-2.org'] }),
      route('e2', s, { methods: ['TRACE'] }),
      route('e3', s, { paths: ['/my-route'] }),
      route('e4', s, { paths: ['/route-4'], hosts: ['domain-1.org', 'domain-2.org'] }),
      route('e5', s, { hosts: ['domain-1.org', 'domain-2.org'], methods: ['POST', 'PUT', 'PATCH'] }),
      route('e6', s, { methods: ['POST', 'PUT', 'PATCH'], paths: ['/route-6'] }),
      route('e7', s, {
        hosts: ['domain-with-uri-1.org', 'domain-with-uri-2.org'],
        methods: ['POST', 'PUT', 'PATCH'],
        paths: ['/my-route-uri'],
      }),
    ];
    assert.equal(sel(routes, 'TRACE', '/', 'domain-2.org'), 'e1');
    assert.equal(sel(routes, 'TRACE', '/my-route', 'domain.org'), 'e3');
  });
  test('08-router_spec "half [uri] and [host] match does not supersede another route"', () => {
    const routes = [route('a', s, { hosts: ['host1.com'], paths: ['/v1/path'] }), route('b', s, { hosts: ['host2.com'], paths: ['/'] })];
    assert.equal(sel(routes, 'GET', '/v1/path', 'host1.com'), 'a');
    assert.equal(sel(routes, 'GET', '/v1/path', 'host2.com'), 'b');
  });
  test('08-router_spec "half [wildcard host] and [method] match does not supersede another route"', () => {
    const routes = [route('a', s, { hosts: ['host.*'], methods: ['GET'] }), route('b', s, { hosts: ['host.*'], methods: ['POST'] })];
    assert.equal(sel(routes, 'GET', '/', 'host.com'), 'a');
    assert.equal(sel(routes, 'POST', '/', 'host.com'), 'b');
  });
  test('08-router_spec "half [uri regex] and [method] match does not supersede another route"', () => {
    const routes = [
      route('a', s, { methods: ['GET'], paths: ['~/users/\\d+/profile'] }),
      route('b', s, { methods: ['POST'], paths: ['~/users/\\d*/profile'] }),
    ];
    assert.equal(sel(routes, 'GET', '/users/123/profile', 'domain.org'), 'a');
    assert.equal(sel(routes, 'POST', '/users/123/profile', 'domain.org'), 'b');
  });
  test('08-router_spec "[method] does not supersede [uri prefix]"', () => {
    const routes = [route('a', s, { methods: ['GET'] }), route('b', s, { paths: ['/example'] })];
    assert.equal(sel(routes, 'GET', '/example', 'domain.org'), 'b');
    assert.equal(sel(routes, 'GET', '/example/status/200', 'domain.org'), 'b');
  });
  test('08-router_spec "[method] does not supersede [wildcard host]" (an equal priority: hosts before methods)', () => {
    const routes = [route('a', s, { methods: ['GET'] }), route('b', s, { hosts: ['domain.*'] })];
    assert.equal(sel(routes, 'GET', '/', 'nothing.com'), 'a');
    assert.equal(sel(routes, 'GET', '/', 'domain.com'), 'b');
  });
  test('08-router_spec "does not supersede another route with a longer [uri prefix]" (it_trad_only in Kong; gw passes)', () => {
    const routes = [route('a', s, { paths: ['/a', '/bbbbbbb'] }), route('b', s, { paths: ['/a/bb'] })];
    assert.equal(sel(routes, 'GET', '/a/bb/foobar', 'domain.org'), 'b');
  });
  test('08-router_spec "root / [uri]": "request with [method]", "does not supersede another route", "acts as a catch-all route"', () => {
    const routes = [
      route('root', s, { paths: ['/'] }),
      route('e1', s, { hosts: ['domain-1.org', 'domain-2.org'] }),
      route('e2', s, { methods: ['TRACE'] }),
      route('e3', s, { paths: ['/my-route'] }),
    ];
    assert.equal(sel(routes, 'GET', '/', 'domain.org'), 'root');
    assert.equal(sel(routes, 'GET', '/my-route', 'domain.org'), 'e3');
    assert.equal(sel(routes, 'GET', '/my-route/hello/world', 'domain.org'), 'e3');
    assert.equal(sel(routes, 'GET', '/foobar/baz', 'domain.org'), 'root');
  });
  test('08-router_spec "multiple routes of same category with conflicting values" "matches correct route"', () => {
    const routes = [1, 2, 3, 4, 5].map((i) => route(`same${i}`, s, { hosts: ['domain.org'], paths: ['/my-uri'] }));
    routes.push(route('target', s, { hosts: ['domain.org'], paths: ['/my-target-uri'] }));
    assert.equal(sel(routes, 'GET', '/my-target-uri', 'domain.org'), 'target');
  });
});

// Route header names as Kong's traditional_compatible router reads them: transform.lua makes the field
// `http.headers.<name lower-cased, '-' as '_'>`, fields.lua reads it from ngx.req.get_headers(), whose
// __index retries a missing key with '_' as '-' (lua-resty-core request.lua req_headers_mt)
describe('route header names: Kong treats _ in a route header name as -', () => {
  const sel = (headers: Record<string, unknown>, request: Record<string, string>) =>
    compileRouter([route('h', s, { headers })], services).match(req('/', { headers: request }))?.route.name ?? null;
  test('a route header x_under matches the request header X-Under (node lower-cases it to x-under)', () => {
    assert.equal(sel({ x_under: ['yes'] }, { 'x-under': 'yes' }), 'h');
    assert.equal(sel({ x_under: ['yes'] }, { 'x-under': 'no' }), null);
  });
  test('08-router_spec use case 15 spells User-Agent user_agent: it matches the request header User-Agent', () =>
    assert.equal(sel({ user_agent: ['curl/8'] }, { 'user-agent': 'curl/8' }), 'h'));
  test('a route header x_under still matches a request header x_under (the key get_headers() finds first)', () =>
    assert.equal(sel({ x_under: ['yes'] }, { x_under: 'yes' }), 'h'));
  test('a route header X-Under reads a request header x_under when there is one (its field is http.headers.x_under)', () => {
    assert.equal(sel({ 'X-Under': ['yes'] }, { x_under: 'yes' }), 'h');
    // x_under is found first: x-under is not looked at
    assert.equal(sel({ 'X-Under': ['yes'] }, { x_under: 'no', 'x-under': 'yes' }), null);
  });
  test('only whole names: x_under does not match x-und_er, and names without - or _ are looked up once', () => {
    assert.equal(sel({ x_under: ['yes'] }, { 'x-und_er': 'yes' }), null);
    assert.equal(sel({ Version: ['v1'] }, { version: 'V1' }), 'h');
  });
});

// `~*` header values (kong/router/transform.lua): `any(lower(http.headers.<name>)) ~ "<regex lower-cased>"`,
// the Rust regex crate's is_match, so a search anywhere in the value
describe('route header values starting with ~* are regexes, matched case-insensitively', () => {
  const sel = (values: string[], request: Record<string, string | string[]>) =>
    compileRouter([route('h', s, { headers: { 'x-ver': values } })], services).match(req('/', { headers: request }))?.route.name ?? null;
  test('the regex is matched against the lower-cased value: ~*^v[0-9]+$ matches v12 and V12, not v12a', () => {
    assert.equal(sel(['~*^v[0-9]+$'], { 'x-ver': 'v12' }), 'h');
    assert.equal(sel(['~*^v[0-9]+$'], { 'x-ver': 'V12' }), 'h');
    assert.equal(sel(['~*^v[0-9]+$'], { 'x-ver': 'v12a' }), null);
  });
  test('the value is not compared literally: the regex text itself does not match', () =>
    assert.equal(sel(['~*^v[0-9]+$'], { 'x-ver': '~*^v[0-9]+$' }), null));
  test('08-router_spec "should always add lower() when matching http.headers.*": ~*Quote is the regex quote', () => {
    assert.equal(sel(['~*Quote'], { 'x-ver': 'QUOTE' }), 'h');
    assert.equal(sel(['~*Quote'], { 'x-ver': 'a quote here' }), 'h');
  });
  test('not anchored: the regex may match anywhere in the value', () =>
    assert.equal(sel(['~*linux'], { 'x-ver': 'X11; Linux x86_64' }), 'h'));
  test('as Kong, the whole regex is lower-cased, escapes too: ~*^\\D+$ is ^\\d+$', () => {
    assert.equal(sel(['~*^\\D+$'], { 'x-ver': '123' }), 'h');
    assert.equal(sel(['~*^\\D+$'], { 'x-ver': 'abc' }), null);
  });
  test("Kong's regex syntax is translated as for paths: POSIX classes, \\Z (lower-cased to \\z: the end)", () => {
    assert.equal(sel(['~*^(?<major>[[:DIGIT:]]+)\\.'], { 'x-ver': '3.10' }), 'h');
    assert.equal(sel(['~*^(?<major>[[:DIGIT:]]+)\\.'], { 'x-ver': 'x.10' }), null);
    assert.equal(sel(['~*^v1\\Z'], { 'x-ver': 'v1' }), 'h');
    assert.equal(sel(['~*^v1\\Z'], { 'x-ver': 'v10' }), null);
  });
  test('plain and regex values of one header are alternatives; a value starting with ~ alone is plain', () => {
    assert.equal(sel(['beta', '~*^v\\d$'], { 'x-ver': 'BETA' }), 'h');
    assert.equal(sel(['beta', '~*^v\\d$'], { 'x-ver': 'v1' }), 'h');
    assert.equal(sel(['~^v1$'], { 'x-ver': 'v1' }), null);
    assert.equal(sel(['~^v1$'], { 'x-ver': '~^V1$' }), 'h');
  });
  test('any of several values of the request header may match (set-cookie arrives as an array)', () => {
    const r = compileRouter([route('c', s, { headers: { 'set-cookie': ['~*^b='] } })], services);
    assert.equal(r.match(req('/', { headers: { 'set-cookie': ['a=1', 'B=2'] } }))?.route.name, 'c');
    assert.equal(r.match(req('/', { headers: { 'set-cookie': ['a=1'] } })), null);
  });
  test('a stored route whose regex no longer compiles is left out; the others are routed', () => {
    const bad = { ...route('bad', s, { headers: { 'x-ver': ['v1'] }, paths: ['/b'] }), headers: { 'x-ver': ['~*(unclosed'] } };
    const r = compileRouter([bad, route('good', s, { paths: ['/'] })], services);
    assert.equal(r.match(req('/b', { headers: { 'x-ver': '(unclosed' } }))?.route.name, 'good');
  });
});

test('router: 10,000 prefix routes agree with a linear reference on 2,000 random requests', () => {
  const routes: Route[] = [];
  for (let i = 0; i < 10_000; i++)
    routes.push(route(`r${i}`, s, { paths: [`/svc${i % 500}/v${i % 7}/${i}`], ...(i % 3 === 0 ? { hosts: [`h${i % 10}.test`] } : {}) }));
  const router = compileRouter(routes, services);
  assert.equal(router.size, 10_000);
  // reference: the highest-priority match by Kong's key, computed by brute force
  const reference = (rq: RouteRequest): string | null => {
    let best: Route | null = null;
    let bestKey: number[] = [];
    for (const r of routes) {
      const p = r.paths![0]!;
      if (!rq.path.startsWith(p)) continue;
      if (r.hosts && !r.hosts.includes(rq.host!)) continue;
      const key = [-(r.hosts ? 2 : 1), -p.length, r.created_at];
      if (!best || compare(key, bestKey) < 0) [best, bestKey] = [r, key];
    }
    return best?.name ?? null;
  };
  const compare = (a: number[], b: number[]) => {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
    return 0;
  };
  let seed = 42;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (let k = 0; k < 2000; k++) {
    const i = rnd(10_000);
    const rq = req(`/svc${i % 500}/v${i % 7}/${rnd(3) === 0 ? i : rnd(10_000)}${rnd(2) ? '/tail' : ''}`, { host: `h${rnd(12)}.test` });
    assert.equal(router.match(rq)?.route.name ?? null, reference(rq), rq.path + ' ' + rq.host);
  }
});
