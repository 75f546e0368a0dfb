import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { declarativeToOps } from '../../../../gateway/src/config/declarative.js';

// Kong spec/01-unit/01-db/01-schema/11-declarative_config/04-on-the-fly-migration_spec.lua: Kong 3 loads
// `_format_version` "1.1"/"2.1" files through kong/db/declarative/migrations/route_path.lua (migrate_path_280_300.lua)
// before validating them. Kong's YAML also carries `_comment`/`_ignore` keys, left out here (the Admin API and
// declarative-keys part of issue 13 covers them).
const opts = { now: 1_700_000_000 };

const configs = (fmt: string): string[] => [
  `
_format_version: "${fmt}"
services:
- name: foo
  host: example.com
  protocol: https
  enabled: false
- name: bar
  host: example.test
  port: 3000
  tags: [hello, world]
routes:
- name: foo
  path_handling: v0
  protocols: ["https"]
  paths: ["/regex.+", "/prefix" ]
  snis:
  - "example.com"
  service: foo
`,
  `
_format_version: "${fmt}"
services:
- name: foo
  host: example.com
  protocol: https
  enabled: false
  routes:
  - name: foo
    path_handling: v0
    protocols: ["https"]
    paths: ["/regex.+", "/prefix" ]
    snis:
    - "example.com"
- name: bar
  host: example.test
  port: 3000
  tags: [hello, world]
`,
];

type Put = { op: string; kind: string; entity: Record<string, unknown> };
const load = (yaml: string): Put[] => declarativeToOps(parseYaml(yaml), 'kong.yml', opts) as unknown as Put[];

for (const fmt of ['1.1', '2.1', '3.0']) {
  test(`04-on-the-fly-migration_spec "routes handling for format version ${fmt}"`, () => {
    for (const yaml of configs(fmt)) {
      const ops = load(yaml);
      const services = ops.filter((o) => o.kind === 'services').map((o) => o.entity);
      const bar = services.find((s) => s.name === 'bar')!;
      const foo = services.find((s) => s.name === 'foo')!;
      assert.deepEqual([bar.host, bar.protocol, bar.port], ['example.test', 'http', 3000]);
      assert.deepEqual([foo.host, foo.protocol, foo.enabled], ['example.com', 'https', false]);
      const route = ops.find((o) => o.kind === 'routes')!.entity;
      assert.equal(route.name, 'foo');
      assert.deepEqual(route.protocols, ['https']);
      const paths = [...(route.paths as string[])].sort();
      assert.deepEqual(paths, fmt === '3.0' ? ['/prefix', '/regex.+'] : ['/prefix', '~/regex.+']);
    }
  });
}

test('04-on-the-fly-migration_spec "validation should happens after migration"', () => {
  const yaml = `
_format_version: "2.1"
services:
- name: foo
  host: example.com
  protocol: https
  enabled: false
- name: bar
  host: example.test
  port: 3000
  routes:
  - name: foo
    path_handling: v0
    protocols: ["https"]
    paths: ["/regex.+(", "/prefix" ]
    snis:
    - "example.com"
`;
  assert.throws(
    () => load(yaml),
    (err: Error) => err.message.includes('invalid regex:') && err.message.includes('/regex.+('),
  );
});

test('migrate_path_280_300.lua: a 1.1 path that is not a regex is normalised as Kong normalises it', () => {
  const ops = load(`
_format_version: "1.1"
services:
- name: s
  host: example.test
  routes:
  - name: r
    paths: ["/a/%2e%2e/b", "/f%6f%6f", "/users/\\\\d+", "/a%2Eb(c)"]
`);
  assert.deepEqual(ops.find((o) => o.kind === 'routes')!.entity.paths, ['/b', '/foo', '~/users/\\d+', '~/a\\.b(c)']);
});
