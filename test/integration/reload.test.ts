// Reload without restart (issue 14): SIGHUP re-reads --config and applies the
// difference under load; POST /config applies a document; GET /config exports
// one a fresh gateway starts from. Registered (gw-tagged) targets survive all.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { AdminClient, spawnGatewayCli, startTestGateway } from '../helpers/gateway.js';
import { steadyLoad } from '../helpers/load.js';
import { startUpstream, waitFor } from '../helpers/upstream.js';

const doc = (routes: { name: string; path: string }[], target: string) => `
_format_version: "3.0"
services:
- name: svc
  host: up
  routes:
${routes.map((r) => `  - { name: ${r.name}, paths: ["${r.path}"] }`).join('\n')}
upstreams:
- name: up
  targets: [{ target: "${target}" }]
`;

const postConfig = async (adminUrl: string, config: string) => {
  const res = await fetch(`${adminUrl}/config`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ config }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
};
const invalid = (fields: Record<string, unknown>, message: string) => ({
  code: 14,
  name: 'invalid declarative configuration',
  fields,
  message: `declarative config is invalid: ${message}`,
});

test(
  'SIGHUP re-reads --config under load: a new route is routable, a removed one is gone, a registered target stays, 0 failed requests, same process',
  { timeout: 60_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-reload-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const a = await startUpstream('a');
    const b = await startUpstream('b');
    t.after(() => a.close());
    t.after(() => b.close());
    const file = join(dir, 'kong.yml');
    await writeFile(
      file,
      doc(
        [
          { name: 'keep', path: '/keep' },
          { name: 'old', path: '/old' },
        ],
        a.address,
      ),
    );
    const gw = await spawnGatewayCli(t, ['--config', file, '--store', 'memory']);
    const child = gw.child;
    const admin = new AdminClient(gw.adminUrl);
    const proxy = gw.proxyUrl;
    // an instance registers itself (gw-tagged, leased) into the file's upstream
    assert.equal(
      (await admin.call('POST', '/upstreams/up/targets', { target: b.address, tags: ['gw', 'gw-instance:i-1'], ttl: 60 })).status,
      201,
    );

    const load = steadyLoad(`${proxy}/keep`, 4);
    await waitFor(() => load.ok > 50, 10_000, 'load running');
    await writeFile(
      file,
      doc(
        [
          { name: 'keep', path: '/keep' },
          { name: 'new', path: '/new' },
        ],
        a.address,
      ),
    );
    child.kill('SIGHUP');
    await waitFor(async () => (await fetch(`${proxy}/new`)).status === 200, 10_000, '/new routable after SIGHUP');
    const before = load.ok;
    await waitFor(() => load.ok > before + 50, 10_000, 'load after reload');
    await load.done();

    assert.equal(load.failed, 0, load.failures.slice(0, 5).join('; '));
    assert.equal((await fetch(`${proxy}/old`)).status, 404);
    const targets = (await admin.call<{ data: { target: string }[] }>('GET', '/upstreams/up/targets')).body.data
      .map((x) => x.target)
      .sort();
    assert.deepEqual(targets, [a.address, b.address].sort(), 'the registered target survived the reload');
    assert.equal(child.exitCode, null, 'SIGHUP did not stop the gateway');
    assert.match(gw.out(), /declarative config reloaded/);

    // a broken file is refused and changes nothing
    await writeFile(file, '_format_version: "3.0"\nservices: [{ name: svc, host: up, retries: -1 }]\n');
    child.kill('SIGHUP');
    await waitFor(() => gw.out().includes('reload refused'), 10_000, 'reload refused log');
    assert.equal((await fetch(`${proxy}/new`)).status, 200);
    assert.equal(child.exitCode, null);

    assert.equal(await gw.stop(), 0);
  },
);

test(
  'POST /config replaces the configuration (registered entities kept); GET /config exports it and a fresh gateway started from the export has the same services, routes and upstreams',
  { timeout: 60_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-config-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const gw = await startTestGateway();
    t.after(() => gw.close());
    await gw.admin.call('PUT', '/services/by-hand', { host: 'by-hand.test' });
    // what register() creates: gw-tagged shared objects and target
    await gw.admin.call('PUT', '/upstreams/users.upstream', { tags: ['gw'] });
    await gw.admin.call('PUT', '/services/users', { host: 'users.upstream', tags: ['gw'] });
    await gw.admin.call('POST', '/upstreams/users.upstream/targets', {
      target: '127.0.0.7:3000',
      tags: ['gw', 'gw-instance:i-1'],
      ttl: 60,
    });

    const applied = await postConfig(gw.adminUrl, doc([{ name: 'r1', path: '/r1' }], '127.0.0.8:80'));
    assert.equal(applied.status, 201, JSON.stringify(applied.body));
    // Kong's body is what the document loaded; what gw kept or removed is in headers
    assert.deepEqual(
      Object.values(applied.body.services as Record<string, { name: string }>).map((s) => s.name),
      ['svc'],
    );
    assert.deepEqual(
      ['x-gw-upserted', 'x-gw-deleted', 'x-gw-kept-registered'].map((h) => applied.headers.get(h)),
      ['4', '1', '3'],
      'svc, r1, up and its target written; by-hand removed; the registered service, upstream and target kept',
    );
    const names = async (kind: string) =>
      (await gw.admin.call<{ data: { name: string }[] }>('GET', `/${kind}`)).body.data.map((e) => e.name).sort();
    assert.deepEqual(await names('services'), ['svc', 'users'], 'by-hand replaced, the registered service kept');
    assert.deepEqual(await names('upstreams'), ['up', 'users.upstream']);
    assert.equal((await gw.admin.call<{ data: unknown[] }>('GET', '/upstreams/users.upstream/targets')).body.data.length, 1);

    const bad = await gw.admin.call('POST', '/config', { config: '_format_version: "3.0"\nplugins: [{ name: key-auth }]\n' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.name, 'invalid declarative configuration');
    assert.match(String(bad.body.message), /does not implement: plugins/);
    assert.deepEqual(bad.body.fields, { plugins: 'gw does not implement: plugins (key-auth global)' });
    assert.deepEqual(await names('services'), ['svc', 'users'], 'a refused document changes nothing');

    const yamlText = await (await fetch(`${gw.adminUrl}/config`)).text();
    const exported = parseYaml(yamlText) as Record<string, { name?: string; target?: string }[]>;
    assert.deepEqual(
      exported.services!.map((s) => s.name),
      ['svc'],
      'registered entities are not exported by default',
    );
    const withRegistered = (await (await fetch(`${gw.adminUrl}/config?format=json&include_registered=true`)).json()) as Record<
      string,
      { name?: string }[]
    >;
    assert.deepEqual(withRegistered.services!.map((s) => s.name).sort(), ['svc', 'users']);

    const file = join(dir, 'export.yml');
    await writeFile(file, yamlText);
    const fresh = await startTestGateway({ config: file });
    t.after(() => fresh.close());
    for (const kind of ['services', 'routes', 'upstreams']) {
      const a = (await gw.admin.call<{ data: { id: string; name: string }[] }>('GET', `/${kind}`)).body.data.filter(
        (e) => e.name !== 'users' && e.name !== 'users.upstream',
      );
      const b = (await fresh.admin.call<{ data: { id: string; name: string }[] }>('GET', `/${kind}`)).body.data;
      assert.deepEqual(b.map((e) => [e.id, e.name]).sort(), a.map((e) => [e.id, e.name]).sort(), kind);
    }
  },
);

test("POST /config as Kong's DB-less endpoint: a raw YAML body, check_hash=1 answers 304 for the document applied last, no body is 400", async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close());
  const yamlDoc = '_format_version: "3.0"\nservices:\n- name: ysvc\n  host: y.test\n';
  const post = (path: string, body: string, type: string) =>
    fetch(`${gw.adminUrl}${path}`, { method: 'POST', headers: { 'content-type': type }, body });
  // 15-off_spec "accepts configuration as YAML body"
  const raw = await post('/config', yamlDoc, 'application/yaml');
  assert.equal(raw.status, 201, await raw.text());
  assert.equal((await gw.admin.call('GET', '/services/ysvc')).status, 200);
  assert.equal((await post('/services', yamlDoc, 'application/yaml')).status, 415, 'YAML is for /config only');

  // "returns 304 if checking hash and configuration is identical"
  const again = await post('/config?check_hash=1', yamlDoc, 'application/yaml');
  assert.equal(again.status, 304);
  const asField = await gw.admin.call('POST', '/config', { config: yamlDoc, check_hash: 1 });
  assert.equal(asField.status, 304, 'the same text under `config`, check_hash in the body');
  const changed = yamlDoc.replace('y.test', 'z.test');
  assert.equal((await post('/config?check_hash=1', changed, 'text/yaml')).status, 201, 'another document is applied');
  assert.equal((await gw.admin.call<{ host: string }>('GET', '/services/ysvc')).body.host, 'z.test');
  assert.equal((await post('/config', yamlDoc, 'application/yaml')).status, 201, 'without check_hash: applied again');

  // "returns 400 when given no input"
  const none = await fetch(`${gw.adminUrl}/config`, { method: 'POST' });
  assert.equal(none.status, 400);
  assert.deepEqual(await none.json(), { message: 'expected a declarative configuration' });
});

// Kong's bodies for POST /config, ported from spec/02-integration/04-admin_api/15-off_spec.lua (describe "/config"
// POST; titles cite the Kong `it`). Cases on entities gw does not implement (consumers, plugins, certificates, snis,
// keyauth_credentials) are left out or reduced to services, routes, upstreams and targets.
test('15-off_spec POST /config 400 bodies: "returns 400 on an invalid config string", "on a validation error", "on an primary key uniqueness error", "on an endpoint key uniqueness error"', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close());
  const bobby = await postConfig(gw.adminUrl, 'bobby tables');
  assert.equal(bobby.status, 400);
  assert.deepEqual(
    bobby.body,
    invalid(
      { error: 'failed parsing declarative configuration: expected an object' },
      '{error="failed parsing declarative configuration: expected an object"}',
    ),
  );

  const validation = await postConfig(gw.adminUrl, '_format_version: "1.1"\nservices:\n- port: -12\n');
  assert.equal(validation.status, 400);
  assert.deepEqual(
    validation.body,
    invalid(
      { services: [{ host: 'required field missing', port: 'value should be between 0 and 65535' }] },
      '{services={{host="required field missing",port="value should be between 0 and 65535"}}}',
    ),
  );

  // Kong's document, nested plugins included: Kong refuses it for the duplicate, and so does gw (what gw does not
  // implement is refused only in a document Kong would accept)
  const twoServices = (first: string, second: string) => `
_format_version: "1.1"
services:
- ${first}
  host: example.com
  protocol: https
  routes:
  - name: foo
    methods: ["GET"]
    plugins:
      - name: key-auth
      - name: http-log
        config:
          http_endpoint: https://example.com
- ${second}
  host: example.test
  port: 3000
  routes:
  - name: bar
    paths:
    - /
    plugins:
    - name: basic-auth
    - name: tcp-log
      config:
        host: 127.0.0.1
        port: 10000
`;
  const id = '0855b320-0dd2-547d-891d-601e9b38647f';
  const pk = await postConfig(gw.adminUrl, twoServices(`id: ${id}\n  name: foo`, `id: ${id}\n  name: bar`));
  assert.equal(pk.status, 400);
  const pkMsg = `uniqueness violation: 'services' entity with primary key set to '${id}' already declared`;
  assert.deepEqual(pk.body, invalid({ services: [null, pkMsg] }, `{services={[2]="${pkMsg}"}}`));

  const endpoint = await postConfig(gw.adminUrl, twoServices('name: foo', 'name: foo'));
  assert.equal(endpoint.status, 400);
  const nameMsg = "uniqueness violation: 'services' entity with name set to 'foo' already declared";
  assert.deepEqual(endpoint.body, invalid({ services: [null, nameMsg] }, `{services={[2]="${nameMsg}"}}`));
  assert.deepEqual((await gw.admin.call<{ data: unknown[] }>('GET', '/services')).body.data, [], 'nothing was applied');
});

test("POST /config 400 fields follow the document: a nested route's errors (as POST /routes words them) at services[i].routes[j], a duplicate target at upstreams[i].targets[j], an unknown service under routes[name]", async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close());
  // the route's own errors are the ones POST /routes gives for it
  await gw.admin.call('PUT', '/services/s0', { host: 'example.com' });
  const direct = await gw.admin.call<{ fields: unknown }>('POST', '/services/s0/routes', {
    name: 'r2',
    protocols: ['nope'],
    paths: ['/r2'],
  });
  assert.equal(direct.status, 400);
  const nested = await postConfig(
    gw.adminUrl,
    `_format_version: "3.0"
services:
- name: s0
  host: example.com
  routes:
  - { name: r1, paths: ["/r1"] }
  - { name: r2, protocols: [nope], paths: ["/r2"] }
routes:
- { name: r3, service: ghost, paths: ["/x"] }
`,
  );
  assert.equal(nested.status, 400);
  assert.deepEqual(nested.body.fields, { services: [{ routes: [null, direct.body.fields] }] }, 'schema errors first, the reference later');
  assert.equal(
    nested.body.message,
    `declarative config is invalid: {services={{routes={[2]={protocols={"expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp"}}}}}}`,
  );

  // 03-flatten_spec "fixes #7696": an unresolved reference under the route's name, a list of messages
  const ref = await postConfig(gw.adminUrl, '_format_version: "3.0"\nroutes:\n- { name: r3, service: ghost, paths: ["/x"] }\n');
  const refMsg = "invalid reference 'service: ghost' (no such entry in 'services')";
  assert.deepEqual(ref.body, invalid({ routes: { r3: [refMsg] } }, `{routes={r3={"${refMsg}"}}}`));

  // 15-off_spec [flattened errors] "correctly handles duplicate upstream target errors", in the non-flattened shape
  const targets = (list: string) => `_format_version: "3.0"\nupstreams:\n- name: u0\n- name: u1\n  targets: [${list}]\n`;
  const one = await postConfig(gw.adminUrl, targets('{ target: "127.0.244.12:80", weight: 1 }'));
  assert.equal(one.status, 201);
  const targetId = Object.keys(one.body.targets as object)[0]!;
  const dupe = await postConfig(
    gw.adminUrl,
    targets('{ target: "127.0.244.12:80", weight: 1 }, { target: "127.0.244.12:80", tags: [target-2] }'),
  );
  const dupeMsg = `uniqueness violation: 'targets' entity with primary key set to '${targetId}' already declared`;
  assert.deepEqual(
    dupe.body,
    invalid({ upstreams: [null, { targets: [null, dupeMsg] }] }, `{upstreams={[2]={targets={[2]="${dupeMsg}"}}}}`),
  );

  // a document Kong would accept with what gw does not implement: the same shape, naming it where it is
  const plugins = await postConfig(gw.adminUrl, '_format_version: "3.0"\nservices: [{ name: s, host: h, plugins: [{ name: cors }] }]\n');
  assert.equal(plugins.status, 400);
  assert.deepEqual(plugins.body.fields, { services: [{ plugins: 'gw does not implement: plugins (cors on service s)' }] });
});

test('15-off_spec POST /config 201 bodies: "hides workspace related fields from /config response" (services and routes), "accepts configuration containing null as a YAML string", "can reload upstreams (regression test)"; the counts in x-gw-* headers', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close());
  const res = await postConfig(
    gw.adminUrl,
    `_format_version: "1.1"
services:
- name: my-service
  id: 0855b320-0dd2-547d-891d-601e9b38647f
  url: https://example.com
  routes:
  - name: my-route
    id: 481a9539-f49c-51b6-b2e2-fe99ee68866c
    paths:
    - /
`,
  );
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const entities = res.body as Record<string, Record<string, Record<string, unknown>>>;
  assert.deepEqual(Object.keys(entities).sort(), ['routes', 'services'], 'entity types only: no workspaces, no summary');
  const service = entities.services!['0855b320-0dd2-547d-891d-601e9b38647f']!;
  const route = entities.routes!['481a9539-f49c-51b6-b2e2-fe99ee68866c']!;
  assert.equal(service.ws_id, undefined);
  assert.equal(route.ws_id, undefined);
  assert.deepEqual(route.service, { id: service.id });
  assert.deepEqual(service, (await gw.admin.call('GET', '/services/my-service')).body, 'each entity as the Admin API shows it');
  assert.equal(res.headers.get('x-gw-upserted'), '2');

  const withNull = await postConfig(gw.adminUrl, '_format_version: "1.1"\nroutes:\n- paths:\n  - "/"\n  service: null\n');
  assert.equal(withNull.status, 201, JSON.stringify(withNull.body));
  assert.deepEqual(
    Object.values(withNull.body.routes as object).map((r: { service: unknown }) => r.service),
    [null],
  );
  assert.equal(withNull.headers.get('x-gw-deleted'), '2', 'my-service and my-route replaced');

  const config =
    '_format_version: "1.1"\nservices:\n- host: foo\n  routes:\n  - paths:\n    - "/"\nupstreams:\n- name: "foo"\n  targets:\n  - target: 127.20.30.40\n';
  for (const round of [1, 2]) {
    const r = await postConfig(gw.adminUrl, config);
    assert.equal(r.status, 201, `round ${round}: ${JSON.stringify(r.body)}`);
    assert.deepEqual(Object.keys(r.body).sort(), ['routes', 'services', 'targets', 'upstreams']);
    assert.deepEqual(
      Object.values(r.body.targets as object).map((x: { target: string }) => x.target),
      ['127.20.30.40:8000'],
    );
  }
});

test('POST /config with --kong-only: the 201 body has no gw fields (ttl, gw), as the Admin API shows them', async (t) => {
  const gw = await startTestGateway({ kongOnly: true });
  t.after(() => gw.close());
  const res = await postConfig(gw.adminUrl, '_format_version: "3.0"\nupstreams:\n- name: u\n  targets: [{ target: "127.0.0.10:80" }]\n');
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const upstream = Object.values(res.body.upstreams as Record<string, Record<string, unknown>>)[0]!;
  const target = Object.values(res.body.targets as Record<string, Record<string, unknown>>)[0]!;
  assert.equal('gw' in upstream, false);
  assert.equal('ttl' in target, false);
  assert.deepEqual(upstream, (await gw.admin.call('GET', '/upstreams/u')).body);
});

test("POST /config names a bad declarative target as Kong's schema does, with the address (15-off_spec sanity: \"Invalid target ('hostname:1.0')\"); POST /targets keeps the DAO's words", async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close());
  const res = await postConfig(gw.adminUrl, '_format_version: "3.0"\nupstreams:\n- name: u\n  targets: [{ target: "hostname:1.0" }]\n');
  const msg = "Invalid target ('hostname:1.0'); not a valid hostname or ip address";
  assert.deepEqual(res.body, invalid({ upstreams: [{ targets: [{ target: msg }] }] }, `{upstreams={{targets={{target="${msg}"}}}}}`));
  await gw.admin.call('PUT', '/upstreams/u', {});
  const direct = await gw.admin.call<{ fields: unknown }>('POST', '/upstreams/u/targets', { target: 'hostname:1.0' });
  assert.deepEqual(direct.body.fields, { target: 'Invalid target; not a valid hostname or ip address' });
});

// `POST /config?flatten_errors=1`, ported from 15-off_spec.lua describe "Admin API #off /config [flattened errors]"
// (titles cite the Kong `it`). Cases on consumers, credentials, certificates, vaults and plugins are reduced to
// services, routes, upstreams and targets; where gw's words for an entity differ from Kong's, gw's are expected.
interface Flattened {
  entity_type: string;
  entity_id?: string;
  entity_name?: string;
  entity_tags?: unknown[];
  entity: Record<string, unknown>;
  errors: { type: string; field?: string | number; message: string }[];
}
/** Kong's post_config: the document itself as the JSON body (`_format_version` "3.0" unless given) */
const postFlattened = async (adminUrl: string, doc: Record<string, unknown>, flatten: string | null = '1') => {
  const res = await fetch(`${adminUrl}/config${flatten === null ? '' : `?flatten_errors=${flatten}`}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ _format_version: '3.0', ...doc }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { flattened_errors?: Flattened[] } };
};
/** Kong's `validate`: entries correlated by their entity's first tag, each entry's errors in any order */
const byTag = (list: Flattened[]): Record<string, Flattened> => {
  const key = (e: Flattened['errors'][number]) => JSON.stringify([e.type, e.field ?? '', e.message]);
  const out = Object.fromEntries(
    list.map((e) => [
      String(e.entity.tags && (e.entity.tags as unknown[])[0]),
      { ...e, errors: [...e.errors].sort((a, b) => (key(a) < key(b) ? -1 : 1)) },
    ]),
  );
  assert.equal(Object.keys(out).length, list.length, 'one entry per tag');
  return out;
};
const fieldError = (field: string, message: string) => ({ type: 'field', field, message });
const entityError = (message: string) => ({ type: 'entity', message });
const PROTOCOLS = 'expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp';

/** The invalid upstream of Kong's flattened-errors "sanity" document, as sent and as its entry echoes it: a fresh copy each time. */
function badUpstream(): Record<string, unknown> {
  return {
    name: 'bad',
    tags: ['upstream-02'],
    hash_on: 'ip',
    healthchecks: {
      active: {
        type: 'http',
        http_path: '/',
        https_verify_certificate: true,
        https_sni: 'example.com',
        timeout: 1,
        concurrency: -1,
        healthy: { interval: 0, successes: 0 },
        unhealthy: { interval: 0, http_failures: 0 },
      },
    },
    host_header: 123,
  };
}

/** The two services of Kong's flattened-errors "sanity" document (15-off_spec), used by two of its cases: a fresh copy each time. */
function sanityServices(): Record<string, unknown>[] {
  return [
    {
      name: 'nope',
      host: 'localhost',
      port: 1234,
      protocol: 'nope',
      tags: ['service-01'],
      routes: [
        {
          name: 'valid.route',
          protocols: ['http', 'https'],
          methods: ['GET'],
          hosts: ['test'],
          tags: ['route_service-01', 'service-01'],
        },
        { name: 'nope.route', protocols: ['tcp'], tags: ['route_service-02', 'service-01'] },
      ],
    },
    {
      name: 'mis-matched',
      host: 'localhost',
      protocol: 'tcp',
      path: '/path',
      tags: ['service-02'],
      routes: [
        { name: 'invalid', protocols: ['http', 'https'], hosts: ['test'], methods: ['GET'], tags: ['route_service-03', 'service-02'] },
      ],
    },
  ];
}

test('15-off_spec [flattened errors] "sanity": one entry per entity in error, nested ones hoisted, entity_* only when valid, fields drained to {}', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close());
  const res = await postFlattened(gw.adminUrl, {
    services: [
      ...sanityServices(),
      // Kong also reports this route's http-log plugin config; gw names what it does not implement once the rest is valid
      {
        name: 'okay',
        url: 'http://localhost:1234',
        tags: ['service-03'],
        routes: [
          {
            name: 'probably-valid',
            protocols: ['http', 'https'],
            methods: ['GET'],
            hosts: ['test'],
            tags: ['route_service-04', 'service-03'],
          },
        ],
      },
      {
        name: 'bad-client-cert',
        url: 'https://localhost:1234',
        tags: ['service-05'],
        client_certificate: { cert: '', key: '', tags: ['service_client_certificate-01', 'service-05'] },
      },
      { name: 'invalid-id', id: 123456, url: 'https://localhost:1234', tags: ['service-06', 'invalid-id'] },
      { name: 'invalid-tags', url: 'https://localhost:1234', tags: ['service-07', 'invalid-tags', [1, 2, 3], true] },
      { name: '', url: 'https://localhost:1234', tags: ['service-08', 'invalid_service_name-01'] },
      { name: 1234, url: 'https://localhost:1234', tags: ['service-09', 'invalid_service_name-02'] },
    ],
    upstreams: [
      { name: 'ok', tags: ['upstream-01'], hash_on: 'ip' },
      badUpstream(),
      {
        name: 'ok-bad-targets',
        tags: ['upstream-03'],
        targets: [
          { target: '127.0.0.1:99', tags: ['upstream_target-01', 'upstream-03'] },
          { target: 'hostname:1.0', tags: ['upstream_target-02', 'upstream-03'] },
        ],
      },
    ],
  });
  assert.equal(res.status, 400);
  const { flattened_errors: flattened, ...rest } = res.body;
  assert.deepEqual(rest, invalid({}, '{}'), "every error is an entity's: fields drained");
  assert.deepEqual(byTag(flattened!), {
    'service-01': {
      entity_type: 'service',
      entity_name: 'nope',
      entity_tags: ['service-01'],
      // the nested routes are not in the entity (each has its own entry, if in error)
      entity: { name: 'nope', host: 'localhost', port: 1234, protocol: 'nope', tags: ['service-01'] },
      errors: [fieldError('protocol', PROTOCOLS)],
    },
    'route_service-02': {
      entity_type: 'route',
      entity_name: 'nope.route',
      entity_tags: ['route_service-02', 'service-01'],
      entity: { name: 'nope.route', protocols: ['tcp'], tags: ['route_service-02', 'service-01'] },
      errors: [entityError("must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', 'tls' or 'udp'")],
    },
    'service-02': {
      entity_type: 'service',
      entity_name: 'mis-matched',
      entity_tags: ['service-02'],
      entity: { name: 'mis-matched', host: 'localhost', protocol: 'tcp', path: '/path', tags: ['service-02'] },
      errors: [entityError("failed conditional validation given value of field 'protocol'"), fieldError('path', 'value must be null')],
    },
    // Kong validates the nested certificate as a certificate ("length must be at least 1"); gw has none, only an
    // id reference, and reports its fields against that, in the same hoisted entry
    'service_client_certificate-01': {
      entity_type: 'certificate',
      entity_tags: ['service_client_certificate-01', 'service-05'],
      entity: { cert: '', key: '', tags: ['service_client_certificate-01', 'service-05'] },
      errors: [
        fieldError('cert', 'unknown field'),
        fieldError('id', 'missing primary key'),
        fieldError('key', 'unknown field'),
        fieldError('tags', 'unknown field'),
      ],
    },
    'service-06': {
      entity_type: 'service',
      entity_name: 'invalid-id',
      entity_tags: ['service-06', 'invalid-id'],
      entity: { name: 'invalid-id', id: 123456, url: 'https://localhost:1234', tags: ['service-06', 'invalid-id'] },
      errors: [fieldError('id', 'expected a string')],
    },
    'service-07': {
      entity_type: 'service',
      entity_name: 'invalid-tags',
      entity: { name: 'invalid-tags', url: 'https://localhost:1234', tags: ['service-07', 'invalid-tags', [1, 2, 3], true] },
      errors: [fieldError('tags.3', 'expected a string'), fieldError('tags.4', 'expected a string')],
    },
    'service-08': {
      entity_type: 'service',
      entity_tags: ['service-08', 'invalid_service_name-01'],
      entity: { name: '', url: 'https://localhost:1234', tags: ['service-08', 'invalid_service_name-01'] },
      errors: [fieldError('name', 'length must be at least 1')],
    },
    'service-09': {
      entity_type: 'service',
      entity_tags: ['service-09', 'invalid_service_name-02'],
      entity: { name: 1234, url: 'https://localhost:1234', tags: ['service-09', 'invalid_service_name-02'] },
      errors: [fieldError('name', 'expected a string')],
    },
    'upstream-02': {
      entity_type: 'upstream',
      entity_name: 'bad',
      entity_tags: ['upstream-02'],
      entity: badUpstream(),
      errors: [
        fieldError('healthchecks.active.concurrency', 'value should be between 1 and 2147483648'),
        fieldError('host_header', 'expected a string'),
      ],
    },
    'upstream_target-02': {
      entity_type: 'target',
      entity_tags: ['upstream_target-02', 'upstream-03'],
      entity: { target: 'hostname:1.0', tags: ['upstream_target-02', 'upstream-03'] },
      errors: [fieldError('target', "Invalid target ('hostname:1.0'); not a valid hostname or ip address")],
    },
  });
  assert.deepEqual((await gw.admin.call<{ data: unknown[] }>('GET', '/services')).body.data, [], 'nothing was applied');
});

test('15-off_spec [flattened errors] "flattens nested, non-entity field errors", "flattens nested, entity field errors", "preserves IDs from the input", "preserves foreign keys from nested entity collections", "omits top-level entity_* fields if they are invalid"', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close());
  const upstream = {
    name: 'bad',
    tags: ['upstream-01'],
    hash_on: 'ip',
    healthchecks: { active: { type: 'http', concurrency: -1, healthy: { interval: 0, successes: 0 } } },
    host_header: 123,
  };
  const nonEntity = await postFlattened(gw.adminUrl, { upstreams: [upstream] });
  assert.equal(nonEntity.status, 400);
  assert.deepEqual(nonEntity.body, {
    ...invalid({}, '{}'),
    flattened_errors: [
      {
        entity_type: 'upstream',
        entity_name: 'bad',
        entity_tags: ['upstream-01'],
        entity: upstream,
        // Kong's order: keys sorted, taken from the last
        errors: [
          fieldError('host_header', 'expected a string'),
          fieldError('healthchecks.active.concurrency', 'value should be between 1 and 2147483648'),
        ],
      },
    ],
  });

  const nested = await postFlattened(gw.adminUrl, {
    services: [
      {
        name: 'bad-client-cert',
        url: 'https://localhost:1234',
        tags: ['service-01'],
        client_certificate: { cert: '', key: '', tags: ['service_client_certificate-01', 'service-01'] },
        routes: [
          { hosts: ['test'], paths: ['/'], protocols: ['http'], tags: ['service_route-01'] },
          { hosts: ['invalid'], paths: ['/'], protocols: ['nope'], tags: ['service_route-02'] },
        ],
      },
    ],
  });
  assert.deepEqual(nested.body.fields, {});
  assert.deepEqual(byTag(nested.body.flattened_errors!), {
    'service_client_certificate-01': {
      entity_type: 'certificate',
      entity_tags: ['service_client_certificate-01', 'service-01'],
      entity: { cert: '', key: '', tags: ['service_client_certificate-01', 'service-01'] },
      errors: [
        fieldError('cert', 'unknown field'),
        fieldError('id', 'missing primary key'),
        fieldError('key', 'unknown field'),
        fieldError('tags', 'unknown field'),
      ],
    },
    // Kong: `protocols: "unknown type: nope"` (its route subschemas); gw's route schema words it per entry
    'service_route-02': {
      entity_type: 'route',
      entity_tags: ['service_route-02'],
      entity: { hosts: ['invalid'], paths: ['/'], protocols: ['nope'], tags: ['service_route-02'] },
      errors: [fieldError('protocols.1', PROTOCOLS)],
    },
  });

  // "preserves IDs from the input", "preserves foreign keys from nested entity collections"
  const id = 'cb019421-62c2-47a8-b714-d7567b114037';
  const ids = await postFlattened(gw.adminUrl, {
    services: [
      {
        id,
        name: 'test',
        host: 'localhost',
        port: 1234,
        protocol: 'nope',
        tags: ['service-01'],
        routes: [{ super_duper_invalid: true, tags: ['route-01'] }],
      },
    ],
  });
  const got = byTag(ids.body.flattened_errors!);
  assert.equal(got['service-01']!.entity_id, id);
  assert.equal(got['service-01']!.entity.id, id);
  assert.deepEqual(got['route-01']!.entity.service, { id }, "the nested route gets its service's id");
  assert.deepEqual(got['route-01']!.errors, [fieldError('super_duper_invalid', 'unknown field')]);
  assert.equal(got['route-01']!.entity_id, undefined, 'no id in the input, none made up');

  // "omits top-level entity_* fields if they are invalid"
  const omits = await postFlattened(gw.adminUrl, {
    services: [{ id: 1234, name: false, tags: ['service-02', [1.5]], url: 'http://localhost:1234' }],
  });
  assert.deepEqual(omits.body.flattened_errors, [
    {
      entity_type: 'service',
      entity: { id: 1234, name: false, tags: ['service-02', [1.5]], url: 'http://localhost:1234' },
      errors: [fieldError('tags.2', 'expected a string'), fieldError('name', 'expected a string'), fieldError('id', 'expected a string')],
    },
  ]);
});

test('15-off_spec [flattened errors] "drains errors from the top-level fields object" (what is no entity\'s error stays in fields), flatten_errors as Kong\'s truthy() reads it, and no list for a text that is no document', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close());
  // Kong's document has `abnormal_extra_field: 123` ("unknown field"), which gw reports only for a document that is
  // otherwise valid; `_comment: 5` is a top-level error gw reports with the schema errors
  const input = {
    _comment: 5,
    services: [...sanityServices()],
  };
  const original = await postFlattened(gw.adminUrl, input, 'off');
  assert.equal(original.status, 400);
  assert.deepEqual(original.body.fields, {
    _comment: 'expected a string',
    services: [
      {
        protocol: PROTOCOLS,
        routes: [null, { '@entity': ["must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', 'tls' or 'udp'"] }],
      },
      { '@entity': ["failed conditional validation given value of field 'protocol'"], path: 'value must be null' },
    ],
  });
  assert.equal(original.body.flattened_errors, undefined);

  const flattened = await postFlattened(gw.adminUrl, input);
  assert.deepEqual(flattened.body.fields, { _comment: 'expected a string' });
  assert.equal(flattened.body.message, 'declarative config is invalid: {_comment="expected a string"}');
  assert.deepEqual(
    flattened.body.flattened_errors!.map((e) => e.entity.tags && (e.entity.tags as string[])[0]),
    ['service-02', 'route_service-02', 'service-01'],
    "Kong's order: the last entity first, a service's routes before the service",
  );

  // config.lua truthy(): "true", "1", "on", "yes" in any case, true or 1 (query or body); anything else is off
  for (const on of ['true', 'TRUE', 'on', 'Yes'])
    assert.ok((await postFlattened(gw.adminUrl, input, on)).body.flattened_errors, `flatten_errors=${on}`);
  for (const off of ['0', 'false', 'y', ''])
    assert.equal((await postFlattened(gw.adminUrl, input, off)).body.flattened_errors, undefined, `flatten_errors=${off}`);
  for (const on of [true, 1, 'on']) {
    const r = await gw.admin.call<{ flattened_errors?: unknown[] }>('POST', '/config', {
      ...input,
      _format_version: '3.0',
      flatten_errors: on,
    });
    assert.equal(r.body.flattened_errors?.length, 3, `body flatten_errors: ${JSON.stringify(on)}`);
  }
  const asConfig = await gw.admin.call<{ flattened_errors?: unknown[] }>('POST', '/config', {
    config: JSON.stringify({ ...input, _format_version: '3.0' }),
    flatten_errors: 'yes',
  });
  assert.equal(asConfig.body.flattened_errors?.length, 3, 'the document as text under `config`');

  // config.lua answers a text it cannot read before it looks at flatten_errors: no list
  const bobby = await fetch(`${gw.adminUrl}/config?flatten_errors=1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ config: 'bobby tables' }),
  });
  assert.deepEqual(
    await bobby.json(),
    invalid(
      { error: 'failed parsing declarative configuration: expected an object' },
      '{error="failed parsing declarative configuration: expected an object"}',
    ),
  );
  // a valid document: flatten_errors changes nothing
  assert.equal((await postFlattened(gw.adminUrl, { services: [{ name: 's', host: 'h' }] })).status, 201);
});

test('15-off_spec [flattened errors] "correctly handles duplicate upstream target errors", "origin error do not loss when enable flatten_errors - (#12167)" (with services for consumers): uniqueness errors are entity errors with the ids the entities have', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close());
  const target = { target: '127.0.244.12:80', weight: 1, tags: ['target-1'] };
  const dupeTarget = { ...target, tags: ['target-2'] };
  const upstreamId = 'f9792964-6797-482c-bfdf-08220a4f6839';
  const res = await postFlattened(gw.adminUrl, {
    services: [
      {
        connect_timeout: 60000,
        host: 'httproute.default.httproute-testing.0',
        id: '4e3cb785-a8d0-5866-aa05-117f7c64f24d',
        name: 'httproute.default.httproute-testing.0',
        port: 8080,
        protocol: 'http',
        read_timeout: 60000,
        retries: 5,
        routes: [
          {
            https_redirect_status_code: 426,
            id: '073fc413-1c03-50b4-8f44-43367c13daba',
            name: 'httproute.default.httproute-testing.0.0',
            path_handling: 'v0',
            paths: ['~/httproute-testing$', '/httproute-testing/'],
            preserve_host: true,
            protocols: ['http', 'https'],
            strip_path: true,
            tags: [],
          },
        ],
        tags: [],
        write_timeout: 60000,
      },
    ],
    upstreams: [
      {
        algorithm: 'round-robin',
        name: 'httproute.default.httproute-testing.0',
        id: 'e9792964-6797-482c-bfdf-08220a4f6832',
        tags: ['k8s-name:httproute-testing'],
        targets: [
          { target: '127.0.244.11:80', weight: 1 },
          { target: '127.0.244.12:80', weight: 1 },
        ],
      },
      {
        algorithm: 'round-robin',
        name: 'httproute.default.httproute-testing.1',
        id: upstreamId,
        tags: ['k8s-name:httproute-testing'],
        targets: [target, dupeTarget],
      },
    ],
  });
  assert.equal(res.status, 400);
  assert.deepEqual(res.body.fields, {});
  const entry = byTag(res.body.flattened_errors!)['target-2']!;
  assert.deepEqual(entry.entity_tags, dupeTarget.tags);
  assert.equal(entry.errors.length, 1);
  assert.deepEqual(entry.errors[0], {
    type: 'entity',
    message: `uniqueness violation: 'targets' entity with primary key set to '${entry.entity_id}' already declared`,
  });
  // the entity as Kong has it by then: its generated id (gw's, here) and its upstream as the foreign key
  assert.deepEqual(entry.entity, { ...dupeTarget, id: entry.entity_id, upstream: { id: upstreamId } });
  assert.equal(res.body.flattened_errors!.length, 1, 'only the duplicate');

  const services = await postFlattened(gw.adminUrl, {
    services: [
      { id: 'a73dc9a7-93df-584d-97c0-7f41a1bbce3d', name: 'test-service-1', host: 'h', tags: ['service-1'] },
      { id: 'a73dc9a7-93df-584d-97c0-7f41a1bbce32', name: 'test-service-1', host: 'h', tags: ['service-2'] },
    ],
  });
  assert.deepEqual(services.body.flattened_errors, [
    {
      entity_type: 'service',
      entity_id: 'a73dc9a7-93df-584d-97c0-7f41a1bbce32',
      entity_name: 'test-service-1',
      entity_tags: ['service-2'],
      entity: { id: 'a73dc9a7-93df-584d-97c0-7f41a1bbce32', name: 'test-service-1', host: 'h', tags: ['service-2'] },
      errors: [entityError("uniqueness violation: 'services' entity with name set to 'test-service-1' already declared")],
    },
  ]);
});

test('POST /config?flatten_errors=1, gw: what gw does not implement is flattened like the rest (a plugin per entry, its `name` in error; another entity type stays in fields, as Kong leaves a top-level string), and an unresolved reference stays in fields', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close());
  const res = await postFlattened(gw.adminUrl, {
    consumers: [{ username: 'a' }],
    plugins: [{ name: 'cors', tags: ['plugin-01'] }],
    services: [
      {
        id: '0855b320-0dd2-547d-891d-601e9b38647f',
        name: 's',
        host: 'h',
        plugins: [{ name: 'key-auth', tags: ['plugin-02'] }],
        routes: [{ name: 'r', paths: ['/'], plugins: [{ name: 'acl', tags: ['plugin-03'] }] }],
      },
    ],
  });
  assert.equal(res.status, 400);
  const { flattened_errors: flattened, ...rest } = res.body;
  assert.deepEqual(rest, invalid({ consumers: 'gw does not implement: consumers' }, '{consumers="gw does not implement: consumers"}'));
  const got = byTag(flattened!);
  const routeId = (got['plugin-03']!.entity.route as { id: string }).id;
  assert.deepEqual(got, {
    'plugin-01': {
      entity_type: 'plugin',
      entity_name: 'cors',
      entity_tags: ['plugin-01'],
      entity: { name: 'cors', tags: ['plugin-01'] },
      errors: [fieldError('name', 'gw does not implement: plugins (cors global)')],
    },
    'plugin-02': {
      entity_type: 'plugin',
      entity_name: 'key-auth',
      entity_tags: ['plugin-02'],
      entity: { name: 'key-auth', tags: ['plugin-02'], service: { id: '0855b320-0dd2-547d-891d-601e9b38647f' } },
      errors: [fieldError('name', 'gw does not implement: plugins (key-auth on service s)')],
    },
    'plugin-03': {
      entity_type: 'plugin',
      entity_name: 'acl',
      entity_tags: ['plugin-03'],
      entity: { name: 'acl', tags: ['plugin-03'], route: { id: routeId } },
      errors: [fieldError('name', 'gw does not implement: plugins (acl on route r)')],
    },
  });
  assert.match(routeId, /^[0-9a-f-]{36}$/, "the route's id gw gave it");

  // Kong files it under the route's name, which its flatten cannot place (and drops); gw keeps it in fields
  const ref = await postFlattened(gw.adminUrl, { routes: [{ name: 'r3', service: 'ghost', paths: ['/x'] }] });
  const refMsg = "invalid reference 'service: ghost' (no such entry in 'services')";
  assert.deepEqual(ref.body, { ...invalid({ routes: { r3: [refMsg] } }, `{routes={r3={"${refMsg}"}}}`), flattened_errors: [] });
});
