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

    const applied = await gw.admin.call('POST', '/config', { config: doc([{ name: 'r1', path: '/r1' }], '127.0.0.8:80') });
    assert.equal(applied.status, 201, JSON.stringify(applied.body));
    const names = async (kind: string) =>
      (await gw.admin.call<{ data: { name: string }[] }>('GET', `/${kind}`)).body.data.map((e) => e.name).sort();
    assert.deepEqual(await names('services'), ['svc', 'users'], 'by-hand replaced, the registered service kept');
    assert.deepEqual(await names('upstreams'), ['up', 'users.upstream']);
    assert.equal((await gw.admin.call<{ data: unknown[] }>('GET', '/upstreams/users.upstream/targets')).body.data.length, 1);

    const bad = await gw.admin.call('POST', '/config', { config: '_format_version: "3.0"\nplugins: [{ name: key-auth }]\n' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.name, 'invalid declarative configuration');
    assert.match(String(bad.body.message), /does not implement: plugins/);
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
