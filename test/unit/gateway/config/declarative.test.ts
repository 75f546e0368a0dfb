import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { declarativeToOps, loadDeclarativeFile, uuidV5 } from '../../../../gateway/src/config/declarative.js';
import { isGwError } from '../../../../gateway/src/errors.js';
import { MemoryStore } from '../../../../gateway/src/store/memory.js';

const opts = { now: 1_700_000_000 };

test('the nested form loads services with routes and upstreams with targets', async () => {
  const store = new MemoryStore();
  await store.apply(
    declarativeToOps(
      {
        _format_version: '3.0',
        services: [{ name: 'svc-a', url: 'http://up-a', routes: [{ name: 'r1', paths: ['/a'] }] }],
        upstreams: [
          {
            name: 'up-a',
            healthchecks: { passive: { unhealthy: { tcp_failures: 3 } } },
            targets: [{ target: '127.0.0.1:8080', weight: 100 }],
          },
        ],
      },
      'kong.yml',
      opts,
    ),
  );
  const svc = store.getByName('services', 'svc-a')!;
  assert.equal(svc.host, 'up-a');
  assert.equal(store.getByName('routes', 'r1')!.service!.id, svc.id);
  const up = store.getByName('upstreams', 'up-a')!;
  assert.equal(up.healthchecks.passive.unhealthy.tcp_failures, 3);
  assert.equal(store.targetsOf(up.id)[0]!.target, '127.0.0.1:8080');
});

test('the flat form references parents by name; ids are deterministic', () => {
  const doc = {
    _format_version: '3.0',
    services: [{ name: 'svc', host: 'up' }],
    routes: [
      { name: 'r', service: 'svc', paths: ['/r'] },
      { name: 'r2', service: { name: 'svc' }, paths: ['/r2'] },
    ],
    upstreams: [{ name: 'up' }],
    targets: [{ upstream: 'up', target: '127.0.0.2' }],
  };
  const a = declarativeToOps(doc, 'f', opts);
  const b = declarativeToOps(doc, 'f', opts);
  assert.equal(a.length, 5);
  assert.deepEqual(
    a.map((o) => (o.op === 'put' ? o.entity.id : '')),
    b.map((o) => (o.op === 'put' ? o.entity.id : '')),
  );
  assert.match(uuidV5('x'), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('plugins and other entity kinds are refused by name', () => {
  const doc = {
    _format_version: '3.0',
    services: [{ name: 's', host: 'h', plugins: [{ name: 'key-auth' }] }],
    consumers: [{ username: 'u' }],
  };
  assert.throws(
    () => declarativeToOps(doc, 'kong.yml', opts),
    (err) =>
      isGwError(err) &&
      err.code === 'GW_ERR_CONFIG_UNSUPPORTED' &&
      /consumers/.test(err.message) &&
      /key-auth on service s/.test(err.message),
  );
});

test('top-level plugins are refused naming each plugin and what it applies to, as nested ones are', () => {
  const doc = {
    _format_version: '3.0',
    services: [{ name: 'a', host: 'h', routes: [{ name: 'r', paths: ['/r'], plugins: [{ name: 'jwt' }] }] }],
    plugins: [{ name: 'key-auth' }, { name: 'rate-limiting', service: 'a' }, { name: 'cors', route: { name: 'r' } }],
  };
  assert.throws(
    () => declarativeToOps(doc, 'kong.yml', opts),
    (err) => {
      assert.ok(isGwError(err) && err.code === 'GW_ERR_CONFIG_UNSUPPORTED');
      assert.equal(
        err.message,
        'declarative config kong.yml uses what gw does not implement: plugins (key-auth global), plugins (rate-limiting on service a), plugins (cors on route r), plugins (jwt on route r)',
      );
      return true;
    },
  );
});

test('invalid entities and versions are reported with their path', () => {
  assert.throws(() => declarativeToOps({ services: [] }, 'f', opts), /_format_version/);
  assert.throws(
    () => declarativeToOps({ _format_version: '3.0', services: [{ name: 's', host: 'h', retries: 'x' }] }, 'f', opts),
    /services\[0\]: in 'retries': expected an integer/,
  );
  assert.throws(
    () => declarativeToOps({ _format_version: '3.0', routes: [{ service: 'ghost', paths: ['/'] }] }, 'f', opts),
    /routes\[0\]: invalid reference 'service: ghost' \(no such entry in 'services'\)/,
  );
});

test('YAML files load; unreadable files name the file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gw-decl-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const f = join(dir, 'kong.yaml');
  await writeFile(f, '_format_version: "3.0"\nservices:\n- name: svc-a\n  url: http://up-a\n  routes: [{name: r1, paths: ["/a"]}]\n');
  assert.equal((await loadDeclarativeFile(f, opts)).length, 2);
  await assert.rejects(
    loadDeclarativeFile(join(dir, 'missing.yaml'), opts),
    (err) => isGwError(err) && err.message.includes('missing.yaml'),
  );
});

test("_comment, _ignore (top level and on any entity) and decK's _info are accepted and ignored", async () => {
  const store = new MemoryStore();
  await store.apply(
    declarativeToOps(
      {
        _format_version: '3.0',
        _comment: 'written by hand',
        _ignore: [{ anything: true }],
        _info: { select_tags: ['team-a'], defaults: {} },
        services: [
          {
            name: 'svc',
            host: 'up',
            _comment: 'the users service',
            _ignore: ['x'],
            routes: [{ name: 'r', paths: ['/r'], _comment: 'api' }],
          },
        ],
        upstreams: [{ name: 'up', _ignore: [1], targets: [{ target: '127.0.0.1:8080', _comment: 'one task' }] }],
      },
      'kong.yml',
      opts,
    ),
  );
  assert.equal(store.getByName('services', 'svc')!.host, 'up');
  assert.ok(store.getByName('routes', 'r'));
  assert.equal(store.all('targets').length, 1);
  assert.equal('_comment' in store.getByName('services', 'svc')!, false);
});

test('Kong 3 migrates regex paths of _format_version 1.1/2.1 files: a path that looks like a regex gets ~ (migrate_path_280_300.lua)', () => {
  const paths = (fmt: string, p: string[]) => {
    const ops = declarativeToOps(
      {
        _format_version: fmt,
        services: [{ name: 's', host: 'h', routes: [{ name: 'r', paths: p }] }],
        routes: [{ name: 'top', service: 's', paths: p }],
      },
      'kong.yml',
      opts,
    );
    return ops.filter((o) => o.op === 'put' && o.kind === 'routes').map((o) => (o as { entity: { paths: string[] } }).entity.paths);
  };
  const input = ['/plain/path-1_~.x', '/users/\\d+', '/a%2Eb(c)', '/x%2Fy$'];
  const want = ['/plain/path-1_~.x', '~/users/\\d+', '~/a\\.b(c)', '~/x%2Fy$'];
  assert.deepEqual(paths('1.1', input), [want, want]);
  assert.deepEqual(paths('2.1', input), [want, want]);
  // 3.0 files are taken as written: without ~ it is a plain prefix path (Kong 3 accepts it as one)
  assert.deepEqual(paths('3.0', ['/users/\\d+']), [['/users/\\d+'], ['/users/\\d+']]);
});
