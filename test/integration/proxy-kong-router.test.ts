/**
 * Kong's own proxy specs, translated: spec/02-integration/05-proxy/02-router_spec.lua (flavor
 * traditional_compatible, the cases that run for it; `it_trad_only` cases are marked where gw passes them
 * too), the whole slash-handling table of spec/fixtures/router_path_handling_tests.lua through a running
 * gateway, 03-upstream_headers_spec.lua ("hop-by-hop headers") and 14-server_tokens_spec.lua (Server/Via).
 * Kong identifies the matched route with its `kong-debug` headers; here each route has its own echo upstream
 * (named after the route), or, for the path table, the echoed request URI is what is checked.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startTestGateway } from '../helpers/gateway.js';
import { expandedPathHandlingCases, makeARegex } from '../helpers/kong-path-handling.js';
import { startUpstream, waitFor, type EchoBody, type TestUpstream } from '../helpers/upstream.js';

interface RouteDef {
  /** null: a route without a service; otherwise the service's path/enabled/name */
  service?: { path?: string; enabled?: boolean; name?: string } | null;
  [field: string]: unknown;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: EchoBody & { message?: string };
}

/** One gateway per Kong `describe` (Kong inserts and removes the routes of each), with an echo upstream per route. */
class KongSetup {
  readonly upstreams: TestUpstream[] = [];
  private n = 0;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  private constructor(readonly gw: Awaited<ReturnType<typeof startTestGateway>>) {}

  static async start(): Promise<KongSetup> {
    return new KongSetup(await startTestGateway());
  }

  /**
   * Kong's insert_routes: each route gets its own service (path as given) on an echo upstream named after
   * the route (`shared`: all on one upstream, named "shared"). Returns the route names, in order.
   */
  async routes(defs: RouteDef[], shared?: TestUpstream): Promise<string[]> {
    const names: string[] = [];
    let candidates = this.gw.runtime.snapshot.router.size;
    for (const def of defs) {
      const name = (def.name as string | undefined) ?? `r${++this.n}`;
      const { service, ...fields } = def;
      const route: Record<string, unknown> = { protocols: ['http'], ...fields, name };
      if (service !== null) {
        let up = shared;
        if (!up) {
          up = await startUpstream(name);
          this.upstreams.push(up);
        }
        const sname = service?.name ?? `svc-${name}`;
        const s = await this.gw.admin.call('PUT', `/services/${sname}`, {
          url: `http://${up.address}${service?.path ?? ''}`,
          enabled: service?.enabled ?? true,
        });
        assert.ok(s.status === 200 || s.status === 201, JSON.stringify(s.body));
        route.service = { name: sname };
      }
      const r = await this.gw.admin.call('PUT', `/routes/${name}`, route);
      assert.ok(r.status === 200 || r.status === 201, `${name}: ${JSON.stringify(r.body)}`);
      if (service?.enabled !== false) candidates += Array.isArray(fields.paths) ? fields.paths.length : 1;
      names.push(name);
    }
    await waitFor(() => this.gw.runtime.snapshot.router.size >= candidates, 10_000, 'the routes in the runtime snapshot');
    return names;
  }

  /** A request with the path sent exactly as given (node:http does not normalise it); `http10`: an HTTP/1.0 request on its own connection. */
  send(path: string, headers: Record<string, string> = {}, method = 'GET', opts: { http10?: boolean } = {}): Promise<Reply> {
    const url = new URL(this.gw.proxyUrl);
    if (opts.http10) return this.http10(url, path, headers, method);
    return new Promise((resolve, reject) => {
      const req = http.request({ host: url.hostname, port: url.port, path, method, headers, agent: this.agent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let json = {} as Reply['json'];
          try {
            json = JSON.parse(text) as Reply['json'];
          } catch {
            // not JSON: tests that need the body read `text`
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      });
      req.on('error', reject);
      req.end();
    });
  }

  private http10(url: URL, path: string, headers: Record<string, string>, method: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(Number(url.port), url.hostname, () => {
        let head = `${method} ${path} HTTP/1.0\r\n`;
        for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
        sock.write(`${head}\r\n`);
      });
      let raw = '';
      sock.setEncoding('utf8');
      sock.on('data', (c: string) => (raw += c));
      sock.on('error', reject);
      sock.on('close', () => {
        const [head = '', text = ''] = raw.split('\r\n\r\n', 2);
        const [status, ...lines] = head.split('\r\n');
        const hs: http.IncomingHttpHeaders = {};
        for (const l of lines) hs[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
        let json = {} as Reply['json'];
        try {
          json = JSON.parse(text) as Reply['json'];
        } catch {
          // not JSON
        }
        resolve({ status: Number(status!.split(' ')[1]), headers: hs, text, json });
      });
    });
  }

  async close(): Promise<void> {
    this.agent.destroy();
    await this.gw.close(1000);
    for (const u of this.upstreams) await u.close();
  }
}

/** `describe` with a fresh gateway and Kong's route set for it. */
function kongDescribe(title: string, defs: RouteDef[], body: (k: () => KongSetup, names: () => string[]) => void): void {
  describe(title, () => {
    let k: KongSetup;
    let names: string[] = [];
    before(async () => {
      k = await KongSetup.start();
      names = await k.routes(defs);
    });
    after(async () => k.close());
    body(
      () => k,
      () => names,
    );
  });
}

const SPEC = 'router_spec';

describe(`${SPEC} no routes match`, () => {
  let k: KongSetup;
  before(async () => (k = await KongSetup.start()));
  after(async () => k.close());
  test(`${SPEC} "responds 404 if no route matches" (Server is gw/<version> where Kong's is kong/<version>)`, async () => {
    const r = await k.send('/', { host: 'inexistent.com' });
    assert.equal(r.status, 404);
    assert.match(String(r.headers.server), /^gw\//);
    assert.equal(r.json.message, 'no Route matched with those values');
  });
});

kongDescribe(
  `${SPEC} use-cases`,
  [
    { methods: ['GET'], strip_path: false },
    { methods: ['POST', 'PUT'], paths: ['/post', '/put'], strip_path: false },
    { paths: ['/mock_upstream'], strip_path: true, service: { path: '/status' } },
    { paths: ['/private'], strip_path: false, service: { path: '/basic-auth/' } },
    { paths: ['~/users/\\d+/profile'], strip_path: true, service: { path: '/anything' } },
    { protocols: ['http', 'https'], hosts: ['serviceless-route-http.test'], service: null },
    { paths: ['/disabled-service1'], strip_path: false, service: { path: '/disabled-service-path/', enabled: false } },
    { paths: ['~/enabled-service/\\w+'], strip_path: true, service: { path: '/anything/', name: 'enabled-service' } },
    { paths: ['/enabled-service/disabled'], strip_path: true, service: { path: '/some-path/', enabled: false } },
  ],
  (k, names) => {
    test(`${SPEC} "responds 503 if no service found"`, async () => {
      const r = await k().send('/', { host: 'serviceless-route-http.test' });
      assert.equal(r.status, 503);
      assert.equal(r.json.message, 'no Service found with those values');
    });
    test(`${SPEC} "restricts an route to its methods if specified"`, async () => {
      const post = await k().send('/post', {}, 'POST');
      assert.deepEqual([post.status, post.json.name], [200, names()[1]]);
      const del = await k().send('/post', {}, 'DELETE');
      assert.equal(del.status, 404);
    });
    test(`${SPEC} "routes by method-only if no other match is found"`, async () => {
      const r = await k().send('/get');
      assert.deepEqual([r.status, r.json.name, r.json.url], [200, names()[0], '/get']);
    });
    test(`${SPEC} "HTTP/1.0 routes normally" (requests without Host header)`, async () => {
      const r = await k().send('/get', {}, 'GET', { http10: true });
      assert.deepEqual([r.status, r.json.name], [200, names()[0]]);
    });
    test(`${SPEC} "route with a path component in its upstream_url" "with strip_path = true"`, async () => {
      const r = await k().send('/mock_upstream/201');
      assert.deepEqual([r.json.name, r.json.url], [names()[2], '/status/201']);
    });
    test(`${SPEC} "route with a path component in its upstream_url and strip_path = false"`, async () => {
      const r = await k().send('/private/passwd');
      assert.deepEqual([r.json.name, r.json.url], [names()[3], '/basic-auth/private/passwd']);
    });
    test(`${SPEC} "route with a path component in its upstream_url and [uri] with a regex"`, async () => {
      // Kong: 404 from its mock upstream, because the GET method-only route takes it
      const foo = await k().send('/users/foo/profile');
      assert.equal(foo.json.name, names()[0]);
      const r = await k().send('/users/123/profile');
      assert.deepEqual([r.status, r.json.name, r.json.url], [200, names()[4], '/anything']);
    });
    test(`${SPEC} "ignores route where service enabled=false"`, async () => {
      // Kong: 404 from its mock upstream through the GET method-only route, never the disabled service
      const r = await k().send('/disabled-service1');
      assert.equal(r.json.name, names()[0]);
    });
    test(`${SPEC} "routes to regex path when longer path service enabled=false"`, async () => {
      const r = await k().send('/enabled-service/disabled');
      assert.deepEqual([r.status, r.json.name], [200, names()[7]]);
    });
  },
);

kongDescribe(
  `${SPEC} URI regexes order of evaluation with regex_priority`,
  [
    { strip_path: true, paths: ['~/status/(?P<foo>re)'], service: { path: '/status/200' }, regex_priority: 0 },
    { strip_path: true, paths: ['~/status/(re)'], service: { path: '/status/200' }, regex_priority: 4 },
    { created_at: 1234567890, strip_path: true, paths: ['~/status/(ab)'], service: { path: '/status/200' }, regex_priority: 0 },
    { created_at: 1234567891, strip_path: true, paths: ['~/status/(ab)c?'], service: { path: '/status/200' }, regex_priority: 0 },
  ],
  (k, names) => {
    test(`${SPEC} "depends on the regex_priority field" (a PCRE named group (?P<foo>re) is accepted)`, async () => {
      const r = await k().send('/status/re');
      assert.deepEqual([r.status, r.json.name], [200, names()[1]]);
    });
    test(`${SPEC} "depends on created_at if regex_priority is tie" (it_trad_only in Kong; gw breaks ties by created_at)`, async () => {
      const r = await k().send('/status/ab');
      assert.deepEqual([r.status, r.json.name], [200, names()[2]]);
    });
  },
);

kongDescribe(`${SPEC} URI arguments (querystring)`, [{ hosts: ['mock_upstream'] }], (k) => {
  test(`${SPEC} "preserves URI arguments"`, async () => {
    const r = await k().send('/get?foo=bar&hello=world', { host: 'mock_upstream' });
    assert.equal(r.json.url, '/get?foo=bar&hello=world');
  });
  test(`${SPEC} "does proxy an empty querystring if URI does not contain arguments"`, async () => {
    const r = await k().send('/request?', { host: 'mock_upstream' });
    assert.match(r.json.url, /\/request\?$/);
  });
  test(`${SPEC} "does proxy a querystring with an empty value"`, async () => {
    const r = await k().send('/get?hello', { host: 'mock_upstream' });
    assert.match(r.json.url, /\/get\?hello$/);
  });
});

kongDescribe(
  `${SPEC} URI normalization`,
  [
    { strip_path: true, paths: ['/foo/bar'] },
    { strip_path: true, paths: ['/hello'] },
    { strip_path: false, paths: ['/anything/world'] },
  ],
  (k, names) => {
    for (const [title, path] of [
      ['matches against normalized URI with ".."', '/foo/a/../bar'],
      ['matches against normalized URI with "//"', '/foo//bar'],
      ['matches against normalized URI with "/./"', '/foo/./bar'],
    ] as const) {
      test(`${SPEC} "${title}" (X-Forwarded-Path is the path as sent)`, async () => {
        const r = await k().send(path);
        assert.deepEqual([r.status, r.json.name, r.json.headers['x-forwarded-path']], [200, names()[0], path]);
      });
    }
    test(`${SPEC} "matches against normalized URI with percent-encoded characters"`, async () => {
      const r = await k().send('/h%65llo');
      assert.deepEqual([r.status, r.json.name, r.json.headers['x-forwarded-path']], [200, names()[1], '/h%65llo']);
    });
    test(`${SPEC} "proxies normalized URI to upstream with strip_path = true"`, async () => {
      const r = await k().send('/h%65llo/anything/a/../b');
      assert.deepEqual([r.json.name, r.json.url], [names()[1], '/anything/b']);
    });
    test(`${SPEC} "proxies normalized URI to upstream with strip_path = false"`, async () => {
      const r = await k().send('/anything/./a/../wor%6cd/a/../b');
      assert.deepEqual([r.json.name, r.json.url], [names()[2], '/anything/world/b']);
    });
    test(`${SPEC} "re-encode special characters in request uri when proxying to the upstream"`, async () => {
      const r = await k().send('/anything/world/cat%20and%20dog');
      assert.deepEqual([r.json.name, r.json.url], [names()[2], '/anything/world/cat%20and%20dog']);
    });
  },
);

kongDescribe(`${SPEC} strip_path`, [{ paths: ['/x/y/z', '/z/y/x'], strip_path: true }], (k) => {
  test(`${SPEC} strip_path "= true" "strips subsequent calls to an route with different [paths]"`, async () => {
    for (const p of ['/x/y/z/get', '/z/y/x/get', '/x/y/z/get', '/x/y/z/get']) {
      const r = await k().send(p);
      assert.equal(r.json.url, '/get');
    }
  });
});

kongDescribe(
  `${SPEC} preserve_host`,
  [
    { preserve_host: true, hosts: ['preserved.com', 'preserved.com:123'], service: { path: '/request' } },
    { preserve_host: false, hosts: ['discarded.com'], service: { path: '/request' } },
    { strip_path: false, preserve_host: true, paths: ['/request'] },
  ],
  (k, names) => {
    test(`${SPEC} preserve_host "x = false (default)" "uses hostname from upstream_url" and "uses port value from upstream_url if not default"`, async () => {
      const r = await k().send('/get', { host: 'discarded.com' });
      const up = k().upstreams[1]!;
      assert.equal(r.json.headers.host, up.address);
    });
    test(`${SPEC} preserve_host "= true" "forwards request Host"`, async () => {
      const r = await k().send('/', { host: 'preserved.com' });
      assert.deepEqual([r.status, r.json.name, r.json.headers.host], [200, names()[0], 'preserved.com']);
    });
    test(`${SPEC} preserve_host "= true" "forwards request Host:Port even if port is default" (it_trad_only in Kong; gw passes)`, async () => {
      const r = await k().send('/get', { host: 'preserved.com:80' });
      assert.deepEqual([r.status, r.json.headers.host], [200, 'preserved.com:80']);
    });
    test(`${SPEC} preserve_host "= true" "forwards request Host:Port if port isn't default"`, async () => {
      // the hosts entry preserved.com:123 needs listen port 123; the plain preserved.com entry matches any port
      const r = await k().send('/get', { host: 'preserved.com:123' });
      assert.deepEqual([r.status, r.json.name, r.json.headers.host], [200, names()[0], 'preserved.com:123']);
    });
    test(`${SPEC} preserve_host "= true" "forwards request Host even if not matched by [hosts]"`, async () => {
      const r = await k().send('/get', { host: 'preserved.com' });
      assert.deepEqual([r.status, r.json.headers.host], [200, 'preserved.com']);
      // and the third route (paths only) with a Host no route names
      const other = await k().send('/request', { host: 'not-in-any-hosts.test' });
      assert.deepEqual([other.json.name, other.json.headers.host], [names()[2], 'not-in-any-hosts.test']);
    });
  },
);

kongDescribe(
  `${SPEC} edge-cases`,
  [
    { strip_path: true, paths: ['/'] },
    { strip_path: true, paths: ['/foobar'] },
  ],
  (k, names) => {
    test(`${SPEC} "root / [uri] for a catch-all rule"`, async () => {
      assert.equal((await k().send('/get')).json.name, names()[0]);
      assert.equal((await k().send('/foobar/get')).json.name, names()[1]);
    });
  },
);

describe(`${SPEC} [headers]`, () => {
  let k: KongSetup;
  before(async () => (k = await KongSetup.start()));
  after(async () => k.close());
  const clear = async (names: string[]) => {
    for (const n of names) await k.gw.admin.call('DELETE', `/routes/${n}`);
    await waitFor(() => k.gw.runtime.snapshot.router.size === 0, 10_000, 'routes removed');
  };
  test(`${SPEC} [headers] "matches by header"`, async () => {
    const names = await k.routes([{ headers: { version: ['v1', 'v2'] } }, { headers: { version: ['v3'] } }]);
    assert.equal((await k.send('/', { host: 'domain.test', version: 'v1' })).json.name, names[0]);
    assert.equal((await k.send('/', { host: 'domain.test', version: 'v3' })).json.name, names[1]);
    await clear(names);
  });
  test(`${SPEC} [headers] "matches headers in a case-insensitive way"`, async () => {
    const names = await k.routes([{ headers: { Version: ['v1', 'v2'] } }, { headers: { version: ['V3'] } }]);
    assert.equal((await k.send('/', { host: 'domain.test', version: 'v1' })).json.name, names[0]);
    assert.equal((await k.send('/', { host: 'domain.test', Version: 'v3' })).json.name, names[1]);
    await clear(names);
  });
  test(`${SPEC} [headers] "prioritizes Routes with more headers"`, async () => {
    const names = await k.routes([
      { headers: { version: ['v1', 'v2'] } },
      { headers: { version: ['v3'], location: ['us-east'] } },
      { headers: { version: ['v3'] } },
    ]);
    assert.equal((await k.send('/', { host: 'domain.test', version: 'v3', location: 'us-east' })).json.name, names[1]);
    assert.equal((await k.send('/', { host: 'domain.test', version: 'v3' })).json.name, names[2]);
    await clear(names);
  });
  test(`${SPEC} [headers] "caching do not ignore headers (regression)"`, async () => {
    const names = await k.routes([
      { hosts: ['example.test'], paths: ['/test'], headers: { headertest: ['itsatest'] } },
      { hosts: ['example.test'], paths: ['/test'] },
    ]);
    assert.equal((await k.send('/test', { host: 'example.test', headertest: 'itsatest' })).json.name, names[0]);
    assert.equal((await k.send('/test', { host: 'example.test' })).json.name, names[1]);
    assert.equal((await k.send('/test', { host: 'example.test', headertest: 'itsatest' })).json.name, names[0]);
    await clear(names);
  });
});

kongDescribe(
  `${SPEC} [paths] + [headers]`,
  [
    { strip_path: true, headers: { version: ['v1', 'v2'] }, paths: ['/root'] },
    { strip_path: true, headers: { version: ['v1', 'v2'] }, paths: ['/root/fixture'] },
    { strip_path: true, headers: { version: ['v1', 'v2'], location: ['us-east'] }, paths: ['/root'] },
  ],
  (k, names) => {
    test(`${SPEC} [paths] + [headers] "prioritizes Routes with more headers"`, async () => {
      const r = await k().send('/root/fixture/get', { version: 'v2', location: 'us-east' });
      assert.deepEqual([r.json.name, r.json.url], [names()[2], '/fixture/get']);
    });
    test(`${SPEC} [paths] + [headers] "prioritizes longer paths if same number of headers"`, async () => {
      const r = await k().send('/root/fixture/get', { version: 'v2' });
      assert.deepEqual([r.json.name, r.json.url], [names()[1], '/get']);
    });
  },
);

const methodsRoutes: RouteDef[] = [
  { strip_path: true, methods: ['GET'], paths: ['/unrelated/longer/uri/that/should/not/match', '/root/fixture'], hosts: ['ahost.test'] },
  { strip_path: true, methods: ['GET'], paths: ['/root/fixture/get'], hosts: ['ahost.test'] },
  { strip_path: true, methods: ['GET'], paths: ['/root/fixture/get'], hosts: ['anotherhost.test'] },
  { strip_path: true, methods: ['GET'], paths: ['/root/fixture/get'], hosts: ['onemorehost.test'] },
  { strip_path: true, paths: ['/rest/devportal/api/v1', '/rest/devportal'], hosts: ['api.local'] },
  { strip_path: true, paths: ['/rest/devportal/aux'], hosts: ['api.local'] },
  { strip_path: true, paths: ['/rest/devportal/aux'], hosts: ['test-api.local'] },
  { strip_path: true, paths: ['/rest/devportal/aux'], hosts: ['atest-api.local'] },
  { strip_path: true, paths: ['/rest/devportal'], hosts: ['atest-api.local'] },
  { strip_path: true, paths: ['/concat_test/devportal/api/v1', '/concat_test/devportal'], hosts: ['api.local'] },
  { strip_path: true, paths: ['/concat_test/devportal/aux'], hosts: ['api.local'] },
  { strip_path: true, paths: ['/concat_test/devportal/aux'], hosts: ['test-api.local'] },
  { strip_path: true, paths: ['/concat_test/devportal/aux'], hosts: ['atest-api.local'] },
  { strip_path: true, paths: ['/concat_test/devportal'], hosts: ['atest-api.local'] },
];

kongDescribe(`${SPEC} [paths] + [methods]`, methodsRoutes, (k, names) => {
  test(`${SPEC} [paths] + [methods] "regression test for #5438" and "... concatenating paths" (it_trad_only in Kong; gw passes)`, async () => {
    for (let i = 0; i < methodsRoutes.length; i++) {
      const def = methodsRoutes[i]!;
      for (const p of def.paths as string[]) {
        const path = i < 9 ? p : `${p}/status/418`;
        const r = await k().send(path, { host: (def.hosts as string[])[0]! });
        assert.equal(r.json.name, names()[i], `${path} on ${(def.hosts as string[])[0]}`);
      }
    }
  });
  test(`${SPEC} [paths] + [methods] "regression test for #5438 part 2" (it_trad_only in Kong; gw passes)`, async () => {
    assert.equal((await k().send('/rest/devportal', { host: 'atest-api.local' })).json.name, names()[8]);
  });
  test(`${SPEC} [paths] + [methods] "prioritizes longer URIs" (it_trad_only in Kong; gw passes)`, async () => {
    assert.equal((await k().send('/root/fixture/get', { host: 'ahost.test' })).json.name, names()[1]);
  });
  test(`${SPEC} [paths] + [methods] "prioritizes host over longer URIs"`, async () => {
    assert.equal((await k().send('/root/fixture/get', { host: 'anotherhost.test' })).json.name, names()[2]);
  });
  test(`${SPEC} [paths] + [methods] "do not match incomplete URIs"`, async () => {
    assert.equal((await k().send('/', { host: 'ahost.test' })).status, 404);
  });
});

kongDescribe(
  `${SPEC} [paths] + [hosts]`,
  [
    { strip_path: true, hosts: ['route.com'], paths: ['/root/fixture', '/root/fixture/non-matching-but-longer'] },
    { strip_path: true, hosts: ['route.com'], paths: ['/root/fixture/get'] },
  ],
  (k, names) => {
    test(`${SPEC} [paths] + [hosts] "prioritizes longer URIs" (it_trad_only in Kong; gw passes)`, async () => {
      assert.equal((await k().send('/root/fixture/get', { host: 'route.com' })).json.name, names()[1]);
    });
  },
);

describe(`${SPEC} slash handling, the table of spec/fixtures/router_path_handling_tests.lua (v0, as traditional_compatible)`, () => {
  let k: KongSetup;
  let up: TestUpstream;
  const cases = expandedPathHandlingCases().filter((c) => c.pathHandling === 'v0');
  const host = (kind: string, label: string) => `${kind}-${label.replace(/[()]/g, '')}.test`;
  before(async () => {
    k = await KongSetup.start();
    up = await startUpstream('shared');
    const defs: RouteDef[] = [];
    for (const c of cases) {
      const base = { strip_path: c.strip, path_handling: 'v0', service: { path: c.servicePath } };
      defs.push({ ...base, hosts: [host('localbin', c.label)], ...(c.routePath === null ? {} : { paths: [c.routePath] }) });
      if (c.routePath !== null) defs.push({ ...base, hosts: [host('regex', c.label)], paths: [makeARegex(c.routePath)] });
    }
    await k.routes(defs, up);
  });
  after(async () => {
    await k.close();
    await up.close();
  });
  for (const c of cases) {
    const strip = c.strip ? 'on' : 'off';
    const what = c.routePath === null ? `host ${host('localbin', c.label)}` : `uri ${c.routePath}`;
    test(`${SPEC} slash handling (plain) ${c.label} ${c.servicePath} with ${what}, strip = ${strip}, v0 when requesting ${c.requestPath}`, async () => {
      const r = await k.send(c.requestPath, { host: host('localbin', c.label) });
      assert.deepEqual([r.status, r.json.url], [200, c.expected]);
    });
  }
  for (const c of cases) {
    if (c.routePath === null) continue; // Kong: "skip if hostbased match"
    const strip = c.strip ? 'on' : 'off';
    test(`${SPEC} slash handling (regex) ${c.label} ${c.servicePath} with uri ${makeARegex(c.routePath)}, strip = ${strip}, v0 when requesting ${c.requestPath}`, async () => {
      const r = await k.send(c.requestPath, { host: host('regex', c.label) });
      assert.deepEqual([r.status, r.json.url], [200, c.expected]);
    });
  }
});

const UH = 'upstream_headers_spec';

describe(`${UH} hop-by-hop headers, and 14-server_tokens_spec.lua Server/Via`, () => {
  let k: KongSetup;
  let names: string[];
  let withServer: TestUpstream;
  before(async () => {
    k = await KongSetup.start();
    names = await k.routes([{ hosts: ['headers-inspect.test'] }]);
    withServer = await startUpstream('with-server', (_req, res) => {
      res.setHeader('server', 'upstream-test');
      return 'default';
    });
    await k.gw.admin.call('PUT', '/services/with-server', { url: `http://${withServer.address}` });
    await k.gw.admin.call('PUT', '/services/with-server/routes/with-server', { hosts: ['with-server.test'] });
    await waitFor(() => k.gw.runtime.snapshot.router.size >= 2, 10_000, 'the route in the runtime snapshot');
  });
  after(async () => {
    await k.close();
    await withServer.close();
  });
  test(`${UH} "hop-by-hop headers" "are removed from request" (Proxy removed: httpoxy)`, async () => {
    const r = await k.send('/get', {
      Connection: 'X-Foo, X-Bar',
      Host: 'headers-inspect.test',
      'Keep-Alive': 'timeout=5, max=1000',
      Proxy: 'Remove-Me',
      'Proxy-Connection': 'close',
      'Proxy-Authenticate': 'Basic',
      'Proxy-Authorization': 'Basic YWxhZGRpbjpvcGVuc2VzYW1l',
      TE: 'trailers, deflate;q=0.5',
      Upgrade: 'example/1, foo/2',
      'X-Foo': 'Remove-Me',
      'X-Bar': 'Remove-Me',
      'X-Foo-Bar': 'Keep-Me',
      Close: 'Keep-Me',
    });
    const h = r.json.headers;
    assert.equal(r.json.name, names[0]);
    assert.equal(h['keep-alive'], undefined);
    assert.equal(h.proxy, undefined);
    assert.equal(h['proxy-connection'], undefined);
    assert.equal(h.upgrade, undefined);
    assert.equal(h['x-foo'], undefined);
    assert.equal(h['x-bar'], undefined);
    assert.equal(h['proxy-authenticate'], 'Basic');
    assert.equal(h['proxy-authorization'], 'Basic YWxhZGRpbjpvcGVuc2VzYW1l');
    assert.equal(h.te, 'trailers');
    assert.equal(h['x-foo-bar'], 'Keep-Me');
    assert.equal(h.close, 'Keep-Me');
  });
  test(`14-server_tokens_spec "should return Kong 'Via' header but not change the 'Server' header when request was proxied"`, async () => {
    const r = await k.send('/get', { host: 'with-server.test' });
    assert.equal(r.status, 200);
    assert.equal(r.headers.server, 'upstream-test');
    assert.match(String(r.headers.via), /^1\.1 gw\/\S+$/);
  });
  test(`14-server_tokens_spec "should return Kong 'Server' header but not the Kong 'Via' header when no API matched (no proxy)"`, async () => {
    const r = await k.send('/get', { host: '404.test' });
    assert.equal(r.status, 404);
    assert.match(String(r.headers.server), /^gw\/\S+$/);
    assert.equal(r.headers.via, undefined);
  });
  test('kong/runloop/handler.lua header_filter: a proxied response without Server gets the server token; the upstream request carries Via with the client HTTP version', async () => {
    const r = await k.send('/get', { host: 'headers-inspect.test' });
    assert.match(String(r.headers.server), /^gw\/\S+$/);
    assert.match(String(r.json.headers.via), /^1\.1 gw\/\S+$/);
    const old = await k.send('/get', { host: 'headers-inspect.test' }, 'GET', { http10: true });
    assert.match(String(old.json.headers.via), /^1\.0 gw\/\S+$/);
  });
});

const ST = '14-server_tokens_spec "X-Kong-Proxy-Latency/X-Kong-Upstream-Latency" "(with default configuration values)"';

describe(`${ST}, and 33-request-id-header_spec (downstream)`, () => {
  let k: KongSetup;
  let status: TestUpstream;
  before(async () => {
    k = await KongSetup.start();
    // Kong's mock upstream: /status/<code> answers that status
    status = await startUpstream('status', (req, res) => {
      const m = /^\/status\/(\d{3})$/.exec(req.url ?? '');
      if (!m) return 'default';
      res.statusCode = Number(m[1]);
      res.end();
    });
    await k.gw.admin.call('PUT', '/services/inspect', { url: `http://${status.address}` });
    await k.gw.admin.call('PUT', '/services/inspect/routes/inspect', { hosts: ['headers-inspect.test'] });
    // port 1: the wrong port
    await k.gw.admin.call('PUT', '/services/wrong-port', { url: 'http://127.0.0.1:1' });
    await k.gw.admin.call('PUT', '/services/wrong-port/routes/wrong-port', { hosts: ['502.test'] });
    await waitFor(() => k.gw.runtime.snapshot.router.size >= 2, 10_000, 'the routes in the runtime snapshot');
  });
  after(async () => {
    await k.close();
    await status.close();
  });
  const UPSTREAM_LATENCY = 'x-kong-upstream-latency';
  const PROXY_LATENCY = 'x-kong-proxy-latency';
  const RESPONSE_LATENCY = 'x-kong-response-latency';
  test(`${ST} "should be returned when request was proxied"`, async () => {
    const r = await k.send('/get', { host: 'headers-inspect.test' });
    assert.equal(r.status, 200);
    assert.match(String(r.headers[UPSTREAM_LATENCY]), /^\d+$/);
    assert.match(String(r.headers[PROXY_LATENCY]), /^\d+$/);
    assert.equal(r.headers[RESPONSE_LATENCY], undefined);
  });
  test(`${ST} "should not be returned when no API matched (no proxy)"`, async () => {
    const r = await k.send('/get', { host: '404.test' });
    assert.equal(r.status, 404);
    assert.equal(r.headers[UPSTREAM_LATENCY], undefined);
    assert.equal(r.headers[PROXY_LATENCY], undefined);
    assert.match(String(r.headers[RESPONSE_LATENCY]), /^\d+$/);
  });
  test(`${ST} "should be returned when response status code is included in error_page directive (error_page not executing)"`, async () => {
    for (const code of [400, 404, 408, 411, 412, 413, 414, 417, 494, 500, 502, 503, 504]) {
      const r = await k.send(`/status/${code}`, { host: 'headers-inspect.test' });
      assert.equal(r.status, code);
      assert.match(String(r.headers[UPSTREAM_LATENCY]), /^\d+$/, `${code}`);
      assert.match(String(r.headers[PROXY_LATENCY]), /^\d+$/, `${code}`);
      assert.equal(r.headers[RESPONSE_LATENCY], undefined, `${code}`);
    }
  });
  test(`${ST} "should be returned with 502 errors (error_page executing)"`, async () => {
    const r = await k.send('/get', { host: '502.test' });
    assert.equal(r.status, 502);
    assert.match(String(r.headers[UPSTREAM_LATENCY]), /^\d+$/);
    assert.match(String(r.headers[PROXY_LATENCY]), /^\d+$/);
    assert.equal(r.headers[RESPONSE_LATENCY], undefined);
  });
  test('33-request-id-header_spec "(downstream)" "with default configuration" "should be populated when no API matched"', async () => {
    const r = await k.send('/', { host: '404.test' });
    assert.equal(r.status, 404);
    assert.match(String(r.json.message), /no Route matched with those values/);
    assert.match(String(r.headers['x-kong-request-id']), /^[0-9a-f]+$/);
    assert.equal(r.headers['x-kong-request-id'], r.headers['x-gw-request-id']);
  });
});
