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
  const one = await postConfig(gw.adminUrl, targets('{ target: "10.244.0.12:80", weight: 1 }'));
  assert.equal(one.status, 201);
  const targetId = Object.keys(one.body.targets as object)[0]!;
  const dupe = await postConfig(
    gw.adminUrl,
    targets('{ target: "10.244.0.12:80", weight: 1 }, { target: "10.244.0.12:80", tags: [target-2] }'),
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
    '_format_version: "1.1"\nservices:\n- host: foo\n  routes:\n  - paths:\n    - "/"\nupstreams:\n- name: "foo"\n  targets:\n  - target: 10.20.30.40\n';
  for (const round of [1, 2]) {
    const r = await postConfig(gw.adminUrl, config);
    assert.equal(r.status, 201, `round ${round}: ${JSON.stringify(r.body)}`);
    assert.deepEqual(Object.keys(r.body).sort(), ['routes', 'services', 'targets', 'upstreams']);
    assert.deepEqual(
      Object.values(r.body.targets as object).map((x: { target: string }) => x.target),
      ['10.20.30.40:8000'],
    );
  }
});

test('POST /config with --kong-only: the 201 body has no gw fields (ttl, gw), as the Admin API shows them', async (t) => {
  const gw = await startTestGateway({ kongOnly: true });
  t.after(() => gw.close());
  const res = await postConfig(gw.adminUrl, '_format_version: "3.0"\nupstreams:\n- name: u\n  targets: [{ target: "10.0.0.1:80" }]\n');
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
